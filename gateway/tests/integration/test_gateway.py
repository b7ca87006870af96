"""The gateway in front of the real services, over real RabbitMQ (X1)."""
import json
import re

import eventlet

import pytest
import requests

from gateway.api import MAX_BODY_BYTES
from plumbing.testing import EventTap
from gateway.service import GatewayService
from gateway.api import routes

TICKET = {
    "subject": "Refund not received", "channel": "email", "kind": "complaint",
    "customer": {"name": "Wang Fang", "contact": "wang@example.com"},
}


def error_of(response):
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return body["error"]


@pytest.fixture
def platform(start_platform):
    return start_platform()


def test_admin_logs_in_and_creates_reads_and_lists_a_ticket(platform, client):
    client.login()
    created = client.post(client.url("/api/v1/tickets"), json=TICKET)
    assert created.status_code == 201, created.text
    ticket = created.json()
    assert client.get(client.url(f"/api/v1/tickets/{ticket['id']}")).json() == ticket
    listing = client.get(client.url("/api/v1/tickets"), params={"kind": "complaint"}).json()
    assert listing["total"] == 1 and listing["items"][0]["id"] == ticket["id"]


def test_the_list_pages_by_cursor_and_a_tampered_or_foreign_cursor_is_400_naming_it(platform, client):
    client.login()
    ids = [client.post(client.url("/api/v1/tickets"), json=TICKET).json()["id"] for _ in range(5)]
    url, seen = client.url("/api/v1/tickets"), []
    page = client.get(url, params={"per_page": 2}).json()
    assert (page["total"], page["total_exact"], page["page"]) == (5, True, 1)
    while True:
        seen += [ticket["id"] for ticket in page["items"]]
        if page["next_cursor"] is None:
            break
        page = client.get(url, params={"per_page": 2, "cursor": page["next_cursor"]}).json()
    assert seen == ids[::-1] and page["page"] == 3
    first = client.get(url, params={"per_page": 2}).json()["next_cursor"]
    for params in ({"cursor": first[:-3]}, {"cursor": first, "kind": "inquiry"}, {"cursor": first, "page": 2}):
        response = client.get(url, params={"per_page": 2, **params})
        assert response.status_code == 400, response.text
        assert list(error_of(response)["details"]) == ["cursor"]


def test_wrong_password_is_401_without_saying_which_part_was_wrong(platform, client):
    response = client.post(client.url("/api/v1/auth/token"), json={"username": "admin", "password": "nope"})
    assert response.status_code == 401
    assert error_of(response)["message"] == "wrong username or password"


def test_every_api_route_but_login_needs_a_token(platform, client):
    for name, entrypoint in routes(GatewayService):
        if entrypoint.roles is None:
            continue
        path = re.sub(r"<int:\w+>", "1", entrypoint.url)
        response = client.request(entrypoint.method, client.url(path), json={})
        assert response.status_code == 401, (name, response.text)
        assert error_of(response)["code"] == "unauthorized"


def test_wrong_role_is_403_and_names_the_roles_allowed(platform, make_account):
    trainer = make_account("tina", ["trainer"])
    response = trainer.post(trainer.url("/api/v1/tickets"), json=TICKET)
    assert response.status_code == 403
    assert "agent" in error_of(response)["details"]["roles"]


def test_malformed_json_is_400(platform, client):
    client.login()
    response = client.post(client.url("/api/v1/tickets"), data=b'{"subject": ',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_json"


def test_deeply_nested_json_is_400_not_a_crash(platform, client):
    client.login()
    response = client.post(client.url("/api/v1/tickets"), data=b"[" * 100000 + b"]" * 100000)
    assert response.status_code == 400


def test_missing_unknown_and_mistyped_fields_are_named_and_nothing_is_written(platform, client):
    client.login()
    bad = {"subject": 42, "channel": "fax", "kind": "complaint", "customer": {"name": "x"}, "colour": "red"}
    response = client.post(client.url("/api/v1/tickets"), json=bad)
    assert response.status_code == 400
    details = error_of(response)["details"]
    assert set(details) == {"subject", "channel", "customer", "colour"}
    assert "contact" in details["customer"]
    assert client.get(client.url("/api/v1/tickets")).json()["total"] == 0


def test_bad_query_parameter_is_400(platform, client):
    client.login()
    response = client.get(client.url("/api/v1/tickets"), params={"per_page": 1000, "colour": "red"})
    assert response.status_code == 400
    assert set(error_of(response)["details"]) == {"per_page", "colour"}


def test_oversized_body_is_413(platform, client):
    client.login()
    response = client.post(client.url("/api/v1/tickets"), data=b"x" * (MAX_BODY_BYTES + 1))
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_unknown_ticket_is_404_and_unknown_route_is_json_404(platform, client):
    client.login()
    assert error_of(client.get(client.url("/api/v1/tickets/424242")))["code"] == "not_found"
    response = client.get(client.url("/api/v1/nowhere"))
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    response = client.delete(client.url("/api/v1/tickets"))
    assert response.status_code == 405 and error_of(response)["code"] == "method_not_allowed"


def test_request_id_is_echoed_or_generated(platform, client):
    given = client.get(client.url("/health"), headers={"X-Request-Id": "req-123"})
    assert given.headers["X-Request-Id"] == "req-123"
    generated = client.get(client.url("/health")).headers["X-Request-Id"]
    assert len(generated) == 32
    hostile = client.get(client.url("/health"), headers={"X-Request-Id": "<script>"}).headers["X-Request-Id"]
    assert hostile != "<script>"


def test_health_is_200_when_every_service_answers(platform, client):
    response = client.get(client.url("/health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "services": {
        "ticketing": "ok", "training": "ok", "appraisal": "ok", "monitoring": "ok", "channels": "ok"}}


def test_health_is_503_naming_the_services_that_do_not_answer(start_platform, client):
    start_platform("ticketing", "appraisal")
    response = client.get(client.url("/health"))
    assert response.status_code == 503
    services = response.json()["services"]
    assert services["ticketing"] == services["appraisal"] == "ok"
    assert services["training"].startswith("unavailable") and services["monitoring"].startswith("unavailable")


def test_a_backend_that_is_down_gives_503_not_500(start_platform, client):
    start_platform("ticketing", "appraisal", "monitoring")
    client.login()
    response = client.get(client.url("/api/v1/training/courses"))
    assert response.status_code == 503
    assert error_of(response)["code"] == "service_unavailable"


def test_admin_creates_an_account_that_can_log_in_with_its_roles(platform, client, make_account):
    agent = make_account("alice", ["agent"])
    assert agent.get(client.url("/api/v1/tickets")).status_code == 200
    assert agent.get(client.url("/api/v1/accounts")).status_code == 403
    client.login()
    duplicate = client.post(client.url("/api/v1/accounts"),
                            json={"username": "alice", "password": "password-123", "roles": ["agent"]})
    assert duplicate.status_code == 409
    listed = client.get(client.url("/api/v1/accounts")).json()["items"]
    assert [a["username"] for a in listed] == ["admin", "alice"]
    assert "password" not in json.dumps(listed) and "hash" not in json.dumps(listed)


def test_openapi_document_covers_every_route(platform, client):
    document = client.get(client.url("/api/v1/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    operations = {op["operationId"] for path in document["paths"].values() for op in path.values()}
    assert operations == {name for name, entrypoint in routes(GatewayService) if not entrypoint.page}  # pages: HTML
    create = document["paths"]["/api/v1/tickets"]["post"]
    assert create["security"] == [{"bearerAuth": []}]
    body = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert document["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]["channel"]["enum"]


def test_metrics_show_request_histograms_by_route_template(platform, client):
    client.login()
    client.get(client.url("/api/v1/tickets/77"))
    text = client.get(client.url("/metrics")).text
    assert 'csops_http_request_duration_seconds_count{method="GET",route="/api/v1/tickets/<int:ticket_id>",status="404"}' in text


def test_an_id_beyond_any_database_integer_is_404_not_an_overflow(platform, client):
    client.login()
    response = client.get(client.url("/api/v1/tickets/99999999999999999999999"))
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_a_ticket_is_worked_through_the_gateway(platform, client, make_account):
    alice = make_account("alice", ["agent"], teams=["billing"])
    sue = make_account("sue", ["supervisor"], teams=["billing"])
    ticket = sue.post(client.url("/api/v1/tickets"), json=dict(TICKET, team="billing")).json()
    base = client.url(f"/api/v1/tickets/{ticket['id']}")

    assert alice.post(base + "/assignment", json={"assignee": "alice"}).status_code == 403
    assert sue.post(base + "/assignment", json={"assignee": "alice"}).json()["state"] == "assigned"
    reply = alice.post(base + "/messages", json={"kind": "reply", "body": "We will refund you today"})
    assert reply.status_code == 201 and reply.json()["author"] == "alice"
    conflict = alice.post(base + "/state", json={"state": "new"})
    assert conflict.status_code == 409
    assert error_of(conflict)["details"]["allowed"] == ["waiting_customer", "resolved", "closed"]
    assert alice.post(base + "/state", json={"state": "resolved"}).json()["first_contact_resolution"] is True

    history = alice.get(base + "/history").json()["items"]
    assert [(entry["actor"], entry["action"]) for entry in history] == [
        ("sue", "created"), ("sue", "assigned"), ("sue", "state_changed"),
        ("alice", "message_added"), ("alice", "state_changed"), ("alice", "state_changed")]
    messages = alice.get(base + "/messages", params={"include_notes": "false"}).json()["items"]
    assert [m["body"] for m in messages] == ["We will refund you today"]
    assert error_of(alice.post(base + "/state", json={"state": "asleep"}))["details"]["state"]


def test_agents_search_the_knowledge_base_that_trainers_write(platform, client, make_account):
    tina = make_account("tina", ["trainer"])
    alice = make_account("alice", ["agent"])
    article = {"title": "Invoice copies", "body": "Download invoice copies from the order page.", "category": "billing"}
    assert alice.post(client.url("/api/v1/kb/articles"), json=article).status_code == 403
    created = tina.post(client.url("/api/v1/kb/articles"), json=article).json()
    found = alice.get(client.url("/api/v1/kb/search"), params={"q": "invoice copy"}).json()
    assert [hit["id"] for hit in found["items"]] == [created["id"]] and found["gap"] is False
    assert alice.get(client.url("/api/v1/kb/search"), params={"q": "password reset"}).json()["gap"] is True
    assert alice.get(client.url("/api/v1/kb/gaps")).status_code == 403
    assert tina.get(client.url("/api/v1/kb/gaps")).json()["items"][0]["query"] == "password reset"
    assert error_of(alice.get(client.url("/api/v1/kb/search")))["details"] == {"q": ["Missing data for required field."]}


def test_a_customer_rates_through_the_link_without_an_account(platform, client, make_account):
    alice = make_account("alice", ["agent"])
    ticket = alice.post(client.url("/api/v1/tickets"), json=dict(TICKET, kind="inquiry", assignee="alice")).json()
    assert alice.post(client.url(f"/api/v1/tickets/{ticket['id']}/state"), json={"state": "resolved"}).json()[
        "rating_token"] is None  # the agent rated must not hold the link
    bridge = make_account("crm-bridge", ["integration"])  # delivers the link to the customer
    token = bridge.post(client.url(f"/api/v1/tickets/{ticket['id']}/rating-link")).json()["rating_token"]
    customer = requests.Session()  # no Authorization header
    rated = customer.post(client.url(f"/api/v1/ratings/{token}"), json={"score": 5, "comment": "great"})
    assert rated.status_code == 201 and rated.json()["score"] == 5
    again = customer.post(client.url(f"/api/v1/ratings/{token}"), json={"score": 1})
    assert again.status_code == 409
    assert customer.post(client.url("/api/v1/ratings/forged"), json={"score": 5}).status_code == 404


def test_an_integration_imports_history_and_a_duplicate_is_merged(platform, client, make_account):
    bridge = make_account("zammad-bridge", ["integration"])
    make_account("mei", ["agent"])
    batch = {"source": "zammad", "tickets": [dict(TICKET, external_id=str(n), created_at="2026-01-05T08:00:00+08:00",
                                                  history=[{"at": "2026-01-05T08:10:00+08:00", "type": "state",
                                                            "state": "resolved", "actor": actor}])
                                             for n, actor in ((1, "mei"), (2, "old-agent"))]}
    refused = bridge.post(client.url("/api/v1/tickets/import"), json=batch)
    assert refused.status_code == 400 and refused.json()["error"]["details"] == {"tickets": {"1": {"history": {"0": {
        "actor": ["'old-agent' is not an account: create it, or import the step with actor null"]}}}}}
    batch["tickets"][1]["history"][0]["actor"] = None   # someone who left before the migration: the platform
    result = bridge.post(client.url("/api/v1/tickets/import"), json=batch)
    assert result.status_code == 200, result.text
    first, second = [i["ticket_id"] for i in result.json()["imported"]]
    client.login()
    assert client.get(client.url(f"/api/v1/tickets/{first}")).json()["resolved_at"] == "2026-01-05T00:10:00+00:00"
    assert bridge.post(client.url("/api/v1/tickets/import"), json=batch).json()["skipped"] == ["1", "2"]
    reopened = client.post(client.url(f"/api/v1/tickets/{first}/state"), json={"state": "reopened"})
    assert reopened.json()["state"] == "new"
    merged = client.post(client.url(f"/api/v1/tickets/{second}/merge"), json={"into": first})
    assert merged.status_code == 200 and merged.json()["id"] == first


def test_staff_profiles_duty_and_deactivation_are_published_for_routing(platform, client, make_account,
                                                                         gateway_config):
    tap = EventTap(gateway_config["AMQP_URI"], "gateway", "staff.#")
    sue = make_account("sue", ["supervisor"])
    alice = make_account("alice", ["agent"])
    client.login()   # a supervisor's teams are an admin's decision, and so is an agent's first team
    for name, teams in (("sue", ["billing", "vip"]), ("alice", ["billing"])):
        assert client.patch(client.url(f"/api/v1/accounts/{name}"), json={"teams": teams}).status_code == 200
    changed = sue.patch(client.url("/api/v1/accounts/alice"), json={"teams": ["billing", "vip"], "skills": ["zh"]})
    assert changed.status_code == 200 and changed.json()["teams"] == ["billing", "vip"]
    assert sue.patch(client.url("/api/v1/accounts/alice"), json={"roles": ["admin"]}).status_code == 403
    assert error_of(sue.patch(client.url("/api/v1/accounts/alice"), json={}))["code"] == "invalid_input"
    assert alice.put(client.url("/api/v1/me/duty"), json={"on_duty": True}).json()["on_duty"] is True

    assert client.patch(client.url("/api/v1/accounts/alice"), json={"active": False}).json()["active"] is False
    assert alice.get(client.url("/api/v1/me")).status_code == 401      # her token no longer works
    login = requests.post(client.url("/api/v1/auth/token"), json={"username": "alice", "password": "password-123"})
    assert login.status_code == 401

    snapshots = [(e["type"], e["data"]["username"], e["data"]["on_duty"], e["data"]["active"]) for e in tap.take(7)]
    assert snapshots == [
        ("staff.account_created", "sue", False, True), ("staff.account_created", "alice", False, True),
        ("staff.account_updated", "sue", False, True), ("staff.account_updated", "alice", False, True),
        ("staff.account_updated", "alice", False, True), ("staff.account_updated", "alice", True, True),
        ("staff.account_updated", "alice", False, False)]


def test_tickets_opened_together_share_one_rpc_yet_keep_their_own_author_and_request_id(
        platform, client, make_account, gateway_config):
    from prometheus_client import REGISTRY

    def create_tickets_calls():
        return REGISTRY.get_sample_value(
            "csops_rpc_duration_seconds_count", {"method": "create_tickets", "outcome": "success"}) or 0

    sue = make_account("sue", ["supervisor"])
    client.login()
    tap = EventTap(gateway_config["AMQP_URI"], "ticketing", "ticket.created")
    authors = {n: ("sue", sue) if n % 2 else ("admin", client) for n in range(16)}
    refused = 7  # asks for an assignee who is no agent: only this one is refused

    def create(n):
        body = dict(TICKET, subject=f"order {n}", **({"assignee": "nobody"} if n == refused else {}))
        return requests.post(client.url("/api/v1/tickets"), json=body, headers={
            "Authorization": authors[n][1].headers["Authorization"], "X-Request-Id": f"together-{n}"})

    calls_before = create_tickets_calls()
    responses = list(eventlet.GreenPool(16).imap(create, range(16)))

    assert [r.status_code for r in responses] == [409 if n == refused else 201 for n in range(16)]
    assert error_of(responses[refused])["details"] == {"assignee": ["nobody is not a known agent"]}
    assert create_tickets_calls() - calls_before < 15  # fewer RPCs than tickets: they went together
    tickets = {n: r.json() for n, r in enumerate(responses) if n != refused}
    assert {n: t["subject"] for n, t in tickets.items()} == {n: f"order {n}" for n in tickets}
    assert client.get(client.url("/api/v1/tickets")).json()["total"] == 15  # the refusal wrote nothing
    for n, ticket in tickets.items():
        history = client.get(client.url(f"/api/v1/tickets/{ticket['id']}/history")).json()["items"]
        assert (history[0]["action"], history[0]["actor"]) == ("created", authors[n][0])
    events = {event["data"]["ticket_id"]: event for event in tap.take(15)}
    assert {n: events[t["id"]]["requestid"] for n, t in tickets.items()} == {n: f"together-{n}" for n in tickets}
