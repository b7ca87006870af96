"""What a new department tripped over in its first week (issue 24), at handler
level on a unit of work over SQLite: routing's queue order, unstaffed teams,
nobody cleared on a new install, one live rating link, the escalated filter
and callbacks in the past."""
import logging
from datetime import timedelta

import pytest

from plumbing.errors import Conflict, InvalidInput, NotFound
from plumbing.unit_of_work import utc_now
from ticketing import metrics, models
from ticketing.aftercare import handlers as aftercare
from ticketing.routing import handlers as routing
from ticketing.tickets import handlers as tickets

CONFIG = {"REQUIRE_CERTIFICATION": "false"}
TICKET = {"subject": "Parcel lost", "channel": "email", "kind": "inquiry",
          "customer": {"name": "Liu Yang", "contact": "liu@example.com"}}
TIMER = dict(actor=None, roles=None)


def add_agent(database, name, teams=(), capacity=10, on_duty=True, cleared=True):
    with database() as session, session.begin():
        session.add(models.Agent(username=name, roles=["agent"], teams=list(teams), skills=[], capacity=capacity,
                                 on_duty=on_duty, active=True, staff_sequence=0))
        if cleared:
            session.add(models.AgentCertification(agent=name, certification="onboarding", clears_for_duty=True))


def open_ticket(unit, **fields):
    return tickets.create_ticket(unit(), dict(TICKET, **fields), CONFIG)


# -- 1. routing priority ------------------------------------------------------------------
def test_a_freed_slot_goes_to_the_urgent_ticket_before_an_older_normal_one(unit, database):
    older_normal = open_ticket(unit, priority="normal")
    newer_urgent = open_ticket(unit, priority="urgent")
    assert older_normal["state"] == newer_urgent["state"] == "new"  # nobody to take them yet
    add_agent(database, "ann", capacity=1)

    assert routing.route_waiting(unit(**TIMER), CONFIG) == 1
    assert tickets.get_ticket(unit(), newer_urgent["id"])["assignee"] == "ann"
    assert tickets.get_ticket(unit(), older_normal["id"])["assignee"] is None


def test_a_new_ticket_does_not_take_a_freed_slot_from_an_urgent_one_waiting_for_it(unit, database):
    add_agent(database, "ann", capacity=1)
    first = open_ticket(unit)
    assert first["assignee"] == "ann"  # ann is full now
    urgent = open_ticket(unit, priority="urgent")
    assert urgent["state"] == "new"
    tickets.change_state(unit(), first["id"], {"state": "resolved"})  # a slot frees

    newcomer = open_ticket(unit, priority="normal")
    assert newcomer["state"] == "new" and newcomer["assignee"] is None  # it waits its turn behind the urgent one
    assert routing.route_waiting(unit(**TIMER), CONFIG) == 1
    assert tickets.get_ticket(unit(), urgent["id"])["assignee"] == "ann"

    add_agent(database, "bob", capacity=1)
    assert open_ticket(unit, priority="high")["assignee"] == "bob"  # nothing waiting ahead of it: routed at once


# -- 2. unstaffed teams ------------------------------------------------------------------------
def test_a_ticket_for_a_team_with_nobody_cleared_is_noted_once_listed_and_counted(unit, database):
    add_agent(database, "off", teams=["support"], on_duty=False)       # cleared, off duty: support is staffed
    add_agent(database, "new", teams=["billing"], cleared=False)       # billing has nobody cleared
    billing = open_ticket(unit, team="billing")
    support = open_ticket(unit, team="support")

    assert routing.route_waiting(unit(**TIMER), CONFIG) == 0
    assert tickets.list_messages(unit(), billing["id"], {"include_notes": True})["items"] == []  # a minute's grace
    later = utc_now() + timedelta(minutes=2)
    for _ in range(2):  # every sweep looks again; the note is written once
        assert routing.route_waiting(unit(clock=lambda: later, **TIMER), CONFIG) == 0
    notes = [message for message in tickets.list_messages(unit(), billing["id"], {"include_notes": True})["items"]
             if message["kind"] == "note"]
    assert len(notes) == 1 and "billing" in notes[0]["body"] and "cleared for duty" in notes[0]["body"]
    assert tickets.list_messages(unit(), support["id"], {"include_notes": True})["items"] == []

    listed = tickets.list_tickets(unit(roles=["admin"]), {"unstaffed": True})["items"]
    assert [ticket["id"] for ticket in listed] == [billing["id"]]
    others = tickets.list_tickets(unit(roles=["admin"]), {"unstaffed": False})["items"]
    assert [ticket["id"] for ticket in others] == [support["id"]]

    samples = {sample.labels["team"]: sample.value for family in metrics.OpenTickets(database).collect()
               if family.name == "csops_tickets_unstaffed" for sample in family.samples}
    assert samples == {"billing": 1, "support": 0}


def test_a_ticket_in_no_team_is_unstaffed_only_while_nobody_at_all_is_cleared(unit, database):
    ticket = open_ticket(unit)
    assert [t["id"] for t in tickets.list_tickets(unit(roles=["admin"]), {"unstaffed": True})["items"]] == [
        ticket["id"]]
    add_agent(database, "off", teams=["support"], on_duty=False)
    assert tickets.list_tickets(unit(roles=["admin"]), {"unstaffed": True})["items"] == []


# -- 3. a new install has nobody cleared ---------------------------------------------------------
def test_a_new_install_says_nobody_is_cleared_for_duty_in_the_agents_list_and_at_start_up(unit, database, caplog):
    add_agent(database, "ann", cleared=False)
    [warning] = routing.list_agents(unit(roles=["supervisor"]))["warnings"]
    assert "nobody is cleared for duty" in warning and "specialist" in warning
    with caplog.at_level(logging.WARNING):
        routing.warn_if_nobody_cleared(database)
    [line] = [record for record in caplog.records if "nobody is cleared for duty" in record.getMessage()]
    assert line.levelno == logging.WARNING

    add_agent(database, "bob")
    assert routing.list_agents(unit(roles=["supervisor"]))["warnings"] == []
    caplog.clear()
    routing.warn_if_nobody_cleared(database)
    assert not [record for record in caplog.records if "cleared for duty" in record.getMessage()]


# -- 4. one live rating link -----------------------------------------------------------------
def test_the_rating_link_of_an_earlier_resolution_stops_working_after_a_reopen_and_a_second_resolution(unit):
    ticket = open_ticket(unit, assignee="alice")
    first = tickets.change_state(unit(), ticket["id"], {"state": "resolved"})["rating_token"]
    tickets.change_state(unit(), ticket["id"], {"state": "reopened"})
    second = tickets.change_state(unit(), ticket["id"], {"state": "resolved"})["rating_token"]
    with pytest.raises(NotFound):
        aftercare.submit_rating(unit(actor=None), first, {"score": 1})
    rated = aftercare.submit_rating(unit(actor=None), second, {"score": 5})
    assert rated["resolution"] == 2 and rated["score"] == 5


# -- 5. escalated filter ------------------------------------------------------------------------
def test_the_ticket_list_filters_escalated_tickets(unit):
    calm = open_ticket(unit, assignee="alice")
    raised = open_ticket(unit, assignee="alice")
    tickets.escalate_ticket(unit(), raised["id"], {"reason": "angry customer"})
    admin = dict(roles=["admin"])
    assert [t["id"] for t in tickets.list_tickets(unit(**admin), {"escalated": True})["items"]] == [raised["id"]]
    assert [t["id"] for t in tickets.list_tickets(unit(**admin), {"escalated": False})["items"]] == [calm["id"]]


# -- 6. callbacks in the past ---------------------------------------------------------------------
def test_a_callback_cannot_be_scheduled_in_the_past_beyond_a_minute_of_clock_skew(unit):
    ticket = open_ticket(unit, assignee="alice")
    with pytest.raises(InvalidInput) as refused:
        aftercare.schedule_callback(unit(), ticket["id"],
                                    {"scheduled_for": (utc_now() - timedelta(minutes=5)).isoformat()})
    assert "scheduled_for" in refused.value.details and "past" in refused.value.details["scheduled_for"][0]
    assert aftercare.list_callbacks(unit(roles=["admin"]), {})["items"] == []  # nothing half written
    skewed = aftercare.schedule_callback(unit(), ticket["id"],
                                         {"scheduled_for": (utc_now() - timedelta(seconds=20)).isoformat()})
    assert skewed["ticket_id"] == ticket["id"]


# -- 7. articles in messages -----------------------------------------------------------------------
def test_a_complaint_step_on_an_inquiry_reads_an_inquiry(unit):
    ticket = open_ticket(unit, assignee="alice")
    with pytest.raises(Conflict, match="is an inquiry, not a complaint"):
        aftercare.record_complaint(unit(), ticket["id"], {"issue": "late", "demand": "refund",
                                                          "occurred_at": utc_now().isoformat(),
                                                          "severity": "normal", "category": "delivery"})
