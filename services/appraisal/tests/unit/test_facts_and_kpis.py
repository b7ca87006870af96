"""Ticket records from facts, and the KPIs over them, against hand-computed figures."""
import itertools
from datetime import datetime, timedelta, timezone

import pytest

from appraisal.contract import KPI_KEYS
from appraisal.facts.rules import Fact, project
from appraisal.kpis import queries, rules as kpis

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def ticket_facts(ticket_id=1, assignee="alice", team="billing", kind="inquiry", steps=()):
    """A ticket's facts: created, then ``steps`` of (type, minutes after creation, extra data)."""
    base = {"ticket_id": ticket_id, "assignee": assignee, "team": team, "kind": kind, "priority": "normal",
            "channel": "email"}
    made = [Fact("ticket.created", 1, T0, dict(base, created_at=T0.isoformat()))]
    for sequence, (kind_of_event, minutes, extra) in enumerate(steps, start=2):
        made.append(Fact(kind_of_event, sequence, T0 + timedelta(minutes=minutes), dict(base, **extra)))
    return made


def stopped(clock, seconds, met=True):
    return ("sla.clock_stopped", 0, {"clock": clock, "business_seconds": seconds, "met": met})


def test_a_ticket_record_takes_its_owner_times_and_outcomes_from_its_facts():
    record = project(1, ticket_facts(steps=[
        stopped("first_response", 120.0), ("ticket.resolved", 30, {}), stopped("resolution", 1800.0),
        ("ticket.rated", 60, {"score": 4})]))
    assert (record.agent, record.team, record.kind) == ("alice", "billing", "inquiry")
    assert (record.first_response_seconds, record.resolution_seconds) == (120.0, 1800.0)
    assert record.resolved and record.first_contact_resolution and record.sla_subject and record.sla_met
    assert record.csat_score == 4 and record.created_at == T0


def test_the_record_is_the_same_whatever_order_the_facts_arrive_in():
    made = ticket_facts(steps=[("ticket.assigned", 1, {"assignee": "bob", "transfer_count": 0}),
                               ("ticket.transferred", 5, {"assignee": "carol", "transfer_count": 1}),
                               ("ticket.resolved", 9, {"assignee": "carol"}), ("ticket.reopened", 20, {"reopen_count": 1}),
                               ("ticket.resolved", 30, {"assignee": "carol"})])
    records = {repr(project(1, list(order))) for order in itertools.permutations(made)}
    assert len(records) == 1
    record = project(1, made)
    assert (record.agent, record.transfers, record.reopens, record.resolved) == ("carol", 1, 1, True)
    assert not record.first_contact_resolution


@pytest.mark.parametrize("reopen_after_days, first_contact", [(3, False), (7, False), (8, True)])
def test_a_reopen_counts_against_first_contact_only_within_the_recontact_window(reopen_after_days, first_contact):
    minutes = reopen_after_days * 24 * 60
    made = ticket_facts(steps=[("ticket.resolved", 0, {}), ("ticket.reopened", minutes, {"reopen_count": 1}),
                               ("ticket.resolved", minutes + 10, {})])
    assert project(1, made, recontact_days=7).first_contact_resolution is first_contact


def test_a_breach_makes_the_ticket_miss_its_sla_even_if_a_clock_stopped_in_time():
    record = project(1, ticket_facts(steps=[stopped("first_response", 60.0),
                                            ("sla.breached", 90, {"clock": "resolution"})]))
    assert record.sla_subject and not record.sla_met


def test_kpis_over_a_small_month_match_hand_computed_figures():
    records = [
        project(1, ticket_facts(1, steps=[stopped("first_response", 100.0), ("ticket.resolved", 10, {}),
                                          stopped("resolution", 1000.0), ("ticket.rated", 20, {"score": 5})])),
        project(2, ticket_facts(2, kind="complaint", steps=[
            stopped("first_response", 300.0, met=False), ("ticket.transferred", 5, {"transfer_count": 1}),
            ("ticket.resolved", 50, {}), stopped("resolution", 3000.0), ("ticket.rated", 60, {"score": 2})])),
        project(3, ticket_facts(3, steps=[stopped("first_response", 200.0)])),
        project(4, ticket_facts(4)),
    ]
    values = kpis.compute(records, exam_scores=[80.0, 90.0])
    assert values["first_response_mean"] == 200.0
    assert (values["first_response_p50"], values["first_response_p90"]) == (200.0, 300.0)
    assert (values["resolution_mean"], values["resolution_p50"]) == (2000.0, 1000.0)
    assert values["sla_compliance"] == 2 / 3       # tickets 1 and 3 met; 2 missed; 4 has no stopped clock
    assert values["first_contact_rate"] == 1 / 2   # of the two resolved, 2 was transferred
    assert values["resolution_rate"] == 2 / 4
    assert values["reopen_rate"] == 0.0
    assert values["transfer_rate"] == 1 / 4
    assert values["complaint_rate"] == 1 / 4
    assert (values["csat_mean"], values["csat_top2"]) == (3.5, 0.5)
    assert values["volume"] == 4 and values["exam_score"] == 85.0


def test_a_kpi_with_no_data_is_not_applicable_rather_than_zero():
    values = kpis.compute([project(1, ticket_facts())])
    assert values["csat_mean"] is None and values["sla_compliance"] is None and values["exam_score"] is None
    assert values["first_contact_rate"] is None and values["resolution_rate"] == 0.0
    assert kpis.compute([])["volume"] == 0


@pytest.mark.parametrize("values, share, expected", [
    ([5, 1, 3], 0.5, 3), ([1, 2, 3, 4], 0.5, 2), ([1, 2, 3, 4], 0.9, 4), ([7], 0.9, 7), ([], 0.5, None)])
def test_percentiles_are_nearest_rank(values, share, expected):
    assert kpis.percentile(values, share) == expected


def test_the_kpi_table_in_the_module_lists_every_kpi():
    assert all(key.split("_p")[0].split("_mean")[0] in kpis.__doc__ for key in KPI_KEYS)
    assert set(kpis.compute([])) == set(KPI_KEYS)


def test_the_database_tallies_what_the_rules_tally():
    assert tuple(queries.tally_columns()) == kpis.TALLY
