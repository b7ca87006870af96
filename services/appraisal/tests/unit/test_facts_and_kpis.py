"""Measures from a ticket's facts, memberships from account snapshots, and the KPIs over measures."""
import itertools
from datetime import datetime, timedelta, timezone

from appraisal.contract import KPI_KEYS
from appraisal.facts.rules import Fact, memberships, project
from appraisal.kpis import rules as kpis

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def ticket_facts(steps=(), assignee="alice", team="billing", kind="inquiry"):
    """A ticket's facts: created, then ``steps`` of (type, minutes after creation, extra data)."""
    base = {"ticket_id": 1, "assignee": assignee, "team": team, "kind": kind, "state": "assigned", "actor": None}
    made = [Fact("ticket.created", 1, T0, dict(base, created_at=T0.isoformat()))]
    for sequence, (kind_of_event, minutes, extra) in enumerate(steps, start=2):
        made.append(Fact(kind_of_event, sequence, T0 + timedelta(minutes=minutes), dict(base, **extra)))
    return made


def at(minutes):
    return T0 + timedelta(minutes=minutes)


def test_every_measure_names_the_agent_responsible_and_the_instant_of_its_period():
    record, measures = project(1, ticket_facts([
        ("ticket.transferred", 5, {"assignee": "bob", "actor": "alice", "previous_assignee": "alice"}),
        ("sla.clock_stopped", 10, {"assignee": "bob", "actor": "bob", "clock": "first_response",
                                   "business_seconds": 600.0, "met": True}),
        ("sla.clock_stopped", 60, {"assignee": "bob", "actor": "bob", "clock": "resolution", "state": "resolved",
                                   "business_seconds": 3600.0, "met": True}),
        ("ticket.resolved", 60, {"assignee": "bob", "actor": "bob", "state": "resolved"}),
        ("ticket.rated", 90, {"assignee": "bob", "score": 5, "resolution": 1})]))
    assert (record.agent, record.team, record.created_at) == ("bob", "billing", T0)
    assert sorted((m.kind, m.agent, m.at, m.value) for m in measures) == sorted([
        ("received", "alice", T0, None), ("handled", "alice", T0, None), ("transfer", "alice", at(5), None),
        ("handled", "bob", at(5), None),
        ("first_response", "bob", at(10), 600.0), ("sla_met", "bob", at(10), None),
        ("sla_met", "bob", at(60), None), ("resolved", "bob", at(60), None),
        ("first_resolution", "bob", at(60), 3600.0), ("full_resolution", "bob", at(60), 3600.0),
        ("contact_resolved", "bob", at(60), None),  # transferred: no first_contact
        ("csat", "bob", at(90), 5), ("csat_top", "bob", at(90), None)])


def test_the_measures_are_the_same_whatever_order_the_facts_arrive_in():
    made = ticket_facts([("ticket.assigned", 1, {"assignee": "bob"}),
                         ("ticket.transferred", 5, {"assignee": "carol", "actor": "bob"}),
                         ("ticket.resolved", 9, {"assignee": "carol"}), ("ticket.reopened", 20, {}),
                         ("ticket.resolved", 30, {"assignee": "carol"})], assignee=None)
    projections = {repr(project(1, list(order))) for order in itertools.permutations(made)}
    assert len(projections) == 1


def test_an_unowned_ticket_counts_for_the_first_agent_assigned_in_the_creation_period():
    _, measures = project(1, ticket_facts([("ticket.assigned", 600, {"assignee": "bob", "team": "refunds"})],
                                          assignee=None, kind="complaint"))
    assert {(m.kind, m.agent, m.queue, m.at) for m in measures} == {
        ("received", "bob", "refunds", T0), ("complaint", "bob", "refunds", T0),
        ("handled", "bob", "refunds", at(600))}


def test_memberships_hold_from_each_snapshot_and_the_first_from_the_beginning():
    march = [datetime(2026, 3, day, tzinfo=timezone.utc) for day in (1, 15, 20)]
    assert memberships([(march[0], ["billing"]), (march[1], ["refunds", "billing"]), (march[2], ["refunds"])]) == [
        ("billing", None, march[2]), ("refunds", march[1], None)]
    assert memberships([]) == []


def tally(**kinds):
    """``kind=rows`` or ``kind=(rows, sum of values)``: a tally of measures each of a ticket of its own."""
    made = {}
    for kind, counted in kinds.items():
        rows, total = counted if isinstance(counted, tuple) else (counted, 0.0)
        made[kind] = {"rows": rows, "valued": rows if total else 0, "sum": total, "tickets": rows}
    return made


def test_kpis_from_a_tally_match_hand_computed_figures():
    values = kpis.values(tally(
        received=4, handled=4, complaint=1, transfer=1, first_response=(3, 600.0), first_resolution=(2, 4000.0),
        full_resolution=(1, 3000.0), resolved=2, reopened=1, contact_resolved=2, first_contact=1, sla_met=3,
        sla_breach=1, csat=(2, 7.0), csat_top=1, exam=(2, 170.0)), {"first_response_p50": 200.0})
    assert (values["first_response_mean"], values["first_response_p50"]) == (200.0, 200.0)  # 600 / 3
    assert (values["first_resolution_mean"], values["resolution_mean"]) == (2000.0, 3000.0)
    assert values["sla_compliance"] == 3 / 4                                       # 3 met / (3 + 1 breach)
    assert values["first_contact_rate"] == 1 / 2 and values["reopen_rate"] == 1 / 2
    assert values["resolution_rate"] == 2 / 4                                      # first resolutions / handled
    assert (values["transfer_rate"], values["complaint_rate"]) == (1 / 4, 1 / 4)
    assert (values["csat_mean"], values["csat_top2"]) == (3.5, 0.5)
    assert values["volume"] == 4 and values["exam_score"] == 85.0


def test_a_kpi_with_no_data_is_not_applicable_rather_than_zero():
    values = kpis.values(tally(received=1, handled=1), {})
    assert values["csat_mean"] is None and values["sla_compliance"] is None and values["exam_score"] is None
    assert values["first_contact_rate"] is None and values["resolution_rate"] == 0.0
    assert kpis.values({}, {})["volume"] == 0


def test_the_kpi_table_in_the_module_lists_every_kpi():
    assert all(key.split("_p")[0].split("_mean")[0] in kpis.__doc__ for key in KPI_KEYS)
    assert set(kpis.values({}, {})) == set(KPI_KEYS)


def test_a_resolution_takes_the_resolution_clocks_reading_whether_it_comes_before_or_after_it():
    stop = ("sla.clock_stopped", 60, {"clock": "resolution", "business_seconds": 3600.0, "met": True,
                                      "state": "resolved"})
    resolved = ("ticket.resolved", 60, {"state": "resolved"})
    for steps in ([stop, resolved], [resolved, stop]):
        _, measures = project(1, ticket_facts(steps))
        assert [m.value for m in measures if m.kind == "first_resolution"] == [3600.0]


def test_only_a_clock_stopped_by_a_reply_is_a_first_response_as_ticketing_names_the_cause():
    """A first-response clock that breached and then stopped on resolve (no reply ever sent) is a breach
    for the owner, not a first response; one stopped by a reply is, whatever state the ticket shows."""
    _, unanswered = project(1, ticket_facts([
        ("sla.breached", 30, {"clock": "first_response", "owner": "alice"}),
        ("sla.clock_stopped", 45, {"clock": "first_response", "outcome": "breached", "met": False,
                                   "cause": "resolved", "actor": "alice", "business_seconds": 2700.0,
                                   "state": "in_progress"})]))
    assert {(m.kind, m.agent) for m in unanswered} >= {("sla_breach", "alice")}
    assert "first_response" not in {m.kind for m in unanswered}
    _, answered = project(1, ticket_facts([
        ("sla.clock_stopped", 10, {"clock": "first_response", "outcome": "met", "met": True, "cause": "reply",
                                   "actor": "bob", "business_seconds": 600.0, "state": "resolved"})]))
    assert ("first_response", "bob", 600.0) in {(m.kind, m.agent, m.value) for m in answered}
