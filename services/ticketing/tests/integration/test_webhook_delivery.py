"""Webhooks (X2) against real RabbitMQ, a real database and a real HTTP receiver."""
import json
import time
from dataclasses import dataclass

import eventlet
import eventlet.wsgi
import pytest
from nameko.testing.services import entrypoint_hook, entrypoint_waiter

from plumbing.errors import InvalidInput, NotFound
from plumbing.testing import free_port, publish_event, publish_raw, wait_for
from ticketing.webhooks import MAX_ATTEMPTS, verify

TICKET = {"subject": "Refund not received", "channel": "email", "kind": "complaint",
          "customer": {"name": "Han Mei", "contact": "han@example.com"}}


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    status: int


class Receiver:
    """An outside system's HTTP endpoint on loopback: records every request
    and answers 500 to the next ``fail_next(n)`` of them (or to all)."""

    def __init__(self):
        self.requests = []
        self.failures = 0
        self.socket = eventlet.listen(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.thread = eventlet.spawn(eventlet.wsgi.server, self.socket, self.app, log_output=False)

    def url(self, path="/hook"):
        return f"http://127.0.0.1:{self.port}{path}"

    def fail_next(self, count):
        self.failures = count

    def at(self, path):
        return [request for request in self.requests if request.path == path]

    def app(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {name[5:].replace("_", "-").lower(): value
                   for name, value in environ.items() if name.startswith("HTTP_")}
        headers["content-type"] = environ.get("CONTENT_TYPE")
        failing = self.failures > 0
        if failing:
            self.failures -= 1
        status = 500 if failing else 200
        self.requests.append(Received(environ["PATH_INFO"], headers, body, status))
        start_response("500 Internal Server Error" if failing else "200 OK", [("Content-Type", "text/plain")])
        return [b"down" if failing else b"thanks"]

    def close(self):
        self.thread.kill()
        self.socket.close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def amqp_uri(service_config):
    return service_config["AMQP_URI"]


def act(container, method, *args, actor="admin"):
    with entrypoint_hook(container, method, context_data={"actor": actor}) as hook:
        return hook(*args)


def queued_by(container, cause):
    """Run ``cause`` and wait until the webhook handler has taken the event it publishes."""
    with entrypoint_waiter(container, "queue_webhook_deliveries") as waited:
        value = cause()
    waited.get()  # raises what the handler raised
    return value


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
    assert hook["secret"].startswith("whsec_") and len(hook["secret"]) == 70
    assert hook["active"] is True and hook["created_by"] == "admin"
    [listed] = act(ticketing, "list_webhooks")["items"]
    assert listed == {key: value for key, value in hook.items() if key != "secret"}   # the secret is shown once

    ticket = queued_by(ticketing, lambda: act(ticketing, "create_ticket", TICKET))
    deliver_until(ticketing, lambda: receiver.requests)

    [request] = receiver.requests
    envelope = json.loads(request.body)
    assert envelope["type"] == "ticket.created" and envelope["data"]["ticket_id"] == ticket["id"]
    assert envelope["source"] == "/csops/ticketing" and envelope["specversion"] == "1.0"
    assert request.headers["content-type"] == "application/cloudevents+json"
    assert request.headers["x-csops-event"] == "ticket.created"
    signature = request.headers["x-csops-signature"]
    assert signature.startswith("t=")
    assert verify(hook["secret"], signature, request.body, now=time.time())
    assert not verify("whsec_" + "0" * 64, signature, request.body, now=time.time())
    assert not verify(hook["secret"], signature, request.body, now=time.time() + 3600)   # replayed later
    assert not verify(hook["secret"], signature, request.body.replace(b"ticket.created", b"ticket.closed"),
                      now=time.time())

    page = log_of(ticketing, hook)
    assert page["total"] == 1
    [delivery] = page["items"]
    assert delivery["id"] == request.headers["x-csops-delivery"]
    assert delivery["event_id"] == envelope["id"] and delivery["event_type"] == "ticket.created"
    assert delivery["webhook_id"] == hook["id"]
    assert delivery["status"] == "delivered" and delivery["attempts"] == 1
    assert delivery["last_status_code"] == 200 and delivery["last_error"] is None
    assert delivery["next_attempt_at"] is None and delivery["delivered_at"] is not None


def test_a_failing_receiver_gets_the_same_delivery_id_until_it_answers(ticketing, receiver, amqp_uri):
    hook = subscribe(ticketing, receiver.url(), ["*"])
    receiver.fail_next(2)
    envelope = queued_by(ticketing, lambda: publish_event(amqp_uri, "ticketing", "ticket.closed", {"ticket_id": 7}))
    deliver_until(ticketing, lambda: log_of(ticketing, hook)["items"][0]["status"] == "delivered")

    assert [request.status for request in receiver.requests] == [500, 500, 200]
    [delivery] = log_of(ticketing, hook)["items"]
    assert {request.headers["x-csops-delivery"] for request in receiver.requests} == {delivery["id"]}
    assert all(verify(hook["secret"], request.headers["x-csops-signature"], request.body, now=time.time())
               for request in receiver.requests)
    assert {json.loads(request.body)["id"] for request in receiver.requests} == {envelope["id"]}
    assert delivery["attempts"] == 3 and delivery["last_status_code"] == 200 and delivery["last_error"] is None


def test_a_receiver_that_keeps_failing_is_given_up_after_the_last_attempt(ticketing, receiver, amqp_uri):
    hook = subscribe(ticketing, receiver.url(), ["sla.*"])
    receiver.fail_next(100)
    queued_by(ticketing, lambda: publish_event(amqp_uri, "ticketing", "sla.breached", {"ticket_id": 7}))
    deliver_until(ticketing, lambda: log_of(ticketing, hook)["items"][0]["status"] == "failed")

    [delivery] = log_of(ticketing, hook, status="failed")["items"]
    assert delivery["attempts"] == MAX_ATTEMPTS == len(receiver.requests)
    assert delivery["last_status_code"] == 500 and delivery["last_error"] == "HTTP 500 Internal Server Error"
    assert delivery["next_attempt_at"] is None and delivery["delivered_at"] is None
    assert {request.headers["x-csops-delivery"] for request in receiver.requests} == {delivery["id"]}
    assert log_of(ticketing, hook, status="pending")["total"] == 0
    act(ticketing, "deliver_webhooks")
    assert len(receiver.requests) == MAX_ATTEMPTS


def test_an_unreachable_receiver_is_logged_without_a_status_code(ticketing, amqp_uri):
    hook = subscribe(ticketing, f"http://127.0.0.1:{free_port()}/nobody-listens", ["ticket.closed"])
    queued_by(ticketing, lambda: publish_event(amqp_uri, "ticketing", "ticket.closed", {"ticket_id": 7}))
    deliver_until(ticketing, lambda: log_of(ticketing, hook)["items"][0]["attempts"] >= 1)
    [delivery] = log_of(ticketing, hook)["items"]
    assert delivery["last_status_code"] is None
    assert delivery["last_error"].startswith("ConnectionError")


def test_a_redelivered_event_makes_no_second_delivery(ticketing, receiver, amqp_uri):
    hook = subscribe(ticketing, receiver.url(), ["ticket.*"])
    envelope = queued_by(ticketing, lambda: publish_event(amqp_uri, "ticketing", "ticket.closed", {"ticket_id": 7}))
    queued_by(ticketing, lambda: publish_raw(amqp_uri, "ticketing", "ticket.closed", envelope))   # the same id
    deliver_until(ticketing, lambda: receiver.requests)
    act(ticketing, "deliver_webhooks")

    assert log_of(ticketing, hook)["total"] == 1
    assert len(receiver.requests) == 1


def test_an_inactive_webhook_receives_nothing(ticketing, receiver, amqp_uri):
    kept = subscribe(ticketing, receiver.url("/kept"), ["*"])
    dropped = subscribe(ticketing, receiver.url("/dropped"), ["*"])
    deactivated = act(ticketing, "deactivate_webhook", dropped["id"])
    assert deactivated["active"] is False and "secret" not in deactivated
    assert act(ticketing, "deactivate_webhook", dropped["id"])["active"] is False   # again: no harm
    assert [w["active"] for w in act(ticketing, "list_webhooks")["items"]] == [True, False]

    queued_by(ticketing, lambda: publish_event(amqp_uri, "ticketing", "ticket.closed", {"ticket_id": 7}))
    deliver_until(ticketing, lambda: receiver.at("/kept"))
    act(ticketing, "deliver_webhooks")

    assert receiver.at("/dropped") == []
    assert log_of(ticketing, dropped)["total"] == 0
    assert log_of(ticketing, kept)["total"] == 1


def test_deactivating_gives_up_what_is_still_pending(ticketing, receiver, amqp_uri):
    hook = subscribe(ticketing, receiver.url(), ["*"])
    receiver.fail_next(100)
    queued_by(ticketing, lambda: publish_event(amqp_uri, "ticketing", "ticket.closed", {"ticket_id": 7}))
    act(ticketing, "deactivate_webhook", hook["id"])
    sent = len(receiver.requests)
    act(ticketing, "deliver_webhooks")

    [delivery] = log_of(ticketing, hook)["items"]
    assert delivery["status"] == "failed" and delivery["last_error"] == "webhook deactivated"
    assert delivery["next_attempt_at"] is None
    assert len(receiver.requests) == sent


def test_a_pattern_webhook_gets_ticket_events_but_not_sla_breached(ticketing, receiver, amqp_uri):
    tickets = subscribe(ticketing, receiver.url("/tickets"), ["ticket.*"])
    breaches = subscribe(ticketing, receiver.url("/breaches"), ["sla.breached"])
    queued_by(ticketing, lambda: act(ticketing, "create_ticket", TICKET))
    queued_by(ticketing, lambda: publish_event(amqp_uri, "ticketing", "sla.breached", {"ticket_id": 7}))
    deliver_until(ticketing, lambda: receiver.at("/tickets") and receiver.at("/breaches"))
    act(ticketing, "deliver_webhooks")

    assert [r.headers["x-csops-event"] for r in receiver.at("/tickets")] == ["ticket.created"]
    assert [r.headers["x-csops-event"] for r in receiver.at("/breaches")] == ["sla.breached"]
    assert [d["event_type"] for d in log_of(ticketing, tickets)["items"]] == ["ticket.created"]
    assert [d["event_type"] for d in log_of(ticketing, breaches)["items"]] == ["sla.breached"]


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
