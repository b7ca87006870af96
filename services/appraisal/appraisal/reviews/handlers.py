"""Reviews: KPI definitions and the templates that weigh them, reviewers'
ratings of an agent in a cycle, and the scoring rule a cycle's results are
computed with. Every step is written to the audit trail."""
from sqlalchemy import select

from appraisal.contract import (
    CUSTOMER, KpiDefinitionCreateSchema, KpiDefinitionListSchema, KpiDefinitionSchema, KpiDefinitionUpdateSchema,
    ReviewRatingCreateSchema, ReviewRatingSchema, TemplateCreateSchema, TemplateListSchema, TemplateSchema,
    TemplateUpdateSchema,
)
from appraisal.cycles.audit import audit
from appraisal.models import Cycle, KpiDefinition, Rating, Template, TicketRecord, rating_key
from appraisal.reviews import rules
from plumbing.db import get_or_not_found, upsert_insert
from plumbing.errors import Conflict, InvalidInput, load_or_invalid as load, separate_duties
from plumbing.schemas import shared

DEFINITION_FIELDS = ("name", "description", "category", "source", "measure", "direction", "target", "floor")
TEMPLATE_FIELDS = ("name", "role", "period_type", "items", "reviewer_weights", "bands")


def create_kpi_definition(uow, data):
    fields = load(KpiDefinitionCreateSchema, data)
    with uow.transaction():
        if uow.session.get(KpiDefinition, fields["key"]) is not None:
            raise Conflict(f"KPI definition {fields['key']!r} exists", {"key": ["already taken"]})
        definition = KpiDefinition(**fields, created_at=uow.now())
        uow.session.add(definition)
        audit(uow, None, "kpi_definition_created", {"key": definition.key})
    return shared(KpiDefinitionSchema).dump(definition)


def create_template(uow, data, missing_courses):
    """A template; the retraining courses its bands name must exist in training: ``missing_courses``
    are those training says it does not have (services do not call each other: the gateway asks
    training's ``missing_courses`` for the bands' courses and passes the answer on)."""
    fields = load(TemplateCreateSchema, data)
    with uow.transaction():
        check_template(uow, fields, missing_courses)
        template = Template(**fields, created_at=uow.now())
        uow.session.add(template)
        uow.session.flush()
        audit(uow, None, "template_created", {"template_id": template.id, "name": template.name})
    return shared(TemplateSchema).dump(template)


def update_kpi_definition(uow, key, data):
    """Change any field but the key; ``retired`` retires it from new templates (or brings it back).
    Cycles already planned keep the definition as it was (their ``rule``)."""
    given = load(KpiDefinitionUpdateSchema, data)
    retired = given.pop("retired", None)
    with uow.transaction():
        definition = get_or_not_found(uow.session, KpiDefinition, key, lock=True)
        current = {name: getattr(definition, name) for name in DEFINITION_FIELDS}
        changed = load(KpiDefinitionCreateSchema, {"key": key, **current, **given})
        changed.pop("key")
        for name, value in changed.items():
            setattr(definition, name, value)
        if retired is not None:
            definition.retired_at = (definition.retired_at or uow.now()) if retired else None
        audit(uow, None, "kpi_definition_updated", {"key": key, "changed": sorted(given),
                                                     "retired": definition.retired_at is not None})
    return shared(KpiDefinitionSchema).dump(definition)


def delete_kpi_definition(uow, key):
    """A definition no template names is deleted, its key free again (a typo); one a template names is
    409 naming the templates: retire it instead."""
    with uow.transaction():
        definition = get_or_not_found(uow.session, KpiDefinition, key, lock=True)
        users = [t.name for t in uow.session.scalars(select(Template).order_by(Template.id))
                 if any(item["kpi"] == key for item in t.items)]
        if users:
            raise Conflict(f"KPI definition {key!r} is named by templates {', '.join(users)}: retire it instead",
                           {"key": [f"named by {', '.join(users)}"]})
        uow.session.delete(definition)
        audit(uow, None, "kpi_definition_deleted", {"key": key})


def update_template(uow, template_id, data, missing_courses):
    """Change a template (checked as a new one is); ``retired`` keeps it from new cycles (or brings it
    back). Cycles already planned keep it as it was when they were planned (their ``rule``)."""
    given = load(TemplateUpdateSchema, data)
    retired = given.pop("retired", None)
    with uow.transaction():
        template = get_or_not_found(uow.session, Template, template_id, lock=True)
        fields = {name: getattr(template, name) for name in TEMPLATE_FIELDS} | given
        check_template(uow, fields, missing_courses, template_id)
        for name, value in fields.items():
            setattr(template, name, value)
        if retired is not None:
            template.retired_at = (template.retired_at or uow.now()) if retired else None
        audit(uow, None, "template_updated", {"template_id": template.id, "changed": sorted(given),
                                              "retired": template.retired_at is not None})
    return shared(TemplateSchema).dump(template)


def check_template(uow, fields, missing_courses, template_id=None):
    """A template that can be used: its own rules, no retired KPI definition, a free name, and the
    retraining courses training has."""
    definitions = {row.key: row for row in uow.session.scalars(select(KpiDefinition))}
    errors = rules.template_errors(fields["items"], fields["reviewer_weights"], fields["bands"], set(definitions))
    retired = sorted({item["kpi"] for item in fields["items"]
                      if item["kpi"] in definitions and definitions[item["kpi"]].retired_at is not None})
    if retired:
        errors.setdefault("items", []).append(f"retired KPI definitions: {', '.join(retired)}")
    if errors:
        raise InvalidInput("the template cannot be used", errors)
    if uow.session.scalar(select(Template.id).where(Template.name == fields["name"], Template.id != template_id)
                          if template_id else select(Template.id).where(Template.name == fields["name"])):
        raise Conflict(f"template {fields['name']!r} exists", {"name": ["already taken"]})
    check_courses(fields["bands"], missing_courses)


def check_courses(bands, missing_courses):
    missing = set(missing_courses)
    errors = {str(n): {"retraining_course_id": [f"course {band['retraining_course_id']} does not exist in training"]}
              for n, band in enumerate(bands) if band["retraining_course_id"] in missing}
    if errors:
        raise InvalidInput(f"bands name retraining courses training does not have: "
                           f"{', '.join(f'course {i}' for i in sorted(missing))}", {"bands": errors})


def list_kpi_definitions(uow):
    rows = uow.session.scalars(select(KpiDefinition).order_by(KpiDefinition.key)).all()
    return shared(KpiDefinitionListSchema).dump({"items": rows})


def list_templates(uow):
    rows = uow.session.scalars(select(Template).order_by(Template.id)).all()
    return shared(TemplateListSchema).dump({"items": rows})


def rate(uow, data):
    """A reviewer's scores of an agent's rated items, taken while the cycle is collecting or computed;
    nobody rates themselves. One rating per ``models.rating_key``: a new one replaces the old, so a
    reviewer counts once however often they rate. Returns whether it was new, and the rating."""
    fields = load(ReviewRatingCreateSchema, data)
    separate_duties(uow.actor, fields["agent"], "rate themselves, in any reviewer role")
    with uow.transaction():
        cycle = get_or_not_found(uow.session, Cycle, fields["cycle_id"])
        if cycle.state not in rules.RATING_STATES:
            raise Conflict(f"ratings are taken while a cycle is collecting or computed; this one is {cycle.state}",
                           {"cycle_id": [f"cycle is {cycle.state}"]})
        if fields["reviewer_role"] == CUSTOMER:
            check_ticket_of(uow, fields["ticket_id"], fields["agent"])
        row = dict(fields, reviewer=uow.actor, created_at=uow.now())
        columns, condition = rating_key(row["reviewer_role"])
        replaced = uow.session.execute(select(Rating.id, Rating.scores).where(
            *(getattr(Rating, name) == row[name] for name in columns), condition)).first()
        table = Rating.__table__
        insert = upsert_insert(uow.session)(table).values(row)
        rating_id = uow.session.scalar(insert.on_conflict_do_update(
            index_elements=list(columns), index_where=condition,
            set_={name: insert.excluded[name] for name in ("reviewer", "scores", "comment", "created_at")},
        ).returning(table.c.id))
        rating = uow.session.get(Rating, rating_id, populate_existing=True)
        details = {"rating_id": rating.id, "agent": rating.agent, "reviewer_role": rating.reviewer_role,
                   "scores": rating.scores, "ticket_id": rating.ticket_id}
        if replaced is None:
            audit(uow, cycle.id, "rating_entered", details)
        else:
            audit(uow, cycle.id, "rating_replaced", dict(details, replaced_scores=replaced.scores))
        return {"created": replaced is None, "rating": shared(ReviewRatingSchema).dump(rating)}


def check_ticket_of(uow, ticket_id, agent):
    """A customer's rating is of a ticket the agent owns (as the facts of ticketing's events say)."""
    record = uow.session.get(TicketRecord, ticket_id)
    if record is None or record.agent != agent:
        raise InvalidInput(f"ticket {ticket_id} is not a ticket of {agent}",
                           {"ticket_id": [f"not a ticket of {agent} (as appraisal knows it)"]})


def rule_snapshot(uow, template) -> dict:
    """The template and the KPI definitions it names as they are now: what a cycle planned now scores with."""
    keys = {item["kpi"] for item in template.items}
    definitions = {row.key: {name: getattr(row, name) for name in ("key", *DEFINITION_FIELDS)}
                   for row in uow.session.scalars(select(KpiDefinition).where(KpiDefinition.key.in_(keys)))}
    return {"items": template.items, "reviewer_weights": template.reviewer_weights, "bands": template.bands,
            "definitions": definitions}


def scoring_rule(uow, cycle):
    """(rules.Template, {key: rules.KpiDefinition}): the cycle's template as a scoring rule, as it was when
    the cycle was planned (a cycle planned before snapshots were kept: the template as it is)."""
    rule = cycle.rule or rule_snapshot(uow, uow.session.get(Template, cycle.template_id))
    definitions = {key: rules.KpiDefinition(d["key"], d["category"], d["source"], d["measure"], d["direction"],
                                            d["target"], d["floor"]) for key, d in rule["definitions"].items()}
    template = rules.Template(
        items=tuple((item["kpi"], item["weight"], item.get("instant_fail_threshold")) for item in rule["items"]),
        reviewer_weights=rule["reviewer_weights"], bands=tuple(rules.Band(**band) for band in rule["bands"]))
    return template, definitions


def ratings_by_agent(uow, cycle_id) -> dict:
    """{agent: {rating item: {reviewer role: [scores]}}} of a cycle."""
    ratings = {}
    for rating in uow.session.scalars(select(Rating).where(Rating.cycle_id == cycle_id).order_by(Rating.id)):
        for item, value in rating.scores.items():
            ratings.setdefault(rating.agent, {}).setdefault(item, {}).setdefault(
                rating.reviewer_role, []).append(value)
    return ratings
