"""How SLA clocks end, on handlers over SQLite (T4): a pause after the due
time moves nothing, a ticket resolved or closed without a reply has no
first response, and the events name who did what (docs/sla.md)."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from ticketing import models
from ticketing.sla import handlers as sla
from ticketing.tickets import handlers as tickets

CONFIG = {"REQUIRE_CERTIFICATION": "false"}
ALWAYS_OPEN = {"timezone": "UTC", "windows": {day: ["00:00-24:00"] for day in
                                              ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
CHAT_POLICY = {"name": "chat", "position": 0, "conditions": {"channel": ["chat"]},
               "targets": {"first_response": 10, "resolution": 60}, "calendar": ALWAYS_OPEN}
TICKET = {"subject": "App crashes", "channel": "chat", "kind": "inquiry", "assignee": "alice",
          "customer": {"name": "Ma Rui", "contact": "ma@example.com"}}
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def at(unit):
    """``at(minutes, actor=...)``: a unit whose clock reads T0 + minutes."""
    sla.create_sla_policy(unit(actor="admin"), CHAT_POLICY)
    return lambda minutes, actor="alice": unit(actor=actor, clock=lambda: T0 + timedelta(minutes=minutes))


def minutes(n):
    return T0 + timedelta(minutes=n)


def stored_clock(database, ticket_id, name):
    with database() as session:
        return session.scalars(select(models.SlaClock).where(
            models.SlaClock.ticket_id == ticket_id, models.SlaClock.name == name)).one()


def of_type(published, event_type, clock=None):
    return [e["data"] for e in published() if e["type"] == event_type and clock in (None, e["data"].get("clock"))]


def test_a_pause_after_the_due_time_moves_neither_due_warning_nor_the_due_before_filter(at, database, published):
    tid = tickets.create_ticket(at(0), TICKET, CONFIG)["id"]
    tickets.add_message(at(5), tid, {"kind": "reply", "body": "Looking into it"}, CONFIG)
    assert sla.sweep_sla(at(90)) == 2                                   # the resolution clock warned and breached
    tickets.change_state(at(120), tid, {"state": "waiting_customer"})  # an hour after it was due
    due_soon = {"due_before": minutes(61).isoformat()}
    assert [t["id"] for t in tickets.list_tickets(at(130), due_soon)["items"]] == [tid]   # due, and stays due
    tickets.add_message(at(200, actor="crm"), tid, {"kind": "customer", "body": "Still broken"}, CONFIG)

    clock = stored_clock(database, tid, "resolution")
    [breach] = of_type(published, "sla.breached")
    assert (clock.due_at, clock.warn_at) == (minutes(60), minutes(48))
    assert datetime.fromisoformat(breach["due_at"]) == clock.due_at
    assert [t["id"] for t in tickets.list_tickets(at(210), due_soon)["items"]] == [tid]
    assert sla.sweep_sla(at(300)) == 0                                  # no second breach
    shown = {c["clock"]: c for c in tickets.get_ticket(at(210), tid)["sla"]}["resolution"]
    assert (shown["status"], shown["elapsed_seconds"]) == ("breached", 130 * 60)   # 80 min waiting not counted


def test_a_pause_before_the_due_time_moves_it_and_never_breaches_while_waiting(at, database, published):
    tid = tickets.create_ticket(at(0), TICKET, CONFIG)["id"]
    tickets.add_message(at(5), tid, {"kind": "reply", "body": "Which version?"}, CONFIG)
    tickets.change_state(at(30), tid, {"state": "waiting_customer"})
    assert sla.sweep_sla(at(60 * 24 * 365)) == 0                        # waiting forever: never due
    assert of_type(published, "sla.clock_stopped", "resolution") == []  # nor counted, until it stops
    tickets.add_message(at(100, actor="crm"), tid, {"kind": "customer", "body": "3.2"}, CONFIG)
    assert stored_clock(database, tid, "resolution").due_at == minutes(130)   # 70 minutes waiting added


@pytest.mark.parametrize("state, after", [("resolved", 8), ("closed", 5)])
def test_a_ticket_resolved_or_closed_without_a_reply_has_no_first_response(at, published, state, after):
    tid = tickets.create_ticket(at(0), TICKET, CONFIG)["id"]         # a phone call solved, or spam
    tickets.change_state(at(after), tid, {"state": state})
    [stopped] = of_type(published, "sla.clock_stopped", "first_response")
    assert (stopped["outcome"], stopped["met"], stopped["cause"]) == ("cancelled", False, state)
    assert of_type(published, "ticket.first_responded") == []
    shown = {c["clock"]: c["status"] for c in tickets.get_ticket(at(after), tid)["sla"]}
    assert shown == {"first_response": "cancelled", "resolution": "met"}


def test_a_first_response_already_breached_stays_breached_when_the_ticket_ends_without_a_reply(at, published):
    tid = tickets.create_ticket(at(0), TICKET, CONFIG)["id"]
    tickets.change_state(at(20), tid, {"state": "resolved"})          # 10 minutes past the first response's due
    [stopped] = of_type(published, "sla.clock_stopped", "first_response")
    assert (stopped["outcome"], stopped["met"], stopped["cause"]) == ("breached", False, "resolved")
    [breach] = of_type(published, "sla.breached", "first_response")  # recorded though the sweep never saw it
    assert (breach["owner"], breach["due_at"]) == ("alice", minutes(10).isoformat())


def test_a_reply_stops_the_first_response_naming_the_replier(at, published):
    tid = tickets.create_ticket(at(0), TICKET, CONFIG)["id"]
    tickets.add_message(at(3, actor="bob"), tid, {"kind": "reply", "body": "On it"}, CONFIG)
    [stopped] = of_type(published, "sla.clock_stopped", "first_response")
    assert (stopped["outcome"], stopped["met"], stopped["cause"], stopped["actor"]) == ("met", True, "reply", "bob")
    assert stopped["business_seconds"] == 180


def test_the_events_name_who_replied_resolved_and_transferred(at, published):
    tid = tickets.create_ticket(at(0), dict(TICKET, team="chat-1"), CONFIG)["id"]
    tickets.add_message(at(1, actor="alice"), tid, {"kind": "reply", "body": "Hello"}, CONFIG)
    tickets.assign(at(2, actor="sue"), tid, {"assignee": "bob", "team": "chat-2"}, CONFIG)
    tickets.change_state(at(3, actor="bob"), tid, {"state": "resolved"})
    [replied] = of_type(published, "ticket.replied")
    [transferred] = of_type(published, "ticket.transferred")
    [resolved] = of_type(published, "ticket.resolved")
    assert (replied["actor"], replied["author"]) == ("alice", "alice")
    assert [transferred[name] for name in ("actor", "previous_assignee", "previous_team", "assignee", "team")] == [
        "sue", "alice", "chat-1", "bob", "chat-2"]
    assert (resolved["actor"], resolved["assignee"]) == ("bob", "bob")
