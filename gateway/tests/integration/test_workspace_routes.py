"""The agent workspace through the gateway (docs/workspace.md), on SQLite and on PostgreSQL: a ticket's
ETag and an edit on it (428 without If-Match, 409 naming what changed when stale), a bulk edit with a
result per ticket, canned responses refused for an unknown placeholder and filled in for a ticket,
and a macro applied as one history entry or not at all."""
import pytest

TICKET = {"subject": "Parcel arrived damaged", "channel": "phone", "kind": "complaint", "team": "billing",
          "customer": {"name": "Li Lei", "contact": "+86 138 0000 5678"}}


@pytest.fixture(params=["sqlite", "postgresql"])
def platform_databases(request):
    if request.param == "sqlite":
        return {}
    make = request.getfixturevalue("new_postgres_database")
    return {service: make() for service in ("gateway", "ticketing")}


@pytest.fixture
def desk(start_platform, client, make_account):
    start_platform("ticketing")
    admin = client.login()
    people = {"admin": admin, **{name: make_account(name, roles, teams=teams) for name, roles, teams in (
        ("ann", ["agent"], ["billing"]), ("tom", ["agent"], ["tech"]), ("sue", ["supervisor"], ["billing"]))}}

    def open_ticket(**fields):
        response = admin.post(client.url("/api/v1/tickets"), json=dict(TICKET, **fields))
        assert response.status_code == 201, response.text
        return response.json()["id"]
    people["open"] = open_ticket
    return people


def ok(response, status=200):
    assert response.status_code == status, (response.request.method, response.request.url, response.text)
    return response.json() if status != 204 else None


def test_an_edit_goes_on_the_version_read_and_a_stale_one_is_told_what_changed(desk, client):
    ann, sue = desk["ann"], desk["sue"]
    ticket_id = desk["open"](assignee="ann")
    url = client.url(f"/api/v1/tickets/{ticket_id}")
    read = ann.get(url)
    etag = read.headers["ETag"]
    assert etag == f'"{ticket_id}-{read.json()["version"]}"'

    missing = ann.patch(url, json={"priority": "high"})
    assert missing.status_code == 428 and missing.json()["error"]["code"] == "precondition_required"
    assert list(missing.json()["error"]["details"]) == ["If-Match"]

    # sue (her supervisor) changes the priority and adds a note meanwhile
    ok(sue.patch(url, json={"priority": "urgent", "tags": ["vip"]}, headers={"If-Match": etag}))
    ok(sue.post(url + "/messages", json={"kind": "note", "body": "customer called again"}), 201)
    stale = ann.patch(url, json={"priority": "low"}, headers={"If-Match": etag})
    assert stale.status_code == 409, stale.text
    details = stale.json()["error"]["details"]
    assert details["changed"] == {"priority": "urgent", "tags": ["vip"]}
    assert details["changed_fields"] == ["priority", "tags", "messages"]
    assert {entry["actor"] for entry in details["changes"]} == {"sue"}
    now = ann.get(url)
    assert details["etag"] == now.headers["ETag"] != etag and now.json()["priority"] == "urgent"

    edited = ann.patch(url, json={"priority": "low", "custom_fields": {"order": "A-7"}},
                       headers={"If-Match": now.headers["ETag"]})
    assert edited.status_code == 200, edited.text
    assert edited.headers["ETag"] == f'"{ticket_id}-{edited.json()["version"]}"' != now.headers["ETag"]
    changes = [entry["changes"] for entry in ok(ann.get(url + "/history"))["items"] if entry["action"] == "edited"]
    assert changes[-2:] == [{"priority": ["urgent", "low"]}, {"custom_fields": [{}, {"order": "A-7"}]}]

    refused = ann.patch(url, json={}, headers={"If-Match": "*"})
    assert refused.status_code == 400 and "_schema" in refused.json()["error"]["details"]
    assert ann.patch(url, json={"priority": "high"}, headers={"If-Match": "not an etag"}).status_code == 400
    outside = desk["open"](team="tech", assignee="tom")
    assert ann.patch(client.url(f"/api/v1/tickets/{outside}"), json={"priority": "high"}).status_code == 404


def test_a_bulk_edit_answers_for_every_ticket(desk, client):
    ann = desk["ann"]
    mine = [desk["open"](assignee="ann") for _ in range(3)]
    outside = desk["open"](team="tech", assignee="tom")
    ok(desk["admin"].post(client.url(f"/api/v1/tickets/{mine[2]}/state"), json={"state": "closed"}))
    answer = ok(ann.post(client.url("/api/v1/tickets/bulk"), json={"ids": [*mine, outside], "changes": {
        "priority": "high", "add_tags": ["recall"], "state": "in_progress"}}))
    assert [(item["ticket_id"], item["status"]) for item in answer["items"]] == [
        (mine[0], 200), (mine[1], 200), (mine[2], 409), (outside, 404)]
    assert (answer["succeeded"], answer["failed"]) == (2, 2)
    assert answer["items"][3]["outcome"] == "not_found" and "does not exist" in answer["items"][3]["message"]
    shown = ok(ann.get(client.url(f"/api/v1/tickets/{mine[0]}")))
    assert (shown["priority"], shown["tags"], shown["state"]) == ("high", ["recall"], "in_progress")

    too_many = ann.post(client.url("/api/v1/tickets/bulk"), json={"ids": list(range(1, 502)),
                                                                   "changes": {"priority": "low"}})
    assert too_many.status_code == 400 and "500" in str(too_many.json()["error"]["details"]["ids"])
    assert ann.post(client.url("/api/v1/tickets/bulk"), json={"ids": mine, "changes": {"assignee": "sue"}}
                    ).status_code == 403


def test_canned_responses_and_a_macro_applied_as_one_entry_or_not_at_all(desk, client):
    ann, tom, sue = desk["ann"], desk["tom"], desk["sue"]
    canned_url = client.url("/api/v1/canned-responses")
    unknown = ann.post(canned_url, json={"title": "Sorry", "language": "en", "body": "Dear {{ custmer.name }}"})
    assert unknown.status_code == 400 and "custmer" in str(unknown.json()["error"]["details"]["body"])
    canned = ok(sue.post(canned_url, json={
        "title": "道歉", "language": "zh-CN", "visibility": "team", "team": "billing",
        "body": "{{ customer.name }}您好，关于工单 #{{ ticket.id }}，我们深表歉意。{{ agent.username }}"}), 201)
    assert ok(tom.get(canned_url))["items"] == [] and tom.get(f"{canned_url}/{canned['id']}").status_code == 404
    assert [item["id"] for item in ok(ann.get(canned_url, params={"language": "zh-CN"}))["items"]] == [canned["id"]]

    ticket_id = desk["open"](assignee="ann")
    rendered = ok(ann.post(f"{canned_url}/{canned['id']}/render", json={"ticket_id": ticket_id}))
    assert rendered["body"] == f"Li Lei您好，关于工单 #{ticket_id}，我们深表歉意。ann"

    macro = ok(ann.post(client.url("/api/v1/macros"), json={"title": "Apologise and wait", "actions": [
        {"action": "reply", "canned_response_id": canned["id"]}, {"action": "add_tags", "tags": ["apology"]},
        {"action": "set_state", "state": "waiting_customer"}]}), 201)
    assert macro["actions"][1] == {"action": "add_tags", "tags": ["apology"], "body": None,
                                   "canned_response_id": None, "public": None, "state": None, "assignee": None,
                                   "team": None, "priority": None}
    ticket_url = client.url(f"/api/v1/tickets/{ticket_id}")
    etag = ann.get(ticket_url).headers["ETag"]
    applied = ann.post(ticket_url + "/macro", json={"macro_id": macro["id"]}, headers={"If-Match": etag})
    assert applied.status_code == 200, applied.text
    assert (applied.json()["state"], applied.json()["tags"]) == ("waiting_customer", ["apology"])
    history = ok(ann.get(ticket_url + "/history"))["items"]
    assert history[-1]["action"] == "macro_applied" and history[-1]["changes"]["title"] == "Apologise and wait"
    assert applied.json()["version"] == len(history)  # one entry, one version
    assert ann.post(ticket_url + "/macro", json={"macro_id": macro["id"]}, headers={"If-Match": etag}
                    ).status_code == 409  # stale now

    # a macro whose second action cannot apply here: 409 naming it, and the first one not applied either
    closing = ok(ann.post(client.url("/api/v1/macros"), json={"title": "Tag and assign", "actions": [
        {"action": "add_tags", "tags": ["tagged"]}, {"action": "set_state", "state": "assigned"}]}), 201)
    refused = ann.post(ticket_url + "/macro", json={"macro_id": closing["id"]}, headers={"If-Match": "*"})
    assert refused.status_code == 409, refused.text
    assert list(refused.json()["error"]["details"]["actions"]) == ["1"]
    assert ok(ann.get(ticket_url))["tags"] == ["apology"]
    # tom sees neither ann's personal macro nor her ticket
    assert tom.get(client.url(f"/api/v1/macros/{macro['id']}")).status_code == 404
    assert sue.delete(client.url(f"/api/v1/macros/{macro['id']}")).status_code == 404
    ok(ann.delete(client.url(f"/api/v1/macros/{macro['id']}")), 204)
