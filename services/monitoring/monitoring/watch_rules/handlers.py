"""Watch rules: supervisors create, change and list them; the pipeline (``ingest``) reads the
active ones."""
from sqlalchemy import select

from monitoring.contract import WatchRuleCreateSchema, WatchRuleListSchema, WatchRuleSchema, WatchRuleUpdateSchema
from monitoring.models import WatchRule
from monitoring.watch_rules import rules
from plumbing.db import get_or_not_found
from plumbing.errors import Conflict, load_or_invalid as load
from plumbing.schemas import shared


def create_rule(uow, data):
    fields = load(WatchRuleCreateSchema, data)
    with uow.transaction():
        check_rule_name(uow, fields["name"])
        rule = WatchRule(**fields, created_at=uow.now(), updated_at=uow.now())
        uow.session.add(rule)
    return shared(WatchRuleSchema).dump(rule)


def update_rule(uow, rule_id, data):
    fields = load(WatchRuleUpdateSchema, data)
    with uow.transaction():
        rule = get_or_not_found(uow.session, WatchRule, rule_id)
        if fields.get("name", rule.name) != rule.name:
            check_rule_name(uow, fields["name"])
        for name, value in fields.items():
            setattr(rule, name, value)
        rule.updated_at = uow.now()
    return shared(WatchRuleSchema).dump(rule)


def list_rules(uow):
    return shared(WatchRuleListSchema).dump({"items": uow.session.scalars(select(WatchRule).order_by(WatchRule.id))})


def check_rule_name(uow, name):
    if uow.session.scalar(select(WatchRule.id).where(WatchRule.name == name)) is not None:
        raise Conflict(f"a watch rule named {name!r} exists", {"name": ["already used"]})


def active_rules(uow):
    """The active rules as the query language matches them, in id order."""
    return [rules.WatchRule(rule.id, rule.name, rules.parse(rule.query), tuple(rule.platforms),
                            tuple(rule.author_kinds), rule.verified_only, rule.min_followers)
            for rule in uow.session.scalars(select(WatchRule).where(WatchRule.active).order_by(WatchRule.id))]
