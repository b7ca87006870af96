"""Merging duplicates and importing another help desk's history (T2)."""
import pytest

from plumbing.errors import Conflict, InvalidInput
from plumbing.testing import EventTap, call_as

TICKET = {"subject": "Login fails", "channel": "web_form", "kind": "inquiry", "assignee": "alice",
          "customer": {"name": "He Yun", "contact": "he@example.com"}}
ALWAYS_OPEN = {"timezone": "UTC", "windows": {day: ["00:00-24:00"] for day in
                                              ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}


def act(container, method, *args, actor="alice"):
    return call_as(actor, container, method, *args)


def test_a_duplicate_is_merged_closed_and_its_messages_show_on_the_other(ticketing, service_config):
    tap = EventTap(service_config["AMQP_URI"], "ticketing", "ticket.merged")
    original = act(ticketing, "create_ticket", TICKET)["id"]
    duplicate = act(ticketing, "create_ticket", TICKET)["id"]
    act(ticketing, "add_message", duplicate, {"kind": "customer", "body": "I wrote twice, sorry"})
    target = act(ticketing, "merge_ticket", duplicate, {"into": original})
    assert target["id"] == original
    merged = act(ticketing, "get_ticket", duplicate)
    assert (merged["state"], merged["merged_into_id"]) == ("closed", original)
    assert [m["body"] for m in act(ticketing, "list_messages", original)["items"]] == ["I wrote twice, sorry"]
    assert tap.take(1)[0]["data"]["merged_into"] == original
    with pytest.raises(Conflict, match="already merged"):
        act(ticketing, "merge_ticket", duplicate, {"into": original})
    with pytest.raises(Conflict, match="closed or merged"):
        act(ticketing, "merge_ticket", original, {"into": duplicate})
    with pytest.raises(InvalidInput):
        act(ticketing, "merge_ticket", original, {"into": original})


def imported(external_id="Z-1", **overrides):
    ticket = dict(TICKET, external_id=external_id, created_at="2026-03-02T09:00:00+00:00", created_by="old-bot",
                  channel="chat", history=[
                      {"at": "2026-03-02T09:03:00+00:00", "type": "message", "kind": "reply", "body": "Hi!",
                       "actor": "alice"},
                      {"at": "2026-03-02T09:30:00+00:00", "type": "assignment", "assignee": "bob", "actor": "sue"},
                      {"at": "2026-03-02T11:00:00+00:00", "type": "state", "state": "resolved", "actor": "bob"},
                      {"at": "2026-03-02T12:00:00+00:00", "type": "rating", "score": 5},
                  ])
    ticket.update(overrides)
    return ticket


def test_an_imported_ticket_keeps_its_history_times_and_sla_outcome(ticketing, service_config):
    act(ticketing, "create_sla_policy", {"name": "chat", "position": 0, "conditions": {"channel": ["chat"]},
                                         "targets": {"first_response": 10, "resolution": 60},
                                         "calendar": ALWAYS_OPEN})
    tap = EventTap(service_config["AMQP_URI"], "ticketing", "#")
    result = act(ticketing, "import_tickets", {"source": "zammad", "tickets": [imported()]})
    [(external_id, tid)] = [(i["external_id"], i["ticket_id"]) for i in result["imported"]]
    assert external_id == "Z-1" and result["skipped"] == []

    ticket = act(ticketing, "get_ticket", tid)
    assert ticket["created_at"] == "2026-03-02T09:00:00+00:00"
    assert ticket["first_responded_at"] == "2026-03-02T09:03:00+00:00"
    assert ticket["resolved_at"] == "2026-03-02T11:00:00+00:00"
    assert (ticket["assignee"], ticket["transfer_count"], ticket["first_contact_resolution"]) == ("bob", 1, False)
    clocks = {c["clock"]: c["status"] for c in ticket["sla"]}
    assert clocks == {"first_response": "met", "resolution": "breached"}   # 3 min vs 10; 2 h vs 1 h

    history = act(ticketing, "ticket_history", tid)["items"]
    assert [(h["at"][11:16], h["actor"], h["action"]) for h in history] == [
        ("09:00", "old-bot", "created"), ("09:03", "alice", "message_added"), ("09:03", "alice", "state_changed"),
        ("09:30", "sue", "assigned"), ("11:00", "bob", "state_changed"), ("12:00", None, "rated")]
    envelopes = tap.take(11)
    assert [(e["type"], e["data"].get("clock")) for e in envelopes] == [
        ("ticket.created", None), ("ticket.replied", None), ("ticket.first_responded", None),
        ("sla.clock_stopped", "first_response"), ("ticket.status_changed", None), ("ticket.transferred", None),
        ("ticket.status_changed", None), ("sla.breached", "resolution"), ("sla.clock_stopped", "resolution"),
        ("ticket.resolved", None), ("ticket.rated", None)]
    breach = envelopes[7]["data"]   # past its due time at 10:00, when bob owned it (since 09:30)
    assert (breach["due_at"], breach["owner"], envelopes[7]["time"][:19]) == (
        "2026-03-02T10:00:00+00:00", "bob", "2026-03-02T11:00:00")
    stopped = [e["data"] for e in envelopes if e["type"] == "sla.clock_stopped"]
    assert [(d["business_seconds"], d["target_seconds"], d["met"]) for d in stopped] == [
        (180.0, 600, True), (7200.0, 3600, False)]  # the history's own times: 3 min of 10, 2 h of 1 h
    assert envelopes[0]["time"].startswith("2026-03-02T09:00:00")
    assert envelopes[-1]["type"] == "ticket.rated" and envelopes[-1]["time"].startswith("2026-03-02T12:00:00")


def test_importing_the_same_tickets_again_skips_them(ticketing):
    act(ticketing, "import_tickets", {"source": "zammad", "tickets": [imported()]})
    again = act(ticketing, "import_tickets", {"source": "zammad", "tickets": [imported(), imported("Z-2")]})
    assert again["skipped"] == ["Z-1"] and [i["external_id"] for i in again["imported"]] == ["Z-2"]
    assert act(ticketing, "list_tickets", {})["total"] == 2


def test_a_batch_with_an_impossible_history_imports_nothing_and_names_the_ticket(ticketing):
    bad = imported("Z-9", history=[{"at": "2026-03-02T10:00:00+00:00", "type": "state", "state": "closed"},
                                   {"at": "2026-03-02T10:05:00+00:00", "type": "state", "state": "waiting_customer"}])
    with pytest.raises(InvalidInput) as raised:
        act(ticketing, "import_tickets", {"source": "zammad", "tickets": [imported(), bad]})
    assert list(raised.value.details["tickets"]) == ["1"]
    assert list(raised.value.details["tickets"]["1"]["history"]["1"]) == ["state"]
    assert act(ticketing, "list_tickets", {})["total"] == 0


def test_steps_out_of_order_or_missing_their_fields_are_invalid(ticketing):
    backwards = imported(history=[{"at": "2026-03-01T00:00:00+00:00", "type": "state", "state": "resolved"}])
    with pytest.raises(InvalidInput) as raised:
        act(ticketing, "import_tickets", {"source": "zammad", "tickets": [backwards]})
    assert "history" in raised.value.details["tickets"]["0"]
    no_body = imported(history=[{"at": "2026-03-02T10:00:00+00:00", "type": "message", "kind": "reply"}])
    with pytest.raises(InvalidInput) as raised:
        act(ticketing, "import_tickets", {"source": "zammad", "tickets": [no_body]})
    assert raised.value.details["tickets"]["0"]["history"]["0"] == {"body": ["required for a message step"]}
