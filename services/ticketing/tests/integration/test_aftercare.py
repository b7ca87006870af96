"""Complaints, ratings, callbacks and suggestions through the service (T5, T6, T7)."""
from datetime import datetime, timedelta, timezone

import pytest

from plumbing.errors import Conflict, InvalidInput, NotFound
from plumbing.testing import EventTap, call_as

COMPLAINT = {"subject": "Rude courier, broken TV", "channel": "phone", "kind": "complaint", "assignee": "alice",
             "customer": {"name": "Zhou Tao", "contact": "+86 137 0000 1111"}}
RECORD = {"issue": "TV screen cracked on delivery; courier refused to wait", "demand": "replacement within a week",
          "occurred_at": "2026-11-20T10:00:00+08:00", "category": "delivery"}


def act(container, method, *args, actor="alice"):
    return call_as(actor, container, method, *args)


def test_a_complaint_goes_soothe_handle_verdict_reopen_settle(ticketing, service_config):
    tap = EventTap(service_config["AMQP_URI"], "ticketing", "complaint.#")
    tid = act(ticketing, "create_ticket", COMPLAINT)["id"]
    act(ticketing, "add_message", tid, {"kind": "reply", "body": "We are very sorry; we will sort this out."})
    recorded = act(ticketing, "record_complaint", tid, RECORD)
    assert recorded["occurred_at"] == "2026-11-20T02:00:00+00:00" and recorded["severity"] == "normal"
    act(ticketing, "coordinate_complaint", tid, {"department": "logistics", "note": "courier reported"})
    act(ticketing, "report_complaint_result", tid, {"result": "A new TV ships tomorrow."})
    act(ticketing, "change_state", tid, {"state": "resolved"})

    unhappy = act(ticketing, "complaint_verdict", tid, {"satisfied": False, "comment": "I want it today"})
    assert unhappy["unsatisfied_verdicts"] == 1 and unhappy["settled_at"] is None
    assert act(ticketing, "get_ticket", tid)["state"] == "in_progress"
    with pytest.raises(Conflict, match="the ticket is in_progress"):
        act(ticketing, "complaint_verdict", tid, {"satisfied": True})

    act(ticketing, "report_complaint_result", tid, {"result": "Courier brings it tonight."})
    act(ticketing, "change_state", tid, {"state": "resolved"})
    settled = act(ticketing, "complaint_verdict", tid, {"satisfied": True})
    assert settled["settled_at"] and act(ticketing, "get_ticket", tid)["state"] == "closed"
    assert [s["step"] for s in settled["steps"]] == ["coordinated", "result", "verdict", "result", "verdict"]

    messages = act(ticketing, "list_messages", tid, {"include_notes": False})["items"]
    assert [m["body"] for m in messages][1:] == ["A new TV ships tomorrow.", "Courier brings it tonight."]
    assert [(e["type"], e["data"].get("satisfied")) for e in tap.take(3)] == [
        ("complaint.recorded", None), ("complaint.verdict_given", False), ("complaint.verdict_given", True)]


def test_a_major_complaint_escalates_to_management_at_once(ticketing):
    tid = act(ticketing, "create_ticket", COMPLAINT)["id"]
    act(ticketing, "record_complaint", tid, dict(RECORD, severity="major"))
    ticket = act(ticketing, "get_ticket", tid)
    assert ticket["escalation_level"] == 1


def test_complaint_rules(ticketing):
    inquiry = act(ticketing, "create_ticket", dict(COMPLAINT, kind="inquiry"))["id"]
    with pytest.raises(Conflict, match="not a complaint"):
        act(ticketing, "record_complaint", inquiry, RECORD)
    tid = act(ticketing, "create_ticket", COMPLAINT)["id"]
    with pytest.raises(NotFound):
        act(ticketing, "coordinate_complaint", tid, {"department": "x", "note": "y"})
    with pytest.raises(InvalidInput) as raised:
        act(ticketing, "record_complaint", tid, dict(RECORD, occurred_at="2026-11-20T10:00:00"))
    assert "occurred_at" in raised.value.details
    act(ticketing, "record_complaint", tid, RECORD)
    act(ticketing, "change_state", tid, {"state": "resolved"})
    with pytest.raises(Conflict, match="report the result"):
        act(ticketing, "complaint_verdict", tid, {"satisfied": True})


def test_each_resolution_can_be_rated_once_through_its_link(ticketing, service_config):
    tap = EventTap(service_config["AMQP_URI"], "ticketing", "ticket.rated")
    tid = act(ticketing, "create_ticket", dict(COMPLAINT, kind="inquiry"))["id"]
    first = act(ticketing, "change_state", tid, {"state": "resolved"})["rating_token"]
    assert act(ticketing, "get_ticket", tid)["rating_token"] is None   # shown once
    for _ in range(2):  # the rating page's look: it uses nothing up
        assert act(ticketing, "rating_link_state", first, actor=None) == {"state": "open"}
    rated = act(ticketing, "submit_rating", first, {"score": 4, "comment": "quick"}, actor=None)
    assert (rated["score"], rated["resolution"]) == (4, 1)
    assert act(ticketing, "rating_link_state", first, actor=None) == {"state": "rated"}
    with pytest.raises(Conflict, match="already rated"):
        act(ticketing, "submit_rating", first, {"score": 1}, actor=None)
    act(ticketing, "change_state", tid, {"state": "reopened"})
    second = act(ticketing, "change_state", tid, {"state": "resolved"})["rating_token"]
    assert second != first
    assert act(ticketing, "submit_rating", second, {"score": 2}, actor=None)["resolution"] == 2
    with pytest.raises(NotFound):
        act(ticketing, "submit_rating", "made-up-token", {"score": 5}, actor=None)
    with pytest.raises(NotFound, match="not valid"):
        act(ticketing, "rating_link_state", "made-up-token", actor=None)
    with pytest.raises(InvalidInput):
        act(ticketing, "submit_rating", second, {"score": 6}, actor=None)
    assert [(e["data"]["score"], e["data"]["top_box"]) for e in tap.take(2)] == [(4, True), (2, False)]


def test_callbacks_are_scheduled_listed_when_due_and_recorded(ticketing):
    tid = act(ticketing, "create_ticket", COMPLAINT)["id"]
    soon = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    later = (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()
    first = act(ticketing, "schedule_callback", tid, {"scheduled_for": soon, "note": "check the new TV works"})
    act(ticketing, "schedule_callback", tid, {"scheduled_for": later, "assignee": "bob"})
    assert first["assignee"] == "alice"
    in_a_day = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    due = act(ticketing, "list_callbacks", {"due_before": in_a_day})["items"]
    assert [c["id"] for c in due] == [first["id"]]
    done = act(ticketing, "record_callback_outcome", first["id"], {"outcome": "reached", "note": "all good"})
    assert done["outcome"] == "reached" and done["completed_at"]
    assert act(ticketing, "list_callbacks", {"due_before": in_a_day})["items"] == []
    assert [c["assignee"] for c in act(ticketing, "list_callbacks", {"assignee": "bob"})["items"]] == ["bob"]
    with pytest.raises(Conflict):
        act(ticketing, "record_callback_outcome", first["id"], {"outcome": "no_answer"})


def test_a_suggestion_is_forwarded_decided_and_reported_back(ticketing, service_config):
    tap = EventTap(service_config["AMQP_URI"], "ticketing", "suggestion.#")
    tid = act(ticketing, "create_ticket", dict(COMPLAINT, kind="suggestion", subject="Add night delivery"))["id"]
    with pytest.raises(Conflict, match="forward"):
        act(ticketing, "decide_suggestion", tid, {"adopted": True, "decision": "yes"})
    act(ticketing, "forward_suggestion", tid, {"department": "logistics"})
    decided = act(ticketing, "decide_suggestion", tid, {"adopted": True, "decision": "Night slots start in May."})
    assert decided["adopted"] is True
    [reply] = act(ticketing, "list_messages", tid, {"include_notes": False})["items"]
    assert reply["body"].endswith("has been adopted. Night slots start in May.")
    assert [(e["type"], e["data"]["adopted"]) for e in tap.take(2)] == [
        ("suggestion.forwarded", None), ("suggestion.decided", True)]
