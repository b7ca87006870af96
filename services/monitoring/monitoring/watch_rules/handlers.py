"""Watch rules: supervisors create, change and list them; the pipeline (``ingest``) reads the
active ones."""
import logging

from sqlalchemy import func, select

from monitoring.contract import WatchRuleCreateSchema, WatchRuleListSchema, WatchRuleSchema, WatchRuleUpdateSchema
from monitoring.models import PostTopic, Spike, TopicBucket, WatchRule
from monitoring.watch_rules import rules
from plumbing.db import get_or_not_found, is_postgres
from plumbing.errors import Conflict, load_or_invalid as load
from plumbing.schemas import shared

log = logging.getLogger(__name__)

WATCH_RULES_LOCK = 0x72756C6573  # "rules": the PostgreSQL advisory lock of the active rules' total


def create_rule(uow, data):
    fields = load(WatchRuleCreateSchema, data)
    with uow.transaction():
        check_rule_name(uow, fields["name"])
        if fields["active"]:
            check_active_terms(uow, fields["query"])
        rule = WatchRule(**fields, created_at=uow.now(), updated_at=uow.now())
        uow.session.add(rule)
    return shared(WatchRuleSchema).dump(rule)


def update_rule(uow, rule_id, data):
    fields = load(WatchRuleUpdateSchema, data)
    with uow.transaction():
        rule = get_or_not_found(uow.session, WatchRule, rule_id)
        if fields.get("name", rule.name) != rule.name:
            check_rule_name(uow, fields["name"])
        if fields.get("active", rule.active) and ("query" in fields or not rule.active):
            check_active_terms(uow, fields.get("query", rule.query), rule.id)
        for name, value in fields.items():
            setattr(rule, name, value)
        rule.updated_at = uow.now()
    return shared(WatchRuleSchema).dump(rule)


def delete_rule(uow, rule_id):
    """A rule no post matched goes; one that did stays (posts, reports and spikes name it): 409,
    deactivate it instead."""
    with uow.transaction():
        rule = get_or_not_found(uow.session, WatchRule, rule_id, lock=True)
        posts = uow.session.scalar(select(func.count()).select_from(PostTopic).where(PostTopic.rule_id == rule.id))
        named = posts or any(uow.session.scalar(select(model.rule_id).where(model.rule_id == rule.id).limit(1))
                             for model in (TopicBucket, Spike))
        if named:
            raise Conflict(f"watch rule {rule.name!r} has matched posts",
                           {"rule": [f"{posts} post(s) matched it and reports name it: deactivate it instead "
                                     "(active false)"]})
        uow.session.delete(rule)


def list_rules(uow):
    return shared(WatchRuleListSchema).dump({"items": uow.session.scalars(select(WatchRule).order_by(WatchRule.id))})


def check_rule_name(uow, name):
    if uow.session.scalar(select(WatchRule.id).where(WatchRule.name == name)) is not None:
        raise Conflict(f"a watch rule named {name!r} exists", {"name": ["already used"]})


def check_active_terms(uow, query, rule_id=None):
    """Every post is searched for every active rule's terms: together they hold at most
    ``MAX_ACTIVE_TERMS``. Rule writes take turns (SQLite's writers do anyway), so two cannot
    both pass on the same total."""
    if is_postgres(uow.session):
        uow.session.execute(select(func.pg_advisory_xact_lock(WATCH_RULES_LOCK)))
    others = select(WatchRule).where(WatchRule.active)
    if rule_id is not None:
        others = others.where(WatchRule.id != rule_id)
    total = rules.parse(query).size() + sum(tree.size() for _, tree in readable(uow.session.scalars(others)))
    if total > rules.MAX_ACTIVE_TERMS:
        raise Conflict(f"the active rules would hold {total} terms, more than the limit of {rules.MAX_ACTIVE_TERMS} "
                       "terms: shorten or deactivate a rule first",
                       {"query": [f"the active rules may hold {rules.MAX_ACTIVE_TERMS} terms together; "
                                f"with this one they would hold {total}"]})


def active_rules(uow):
    """The active rules as the query language matches them, in id order."""
    return [rules.WatchRule(rule.id, rule.name, tree, tuple(rule.platforms), tuple(rule.author_kinds),
                            rule.verified_only, rule.min_followers)
            for rule, tree in readable(uow.session.scalars(
                select(WatchRule).where(WatchRule.active).order_by(WatchRule.id)))]


def readable(stored):
    """(rule, query tree) of each stored rule within today's limits. One written before a limit
    and beyond it would cost every post what the limit prevents: it matches nothing until it is
    changed, and says so in the log."""
    for rule in stored:
        try:
            yield rule, rules.parse(rule.query)
        except rules.RuleSyntaxError as exc:
            log.error("watch rule %s (%r) is left out of matching until its query is changed: %s",
                      rule.id, rule.name, exc)
