"""Webhooks without SSRF (X6): a webhook may not make ticketing call this
machine, the private network or a cloud's metadata service, unless the
operator's allow-list (``WEBHOOK_ALLOWED_HOSTS``) names the target. Checked
when the webhook is made, and again before every delivery on the address the
name resolves to then, which is the address the request goes to (so a name
that rebinds to loopback after the check gets nothing). Each delivery has a
deadline over the whole request, so a receiver that trickles its answer does
not hold up the others."""
import time
from datetime import datetime, timezone
from ipaddress import ip_address

import pytest
from sqlalchemy import insert

from plumbing.db import make_engine
from plumbing.errors import InvalidInput
from plumbing.testing import call_as, wait_for
from ticketing.models import WebhookSubscription
from ticketing.service import TicketingService
from ticketing.webhooks import sending

TICKET = {"subject": "Parcel lost", "channel": "web_form", "kind": "complaint",
          "customer": {"name": "Zhou Yu", "contact": "zhou@example.com"}}
PUBLIC = "93.184.215.14"


def act(container, method, *args):
    return call_as("admin", container, method, *args)


def subscribe(container, url, event_types=("ticket.created",)):
    return act(container, "create_webhook", {"url": url, "event_types": list(event_types)})


def log_of(container, hook):
    return act(container, "list_deliveries", hook["id"], {})["items"]


def deliver_until(container, condition, timeout=10):
    def tick():
        act(container, "deliver_webhooks")
        return condition()
    return wait_for(tick, timeout=timeout, interval=0.02, message="webhook deliveries")


@pytest.fixture
def start_ticketing(start_service):
    def start(**config):
        return start_service(TicketingService, WEBHOOK_RETRY_BASE_SECONDS=0.001, **config)
    return start


@pytest.fixture
def resolver(monkeypatch):
    """DNS as a test says: ``resolver.answers[name]`` is the addresses a name
    resolves to, one list per lookup in turn (the last one again after that)."""
    class Resolver:
        answers = {}
        lookups = []

        def __call__(self, host, port):
            self.lookups.append(host)
            answers = self.answers[host]
            return [ip_address(address) for address in (answers.pop(0) if len(answers) > 1 else answers[0])]
    fake = Resolver()
    monkeypatch.setattr(sending, "resolve", fake)
    return fake


@pytest.mark.parametrize("url, reason", [
    ("http://127.0.0.1:9/hook", "127.0.0.1 is a loopback address"),
    ("http://localhost:9/hook", "localhost is 127.0.0.1, a loopback address"),
    ("http://[::1]:9/hook", "::1 is a loopback address"),
    ("https://10.0.0.7/hook", "10.0.0.7 is a private address"),
    ("https://192.168.1.1/hook", "192.168.1.1 is a private address"),
    ("https://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
    ("https://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254 is a cloud metadata address"),
    ("https://metadata.google.internal/computeMetadata/v1/", "metadata.google.internal is a cloud metadata service"),
    ("https://[::ffff:7f00:1]/hook", "::ffff:7f00:1 is a loopback address"),
    ("https://0.0.0.0/hook", "0.0.0.0 is an unspecified address"),
    ("https://224.0.0.1/hook", "224.0.0.1 is a multicast address"),
    ("https://user:secret@hooks.example.com/hook", "must not carry a user name or password"),
])
def test_a_target_off_limits_is_refused_when_the_webhook_is_made(start_ticketing, url, reason):
    ticketing = start_ticketing()
    with pytest.raises(InvalidInput) as raised:
        subscribe(ticketing, url)
    assert raised.value.details == {"url": [reason]}
    assert act(ticketing, "list_webhooks")["items"] == []


def test_a_name_that_does_not_resolve_is_refused_when_the_webhook_is_made(start_ticketing):
    ticketing = start_ticketing()
    with pytest.raises(InvalidInput) as raised:
        subscribe(ticketing, "https://no-such-host.invalid/hook")
    # without a DNS server to say so at once, the lookup is given up after 5 s
    assert raised.value.details["url"][0] in (
        "no-such-host.invalid does not resolve", "no-such-host.invalid did not resolve within 5 s")


def test_the_allow_list_names_the_receivers_on_internal_addresses(start_ticketing, receiver):
    ticketing = start_ticketing(WEBHOOK_ALLOWED_HOSTS="127.0.0.1, 10.20.0.0/16")
    hook = subscribe(ticketing, receiver.url())
    act(ticketing, "create_ticket", TICKET)
    deliver_until(ticketing, lambda: receiver.requests)
    assert log_of(ticketing, hook)[0]["status"] == "delivered"
    with pytest.raises(InvalidInput) as raised:
        subscribe(ticketing, "http://[::1]:9/hook")
    assert raised.value.details == {"url": ["::1 is a loopback address"]}


def test_a_target_is_checked_again_before_every_delivery(start_ticketing, receiver):
    """A webhook made before this check (or before the allow-list lost its address) sends nothing."""
    ticketing = start_ticketing()
    engine = make_engine(ticketing.config["DATABASE_URL"])
    with engine.begin() as connection:
        [hook_id] = connection.execute(insert(WebhookSubscription.__table__).values(
            url=receiver.url(), secret="whsec_" + "A" * 43 + "=", event_types=["*"], active=True, description="",
            created_by="admin", created_at=datetime.now(timezone.utc)).returning(WebhookSubscription.id)).one()
    engine.dispose()
    act(ticketing, "create_ticket", TICKET)
    deliver_until(ticketing, lambda: log_of(ticketing, {"id": hook_id})[0]["attempts"] >= 1)
    [delivery] = log_of(ticketing, {"id": hook_id})
    assert delivery["last_error"] == "refused: 127.0.0.1 is a loopback address"
    assert delivery["last_status_code"] is None and receiver.requests == []


def test_a_name_that_rebinds_to_loopback_after_the_check_gets_nothing(start_ticketing, receiver, resolver):
    ticketing = start_ticketing()
    resolver.answers["hooks.partner.test"] = [[PUBLIC], ["127.0.0.1"]]
    hook = subscribe(ticketing, f"https://hooks.partner.test:{receiver.port}/hook")
    act(ticketing, "create_ticket", TICKET)
    deliver_until(ticketing, lambda: log_of(ticketing, hook)[0]["attempts"] >= 1)
    assert log_of(ticketing, hook)[0]["last_error"] == (
        "refused: hooks.partner.test is 127.0.0.1, a loopback address")
    assert receiver.requests == []


def test_the_request_goes_to_the_checked_address_under_its_name_for_tls_and_host(
        start_ticketing, tls_receiver, resolver):
    """The name is resolved once, by the check; TLS still names the host (SNI) and verifies its certificate."""
    ticketing = start_ticketing(WEBHOOK_ALLOWED_HOSTS="127.0.0.0/8", WEBHOOK_CA_BUNDLE=tls_receiver.ca_bundle)
    resolver.answers["hooks.partner.test"] = [["127.0.0.1"]]
    hook = subscribe(ticketing, tls_receiver.url(host="hooks.partner.test"))
    act(ticketing, "create_ticket", TICKET)
    deliver_until(ticketing, lambda: tls_receiver.requests)

    [request] = tls_receiver.requests
    assert request.server_name == "hooks.partner.test"
    assert request.headers["host"] == f"hooks.partner.test:{tls_receiver.port}"
    assert log_of(ticketing, hook)[0]["status"] == "delivered"


def test_a_certificate_for_another_name_fails_the_delivery(start_ticketing, tls_receiver, resolver):
    ticketing = start_ticketing(WEBHOOK_ALLOWED_HOSTS="127.0.0.0/8", WEBHOOK_CA_BUNDLE=tls_receiver.ca_bundle)
    resolver.answers["crm.partner.test"] = [["127.0.0.1"]]
    hook = subscribe(ticketing, tls_receiver.url(host="crm.partner.test"))
    act(ticketing, "create_ticket", TICKET)
    deliver_until(ticketing, lambda: log_of(ticketing, hook)[0]["attempts"] >= 1)
    assert "SSLError" in log_of(ticketing, hook)[0]["last_error"]
    assert tls_receiver.requests == []


def test_a_trickling_receiver_does_not_hold_up_another_webhook(start_ticketing, receiver, trickling_receiver):
    """The slow receiver answers a byte a second: it is cut off at the deadline, and meanwhile the
    delivery loop (its own timer here, every 2 s) keeps delivering to the other webhook."""
    ticketing = start_ticketing(WEBHOOK_ALLOWED_HOSTS="127.0.0.1", WEBHOOK_DEADLINE_SECONDS=4)
    slow = subscribe(ticketing, trickling_receiver.url())
    subscribe(ticketing, receiver.url())

    act(ticketing, "create_ticket", TICKET)
    wait_for(lambda: receiver.requests and trickling_receiver.requests, timeout=6, message="the first deliveries")
    started = time.monotonic()
    for count in (2, 3):
        act(ticketing, "create_ticket", TICKET)
        wait_for(lambda: len(receiver.requests) == count, timeout=4, message=f"delivery {count} to the other webhook")
    assert time.monotonic() - started < 8

    delivery = wait_for(lambda: [item for item in log_of(ticketing, slow) if item["last_error"]], timeout=10,
                        message="the slow delivery cut off")[0]
    assert delivery["last_error"] == "the receiver took longer than the 4 s deadline"
    assert delivery["status"] == "pending" and delivery["last_status_code"] is None
