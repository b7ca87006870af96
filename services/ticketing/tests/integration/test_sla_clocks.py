"""SLA clocks following real tickets, and the sweep (T4)."""
from datetime import datetime, timedelta, timezone

import eventlet
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, update

from plumbing.errors import Conflict, InvalidInput
from plumbing.testing import EventTap, call_as
from ticketing.models import SlaClock
from ticketing.service import TicketingService

ALWAYS_OPEN = {"timezone": "UTC", "windows": {day: ["00:00-24:00"] for day in
                                              ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
CHAT_POLICY = {"name": "chat", "position": 0, "conditions": {"channel": ["chat"]},
               "targets": {"first_response": 10, "update": 20, "resolution": 60}, "calendar": ALWAYS_OPEN}
TICKET = {"subject": "App crashes", "channel": "chat", "kind": "inquiry", "assignee": "alice",
          "customer": {"name": "Ma Rui", "contact": "ma@example.com"}}


@pytest.fixture(autouse=True)
def policy(ticketing):
    act(ticketing, "create_sla_policy", CHAT_POLICY)


def act(container, method, *args, actor="alice"):
    return call_as(actor, container, method, *args)


def clocks(ticket):
    return {clock["clock"]: clock for clock in ticket["sla"]}


def test_the_seeded_policies_come_first_by_position_and_the_new_one_is_tried_first(ticketing):
    names = [p["name"] for p in act(ticketing, "list_sla_policies")["items"]]
    assert names == ["chat", "urgent", "high", "default"]


def test_a_new_ticket_runs_first_response_and_resolution_clocks_of_its_policy(ticketing):
    ticket = act(ticketing, "create_ticket", TICKET)
    created = datetime.fromisoformat(ticket["created_at"])
    shown = clocks(ticket)
    assert set(shown) == {"first_response", "resolution"}
    assert shown["first_response"]["status"] == "running"
    assert datetime.fromisoformat(shown["first_response"]["due_at"]) == created + timedelta(minutes=10)
    assert datetime.fromisoformat(shown["resolution"]["due_at"]) == created + timedelta(minutes=60)
    assert shown["resolution"]["target_seconds"] == 3600


def test_only_a_reply_the_customer_sees_meets_the_first_response(ticketing):
    tid = act(ticketing, "create_ticket", TICKET)["id"]
    act(ticketing, "add_message", tid, {"kind": "note", "body": "checking logs"})
    assert clocks(act(ticketing, "get_ticket", tid))["first_response"]["status"] == "running"
    act(ticketing, "add_message", tid, {"kind": "reply", "body": "Please update the app"})
    assert clocks(act(ticketing, "get_ticket", tid))["first_response"]["status"] == "met"


def test_waiting_on_the_customer_pauses_every_clock_and_their_answer_starts_an_update_clock(ticketing):
    tid = act(ticketing, "create_ticket", TICKET)["id"]
    act(ticketing, "add_message", tid, {"kind": "reply", "body": "Which version?"})
    waiting = act(ticketing, "change_state", tid, {"state": "waiting_customer"})
    assert clocks(waiting)["resolution"]["status"] == "paused"
    act(ticketing, "add_message", tid, {"kind": "customer", "body": "Version 3.2"})
    answered = clocks(act(ticketing, "get_ticket", tid))
    assert answered["resolution"]["status"] == "running"
    assert answered["update"]["status"] == "running" and answered["update"]["target_seconds"] == 1200
    act(ticketing, "add_message", tid, {"kind": "reply", "body": "Fixed in 3.3"})
    resolved = clocks(act(ticketing, "change_state", tid, {"state": "resolved"}))
    assert resolved["update"]["status"] == resolved["resolution"]["status"] == "met"
    reopened = clocks(act(ticketing, "change_state", tid, {"state": "reopened"}))
    assert reopened["resolution"]["status"] == "running"


def test_the_sweep_warns_then_breaches_once_and_escalates(ticketing, service_config, database_url):
    tap = EventTap(service_config["AMQP_URI"], "ticketing", "#")
    tid = act(ticketing, "create_ticket", TICKET)["id"]
    engine = create_engine(database_url)
    now = datetime.now(timezone.utc)
    with engine.begin() as connection:  # the first-response clock's warning time has passed
        connection.execute(update(SlaClock).where(SlaClock.ticket_id == tid, SlaClock.name == "first_response")
                           .values(warn_at=now - timedelta(minutes=1)))
    breaching_soon = {"clock": "first_response", "priority": "normal"}
    assert REGISTRY.get_sample_value("csops_tickets_breaching_soon", breaching_soon) == 0
    assert act(ticketing, "sweep_sla") == 1
    assert act(ticketing, "sweep_sla") == 0          # the warning is not repeated
    assert REGISTRY.get_sample_value("csops_tickets_breaching_soon", breaching_soon) == 1
    with engine.begin() as connection:  # and now its due time has passed too
        connection.execute(update(SlaClock).where(SlaClock.ticket_id == tid, SlaClock.name == "first_response")
                           .values(due_at=now - timedelta(seconds=1)))
    assert act(ticketing, "sweep_sla") == 1
    assert act(ticketing, "sweep_sla") == 0
    assert REGISTRY.get_sample_value("csops_tickets_breaching_soon", breaching_soon) == 0  # breached now
    engine.dispose()

    kinds = [(e["type"], e["data"].get("clock")) for e in tap.take(4)]
    assert kinds == [("ticket.created", None), ("sla.warning", "first_response"),
                     ("sla.breached", "first_response"), ("ticket.escalated", None)]
    assert tap.rest() == []
    ticket = act(ticketing, "get_ticket", tid)
    assert ticket["escalation_level"] == 1
    assert [t["id"] for t in act(ticketing, "list_tickets", {"breached": True})["items"]] == [tid]
    assert act(ticketing, "list_tickets", {"breached": False})["items"] == []


def test_supervisors_list_the_tickets_breaching_soon(ticketing):
    soon = act(ticketing, "create_ticket", TICKET)["id"]
    act(ticketing, "create_ticket", dict(TICKET, channel="email"))      # default policy: hours away
    in_15_minutes = (datetime.now(timezone.utc) + timedelta(minutes=15)).isoformat()
    assert [t["id"] for t in act(ticketing, "list_tickets", {"due_before": in_15_minutes})["items"]] == [soon]


def test_a_policy_with_a_bad_calendar_or_a_taken_name_is_refused(ticketing):
    with pytest.raises(InvalidInput) as raised:
        act(ticketing, "create_sla_policy", dict(CHAT_POLICY, name="x", calendar={"timezone": "Mars/Olympus"}))
    assert "calendar" in raised.value.details
    with pytest.raises(Conflict):
        act(ticketing, "create_sla_policy", CHAT_POLICY)


def test_manual_escalation_is_recorded(ticketing):
    tid = act(ticketing, "create_ticket", TICKET)["id"]
    escalated = act(ticketing, "escalate_ticket", tid, {"reason": "customer threatens to go to the press"})
    assert escalated["escalation_level"] == 1
    history = act(ticketing, "ticket_history", tid)["items"]
    assert history[-1]["changes"]["reason"] == "customer threatens to go to the press"


def test_two_replicas_sweeping_at_once_publish_each_warning_once(
        ticketing, start_service, service_config, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("replicas share a PostgreSQL database; SQLite is for a single process")
    replica = start_service(TicketingService)
    tap = EventTap(service_config["AMQP_URI"], "ticketing", "sla.warning")
    ids = [act(ticketing, "create_ticket", TICKET)["id"] for _ in range(30)]
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(update(SlaClock).where(SlaClock.ticket_id.in_(ids), SlaClock.name == "first_response")
                           .values(warn_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
    engine.dispose()
    # entrypoint_hook cannot tell concurrent calls' results apart: count the events instead
    sweeps = [eventlet.spawn(act, container, "sweep_sla") for container in (ticketing, replica) for _ in range(3)]
    for sweep in sweeps:
        sweep.wait()
    warned = [e["data"]["ticket_id"] for e in tap.take(30)]
    assert sorted(warned) == sorted(ids) and tap.rest() == []
