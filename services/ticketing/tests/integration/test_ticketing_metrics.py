"""The SLA figures ticketing exports for Grafana (X4)."""
import pytest
from prometheus_client import REGISTRY

from plumbing.errors import Conflict
from plumbing.testing import call_as

ALWAYS_OPEN = {"timezone": "UTC", "windows": {day: ["00:00-24:00"] for day in
                                              ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
TICKET = {"subject": "Where is my parcel", "channel": "social", "kind": "after_sales", "priority": "low",
          "assignee": "mei", "team": "metrics-team", "customer": {"name": "Lu", "contact": "@lu"}}


@pytest.fixture(autouse=True)
def policy(ticketing):
    act(ticketing, "create_sla_policy", {"name": "social", "position": 0, "conditions": {"channel": ["social"]},
                                         "targets": {"first_response": 60, "resolution": 600},
                                         "calendar": ALWAYS_OPEN})


def act(container, method, *args):
    return call_as("mei", container, method, *args)


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_clock_outcomes_durations_and_open_tickets_are_exported(ticketing):
    durations = dict(priority="low", kind="after_sales", channel="social")
    met = dict(clock="first_response", outcome="met", team="metrics-team", agent="mei")
    before = (sample("csops_ticket_first_response_business_seconds_count", **durations),
              sample("csops_sla_clocks_completed_total", **met),
              sample("csops_tickets_open", state="assigned", priority="low"))
    tid = act(ticketing, "create_ticket", TICKET)["id"]
    assert sample("csops_tickets_open", state="assigned", priority="low") == before[2] + 1
    act(ticketing, "add_message", tid, {"kind": "reply", "body": "On its way"})
    assert sample("csops_ticket_first_response_business_seconds_count", **durations) == before[0] + 1
    assert sample("csops_sla_clocks_completed_total", **met) == before[1] + 1
    assert sample("csops_tickets_open", state="in_progress", priority="low") >= 1

    first_contact = dict(team="metrics-team", first_contact="true")
    resolved_before = sample("csops_tickets_resolved_total", **first_contact)
    resolved = act(ticketing, "change_state", tid, {"state": "resolved"})
    assert sample("csops_ticket_resolution_business_seconds_count", **durations) >= 1
    assert sample("csops_tickets_resolved_total", **first_contact) == resolved_before + 1
    rated_before = sample("csops_csat_ratings_total", score="5", team="metrics-team")
    act(ticketing, "submit_rating", resolved["rating_token"], {"score": 5})
    assert sample("csops_csat_ratings_total", score="5", team="metrics-team") == rated_before + 1


def test_a_change_that_fails_counts_nothing(ticketing):
    tid = act(ticketing, "create_ticket", TICKET)["id"]
    token = act(ticketing, "change_state", tid, {"state": "resolved"})["rating_token"]
    act(ticketing, "submit_rating", token, {"score": 3})
    count = sample("csops_csat_ratings_total", score="3", team="metrics-team")
    with pytest.raises(Conflict):
        act(ticketing, "submit_rating", token, {"score": 3})
    assert sample("csops_csat_ratings_total", score="3", team="metrics-team") == count
