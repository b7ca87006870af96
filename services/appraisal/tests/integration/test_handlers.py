"""Appraisal's handlers on a unit over SQLite, without a container: facts kept
once and records rebuilt, KPIs and counts from them, and a cycle whose clock
the test sets (publication, an appeal, the window closing)."""
import json
from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from appraisal import models
from appraisal.cycles import handlers as cycles
from appraisal.cycles.rules import WorkingDays
from appraisal.facts import handlers as facts
from appraisal.kpis import handlers as kpis
from appraisal.reviews import handlers as reviews
from plumbing.errors import Conflict, Forbidden, InvalidInput, NotFound, UnprocessableEvent
from plumbing.events import make_envelope
from plumbing.unit_of_work import Unit

MARCH_2 = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
NO_HOLIDAYS = WorkingDays(None)  # weekends only: deadlines the test can count
RECONTACT_DAYS = 7


NONE_MISSING = []  # training's missing_courses, as the gateway passes it on: it has every course named


def ticket_event(ticket_id, event_type, sequence, event_id=None, **data):
    return make_envelope(service="ticketing", event_type=event_type, subject=f"ticket/{ticket_id}",
                         data=dict({"ticket_id": ticket_id, "assignee": "alice", "team": "billing"}, **data),
                         sequence=sequence, event_id=event_id, time=MARCH_2 + timedelta(minutes=sequence))


def created(ticket_id, assignee="alice"):
    return ticket_event(ticket_id, "ticket.created", 1, assignee=assignee, created_at=MARCH_2.isoformat())


def stopped(ticket_id, sequence, clock, seconds, assignee="alice"):
    return ticket_event(ticket_id, "sla.clock_stopped", sequence, assignee=assignee, clock=clock,
                        business_seconds=seconds, met=True)


def stored():
    return REGISTRY.get_sample_value("csops_appraisal_facts_stored_total", {"type": "ticket.resolved"}) or 0


def test_a_batch_of_facts_is_kept_once_and_rebuilds_its_tickets_records_and_measures(run):
    run(facts.take_ticket_facts, [created(1), created(2, "bob")], RECONTACT_DAYS, facts.TicketCreatedDataSchema)
    resolved = ticket_event(1, "ticket.resolved", 2)
    before = stored()
    run(facts.take_ticket_facts, [resolved, resolved], RECONTACT_DAYS)
    run(facts.take_ticket_facts, [resolved], RECONTACT_DAYS)  # a redelivery: skipped, not counted
    assert stored() == before + 1
    with run.sessions() as session:
        records = {r.ticket_id: r for r in session.scalars(select(models.TicketRecord))}
        resolutions = session.scalars(select(models.Measure.ticket_id).where(models.Measure.kind == "resolved")).all()
    assert (records[1].agent, records[1].created_at, records[2].agent) == ("alice", MARCH_2, "bob")
    assert resolutions == [1]
    assert run(facts.replay, RECONTACT_DAYS) == {"tickets": 2, "facts": 3}


def test_a_fact_keeps_the_number_of_its_sequence_string_or_of_an_integer_recorded_before_it_became_one(run):
    run(facts.take_ticket_facts, [created(1)], RECONTACT_DAYS, facts.TicketCreatedDataSchema)
    before_the_change = dict(ticket_event(1, "ticket.reopened", 9), sequence=9)  # still in an outbox or a DLQ
    run(facts.take_ticket_facts, [ticket_event(1, "ticket.resolved", 10), before_the_change], RECONTACT_DAYS)
    with run.sessions() as session:
        assert session.scalars(select(models.Fact.sequence).order_by(models.Fact.sequence)).all() == [1, 9, 10]


def test_event_data_a_record_needs_is_checked_and_nothing_of_the_batch_is_kept(run):
    with pytest.raises(UnprocessableEvent, match="created_at"):
        run(facts.take_ticket_facts, [created(1), ticket_event(2, "ticket.created", 1)], RECONTACT_DAYS,
            facts.TicketCreatedDataSchema)
    assert run(facts.replay, RECONTACT_DAYS) == {"tickets": 0, "facts": 0}


def test_kpis_and_counts_come_from_the_measures_of_ticket_and_exam_facts(run):
    run(facts.take_ticket_facts, [created(1), created(2), created(3, "bob")], RECONTACT_DAYS,
        facts.TicketCreatedDataSchema)
    run(facts.take_ticket_facts, [stopped(1, 2, "first_response", 100.0), stopped(2, 2, "first_response", 300.0)],
        RECONTACT_DAYS, facts.SlaClockStoppedDataSchema)
    run(facts.take_exam_facts, [make_envelope(service="training", event_type="training.exam_passed",
                                              subject="training/alice", data={"agent": "alice", "score": 80.0},
                                              sequence=1, time=MARCH_2)])
    alice = run(kpis.get_kpis, {"agent": "alice", "date_from": "2026-03-01", "date_to": "2026-03-31"})["kpis"]
    assert (alice["volume"], alice["first_response_mean"], alice["exam_score"]) == (2.0, 200.0, 80.0)
    assert run(kpis.count_tickets, {"by": "month"})["items"] == [
        {"agent": "alice", "day": "2026-03-01", "tickets": 2}, {"agent": "bob", "day": "2026-03-01", "tickets": 1}]


DEFINITION = {"key": "speed", "name": "First response", "category": "efficiency", "source": "measured",
              "measure": "first_response_mean", "direction": "lower_better", "target": 60, "floor": 600}
TEMPLATE = {"name": "Agents monthly", "role": "agent", "period_type": "monthly",
            "items": [{"kpi": "speed", "weight": 100}],
            "bands": [{"grade": "A", "min_score": 50}, {"grade": "C", "min_score": 0, "retraining_course_id": 42}]}


def outbox_types(run):
    with run.sessions() as session:
        return [json.loads(row.envelope)["type"] for row in session.execute(select(models.outbox)
                                                                            .order_by(models.outbox.c.created_at))]


def test_a_cycle_on_the_tests_clock_publishes_takes_an_appeal_and_closes_after_the_window(run):
    run(facts.take_ticket_facts, [created(1), created(2, "bob")], RECONTACT_DAYS, facts.TicketCreatedDataSchema,
        at=MARCH_2)
    run(facts.take_ticket_facts, [stopped(1, 2, "first_response", 60.0), stopped(2, 2, "first_response", 600.0, "bob")],
        RECONTACT_DAYS, facts.SlaClockStoppedDataSchema, at=MARCH_2)
    run(reviews.create_kpi_definition, DEFINITION, actor="carla")
    template = run(reviews.create_template, TEMPLATE, NONE_MISSING, actor="carla")
    cycle = run(cycles.create_cycle, {"template_id": template["id"], "period_start": "2026-03-01"}, actor="carla")

    def advance(action, at):
        return run(cycles.advance_cycle, cycle["id"], {"action": action}, NO_HOLIDAYS, actor="carla", at=at)
    friday = datetime(2026, 4, 3, 12, tzinfo=timezone.utc)
    for action in ("start", "compute", "review"):
        advance(action, friday)
    published = advance("publish", friday)
    assert published["appeal_deadline"] == "2026-04-10"  # five working days after Friday 3 April
    assert [r["grade"] for r in run(cycles.list_results, cycle["id"])["items"]] == ["A", "C"]
    appeal = run(cycles.file_appeal, cycle["id"], {"items": ["speed"], "reason": "slow tools"}, NO_HOLIDAYS,
                 actor="bob", at=friday)
    assert appeal["decision_due"] == "2026-04-17"
    with pytest.raises(NotFound):
        run(cycles.my_result, cycle["id"], actor="dave")
    run(cycles.investigate_appeal, appeal["id"], {}, actor="carla", at=friday)
    run(cycles.decide_appeal, appeal["id"], {"decision": "rejected", "reason": "as measured"}, actor="carla",
        at=friday)
    with pytest.raises(Conflict, match="open until the end of 2026-04-10"):
        advance("close", datetime(2026, 4, 10, 23, tzinfo=timezone.utc))
    assert advance("close", datetime(2026, 4, 11, tzinfo=timezone.utc))["state"] == "closed"
    assert outbox_types(run) == ["appraisal.published", "appraisal.published", "appraisal.appeal_filed",
                                 "appraisal.appeal_decided", "appraisal.retraining_requested"]
    trail = run(cycles.audit_trail, cycle["id"])["items"]
    assert [(entry["actor"], entry["action"]) for entry in trail][-3:] == [
        ("carla", "appeal_investigation_started"), ("carla", "appeal_decided"), ("carla", "cycle_close")]


# -- ratings: one per reviewer, agent, cycle and role; nobody rates themselves --------------
RATED = [{"key": "exam", "name": "Exam", "category": "quality", "source": "measured", "measure": "exam_score",
          "direction": "higher_better", "target": 90, "floor": 0},
         {"key": "courtesy", "name": "Courtesy", "category": "attitude", "source": "rated", "measure": "courtesy",
          "direction": "higher_better", "target": 100, "floor": 0}]
RATED_TEMPLATE = {"name": "Rated monthly", "role": "agent", "period_type": "monthly",
                  "items": [{"kpi": "exam", "weight": 10}, {"kpi": "courtesy", "weight": 90}],
                  "reviewer_weights": {"supervisor": 80, "peer": 20}, "bands": [{"grade": "A", "min_score": 0}]}


@pytest.fixture
def collecting(run):
    """A March cycle of RATED_TEMPLATE, collecting; dee passed an exam with 40 (44.4444 points)."""
    run(facts.take_exam_facts, [make_envelope(service="training", event_type="training.exam_passed",
                                              subject="training/dee", data={"agent": "dee", "score": 40.0},
                                              sequence=1, time=MARCH_2)])
    for definition in RATED:
        run(reviews.create_kpi_definition, definition, actor="carla")
    template = run(reviews.create_template, RATED_TEMPLATE, NONE_MISSING, actor="carla")
    cycle = run(cycles.create_cycle, {"template_id": template["id"], "period_start": "2026-03-01"}, actor="carla")
    run(cycles.advance_cycle, cycle["id"], {"action": "start"}, NO_HOLIDAYS, actor="carla")
    return cycle


def dees_score(run, cycle):
    run(cycles.advance_cycle, cycle["id"], {"action": "compute"}, NO_HOLIDAYS, actor="carla")
    return run(cycles.list_results, cycle["id"], {"agent": "dee"})["items"][0]["score"]


def test_a_reviewers_new_rating_replaces_the_old_so_200_zero_ratings_count_once(run, collecting):
    def rate(reviewer, role, score):
        return run(reviews.rate, {"cycle_id": collecting["id"], "agent": "dee", "reviewer_role": role,
                                  "scores": {"courtesy": score}}, actor=reviewer)
    rate("sue", "supervisor", 95)
    for peer in ("ann", "bob", "cid"):
        rate(peer, "peer", 97)
    assert dees_score(run, collecting) == 90.3
    answers = [rate("eve", "peer", 0) for _ in range(200)]  # one colleague, 200 zeros
    # counted 200 times, the zeros would drag dee to 73.1; counted once, eve is one peer of four:
    # 0.1 * 44.4444 + 0.9 * (0.8 * 95 + 0.2 * (3 * 97 + 0) / 4) = 85.94
    assert dees_score(run, collecting) == 85.94
    assert [a["created"] for a in (answers[0], answers[-1])] == [True, False]
    assert answers[0]["rating"]["id"] == answers[-1]["rating"]["id"]
    with run.sessions() as session:
        assert session.scalar(select(func.count()).select_from(models.Rating)) == 5
    trail = [entry["action"] for entry in run(cycles.audit_trail, collecting["id"])["items"]]
    assert trail.count("rating_entered") == 5 and trail.count("rating_replaced") == 199


def test_a_customer_rating_names_a_ticket_of_the_agent_and_counts_once_per_ticket(run, collecting):
    run(facts.take_ticket_facts, [created(1, "dee"), created(2, "bob"), created(3, "dee")], RECONTACT_DAYS,
        facts.TicketCreatedDataSchema)

    def rate(score, **ticket):
        return run(reviews.rate, dict({"cycle_id": collecting["id"], "agent": "dee", "reviewer_role": "customer",
                                       "scores": {"courtesy": score}}, **ticket), actor="shop-integration")
    for wrong, field in (({}, "ticket_id"), ({"ticket_id": 2}, "ticket_id"), ({"ticket_id": 99}, "ticket_id")):
        with pytest.raises(InvalidInput) as refused:
            rate(50, **wrong)
        assert field in refused.value.details
    assert rate(40, ticket_id=1)["created"] and not rate(60, ticket_id=1)["created"]  # the customer changed it
    assert rate(80, ticket_id=3)["created"]
    with pytest.raises(InvalidInput, match="validation"):
        run(reviews.rate, {"cycle_id": collecting["id"], "agent": "dee", "reviewer_role": "peer", "ticket_id": 1,
                           "scores": {"courtesy": 1}}, actor="ann")
    with run.sessions() as session:
        uow = Unit.on_session(session)
        assert reviews.ratings_by_agent(uow, collecting["id"])["dee"]["courtesy"] == {"customer": [60.0, 80.0]}


def test_nobody_rates_themselves_in_any_reviewer_role(run, collecting):
    run(facts.take_ticket_facts, [created(1, "dee")], RECONTACT_DAYS, facts.TicketCreatedDataSchema)
    for role in ("supervisor", "quality", "peer", "customer"):
        with pytest.raises(Forbidden, match="separation of duties: nobody may rate themselves"):
            run(reviews.rate, dict({"cycle_id": collecting["id"], "agent": "dee", "reviewer_role": role,
                                    "scores": {"courtesy": 100}}, **({"ticket_id": 1} if role == "customer" else {})),
                actor="dee")


def test_nobody_investigates_or_decides_their_own_appeal(run, collecting):
    run(reviews.rate, {"cycle_id": collecting["id"], "agent": "dee", "reviewer_role": "supervisor",
                       "scores": {"courtesy": 50}}, actor="sue")
    friday = datetime(2026, 4, 3, 12, tzinfo=timezone.utc)
    for action in ("compute", "review", "publish"):
        run(cycles.advance_cycle, collecting["id"], {"action": action}, NO_HOLIDAYS, actor="carla", at=friday)
    appeal = run(cycles.file_appeal, collecting["id"], {"items": ["courtesy"], "reason": "one call"}, NO_HOLIDAYS,
                 actor="dee", at=friday)
    with pytest.raises(Forbidden, match="separation of duties: nobody may investigate their own appeal"):
        run(cycles.investigate_appeal, appeal["id"], {}, actor="dee", at=friday)
    run(cycles.investigate_appeal, appeal["id"], {}, actor="carla", at=friday)
    with pytest.raises(Forbidden, match="separation of duties: nobody may decide their own appeal"):
        run(cycles.decide_appeal, appeal["id"], {"decision": "upheld", "reason": "mine"}, actor="dee", at=friday)
    assert run(cycles.decide_appeal, appeal["id"], {"decision": "rejected", "reason": "as rated"}, actor="carla",
               at=friday)["decided_by"] == "carla"
