"""Cycles: planned for a template and a period, then started, computed (every
agent's result), reviewed, published (the appeal window opens) and closed
(outcomes apply); the results, the appeals against them, and the audit trail.
Every step is written to the audit trail in the transaction that makes it."""
import logging
from datetime import date, timedelta
from types import SimpleNamespace

from marshmallow import fields
from sqlalchemy import and_, func, or_, select

from appraisal import events
from appraisal.contract import (
    ADJUSTED, REJECTED, UPHELD, AppealCreateSchema, AppealDecisionSchema, AppealInvestigationSchema,
    AppealListSchema, AppealQuerySchema, AppealSchema, AuditListSchema, CycleCreateSchema, CycleListSchema,
    CycleSchema, CycleTransitionSchema, ResultListSchema, ResultQuerySchema, ResultSchema,
)
from appraisal.cycles import rules
from appraisal.cycles.audit import audit
from appraisal.facts import handlers as facts
from appraisal.facts.handlers import NO_FIGURES
from appraisal.facts.rules import RECEIVED
from appraisal.kpis import queries as kpi_queries, rules as kpi_rules
from appraisal.models import Appeal, AuditEntry, Cycle, Fact, KpiDefinition, Measure, Membership, Result, Template
from appraisal.reviews import handlers as reviews, rules as scoring
from plumbing.config import setting
from plumbing.db import get_or_not_found, insert_rows, upsert_insert
from plumbing.errors import Conflict, InvalidInput, NotFound, load_event_data, load_or_invalid as load
from plumbing.errors import separate_duties
from plumbing.schemas import TolerantSchema, shared

log = logging.getLogger(__name__)


def working_days(config) -> rules.WorkingDays:
    """The calendar appeal deadlines count on: a country's (``HOLIDAYS_COUNTRY``, empty for none)
    with ``EXTRA_HOLIDAYS`` and ``WORKING_DAYS`` (comma-separated ISO days)."""
    country = setting(config, "appraisal", "HOLIDAYS_COUNTRY", "CN")
    return rules.WorkingDays(
        country=country or None,
        extra_holidays=dates(setting(config, "appraisal", "EXTRA_HOLIDAYS", "")),
        working_weekend_days=dates(setting(config, "appraisal", "WORKING_DAYS", "")))


def dates(text) -> frozenset:
    return frozenset(date.fromisoformat(part.strip()) for part in (text or "").split(",") if part.strip())


def today(uow) -> date:
    return uow.now().date()


def conflict(error: rules.CycleConflict) -> Conflict:
    return Conflict(str(error), {error.field: [str(error)]})


def publish(uow, event_type, aggregate_id, subject):
    uow.record(event_type, events.AGGREGATE, aggregate_id, subject)


# -- cycles -------------------------------------------------------------------
def create_cycle(uow, data):
    fields = load(CycleCreateSchema, data)
    with uow.transaction():
        template = get_or_not_found(uow.session, Template, fields["template_id"])
        check_usable(uow, template)
        try:
            start, end = rules.period_of(template.period_type, fields["period_start"])
        except rules.CycleConflict as exc:
            raise InvalidInput(str(exc), {exc.field: [str(exc)]}) from None
        if uow.session.scalar(select(Cycle.id).where(Cycle.template_id == template.id, Cycle.period_start == start)):
            raise Conflict(f"template {template.id} already has a cycle for {start}",
                           {"period_start": ["already planned"]})
        cycle = Cycle(**fields, period_type=template.period_type, period_end=end, state="planned",
                      created_at=uow.now(), rule=reviews.rule_snapshot(uow, template))
        uow.session.add(cycle)
        uow.session.flush()
        audit(uow, cycle.id, "cycle_planned", {"template_id": template.id, "period_start": start.isoformat(),
                                               "period_end": end.isoformat()})
        return cycle_view(uow, cycle)


def check_usable(uow, template):
    """No new cycle of a retired template, or of one naming a retired KPI definition (409)."""
    if template.retired_at is not None:
        raise Conflict(f"template {template.id} is retired", {"template_id": [f"template {template.id} is retired"]})
    keys = [item["kpi"] for item in template.items]
    retired = uow.session.scalars(select(KpiDefinition.key).where(KpiDefinition.key.in_(keys),
                                                                  KpiDefinition.retired_at.is_not(None))).all()
    if retired:
        raise Conflict(f"template {template.id} names retired KPI definitions: {', '.join(sorted(retired))}",
                       {"template_id": [f"names retired KPI definitions: {', '.join(sorted(retired))}"]})


def get_cycle(uow, cycle_id):
    return cycle_view(uow, get_or_not_found(uow.session, Cycle, cycle_id))


def list_cycles(uow):
    rows = uow.session.scalars(select(Cycle).order_by(Cycle.period_start.desc(), Cycle.id.desc())).all()
    return shared(CycleListSchema).dump({"items": [cycle_view(uow, cycle, dump=False) for cycle in rows]})


def cycle_view(uow, cycle, dump=True):
    view = {column.key: getattr(cycle, column.key) for column in Cycle.__table__.columns}
    view["late_facts"] = late_facts(uow.session, cycle)
    return shared(CycleSchema).dump(view) if dump else view


def late_facts(session, cycle) -> int:
    """Facts of the cycle's period that arrived after its figures were computed (DECISIONS 11):
    not in them, counted in the next period's cycle (account snapshots are no figures' facts)."""
    if cycle.computed_at is None:
        return 0
    start, end = kpi_rules.day_range(cycle.period_start, cycle.period_end)
    return session.scalar(select(func.count()).select_from(Fact).where(
        Fact.time >= start, Fact.time < end, Fact.stored_at > cycle.computed_at, Fact.type.not_in(NO_FIGURES)))


def advance_cycle(uow, cycle_id, data, calendar: rules.WorkingDays):
    """start, compute, review, publish or close, each allowed only from its states."""
    action = load(CycleTransitionSchema, data)["action"]
    with uow.transaction():
        cycle = get_or_not_found(uow.session, Cycle, cycle_id, lock=True)
        try:
            target = rules.next_state(cycle.state, action)
        except rules.CycleConflict as exc:
            raise conflict(exc) from None
        details = {"from": cycle.state, "to": target}
        if action == "compute":
            details["results"] = compute_results(uow, cycle)
        elif action == "publish":
            publish_results(uow, cycle, calendar)
            details["appeal_deadline"] = cycle.appeal_deadline.isoformat()
        elif action == "close":
            details["retraining_requested"] = close(uow, cycle)
        cycle.state = target
        audit(uow, cycle.id, f"cycle_{action}", details)
        return cycle_view(uow, cycle)


def compute_results(uow, cycle) -> int:
    """Every agent with measures or ratings in the period gets a result. The
    figures hold the facts that had arrived when the cycle was first computed
    (computing again, for new ratings, changes no measured figure), and the
    previous period's facts that arrived after that period's cycle was
    computed (DECISIONS 11). Counts and sums come from one GROUP BY (agent,
    queue) and the percentiles from one ranking per measure."""
    session = uow.session
    cycle.computed_at = cycle.computed_at or uow.now()
    rule, definitions = reviews.scoring_rule(uow, cycle)
    conditions = [*cycle_conditions(session, cycle), Measure.agent.is_not(None)]
    tallies, teams = {}, {}
    for (agent, queue), tally in kpi_queries.tallies(session, conditions, Measure.agent, Measure.queue).items():
        tallies.setdefault(agent, []).append(tally)
        if queue and RECEIVED in tally:
            teams.setdefault(agent, {})[queue] = tally[RECEIVED]["rows"]
    percentiles = kpi_queries.percentiles(session, conditions)
    ratings = reviews.ratings_by_agent(uow, cycle.id)
    agents = set(tallies) | set(ratings)
    accounts = account_teams(session, cycle, agents - set(teams))
    rows = []
    for agent in sorted(agents):
        measured = kpi_rules.values(kpi_rules.merge(tallies.get(agent, [])), percentiles.get(agent, {}))
        scored = scoring.score(rule, definitions, measured, ratings.get(agent, {}))
        result = SimpleNamespace(cycle_id=cycle.id, agent=agent, team=rules.most_tickets(teams.get(agent, {})) or accounts.get(agent),
                                 kpis=measured, adjusted=False, computed_at=uow.now())
        keep_score(result, scored)
        rows.append(vars(result))
    if rows:  # one multi-row upsert: a result computed again keeps its row (and id)
        insert_result = upsert_insert(session)(Result.__table__)
        insert_rows(session, insert_result.on_conflict_do_update(
            index_elements=[Result.cycle_id, Result.agent],
            set_={name: insert_result.excluded[name] for name in rows[0] if name not in ("cycle_id", "agent")}),
            rows)
    return len(agents)


def account_teams(session, cycle, agents) -> dict:
    """{agent: team} for agents who received no ticket in the period: the team their account was in
    during the period (the latest joined; of equals, the first by name), from the memberships the
    gateway's staff events feed."""
    if not agents:
        return {}
    start, end = kpi_rules.day_range(cycle.period_start, cycle.period_end)
    rows = session.execute(select(Membership.agent, Membership.team, Membership.valid_from).where(
        Membership.agent.in_(sorted(agents)), or_(Membership.valid_from.is_(None), Membership.valid_from < end),
        or_(Membership.valid_to.is_(None), Membership.valid_to > start)))
    found = {}
    for agent, team, valid_from in rows:
        found.setdefault(agent, []).append((valid_from, team))
    return {agent: rules.latest_team(spans) for agent, spans in found.items()}


def cycle_conditions(session, cycle) -> list:
    """The measures a cycle counts: of its period, arrived by its computation; and of the previous
    period (the template's cycle ending the day before), arrived after that cycle's computation."""
    arrived = or_(Measure.arrived_at.is_(None), Measure.arrived_at <= cycle.computed_at)
    own = and_(*kpi_queries.period_conditions(cycle.period_start, cycle.period_end))
    previous = session.scalar(select(Cycle).where(
        Cycle.template_id == cycle.template_id, Cycle.period_end == cycle.period_start - timedelta(days=1),
        Cycle.computed_at.is_not(None)))
    if previous is None:
        return [arrived, own]
    late = and_(*kpi_queries.period_conditions(previous.period_start, previous.period_end),
                Measure.arrived_at > previous.computed_at)
    return [arrived, or_(own, late)]


def keep_score(result, scored: scoring.Score):
    result.score, result.grade = scored.score, scored.grade
    result.breakdown = {"items": scored.items, "failed_by": scored.failed_by}
    band = scored.band
    result.outcome = {} if band is None else {
        "bonus_tier": band.bonus_tier, "promotion_eligible": band.promotion_eligible,
        "warning": band.warning, "retraining_course_id": band.retraining_course_id}


def publish_results(uow, cycle, calendar):
    cycle.published_at = uow.now()
    cycle.appeal_deadline = rules.appeal_deadline(
        today(uow), rules.AppealRules(cycle.appeal_days, cycle.decision_days), calendar)
    for result in uow.session.scalars(select(Result).where(Result.cycle_id == cycle.id).order_by(Result.agent)):
        publish(uow, events.PUBLISHED_RESULT, f"{cycle.id}:{result.agent}", {
            "cycle_id": cycle.id, "agent": result.agent, "period_start": cycle.period_start,
            "period_end": cycle.period_end, "score": result.score, "grade": result.grade,
            "appeal_deadline": cycle.appeal_deadline})


def close(uow, cycle) -> list:
    """Outcomes apply once appeals are settled: the window must be over and
    every appeal decided. Returns the agents sent back to training."""
    if today(uow) <= cycle.appeal_deadline:
        raise Conflict(f"the appeal window is open until the end of {cycle.appeal_deadline.isoformat()}",
                       {"state": ["appeal window still open"]})
    undecided = uow.session.scalars(select(Appeal.id).where(Appeal.cycle_id == cycle.id,
                                                            Appeal.state != "decided")).all()
    if undecided:
        raise Conflict(f"appeals {', '.join(map(str, undecided))} are not decided",
                       {"appeals": [str(appeal) for appeal in undecided]})
    cycle.closed_at = uow.now()
    sent = []
    for result in uow.session.scalars(select(Result).where(Result.cycle_id == cycle.id).order_by(Result.agent)):
        course_id = result.outcome.get("retraining_course_id")
        if course_id is not None:
            publish(uow, events.RETRAINING_REQUESTED, f"{cycle.id}:{result.agent}", {
                "agent": result.agent, "course_id": course_id, "cycle_id": cycle.id,
                "reason": f"appraisal cycle {cycle.id} ({cycle.period_start.isoformat()}): grade {result.grade}"})
            sent.append(result.agent)
    return sent


class RetrainingRefusedDataSchema(TolerantSchema):
    """``training.retraining_refused`` as appraisal reads it."""
    agent = fields.String(required=True)
    course_id = fields.Integer(required=True)
    cycle_id = fields.Integer(load_default=None, allow_none=True)
    reason = fields.String(load_default="")


def take_refused_outcomes(uow, batch):
    """Training could not apply a closed cycle's outcome (it refused the retraining enrolment): the
    failure is put on the cycle, once per agent and course, and in its audit trail, for the committee.
    Kept as facts like every event appraisal consumes (their ids make a redelivery count once)."""
    refusals = {event["id"]: (event, load_event_data(RetrainingRefusedDataSchema, event)) for event in batch}
    with uow.transaction():
        kept = facts.store_facts(uow, batch, [(None, refusals[event["id"]][1]["agent"]) for event in batch])
        for event, refusal in (refusals[fact["event_id"]] for fact in kept):  # a redelivery is skipped
            cycle = refusal["cycle_id"] and uow.session.get(Cycle, refusal["cycle_id"], with_for_update=True)
            if not cycle:
                log.warning("training refused a retraining enrolment of %s in course %s for no cycle known: %s",
                            refusal["agent"], refusal["course_id"], refusal["reason"])
                continue
            if any((f["agent"], f["course_id"]) == (refusal["agent"], refusal["course_id"])
                   for f in cycle.outcome_failures):
                continue
            failure = {"agent": refusal["agent"], "course_id": refusal["course_id"], "reason": refusal["reason"],
                       "at": event["time"]}
            cycle.outcome_failures = [*cycle.outcome_failures, failure]
            uow.session.add(AuditEntry(cycle_id=cycle.id, appeal_id=None, actor="training", action="outcome_failed",
                                       details=failure, at=uow.now()))


# -- results ---------------------------------------------------------------------
def list_results(uow, cycle_id, query=None):
    criteria = load(ResultQuerySchema, query or {})
    get_or_not_found(uow.session, Cycle, cycle_id)
    statement = select(Result).where(Result.cycle_id == cycle_id).order_by(Result.agent)
    if "agent" in criteria:
        statement = statement.where(Result.agent == criteria["agent"])
    return shared(ResultListSchema).dump({"items": uow.session.scalars(statement).all()})


def my_result(uow, cycle_id):
    """The caller's own result, once published (A5: an agent sees only their own)."""
    cycle = get_or_not_found(uow.session, Cycle, cycle_id)
    return shared(ResultSchema).dump(own_result(uow, cycle))


def own_result(uow, cycle):
    result = uow.session.scalar(select(Result).where(Result.cycle_id == cycle.id, Result.agent == uow.actor))
    if cycle.state not in rules.VISIBLE_TO_AGENTS or result is None:
        raise NotFound(f"you have no published result in cycle {cycle.id}")
    return result


# -- appeals ------------------------------------------------------------------------
def file_appeal(uow, cycle_id, data, calendar: rules.WorkingDays):
    fields = load(AppealCreateSchema, data)
    with uow.transaction():
        cycle = get_or_not_found(uow.session, Cycle, cycle_id)
        result = own_result(uow, cycle)
        try:
            rules.check_appeal_allowed(cycle.state, cycle.appeal_deadline, today(uow))
        except rules.CycleConflict as exc:
            raise conflict(exc) from None
        appealable = {item["kpi"] for item in result.breakdown["items"]}
        unknown = sorted(set(fields["items"]) - appealable)
        if unknown:
            raise InvalidInput("items must be items of the result", {"items": [
                f"not an item of your result: {', '.join(unknown)}"]})
        if uow.session.scalar(select(Appeal.id).where(Appeal.result_id == result.id, Appeal.state != "decided")):
            raise Conflict("you already have an appeal of this result under way", {"items": ["appeal open"]})
        appeal = Appeal(cycle_id=cycle.id, result_id=result.id, agent=result.agent, items=fields["items"],
                        reason=fields["reason"], state="filed", filed_at=uow.now(),
                        decision_due=rules.decision_due(today(uow), rules.AppealRules(
                            cycle.appeal_days, cycle.decision_days), calendar))
        uow.session.add(appeal)
        uow.session.flush()
        audit(uow, cycle.id, "appeal_filed", {"items": appeal.items, "reason": appeal.reason}, appeal.id)
        publish(uow, events.APPEAL_FILED, appeal.id, appeal)
        return appeal_view(uow, appeal)


def list_appeals(uow, query=None):
    criteria = load(AppealQuerySchema, query or {})
    statement = select(Appeal).where(*(getattr(Appeal, name) == value for name, value in criteria.items()))
    statement = statement.order_by(Appeal.id)
    return shared(AppealListSchema).dump({"items": [appeal_view(uow, a, dump=False)
                                                    for a in uow.session.scalars(statement)]})


def investigate_appeal(uow, appeal_id, data):
    note = load(AppealInvestigationSchema, data)["note"]
    with uow.transaction():
        appeal = locked_appeal(uow, appeal_id)
        separate_duties(uow.actor, appeal.agent, "investigate their own appeal")
        if appeal.state != "filed":
            raise Conflict(f"appeal {appeal_id} is {appeal.state}", {"state": [f"appeal is {appeal.state}"]})
        appeal.state, appeal.investigator = "investigating", uow.actor
        audit(uow, appeal.cycle_id, "appeal_investigation_started", {"note": note}, appeal.id)
        return appeal_view(uow, appeal)


def decide_appeal(uow, appeal_id, data):
    fields = load(AppealDecisionSchema, data)
    with uow.transaction():
        appeal = locked_appeal(uow, appeal_id)
        separate_duties(uow.actor, appeal.agent, "decide their own appeal")
        if appeal.state == "decided":
            raise Conflict(f"appeal {appeal_id} is already decided", {"state": ["appeal is decided"]})
        if appeal.state != "investigating":  # A5: investigate, then decide
            raise Conflict(f"appeal {appeal_id} is {appeal.state}: investigate first",
                           {"state": [f"appeal is {appeal.state}: investigate first"]})
        result = uow.session.get(Result, appeal.result_id, with_for_update=True)
        before = result.score
        if fields["decision"] == UPHELD:
            rescore_without(uow, result, appeal.items)
        elif fields["decision"] == ADJUSTED:
            set_score(uow, result, fields["new_score"])
        if fields["decision"] != REJECTED:
            result.adjusted = True
        appeal.state, appeal.decision, appeal.decision_reason = "decided", fields["decision"], fields["reason"]
        appeal.score_before, appeal.score_after = before, result.score
        appeal.decided_by, appeal.decided_at = uow.actor, uow.now()
        audit(uow, appeal.cycle_id, "appeal_decided", {
            "decision": appeal.decision, "reason": appeal.decision_reason, "score_before": before,
            "score_after": result.score, "grade_after": result.grade}, appeal.id)
        publish(uow, events.APPEAL_DECIDED, appeal.id, appeal)
        return appeal_view(uow, appeal)


def locked_appeal(uow, appeal_id):
    return get_or_not_found(uow.session, Appeal, appeal_id, lock=True)


def rescore_without(uow, result, voided_items):
    """An upheld appeal: the appealed items leave the score, the others share their weight."""
    cycle = uow.session.get(Cycle, result.cycle_id)
    rule, definitions = reviews.scoring_rule(uow, cycle)
    ratings = reviews.ratings_by_agent(uow, cycle.id).get(result.agent, {})
    keep_score(result, scoring.score(rule, definitions, result.kpis, ratings, frozenset(voided_items)))


def set_score(uow, result, new_score):
    """An adjusted appeal: the committee's score, graded by the template's bands; the breakdown stays."""
    rule, _ = reviews.scoring_rule(uow, uow.session.get(Cycle, result.cycle_id))
    band = scoring.grade_of(new_score, rule.bands)
    keep_score(result, scoring.Score(new_score, band.grade, band, result.breakdown["failed_by"],
                                     result.breakdown["items"]))


def appeal_view(uow, appeal, dump=True):
    view = {column.key: getattr(appeal, column.key) for column in Appeal.__table__.columns}
    view["overdue"] = appeal.state != "decided" and today(uow) > appeal.decision_due
    return shared(AppealSchema).dump(view) if dump else view


# -- audit --------------------------------------------------------------------------
def audit_trail(uow, cycle_id):
    get_or_not_found(uow.session, Cycle, cycle_id)
    rows = uow.session.scalars(select(AuditEntry).where(AuditEntry.cycle_id == cycle_id).order_by(AuditEntry.id))
    return shared(AuditListSchema).dump({"items": rows.all()})
