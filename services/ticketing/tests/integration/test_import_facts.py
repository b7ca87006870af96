"""An import cannot invent facts (T2, T4): history in the future or that this
desk's rules could not have produced is refused naming the ticket and the step;
a migrated "pending" ticket may wait on the customer before anyone owns it;
the answer gives each ticket's id, SLA policy and clocks. On handlers over SQLite."""
from datetime import datetime, timedelta, timezone

import pytest

from plumbing.errors import InvalidInput
from ticketing.sla import handlers as sla
from ticketing.tickets import handlers as tickets

CONFIG = {"REQUIRE_CERTIFICATION": "false"}
ALWAYS_OPEN = {"timezone": "UTC", "windows": {day: ["00:00-24:00"] for day in
                                              ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
TICKET = {"external_id": "Z-1", "subject": "Where is my parcel", "channel": "email", "kind": "inquiry",
          "customer": {"name": "He Yun", "contact": "he@example.com"}, "created_at": "2026-12-01T09:00:00+00:00"}


@pytest.fixture
def importing(unit):
    sla.create_sla_policy(unit(actor="admin"), {"name": "email", "position": 0, "conditions": {"channel": ["email"]},
                                                "targets": {"first_response": 60, "resolution": 480},
                                                "calendar": ALWAYS_OPEN})
    return lambda *tickets_: tickets.import_tickets(unit(actor="crm", roles=["integration"], clock=lambda: NOW),
                                                    {"source": "zammad", "tickets": list(tickets_)}, CONFIG)


def step(at, type_, **fields):
    return dict(fields, at=at, type=type_)


def refused(importing, *tickets_):
    with pytest.raises(InvalidInput) as raised:
        importing(*tickets_)
    return raised.value.details["tickets"]


def test_history_in_the_future_is_refused_beyond_a_little_clock_skew(importing, unit):
    soon = (NOW + timedelta(minutes=4)).isoformat()
    later = (NOW + timedelta(minutes=6)).isoformat()
    problems = refused(importing, TICKET, dict(TICKET, external_id="Z-2", history=[
        step(soon, "state", state="closed"), step(later, "state", state="reopened")]))
    assert list(problems) == ["1"] and list(problems["1"]["history"]) == ["1"]
    assert "clock skew" in problems["1"]["history"]["1"]["at"][0]
    assert refused(importing, dict(TICKET, created_at=later)) == {"0": {"created_at": [problems["1"]["history"]["1"][
        "at"][0]]}}
    assert tickets.list_tickets(unit(roles=None), {})["total"] == 0           # all or nothing
    importing(dict(TICKET, history=[step(soon, "state", state="closed")]))    # 4 minutes ahead: skew


def test_a_state_reached_without_a_legal_path_is_refused_naming_the_step(importing):
    problems = refused(importing, dict(TICKET, history=[
        step("2026-12-01T09:05:00+00:00", "state", state="closed"),
        step("2026-12-01T09:06:00+00:00", "assignment", assignee="alice")]))      # a closed ticket is reopened first
    assert problems == {"0": {"history": {"1": {"assignee": ["a closed ticket cannot be assigned; reopen it first"]}}}}
    problems = refused(importing, dict(TICKET, history=[
        step("2026-12-01T09:05:00+00:00", "state", state="in_progress")]))        # nobody owns it
    assert list(problems["0"]["history"]["0"]) == ["state"]


def test_a_pending_ticket_nobody_owns_may_wait_on_the_customer_and_their_answer_queues_it(importing, unit):
    [pending] = importing(dict(TICKET, history=[
        step("2026-12-01T09:10:00+00:00", "state", state="waiting_customer", actor=None)]))["imported"]
    shown = tickets.get_ticket(unit(roles=None), pending["ticket_id"])
    assert (shown["state"], shown["assignee"]) == ("waiting_customer", None)
    assert {c["clock"]: c["status"] for c in shown["sla"]} == {"first_response": "paused", "resolution": "paused"}
    tickets.add_message(unit(actor="crm", roles=["integration"]), pending["ticket_id"],
                        {"kind": "customer", "body": "Any news?"}, CONFIG)
    assert tickets.get_ticket(unit(roles=None), pending["ticket_id"])["state"] == "new"


def test_the_answer_gives_each_tickets_id_policy_and_clocks(importing):
    [answer] = importing(dict(TICKET, history=[
        step("2026-12-01T09:30:00+00:00", "assignment", assignee="alice", actor="sue"),
        step("2026-12-01T09:40:00+00:00", "message", kind="reply", body="On its way", actor="alice"),
        step("2026-12-01T10:00:00+00:00", "state", state="resolved", actor="alice")]))["imported"]
    assert answer["external_id"] == "Z-1" and answer["ticket_id"] >= 1
    assert answer["policy"]["name"] == "email"
    assert [(c["clock"], c["status"], c["elapsed_seconds"]) for c in answer["sla"]] == [
        ("first_response", "met", 40 * 60), ("resolution", "met", 60 * 60)]
