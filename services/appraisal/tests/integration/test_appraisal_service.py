"""Appraisal consuming ticket.created from a real broker (A1 volume, X2)."""
import pytest

from appraisal.service import AppraisalService
from plumbing import deadletter
from plumbing.errors import InvalidInput
from plumbing.testing import call, publish_event, publish_raw, wait_for

QUEUE = "evt-ticketing-ticket.created--appraisal.on_ticket_created"


def ticket_created(ticket_id, assignee="alice", created_at="2026-11-23T09:00:00+08:00"):
    return {"ticket_id": ticket_id, "subject": "s", "channel": "phone", "kind": "inquiry", "priority": "normal",
            "state": "assigned" if assignee else "new", "assignee": assignee, "tags": [], "created_at": created_at}


@pytest.fixture
def appraisal(start_service):
    return start_service(AppraisalService)


def counts(container, **query):
    return call(container, "ticket_counts", query)["items"]


def wait_for_counts(container, expected, **query):
    return wait_for(lambda: counts(container, **query) == expected, message=f"counts {expected}")


def test_each_ticket_created_counts_once_per_agent_and_day(appraisal, service_config):
    uri = service_config["AMQP_URI"]
    publish_event(uri, "ticketing", "ticket.created", ticket_created(1))
    publish_event(uri, "ticketing", "ticket.created", ticket_created(2))
    publish_event(uri, "ticketing", "ticket.created", ticket_created(3, assignee=None))
    publish_event(uri, "ticketing", "ticket.created", ticket_created(4, created_at="2026-11-24T09:00:00+08:00"))
    wait_for_counts(appraisal, [
        {"agent": None, "day": "2026-11-23", "tickets": 1},
        {"agent": "alice", "day": "2026-11-23", "tickets": 2},
        {"agent": "alice", "day": "2026-11-24", "tickets": 1},
    ])
    assert counts(appraisal, agent="alice", date_from="2026-11-24") == [
        {"agent": "alice", "day": "2026-11-24", "tickets": 1}]


def test_a_redelivered_event_is_counted_once(appraisal, service_config):
    uri = service_config["AMQP_URI"]
    first = publish_event(uri, "ticketing", "ticket.created", ticket_created(1))
    publish_raw(uri, "ticketing", "ticket.created", first)  # the same envelope again: same id
    later = publish_event(uri, "ticketing", "ticket.created", ticket_created(2))
    wait_for_counts(appraisal, [{"agent": "alice", "day": "2026-11-23", "tickets": 2}])
    assert later["id"] != first["id"]


def test_an_event_whose_data_breaks_the_schema_is_dead_lettered_and_counts_nothing(appraisal, service_config):
    uri = service_config["AMQP_URI"]
    publish_event(uri, "ticketing", "ticket.created", {"subject": "no id, no time"})
    publish_event(uri, "ticketing", "ticket.created", ticket_created(7))
    wait_for_counts(appraisal, [{"agent": "alice", "day": "2026-11-23", "tickets": 1}])
    [letter] = wait_for(lambda: deadletter.peek(QUEUE + ".dlq", uri=uri), message="the dead letter")
    assert "ticket_id" in letter["reason"] and "created_at" in letter["reason"]


def test_a_reversed_date_range_is_invalid_input_naming_date_to(appraisal):
    with pytest.raises(InvalidInput) as raised:
        call(appraisal, "ticket_counts", {"date_from": "2026-11-24", "date_to": "2026-11-23"})
    assert list(raised.value.details) == ["date_to"]
