"""Reviews: KPI definitions and the templates that weigh them, reviewers'
ratings of an agent in a cycle, and the scoring rule a cycle's results are
computed with. Every step is written to the audit trail."""
from sqlalchemy import select

from appraisal.contract import (
    CUSTOMER, KpiDefinitionCreateSchema, KpiDefinitionListSchema, KpiDefinitionSchema, ReviewRatingCreateSchema,
    ReviewRatingSchema, TemplateCreateSchema, TemplateListSchema, TemplateSchema,
)
from appraisal.cycles.audit import audit
from appraisal.models import Cycle, KpiDefinition, Rating, Template, TicketRecord, rating_key
from appraisal.reviews import rules
from plumbing.db import get_or_not_found, upsert_insert
from plumbing.errors import Conflict, InvalidInput, load_or_invalid as load, separate_duties
from plumbing.schemas import shared


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
    """A template; the retraining courses its bands name must exist in training, which
    ``missing_courses(ids)`` asks (training's RPC of that name: ``{"missing": [ids]}``)."""
    fields = load(TemplateCreateSchema, data)
    with uow.transaction():
        known = set(uow.session.scalars(select(KpiDefinition.key)))
        errors = rules.template_errors(fields["items"], fields["reviewer_weights"], fields["bands"], known)
        if errors:
            raise InvalidInput("the template cannot be used", errors)
        check_courses(fields["bands"], missing_courses)
        if uow.session.scalar(select(Template.id).where(Template.name == fields["name"])):
            raise Conflict(f"template {fields['name']!r} exists", {"name": ["already taken"]})
        template = Template(**fields, created_at=uow.now())
        uow.session.add(template)
        uow.session.flush()
        audit(uow, None, "template_created", {"template_id": template.id, "name": template.name})
    return shared(TemplateSchema).dump(template)


def check_courses(bands, missing_courses):
    named = {band["retraining_course_id"] for band in bands if band["retraining_course_id"] is not None}
    missing = set(missing_courses(sorted(named))["missing"]) if named else set()
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


def scoring_rule(uow, template_id):
    """(rules.Template, {key: rules.KpiDefinition}): the template ``template_id`` as a scoring rule."""
    template = uow.session.get(Template, template_id)
    definitions = {row.key: rules.KpiDefinition(row.key, row.category, row.source, row.measure, row.direction,
                                                row.target, row.floor)
                   for row in uow.session.scalars(select(KpiDefinition))}
    rule = rules.Template(
        items=tuple((item["kpi"], item["weight"], item.get("instant_fail_threshold")) for item in template.items),
        reviewer_weights=template.reviewer_weights, bands=tuple(rules.Band(**band) for band in template.bands))
    return rule, definitions


def ratings_by_agent(uow, cycle_id) -> dict:
    """{agent: {rating item: {reviewer role: [scores]}}} of a cycle."""
    ratings = {}
    for rating in uow.session.scalars(select(Rating).where(Rating.cycle_id == cycle_id).order_by(Rating.id)):
        for item, value in rating.scores.items():
            ratings.setdefault(rating.agent, {}).setdefault(item, {}).setdefault(
                rating.reviewer_role, []).append(value)
    return ratings
