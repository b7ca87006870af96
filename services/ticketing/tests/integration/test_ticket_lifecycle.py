"""The ticket lifecycle through the service, on SQLite and PostgreSQL (T2, T3, T9, X2)."""
import pytest

from plumbing.errors import Conflict
from plumbing.events import sequence_number
from plumbing.testing import EventTap, call_as

TICKET = {"subject": "Invoice missing", "channel": "email", "kind": "inquiry", "team": "billing",
          "customer": {"name": "Sun Li", "contact": "sun@example.com"}, "tags": ["invoice"]}


@pytest.fixture
def tap(service_config):
    return EventTap(service_config["AMQP_URI"], "ticketing", "#")


def act(container, actor, method, *args):
    return call_as(actor, container, method, *args)


def test_a_ticket_goes_through_its_whole_life_with_a_trail_and_an_event_for_each_change(
        ticketing, tap, event_schemas):
    ticket = act(ticketing, "carol", "create_ticket", TICKET)
    tid = ticket["id"]
    act(ticketing, "sue", "assign", tid, {"assignee": "alice"})
    act(ticketing, "alice", "add_message", tid, {"kind": "reply", "body": "Looking into it"})
    act(ticketing, "alice", "change_state", tid, {"state": "waiting_customer"})
    act(ticketing, "alice", "add_message", tid, {"kind": "customer", "body": "Order 8812"})
    act(ticketing, "alice", "add_message", tid, {"kind": "note", "body": "finance confirms"})
    resolved = act(ticketing, "alice", "change_state", tid, {"state": "resolved"})
    assert resolved["first_contact_resolution"] is True and resolved["resolved_at"]
    reopened = act(ticketing, "alice", "change_state", tid, {"state": "reopened"})
    assert (reopened["state"], reopened["reopen_count"], reopened["resolved_at"]) == ("in_progress", 1, None)
    act(ticketing, "alice", "change_state", tid, {"state": "resolved"})
    closed = act(ticketing, "alice", "change_state", tid, {"state": "closed"})
    assert closed["first_contact_resolution"] is False and closed["first_responded_at"]

    envelopes = tap.take(20)
    assert tap.rest() == []
    for envelope in envelopes:
        event_schemas.validate(envelope)
    assert [e["type"] for e in envelopes] == [
        "ticket.created",
        "ticket.assigned", "ticket.status_changed",                                  # new -> assigned
        "ticket.replied", "ticket.first_responded", "sla.clock_stopped",            # first response met
        "ticket.status_changed",                                                     # -> in_progress
        "ticket.status_changed",                                                     # -> waiting_customer
        "ticket.status_changed",                                                     # customer: -> in_progress
        "ticket.status_changed", "sla.clock_stopped", "sla.clock_stopped",          # resolution, update stop
        "ticket.resolved",
        "ticket.status_changed", "ticket.reopened",                                  # ... and runs again
        "ticket.status_changed", "sla.clock_stopped", "ticket.resolved",
        "ticket.status_changed", "ticket.closed",
    ]
    assert [e["data"]["clock"] for e in envelopes if e["type"] == "sla.clock_stopped"] == [
        "first_response", "resolution", "update", "resolution"]
    assert [sequence_number(e) for e in envelopes] == list(range(1, 21))
    assert {e["data"]["ticket_id"] for e in envelopes} == {tid}
    assert envelopes[1]["data"]["actor"] == "sue"
    resolved_events = [e["data"] for e in envelopes if e["type"] == "ticket.resolved"]
    assert [d["first_contact_resolution"] for d in resolved_events] == [True, False]

    history = act(ticketing, "alice", "ticket_history", tid)["items"]
    assert [(h["actor"], h["action"]) for h in history][:4] == [
        ("carol", "created"), ("sue", "assigned"), ("sue", "state_changed"), ("alice", "message_added")]
    states = [h["changes"]["state"] for h in history if h["action"] == "state_changed"]
    assert states == [["new", "assigned"], ["assigned", "in_progress"], ["in_progress", "waiting_customer"],
                      ["waiting_customer", "in_progress"], ["in_progress", "resolved"], ["resolved", "in_progress"],
                      ["in_progress", "resolved"], ["resolved", "closed"]]


def test_an_invalid_change_is_a_conflict_naming_the_allowed_ones_and_changes_nothing(ticketing, tap):
    ticket = act(ticketing, "carol", "create_ticket", TICKET)
    tap.take(1)
    with pytest.raises(Conflict) as raised:
        act(ticketing, "carol", "change_state", ticket["id"], {"state": "waiting_customer"})
    assert raised.value.details["allowed"] == ["assigned", "resolved", "closed"]
    assert act(ticketing, "carol", "get_ticket", ticket["id"])["state"] == "new"
    assert tap.rest() == []
    assert [h["action"] for h in act(ticketing, "carol", "ticket_history", ticket["id"])["items"]] == ["created"]


def test_handing_an_owned_ticket_to_someone_else_is_a_counted_transfer(ticketing, tap):
    ticket = act(ticketing, "sue", "create_ticket", dict(TICKET, assignee="alice"))
    moved = act(ticketing, "sue", "assign", ticket["id"], {"assignee": "bob", "team": "billing-2"})
    assert (moved["assignee"], moved["team"], moved["transfer_count"]) == ("bob", "billing-2", 1)
    transferred = tap.take(2)[1]
    assert transferred["type"] == "ticket.transferred"
    assert transferred["data"]["previous_assignee"] == "alice" and transferred["data"]["transfer_count"] == 1
    act(ticketing, "sue", "assign", ticket["id"], {"assignee": "bob", "team": "billing-2"})  # same again: no-op
    assert tap.rest() == []


def test_whoever_answers_a_new_ticket_owns_it(ticketing):
    ticket = act(ticketing, "carol", "create_ticket", TICKET)
    act(ticketing, "dave", "add_message", ticket["id"], {"kind": "reply", "body": "Hello"})
    answered = act(ticketing, "carol", "get_ticket", ticket["id"])
    assert (answered["assignee"], answered["state"], answered["transfer_count"]) == ("dave", "in_progress", 0)


def test_internal_notes_are_not_replies_and_can_be_left_out(ticketing, tap):
    ticket = act(ticketing, "sue", "create_ticket", dict(TICKET, assignee="alice"))
    act(ticketing, "alice", "add_message", ticket["id"], {"kind": "note", "body": "VIP, be quick"})
    act(ticketing, "alice", "add_message", ticket["id"], {"kind": "reply", "body": "Done"})
    assert [e["type"] for e in tap.take(5)] == [
        "ticket.created", "ticket.replied", "ticket.first_responded", "sla.clock_stopped", "ticket.status_changed"]
    everything = act(ticketing, "alice", "list_messages", ticket["id"])["items"]
    public = act(ticketing, "alice", "list_messages", ticket["id"], {"include_notes": False})["items"]
    assert [m["kind"] for m in everything] == ["note", "reply"]
    assert [m["body"] for m in public] == ["Done"]
    assert act(ticketing, "alice", "get_ticket", ticket["id"])["first_responded_at"] == public[0]["created_at"]


def test_a_resolved_ticket_must_be_reopened_before_it_is_reassigned(ticketing):
    ticket = act(ticketing, "sue", "create_ticket", dict(TICKET, assignee="alice"))
    act(ticketing, "alice", "change_state", ticket["id"], {"state": "resolved"})
    with pytest.raises(Conflict, match="reopen it first"):
        act(ticketing, "sue", "assign", ticket["id"], {"assignee": "bob"})


def test_list_filters_by_team_tag_and_text(ticketing):
    act(ticketing, "sue", "create_ticket", dict(TICKET, subject="Invoice 100% wrong", tags=["VIP", "invoice"]))
    act(ticketing, "sue", "create_ticket", dict(TICKET, subject="Delivery late", team="logistics", tags=["late"]))
    act(ticketing, "sue", "create_ticket", dict(TICKET, subject="Another invoice", tags=[]))

    def subjects(**query):
        return [t["subject"] for t in act(ticketing, "sue", "list_tickets", query)["items"]]
    assert subjects(team="logistics") == ["Delivery late"]
    assert subjects(tag="vip") == ["Invoice 100% wrong"]
    assert subjects(tag="VIP") == ["Invoice 100% wrong"]
    assert subjects(text="INVOICE") == ["Another invoice", "Invoice 100% wrong"]
    assert subjects(text="100%") == ["Invoice 100% wrong"]
    assert subjects(text="%") == ["Invoice 100% wrong"]
    assert subjects(team="billing", tag="invoice") == ["Invoice 100% wrong"]
