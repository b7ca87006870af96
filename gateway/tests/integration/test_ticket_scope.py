"""Object-level access to tickets through the gateway (X1): an agent reads her
own tickets and her teams' queues and changes her own (and unassigned ones of
her teams' queues); a supervisor reads and changes her teams'; admins and
integrations every ticket. A ticket outside what the caller may read is a 404
on every route that takes its id; one she may read but not change is a 403.
Only the customer's side (an integration) writes `customer` messages and
receives the rating link, which is never logged."""
import logging
import re
from datetime import datetime, timedelta, timezone

import pytest
import requests

from gateway.api import routes
from gateway.service import GatewayService

TICKET = {"subject": "Parcel arrived damaged", "channel": "phone", "kind": "complaint",
          "customer": {"name": "Li Lei", "contact": "+86 138 0000 5678"}}
SOON = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
# a valid body for each route that takes a ticket or callback id, so the request reaches the scope check
BODIES = {
    "merge_ticket": {"into": "{other}"},
    "change_ticket_state": {"state": "resolved"},
    "assign_ticket": {"assignee": "ann"},
    "escalate_ticket": {"reason": "needs a supervisor"},
    "edit_ticket": {"priority": "high"},  # no If-Match: outside the caller's scope is 404 whatever the headers
    "apply_macro": {"macro_id": 1},
    "add_ticket_message": {"kind": "note", "body": "checked the parcel"},
    "record_complaint": {"issue": "broken", "demand": "refund", "occurred_at": SOON, "category": "delivery"},
    "coordinate_complaint": {"department": "logistics", "note": "asked the carrier"},
    "report_complaint_result": {"result": "refunded"},
    "complaint_verdict": {"satisfied": True},
    "schedule_callback": {"scheduled_for": SOON},
    "record_callback_outcome": {"outcome": "reached"},
    "forward_suggestion": {"department": "product"},
    "decide_suggestion": {"adopted": True, "decision": "we will do it"},
    "presence_heartbeat": {"activity": "viewing"},
    "follow_ticket": {},
    "link_ticket": {"ticket_id": "{other}", "kind": "related"},
}


@pytest.fixture
def people(start_platform, client, make_account):
    start_platform("ticketing")
    admin = client.login()
    accounts = {"admin": admin, **{name: make_account(name, roles, teams=teams) for name, roles, teams in (
        ("ann", ["agent"], ["billing"]), ("bob", ["agent"], ["billing"]), ("tom", ["agent"], ["tech"]),
        ("sue", ["supervisor"], ["billing"]), ("crm", ["integration"], []))}}

    def open_ticket(**fields):
        response = admin.post(client.url("/api/v1/tickets"), json=dict(TICKET, **fields))
        assert response.status_code == 201, response.text
        return response.json()["id"]
    accounts["tickets"] = {"ann": open_ticket(assignee="ann", team="billing"),
                           "bob": open_ticket(assignee="bob", team="billing"),
                           "queue": open_ticket(team="billing"),
                           "tom": open_ticket(assignee="tom", team="tech")}
    return accounts


def ids(response):
    assert response.status_code == 200, response.text
    return {item.get("ticket_id", item["id"]) for item in response.json()["items"]}


def test_every_route_that_takes_a_ticket_id_is_404_outside_the_callers_scope(people, client):
    tickets = people["tickets"]
    callback = people["admin"].post(client.url(f"/api/v1/tickets/{tickets['tom']}/callbacks"),
                                    json={"scheduled_for": SOON}).json()["id"]
    checked, wrong = set(), []
    for name, entrypoint in routes(GatewayService):
        values = set(re.findall(r"<int:(\w+)>", entrypoint.url))
        if not values & {"ticket_id", "callback_id"}:
            continue
        # as an agent of billing when the route admits agents, else as billing's supervisor: tom's is tech's
        caller = next((who for who, role in (("ann", "agent"), ("sue", "supervisor")) if role in entrypoint.roles),
                      None)
        if caller is None:
            continue  # the customer's side only (integrations read every ticket)
        checked.add(name)
        body = BODIES.get(name)
        attempts = [(tickets["tom"], tickets["ann"])]
        if name in ("merge_ticket", "link_ticket", "unlink_ticket"):  # both ids: either may be out of scope
            attempts.append((tickets["ann"], tickets["tom"]))
        for ticket_id, other in attempts:
            path = entrypoint.url.replace("<int:ticket_id>", str(ticket_id)).replace(
                "<int:callback_id>", str(callback)).replace("<int:attachment_id>", "1").replace(
                "<int:linked_id>", str(other))
            json = None if body is None else {key: int(other) if value == "{other}" else value
                                              for key, value in body.items()}
            response = people[caller].request(entrypoint.method, client.url(path), json=json)
            if response.status_code != 404 or response.json()["error"]["code"] != "not_found":
                wrong.append(f"{entrypoint.method} {path} as {caller}: {response.status_code} {response.text[:200]}")
    assert not wrong, "\n".join(wrong)
    assert {"get_ticket", "list_ticket_messages", "ticket_history", "change_ticket_state", "assign_ticket",
            "merge_ticket", "escalate_ticket", "add_ticket_message", "record_complaint", "get_complaint",
            "coordinate_complaint", "report_complaint_result", "complaint_verdict", "schedule_callback",
            "record_callback_outcome", "forward_suggestion", "decide_suggestion", "download_attachment",
            "ticket_presence", "presence_heartbeat", "list_followers", "follow_ticket", "unfollow_ticket",
            "list_ticket_links", "link_ticket", "unlink_ticket"} <= checked
    assert people["admin"].get(client.url(f"/api/v1/tickets/{tickets['tom']}")).status_code == 200


def test_an_agent_changes_her_own_and_her_queues_tickets_and_only_reads_her_teammates(people, client):
    ann, tickets = people["ann"], people["tickets"]

    def url(which, tail=""):
        return client.url(f"/api/v1/tickets/{tickets[which]}{tail}")
    assert ann.post(url("ann", "/escalation"), json={"reason": "a supervisor, please"}).status_code == 200
    assert ann.get(url("bob")).status_code == 200
    refused = ann.post(url("bob", "/state"), json={"state": "resolved"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert ann.post(url("bob", "/messages"), json={"kind": "reply", "body": "mine now"}).status_code == 403
    taken = ann.post(url("queue", "/messages"), json={"kind": "reply", "body": "I am on it"})
    assert taken.status_code == 201, taken.text
    assert ann.get(url("queue")).json()["assignee"] == "ann"  # replying took it, as before
    assert people["sue"].post(url("bob", "/state"), json={"state": "resolved"}).status_code == 200
    assert people["tom"].get(url("ann")).status_code == 404


def test_lists_show_only_what_the_caller_may_read(people, client):
    tickets = people["tickets"]
    billing = {tickets["ann"], tickets["bob"], tickets["queue"]}
    for who, expected in (("ann", billing), ("sue", billing), ("tom", {tickets['tom']}),
                          ("admin", set(tickets.values()))):
        listed = people[who].get(client.url("/api/v1/tickets"), params={"per_page": 100})
        assert ids(listed) == expected, who
        assert listed.json()["total"] == len(expected)
    for which in ("ann", "tom"):
        scheduled = people["admin"].post(client.url(f"/api/v1/tickets/{tickets[which]}/callbacks"),
                                         json={"scheduled_for": SOON})
        assert scheduled.status_code == 201, scheduled.text
    assert ids(people["ann"].get(client.url("/api/v1/callbacks"))) == {tickets['ann']}
    assert ids(people["admin"].get(client.url("/api/v1/callbacks"))) == {tickets["ann"], tickets["tom"]}


def test_customer_messages_come_from_integrations_never_from_staff(people, client):
    path = client.url(f"/api/v1/tickets/{people['tickets']['ann']}/messages")
    customer_says = {"kind": "customer", "body": "Still broken, please help"}
    for who in ("ann", "sue", "admin"):
        refused = people[who].post(path, json=customer_says)
        assert refused.status_code == 403, (who, refused.text)
        assert list(refused.json()["error"]["details"]) == ["kind"]
    written = people["crm"].post(path, json=customer_says)
    assert written.status_code == 201 and written.json()["author"] == "crm"


def test_the_rating_link_goes_to_the_integration_never_to_staff_nor_the_access_log(people, client, caplog):
    tickets = people["tickets"]
    for who, which in (("ann", "ann"), ("admin", "tom")):
        resolved = people[who].post(client.url(f"/api/v1/tickets/{tickets[which]}/state"), json={"state": "resolved"})
        assert resolved.status_code == 200 and resolved.json()["rating_token"] is None, resolved.text
    link = client.url(f"/api/v1/tickets/{tickets['ann']}/rating-link")
    assert people["ann"].post(link).status_code == 403
    issued = people["crm"].post(link)
    assert issued.status_code == 201, issued.text
    token = issued.json()["rating_token"]

    with caplog.at_level(logging.INFO):
        rated = requests.post(client.url(f"/api/v1/ratings/{token}"), json={"score": 5})
        assert rated.status_code == 201, rated.text
        assert rated.json()["ticket_id"] == tickets["ann"]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "POST /api/v1/ratings/<token> HTTP/1.1" in logged
    assert token not in logged
