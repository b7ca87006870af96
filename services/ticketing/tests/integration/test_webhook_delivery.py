"""Webhooks (X2) against a real database and a real HTTP receiver: every
change's events get their deliveries in the change's own transaction."""
import base64
import json
import time
from datetime import datetime, timezone

import pytest
from sqlalchemy import update
from standardwebhooks import Webhook, WebhookVerificationError

from plumbing.db import make_engine
from plumbing.errors import Conflict, InvalidInput, NotFound
from plumbing.testing import call_as, free_port, wait_for
from ticketing.models import WebhookSubscription
from ticketing.webhooks.rules import MAX_ATTEMPTS, verify

TICKET = {"subject": "Refund not received", "channel": "email", "kind": "complaint",
          "customer": {"name": "Han Mei", "contact": "han@example.com"}}


def act(container, method, *args, actor="admin"):
    return call_as(actor, container, method, *args)


def close_a_ticket(container):
    """A change whose events include ``ticket.closed``; returns the closed ticket."""
    ticket = act(container, "create_ticket", TICKET)
    return act(container, "change_state", ticket["id"], {"state": "closed"})


def miss_a_search(container):
    """A change whose only event is ``kb.search_missed``."""
    return act(container, "search_articles", {"q": "nothing is written about this"})


def deliver_until(container, condition, timeout=10):
    """Run the delivery loop (as its timer would) until ``condition()`` holds."""
    def tick():
        act(container, "deliver_webhooks")
        return condition()
    return wait_for(tick, timeout=timeout, interval=0.02, message="webhook deliveries")


def subscribe(container, url, event_types, **extra):
    return act(container, "create_webhook", dict(url=url, event_types=event_types, **extra))


def log_of(container, webhook, **query):
    return act(container, "list_deliveries", webhook["id"], query)


def test_an_event_arrives_signed_and_the_log_shows_it(ticketing, receiver):
    hook = subscribe(ticketing, receiver.url(), ["ticket.created"], description="CRM sync")
    assert hook["secret"].startswith("whsec_") and len(base64.b64decode(hook["secret"][6:], validate=True)) == 32
    assert hook["active"] is True and hook["created_by"] == "admin" and hook["legacy_signature"] is False
    [listed] = act(ticketing, "list_webhooks")["items"]
    assert listed == {key: value for key, value in hook.items() if key != "secret"}   # the secret is shown once

    ticket = act(ticketing, "create_ticket", TICKET)
    deliver_until(ticketing, lambda: receiver.requests)

    [request] = receiver.requests
    envelope = json.loads(request.body)
    assert envelope["type"] == "ticket.created" and envelope["data"]["ticket_id"] == ticket["id"]
    assert envelope["source"] == "/csops/ticketing" and envelope["specversion"] == "1.0"
    assert request.headers["content-type"] == "application/cloudevents+json"
    assert request.headers["x-csops-event"] == "ticket.created"
    # Standard Webhooks: what an integrator's library verifies, with the secret as shown
    assert Webhook(hook["secret"]).verify(request.body, request.headers) == envelope
    assert request.headers["webhook-signature"].startswith("v1,")
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    assert "x-csops-signature" not in request.headers and "x-csops-delivery" not in request.headers

    page = log_of(ticketing, hook)
    assert page["total"] == 1
    [delivery] = page["items"]
    assert delivery["id"] == request.headers["webhook-id"]
    assert delivery["event_id"] == envelope["id"] and delivery["event_type"] == "ticket.created"
    assert delivery["webhook_id"] == hook["id"]
    assert delivery["status"] == "delivered" and delivery["attempts"] == 1
    assert delivery["last_status_code"] == 200 and delivery["last_error"] is None
    assert delivery["next_attempt_at"] is None and delivery["delivered_at"] is not None


@pytest.mark.parametrize("change", ["another delivery id", "another secret", "a changed body", "an hour later"])
def test_a_captured_delivery_does_not_verify_changed(ticketing, receiver, change):
    """The delivery id is signed with the body and the time: a replay under a new id fails too."""
    hook = subscribe(ticketing, receiver.url(), ["ticket.created"])
    act(ticketing, "create_ticket", TICKET)
    deliver_until(ticketing, lambda: receiver.requests)
    [request] = receiver.requests
    assert Webhook(hook["secret"]).verify(request.body, request.headers)   # as sent
    secret, headers, body = hook["secret"], dict(request.headers), request.body
    if change == "another delivery id":
        headers["webhook-id"] = "0a6bd1b4-2e0c-4e57-9a2a-6c4f4f0c7e11"
    elif change == "another secret":
        secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    elif change == "a changed body":
        body = body.replace(b"ticket.created", b"ticket.closed")
    else:
        timestamp = int(headers["webhook-timestamp"]) + 3600
        headers["webhook-timestamp"] = str(timestamp)
        headers["webhook-signature"] = Webhook(hook["secret"]).sign(   # even signed right, it is too old by then
            headers["webhook-id"], datetime.fromtimestamp(timestamp - 7200, timezone.utc), body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)


def test_a_webhook_made_before_standard_webhooks_also_gets_the_old_signature(ticketing, receiver):
    """Its receiver verifies X-CSOPS-Signature today; it keeps getting it beside the new headers."""
    hook = subscribe(ticketing, receiver.url(), ["ticket.created"])
    engine = make_engine(ticketing.config["DATABASE_URL"])
    with engine.begin() as connection:   # as the migration leaves the webhooks that were there before it
        connection.execute(update(WebhookSubscription.__table__).values(legacy_signature=True))
    engine.dispose()
    assert act(ticketing, "list_webhooks")["items"][0]["legacy_signature"] is True
    act(ticketing, "create_ticket", TICKET)
    deliver_until(ticketing, lambda: receiver.requests)

    [request] = receiver.requests
    assert verify(hook["secret"], request.headers["x-csops-signature"], request.body, now=time.time())
    assert request.headers["x-csops-delivery"] == request.headers["webhook-id"]
    assert Webhook(hook["secret"]).verify(request.body, request.headers)


def test_a_failing_receiver_gets_the_same_delivery_id_until_it_answers(ticketing, receiver):
    hook = subscribe(ticketing, receiver.url(), ["ticket.closed"])
    receiver.fail_next(2)
    closed = close_a_ticket(ticketing)
    deliver_until(ticketing, lambda: log_of(ticketing, hook)["items"][0]["status"] == "delivered")

    assert [request.status for request in receiver.requests] == [500, 500, 200]
    [delivery] = log_of(ticketing, hook)["items"]
    assert {request.headers["webhook-id"] for request in receiver.requests} == {delivery["id"]}
    assert all(Webhook(hook["secret"]).verify(request.body, request.headers) for request in receiver.requests)
    assert {json.loads(request.body)["id"] for request in receiver.requests} == {delivery["event_id"]}
    assert json.loads(receiver.requests[0].body)["data"]["ticket_id"] == closed["id"]
    assert delivery["attempts"] == 3 and delivery["last_status_code"] == 200 and delivery["last_error"] is None


def test_a_receiver_that_keeps_failing_is_given_up_after_the_last_attempt(ticketing, receiver):
    hook = subscribe(ticketing, receiver.url(), ["kb.*"])
    receiver.fail_next(100)
    miss_a_search(ticketing)
    deliver_until(ticketing, lambda: log_of(ticketing, hook)["items"][0]["status"] == "failed")

    [delivery] = log_of(ticketing, hook, status="failed")["items"]
    assert delivery["attempts"] == MAX_ATTEMPTS == len(receiver.requests)
    assert delivery["last_status_code"] == 500 and delivery["last_error"] == "HTTP 500 Internal Server Error"
    assert delivery["next_attempt_at"] is None and delivery["delivered_at"] is None
    assert {request.headers["webhook-id"] for request in receiver.requests} == {delivery["id"]}
    assert log_of(ticketing, hook, status="pending")["total"] == 0
    act(ticketing, "deliver_webhooks")
    assert len(receiver.requests) == MAX_ATTEMPTS


def test_an_unreachable_receiver_is_logged_without_a_status_code(ticketing):
    hook = subscribe(ticketing, f"http://127.0.0.1:{free_port()}/nobody-listens", ["ticket.closed"])
    close_a_ticket(ticketing)
    deliver_until(ticketing, lambda: log_of(ticketing, hook)["items"][0]["attempts"] >= 1)
    [delivery] = log_of(ticketing, hook)["items"]
    assert delivery["last_status_code"] is None
    assert delivery["last_error"].startswith("ConnectionError")


def test_each_event_of_a_change_is_delivered_once_and_a_refused_change_sends_nothing(ticketing, receiver):
    hook = subscribe(ticketing, receiver.url(), ["ticket.*"])
    closed = close_a_ticket(ticketing)
    with pytest.raises(Conflict):
        act(ticketing, "change_state", closed["id"], {"state": "waiting_customer"})
    deliver_until(ticketing, lambda: len(receiver.requests) == 3)
    act(ticketing, "deliver_webhooks")

    assert sorted(r.headers["x-csops-event"] for r in receiver.requests) == [   # sent concurrently
        "ticket.closed", "ticket.created", "ticket.status_changed"]
    assert log_of(ticketing, hook)["total"] == 3


def test_an_inactive_webhook_receives_nothing(ticketing, receiver):
    kept = subscribe(ticketing, receiver.url("/kept"), ["ticket.closed"])
    dropped = subscribe(ticketing, receiver.url("/dropped"), ["*"])
    deactivated = act(ticketing, "deactivate_webhook", dropped["id"])
    assert deactivated["active"] is False and "secret" not in deactivated
    assert act(ticketing, "deactivate_webhook", dropped["id"])["active"] is False   # again: no harm
    assert [w["active"] for w in act(ticketing, "list_webhooks")["items"]] == [True, False]

    close_a_ticket(ticketing)
    deliver_until(ticketing, lambda: receiver.at("/kept"))
    act(ticketing, "deliver_webhooks")

    assert receiver.at("/dropped") == []
    assert log_of(ticketing, dropped)["total"] == 0
    assert log_of(ticketing, kept)["total"] == 1


def test_deactivating_gives_up_what_is_still_pending(ticketing, receiver):
    hook = subscribe(ticketing, receiver.url(), ["ticket.closed"])
    receiver.fail_next(100)
    close_a_ticket(ticketing)
    act(ticketing, "deactivate_webhook", hook["id"])
    sent = len(receiver.requests)
    act(ticketing, "deliver_webhooks")

    [delivery] = log_of(ticketing, hook)["items"]
    assert delivery["status"] == "failed" and delivery["last_error"] == "webhook deactivated"
    assert delivery["next_attempt_at"] is None
    assert len(receiver.requests) == sent


def test_a_pattern_webhook_gets_ticket_events_but_not_knowledge_gaps(ticketing, receiver):
    tickets = subscribe(ticketing, receiver.url("/tickets"), ["ticket.*"])
    gaps = subscribe(ticketing, receiver.url("/gaps"), ["kb.search_missed"])
    act(ticketing, "create_ticket", TICKET)
    miss_a_search(ticketing)
    deliver_until(ticketing, lambda: receiver.at("/tickets") and receiver.at("/gaps"))
    act(ticketing, "deliver_webhooks")

    assert [r.headers["x-csops-event"] for r in receiver.at("/tickets")] == ["ticket.created"]
    assert [r.headers["x-csops-event"] for r in receiver.at("/gaps")] == ["kb.search_missed"]
    assert [d["event_type"] for d in log_of(ticketing, tickets)["items"]] == ["ticket.created"]
    assert [d["event_type"] for d in log_of(ticketing, gaps)["items"]] == ["kb.search_missed"]


def test_imported_history_is_not_sent(ticketing, receiver):
    hook = subscribe(ticketing, receiver.url(), ["*"])
    act(ticketing, "import_tickets", {"source": "zammad", "tickets": [dict(
        TICKET, external_id="Z-1", created_at="2026-01-05T08:00:00+08:00",
        history=[{"at": "2026-01-05T08:10:00+08:00", "type": "state", "state": "resolved"}])]})
    assert log_of(ticketing, hook)["total"] == 0


@pytest.mark.parametrize("data, field", [
    ({"url": "http://crm.example.com/hook", "event_types": ["*"]}, "url"),
    ({"url": "not a url", "event_types": ["*"]}, "url"),
    ({"url": "https://crm.example.com/hook", "event_types": []}, "event_types"),
    ({"url": "https://crm.example.com/hook", "event_types": ["tickte.*"]}, "event_types"),
    ({"url": "https://crm.example.com/hook", "event_types": ["*"], "secret": "mine"}, "secret"),
])
def test_a_webhook_that_breaks_the_rules_is_refused(ticketing, data, field):
    with pytest.raises(InvalidInput) as raised:
        act(ticketing, "create_webhook", data)
    assert field in raised.value.details


def test_an_unknown_webhook_is_not_found(ticketing):
    with pytest.raises(NotFound):
        act(ticketing, "list_deliveries", 404, {})
    with pytest.raises(NotFound):
        act(ticketing, "deactivate_webhook", 404)
