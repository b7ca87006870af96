"""Routing only to agents cleared by training, learned from real events (T3, R4)."""
from datetime import datetime, timedelta, timezone

import pytest

from plumbing.errors import Conflict
from plumbing.testing import EventTap, call_as, publish_event, wait_for
from ticketing.service import TicketingService

TICKET = {"subject": "Double charge", "channel": "chat", "kind": "inquiry", "team": "billing",
          "customer": {"name": "Qin", "contact": "qin@example.com"}}


def act(container, method, *args):
    return call_as("sue", container, method, *args)


@pytest.fixture
def routed(start_service, service_config):
    """(container, staff(username, sequence, **profile), certify(username, ...), revoke(username))"""
    container = start_service(TicketingService, ROUTING_STRATEGY="round_robin")
    uri = service_config["AMQP_URI"]

    def staff(username, sequence=1, event_type="staff.account_created", **profile):
        data = dict(username=username, roles=["agent"], teams=["billing"], skills=["zh"], capacity=5,
                    on_duty=True, active=True)
        data.update(profile)
        publish_event(uri, "gateway", event_type, data, subject=f"staff/{username}", sequence=sequence)

    def certify(username, valid_until=None):
        publish_event(uri, "training", "training.certified", {
            "agent": username, "certification": "onboarding", "clears_for_duty": True,
            "valid_until": valid_until})

    def revoke(username):
        publish_event(uri, "training", "training.certification_revoked",
                      {"agent": username, "certification": "onboarding"})

    return container, staff, certify, revoke


def agents(container):
    return {a["username"]: a for a in act(container, "list_agents")["items"]}


def settle(container, **expected_cleared):
    wait_for(lambda: {name: agents(container).get(name, {}).get("cleared") for name in expected_cleared}
             == expected_cleared, message=f"registry {expected_cleared}")


def test_only_a_cleared_agent_gets_tickets_and_a_manual_assignment_is_refused_before(routed):
    container, staff, certify, revoke = routed
    staff("ann")
    staff("bob")
    certify("ann")
    settle(container, ann=True, bob=False)
    assert agents(container)["bob"]["not_cleared_because"] == "holds no valid certification that clears them for duty"
    assert act(container, "create_ticket", TICKET)["assignee"] == "ann"
    ticket = act(container, "create_ticket", TICKET)
    with pytest.raises(Conflict, match="bob holds no valid certification"):
        act(container, "assign", ticket["id"], {"assignee": "bob"})

    certify("bob")
    settle(container, ann=True, bob=True)
    assert act(container, "assign", ticket["id"], {"assignee": "bob"})["assignee"] == "bob"   # could not before


def test_round_robin_takes_turns_and_revoking_stops_new_work(routed):
    container, staff, certify, revoke = routed
    for name in ("ann", "bob"):
        staff(name)
        certify(name)
    settle(container, ann=True, bob=True)
    owners = [act(container, "create_ticket", TICKET)["assignee"] for _ in range(4)]
    assert owners == ["ann", "bob", "ann", "bob"]
    revoke("ann")
    settle(container, ann=False, bob=True)
    assert [act(container, "create_ticket", TICKET)["assignee"] for _ in range(2)] == ["bob", "bob"]


def test_an_expired_certification_does_not_clear(routed):
    container, staff, certify, revoke = routed
    staff("ann")
    certify("ann", valid_until=(datetime.now(timezone.utc) - timedelta(days=1)).isoformat())
    wait_for(lambda: "ann" in agents(container), message="ann known")
    assert agents(container)["ann"]["cleared"] is False
    assert act(container, "create_ticket", TICKET)["assignee"] is None


def test_team_skills_and_capacity_decide_who_can_take_it(routed):
    container, staff, certify, revoke = routed
    staff("ann", teams=["logistics"])
    staff("bob", skills=["en"], capacity=1)
    for name in ("ann", "bob"):
        certify(name)
    settle(container, ann=True, bob=True)
    assert act(container, "create_ticket", dict(TICKET, required_skills=["zh"]))["assignee"] is None
    assert act(container, "create_ticket", TICKET)["assignee"] == "bob"
    assert act(container, "create_ticket", TICKET)["assignee"] is None          # bob is at capacity
    assert act(container, "create_ticket", dict(TICKET, team="logistics"))["assignee"] == "ann"


def test_a_waiting_ticket_goes_to_the_first_agent_who_comes_on_duty(routed):
    container, staff, certify, revoke = routed
    staff("ann", on_duty=False)
    certify("ann")
    settle(container, ann=True)
    waiting = act(container, "create_ticket", TICKET)
    assert waiting["assignee"] is None
    assert act(container, "route_waiting") == 0
    staff("ann", sequence=2, event_type="staff.account_updated", on_duty=True)
    wait_for(lambda: agents(container)["ann"]["on_duty"], message="ann on duty")
    assert act(container, "route_waiting") == 1
    assert act(container, "get_ticket", waiting["id"])["assignee"] == "ann"


def test_a_late_older_staff_snapshot_does_not_undo_a_newer_one(routed):
    container, staff, certify, revoke = routed
    staff("ann", sequence=3, event_type="staff.account_updated", on_duty=False)
    wait_for(lambda: "ann" in agents(container), message="ann known")
    staff("ann", sequence=1, on_duty=True)       # created event delivered last
    staff("zed", sequence=1)                     # a later event, to know the older one was handled
    wait_for(lambda: "zed" in agents(container), message="zed known")
    assert agents(container)["ann"]["on_duty"] is False


def test_least_loaded_prefers_whoever_has_fewest_open_tickets(start_service, service_config):
    container = start_service(TicketingService, ROUTING_STRATEGY="least_loaded")
    uri = service_config["AMQP_URI"]
    for name in ("ann", "bob"):
        publish_event(uri, "gateway", "staff.account_created", dict(
            username=name, roles=["agent"], teams=["billing"], skills=[], capacity=9, on_duty=True, active=True),
            subject=f"staff/{name}")
        publish_event(uri, "training", "training.certified",
                      {"agent": name, "certification": "onboarding", "clears_for_duty": True, "valid_until": None})
    settle(container, ann=True, bob=True)
    first = act(container, "create_ticket", TICKET)
    act(container, "create_ticket", TICKET)
    act(container, "change_state", first["id"], {"state": "resolved"})   # its owner has one open ticket fewer
    assert act(container, "create_ticket", TICKET)["assignee"] == first["assignee"]


def test_a_breach_escalates_to_the_supervisors_of_the_tickets_team(routed, service_config):
    container, staff, certify, revoke = routed
    staff("sam", roles=["supervisor"], teams=["billing"])
    staff("lin", roles=["supervisor"], teams=["logistics"])
    staff("zed", roles=["agent"])
    wait_for(lambda: {"sam", "lin", "zed"} <= set(agents(container)), message="staff known")
    tap = EventTap(service_config["AMQP_URI"], "ticketing", "ticket.escalated")
    ticket = act(container, "create_ticket", TICKET)
    act(container, "escalate_ticket", ticket["id"], {"reason": "VIP customer"})
    assert tap.take(1)[0]["data"]["supervisors"] == ["sam"]
