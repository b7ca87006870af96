"""The agent workspace through the gateway (docs/workspace.md), on SQLite and on PostgreSQL:
saved views and the built-ins with their counts, presence, @mentions in internal notes mailed
through channels (the real SMTP sink), followers told of a ticket's news, and linked tickets;
each within the caller's ticket scope (out of it: 404)."""
from datetime import datetime, timezone

import pytest

from plumbing.testing import wait_for

TICKET = {"subject": "Parcel arrived damaged", "channel": "phone", "kind": "complaint",
          "customer": {"name": "Li Lei", "contact": "+86 138 0000 5678"}}
ROUND_THE_CLOCK = {"timezone": "UTC", "windows": {
    day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}


@pytest.fixture(params=["sqlite", "postgresql"])
def platform_databases(request):
    return request.getfixturevalue("postgres_platform_databases") if request.param == "postgresql" else {}


@pytest.fixture
def gateway_config(gateway_config, smtp_server):
    return dict(gateway_config, **smtp_server.config(), CHANNELS_SEND_SECONDS=0.1)


@pytest.fixture
def people(platform_databases, start_platform, client, make_account):
    start_platform("ticketing", "channels")
    admin = client.login()
    accounts = {"admin": admin, **{name: make_account(name, roles, teams=teams) for name, roles, teams in (
        ("ann", ["agent"], ["billing"]), ("bob", ["agent"], ["billing"]), ("tom", ["agent"], ["tech"]),
        ("sue", ["supervisor"], ["billing"]))}}
    for name, session in accounts.items():
        ok(session.put(client.url("/api/v1/me/notifications"),
                       json={"email": f"{name}@staff.example.com", "language": "en"}))
    return accounts


def ok(response, status=200):
    assert response.status_code == status, (response.request.method, response.request.url, response.text)
    return response.json() if response.content else None


def opened(client, admin, **fields):
    return ok(admin.post(client.url("/api/v1/tickets"), json=dict(TICKET, **fields)), 201)["id"]


def error_details(response, status):
    assert response.status_code == status, response.text
    return response.json()["error"]["details"]


# -- views --------------------------------------------------------------------------------
def test_views_count_and_run_within_the_callers_scope_with_relative_values(people, client):
    admin, ann, bob, tom, sue = (people[name] for name in ("admin", "ann", "bob", "tom", "sue"))
    ok(admin.post(client.url("/api/v1/sla/policies"), json={
        "name": "vip", "position": 0, "conditions": {"customer_tier": ["vip"]},
        "targets": {"first_response": 30, "resolution": 600}, "calendar": ROUND_THE_CLOCK}), 201)
    # the seeded urgent policy (30 minutes in office hours) would make an urgent ticket breach soon by day only
    ok(admin.post(client.url("/api/v1/sla/policies"), json={
        "name": "urgent, slow", "position": 1, "conditions": {"priority": ["urgent"]},
        "targets": {"first_response": 600, "resolution": 6000}, "calendar": ROUND_THE_CLOCK}), 201)
    mine = opened(client, admin, assignee="ann", team="billing", priority="low")
    urgent_mine = opened(client, admin, assignee="ann", team="billing", priority="urgent")
    waiting = opened(client, admin, assignee="ann", team="billing")
    ok(ann.post(client.url(f"/api/v1/tickets/{waiting}/state"), json={"state": "waiting_customer"}))
    resolved = opened(client, admin, assignee="ann", team="billing")
    ok(ann.post(client.url(f"/api/v1/tickets/{resolved}/state"), json={"state": "resolved"}))
    # due within the hour; a customer of their own, since a customer's tier carries to their later tickets
    queue = opened(client, admin, team="billing", customer_tier="vip",
                   customer={"name": "Vip Wang", "contact": "vip.wang@example.com"})
    bobs = opened(client, admin, assignee="bob", team="billing")
    toms = opened(client, admin, assignee="tom", team="tech")
    nowhere = opened(client, admin)  # no team: nobody's queue

    def counts(session):
        return {view["id"]: view["count"]["count"] for view in ok(session.get(client.url("/api/v1/views")))["items"]}
    assert counts(ann) == {"mine": 3, "team_queue": 1, "unassigned": 1, "breaching_soon": 1,
                           "waiting_on_customer": 1}
    assert counts(tom) == {"mine": 1, "team_queue": 0, "unassigned": 0, "breaching_soon": 0,
                           "waiting_on_customer": 0}
    assert counts(admin)["unassigned"] == 2 and counts(admin)["team_queue"] == 0  # admin: no team of her own

    def listed(session, view, **query):
        return [item["id"] for item in ok(session.get(client.url(f"/api/v1/views/{view}/tickets"),
                                                      params=query))["items"]]
    assert listed(ann, "mine") == [waiting, urgent_mine, mine]  # -updated_at: the latest change first
    assert listed(ann, "breaching_soon") == [queue] and listed(admin, "unassigned") == [queue, nowhere]
    assert set(listed(sue, "waiting_on_customer")) == {waiting}

    # a personal view: the ticket list's filters, relative values, sort, columns
    created = ok(ann.post(client.url("/api/v1/views"), json={
        "name": "My open by priority", "query": {"assignee": "@me", "state": "@open"}, "sort": "-priority",
        "columns": ["id", "subject", "priority"]}), 201)
    assert (created["visibility"], created["owner"], created["builtin"]) == ("personal", "ann", False)
    assert listed(ann, created["id"]) == [urgent_mine, waiting, mine]
    assert listed(ann, created["id"], per_page=1, page=2) == [waiting]
    assert {view["id"]: view["count"] for view in ok(ann.get(client.url("/api/v1/views")))["items"]}[
        created["id"]] == {"count": 3, "capped": False}
    for who in (bob, sue, tom):  # personal: no one else's
        assert ok(who.get(client.url("/api/v1/views")))["items"][-1]["id"] != created["id"]
        assert who.get(client.url(f"/api/v1/views/{created['id']}/tickets")).status_code == 404
    assert listed(admin, created["id"]) == []  # admins see every view; @me is the admin running it

    # bad filters, sorts and columns are 400 naming the field
    for body, details in (
            ({"query": {"priority": "huge"}}, {"query": {"priority": ["Must be one of: low, normal, high, urgent."]}}),
            ({"query": {"page": 2}}, {"query": {"page": ["not a filter of the ticket list"]}}),
            ({"query": {"due_before": "tomorrow"}}, {"query": {"due_before": ["Not a valid datetime."]}}),
            ({"sort": "customer"}, {"sort": [
                "Must be one of: " + ", ".join(__import__("ticketing.contract").contract.SEARCH_SORTS) + "."]}),
            ({"columns": ["subject", "password"]}, {"columns": {"1": [
                "Must be one of: " + ", ".join(__import__("ticketing.contract").contract.VIEW_COLUMNS) + "."]}})):
        assert error_details(ann.post(client.url("/api/v1/views"), json=dict(name="bad", **body)), 400) == details

    # shared: a team's by its supervisor, everyone's by an admin
    assert error_details(ann.post(client.url("/api/v1/views"), json={
        "name": "Billing", "visibility": "team", "team": "billing"}), 403) == {"visibility": [
            "team: a supervisor of the team or an admin only"]}
    assert error_details(sue.post(client.url("/api/v1/views"), json={
        "name": "Tech", "visibility": "team", "team": "tech"}), 403)
    assert error_details(sue.post(client.url("/api/v1/views"), json={"name": "Billing", "visibility": "team"}),
                         400) == {"team": ["required for a team view"]}
    team_view = ok(sue.post(client.url("/api/v1/views"), json={
        "name": "Billing open", "visibility": "team", "team": "billing",
        "query": {"team": "@my_teams", "state": "@open"}, "sort": "id"}), 201)
    assert listed(ann, team_view["id"]) == [mine, urgent_mine, waiting, queue, bobs]
    assert tom.get(client.url(f"/api/v1/views/{team_view['id']}")).status_code == 404
    assert ann.patch(client.url(f"/api/v1/views/{team_view['id']}"), json={"name": "Mine now"}).status_code == 403
    assert ok(sue.patch(client.url(f"/api/v1/views/{team_view['id']}"), json={"sort": "-id"}))["sort"] == "-id"
    everyone = ok(admin.post(client.url("/api/v1/views"), json={
        "name": "Escalated", "visibility": "everyone", "query": {"escalated": True}}), 201)
    assert sue.post(client.url("/api/v1/views"), json={"name": "All", "visibility": "everyone"}).status_code == 403
    assert everyone["id"] in [view["id"] for view in ok(tom.get(client.url("/api/v1/views")))["items"]]
    assert listed(tom, everyone["id"]) == []
    assert ok(tom.get(client.url(f"/api/v1/views/{everyone['id']}")))["query"] == {"escalated": True}

    # built-ins stay; a view is deleted by whoever may change it
    assert ann.delete(client.url("/api/v1/views/mine")).status_code == 403
    assert bob.delete(client.url(f"/api/v1/views/{created['id']}")).status_code == 404
    assert ann.delete(client.url(f"/api/v1/views/{created['id']}")).status_code == 204
    assert ann.get(client.url(f"/api/v1/views/{created['id']}")).status_code == 404
    assert toms not in listed(admin, "mine")


# -- presence -----------------------------------------------------------------------------
def test_presence_shows_who_else_is_on_a_ticket_to_those_who_may_read_it(people, client):
    admin, ann, bob, tom = (people[name] for name in ("admin", "ann", "bob", "tom"))
    ticket = opened(client, admin, assignee="ann", team="billing")
    here = client.url(f"/api/v1/tickets/{ticket}/presence")
    assert ok(ann.post(here, json={"activity": "viewing"})) == {"items": [], "expires_in": 60}
    [ann_there] = ok(bob.post(here, json={"activity": "replying"}))["items"]
    assert (ann_there["username"], ann_there["activity"]) == ("ann", "viewing")
    assert datetime.fromisoformat(ann_there["expires_at"]) > datetime.now(timezone.utc)
    assert [(item["username"], item["activity"]) for item in ok(ann.get(here))["items"]] == [("bob", "replying")]
    assert error_details(ann.post(here, json={"activity": "typing"}), 400) == {
        "activity": ["Must be one of: viewing, replying."]}
    assert tom.post(here, json={"activity": "viewing"}).status_code == 404
    assert tom.get(here).status_code == 404


# -- mentions and followers, mailed by channels -----------------------------------------------
def test_mentions_and_followed_news_reach_staff_who_may_read_the_ticket_by_mail(people, client, smtp_server):
    admin, ann, bob, tom, sue = (people[name] for name in ("admin", "ann", "bob", "tom", "sue"))
    ticket = opened(client, admin, assignee="ann", team="billing", subject="Invoice for order 1234")
    followers = client.url(f"/api/v1/tickets/{ticket}/followers")
    # an admin names whom to add: someone ticketing's staff registry knows (sue, once her account's event came)
    wait_for(lambda: admin.post(followers, json={"username": "sue"}).status_code == 200,
             message="sue known to ticketing and following")
    assert ok(sue.post(followers, json={}))["items"] == ok(sue.get(followers))["items"]  # already: the same
    assert tom.post(followers, json={}).status_code == 404
    assert error_details(ann.post(followers, json={"username": "bob"}), 403) == {"username": ["only your own"]}
    assert error_details(sue.post(followers, json={"username": "tom"}), 400) == {
        "username": ["no active staff account that may read this ticket"]}
    ok(bob.put(client.url("/api/v1/me/notifications"), json={"kinds": {"mention": False}}))

    note = ok(ann.post(client.url(f"/api/v1/tickets/{ticket}/messages"), json={
        "kind": "note", "body": "@sue the refund of 99 yuan is stuck, @bob and @tom fyi; @ghost, ann@example.com"}),
        201)
    assert note["mentions"] == {"notified": ["sue", "bob"], "cannot_read": ["tom"], "unknown": ["ghost"]}
    mentioned = wait_for(lambda: mails_to(smtp_server, "sue", "mentioned you"), message="sue's mention mail")
    assert mentioned[0]["Subject"] == f"[#{ticket}] ann mentioned you: Invoice for order 1234"
    body = mentioned[0].get_body(("plain",)).get_content()
    assert "/tickets/" in body and "99 yuan" not in body  # the note stays on the ticket
    reply = ok(ann.post(client.url(f"/api/v1/tickets/{ticket}/messages"), json={"kind": "reply", "body": "Done"}),
               201)
    assert reply["mentions"] == {"notified": [], "cannot_read": [], "unknown": []}
    wait_for(lambda: mails_to(smtp_server, "sue", "New reply"), message="sue told of the reply")
    ok(ann.post(client.url(f"/api/v1/tickets/{ticket}/state"), json={"state": "resolved"}))
    wait_for(lambda: mails_to(smtp_server, "sue", "Now resolved"), message="sue told of the resolution")
    assert mails_to(smtp_server, "bob") == [] and mails_to(smtp_server, "tom") == []  # bob switched mentions off
    assert mails_to(smtp_server, "ann") == []  # nobody hears of what they did themselves

    ok(sue.post(followers, json={"username": "bob"}))
    assert [item["username"] for item in ok(ann.get(followers))["items"]] == ["sue", "bob"]
    assert sue.delete(followers).status_code == 204 and sue.delete(followers).status_code == 204
    assert ann.delete(followers, params={"username": "bob"}).status_code == 403
    assert [item["username"] for item in ok(bob.get(followers))["items"]] == ["bob"]
    ok(sue.post(client.url(f"/api/v1/tickets/{ticket}/state"), json={"state": "reopened"}))
    wait_for(lambda: mails_to(smtp_server, "bob", "Now in_progress"), message="bob told of the reopening")
    ok(sue.post(client.url(f"/api/v1/tickets/{ticket}/assignment"), json={"assignee": "bob"}))
    wait_for(lambda: mails_to(smtp_server, "bob", "Assigned to you"), message="bob's assignment mail")
    history = ok(ann.get(client.url(f"/api/v1/tickets/{ticket}/history")))["items"]
    assert [entry["changes"] for entry in history if entry["action"] == "mentioned"] == [{
        "message_id": note["id"], "notified": ["sue", "bob"], "cannot_read": ["tom"]}]
    assert [entry["changes"]["username"] for entry in history if entry["action"] in ("followed", "unfollowed")] == [
        "sue", "bob", "sue"]
    assert mails_to(smtp_server, "bob", "New owner") == []  # the new owner has the assignment's mail instead


def mails_to(smtp_server, username, subject_part=""):
    return [mail for mail in smtp_server.mails()
            if mail["To"] == f"{username}@staff.example.com" and subject_part in mail["Subject"]]


# -- linked tickets -----------------------------------------------------------------------
def test_links_are_parent_child_or_related_without_cycles_between_readable_tickets(people, client):
    admin, ann, tom, sue = (people[name] for name in ("admin", "ann", "tom", "sue"))
    a, c, d = (opened(client, admin, assignee="ann", team="billing") for _ in range(3))
    b = opened(client, admin, team="billing")  # the billing queue's
    toms = opened(client, admin, assignee="tom", team="tech")

    def links(ticket, who=ann):
        answer = ok(who.get(client.url(f"/api/v1/tickets/{ticket}/links")))
        return [(item["ticket_id"], item["kind"]) for item in answer["items"]]

    def link(ticket, other, kind, who=ann):
        return who.post(client.url(f"/api/v1/tickets/{ticket}/links"), json={"ticket_id": other, "kind": kind})
    assert ok(link(a, b, "child"), 201)["items"][0]["ticket_id"] == b
    assert links(b) == [(a, "parent")] and links(a) == [(b, "child")]
    assert error_details(link(b, a, "child"), 409) == {"ticket_id": ["linked already"]}
    ok(link(b, c, "child"), 201)
    assert error_details(link(d, c, "child"), 409) == {"kind": [f"ticket {c} is a child of {b} already"]}
    assert error_details(link(c, a, "child"), 409) == {"kind": ["would make a cycle"]}  # a -> b -> c -> a
    assert error_details(link(a, c, "parent"), 409) == {"kind": ["would make a cycle"]}
    ok(link(d, a, "related"), 201)
    assert links(a) == [(b, "child"), (d, "related")] and links(d) == [(a, "related")]
    assert error_details(link(a, a, "related"), 400) == {"ticket_id": ["must be another ticket"]}
    assert link(a, toms, "related").status_code == 404  # the other must be readable
    assert link(toms, a, "related").status_code == 404
    assert link(toms, a, "related", who=tom).status_code == 404
    assert tom.get(client.url(f"/api/v1/tickets/{a}/links")).status_code == 404
    ok(link(toms, a, "related", who=admin), 201)
    assert links(a) == [(b, "child"), (d, "related")]  # ann does not see tom's ticket among a's links
    assert (toms, "related") in links(a, who=admin)
    assert sue.delete(client.url(f"/api/v1/tickets/{a}/links/{b}")).status_code == 204
    assert links(b) == [(c, "child")]
    assert ann.delete(client.url(f"/api/v1/tickets/{a}/links/{b}")).status_code == 204  # nothing left to unlink
    history = ok(ann.get(client.url(f"/api/v1/tickets/{b}/history")))["items"]
    assert [(entry["action"], entry["changes"]) for entry in history if "linked" in entry["action"]] == [
        ("linked", {"ticket_id": a, "link": "parent"}), ("linked", {"ticket_id": c, "link": "child"}),
        ("unlinked", {"ticket_id": a, "link": "parent"})]
