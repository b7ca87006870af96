"""What a webhook subscription may look like (X2), without nameko."""
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from marshmallow import ValidationError

from ticketing.contract import (
    PUBLISHED_TYPES, DeliveryListQuerySchema, DeliverySchema, WebhookCreatedSchema, WebhookCreateSchema,
    WebhookSchema,
)
from ticketing.events import PUBLISHED


def load(data):
    return WebhookCreateSchema().load(data)


@pytest.mark.parametrize("url", [
    "https://crm.example.com/hooks/csops", "https://10.0.0.7:8443/in", "http://127.0.0.1:9000/hook",
    "http://localhost/hook", "http://[::1]:9000/hook",
])
def test_https_anywhere_and_http_on_this_machine_only_are_accepted(url):
    assert load({"url": url, "event_types": ["*"]}) == {"url": url, "event_types": ["*"], "description": ""}


@pytest.mark.parametrize("url", [
    "http://crm.example.com/hook", "http://10.0.0.7/hook", "http://127.0.0.1.example.com/hook",
    "ftp://crm.example.com/hook", "crm.example.com/hook", "", "https://" + "a" * 2000 + ".com",
])
def test_other_urls_are_refused(url):
    with pytest.raises(ValidationError) as raised:
        load({"url": url, "event_types": ["*"]})
    assert list(raised.value.messages) == ["url"]


@pytest.mark.parametrize("event_types", [
    ["ticket.created"], ["ticket.*", "sla.breached"], ["*"], ["*.breached"], [f"ticket.{n}" for n in (
        "created", "assigned", "transferred", "status_changed", "resolved", "reopened", "closed", "replied",
        "first_responded", "escalated")],
])
def test_published_types_and_patterns_that_match_one_are_accepted(event_types):
    assert load({"url": "https://x.example.com", "event_types": event_types})["event_types"] == event_types


@pytest.mark.parametrize("event_types, message", [
    ([], "Length must be between 1 and 50."),
    (["*"] * 51, "Length must be between 1 and 50."),
    (["ticket.created", "ticket.created"], "lists a type twice"),
])
def test_the_list_needs_one_to_fifty_different_entries(event_types, message):
    with pytest.raises(ValidationError) as raised:
        load({"url": "https://x.example.com", "event_types": event_types})
    assert message in raised.value.messages["event_types"]


@pytest.mark.parametrize("pattern", ["ticket.create", "tickte.*", "billing.*", "ticket.#", "Ticket.Created", ""])
def test_an_entry_that_names_nothing_published_is_refused(pattern):
    with pytest.raises(ValidationError) as raised:
        load({"url": "https://x.example.com", "event_types": ["ticket.created", pattern]})
    assert list(raised.value.messages["event_types"]) == [1]


def test_the_client_cannot_choose_the_secret_or_anything_else():
    with pytest.raises(ValidationError) as raised:
        load({"url": "https://x.example.com", "event_types": ["*"], "secret": "mine", "active": False})
    assert set(raised.value.messages) == {"secret", "active"}


SUBSCRIPTION = SimpleNamespace(id=3, url="https://x.example.com", event_types=["*"], active=True, description="",
                               created_by="admin", created_at=datetime(2026, 5, 1, tzinfo=timezone.utc),
                               secret="whsec_abc")


def test_the_secret_is_only_in_the_answer_to_creation():
    assert "secret" not in WebhookSchema().dump(SUBSCRIPTION)
    assert WebhookCreatedSchema().dump(SUBSCRIPTION)["secret"] == "whsec_abc"


def test_a_delivery_names_its_webhook_and_not_its_body():
    delivery = SimpleNamespace(
        id="9b1c", subscription_id=3, event_id="e1", event_type="ticket.created", body="{}", status="pending",
        attempts=1, next_attempt_at=None, last_attempt_at=None, last_status_code=503, last_error="HTTP 503",
        created_at=datetime(2026, 5, 1, tzinfo=timezone.utc), delivered_at=None)
    dumped = DeliverySchema().dump(delivery)
    assert dumped["webhook_id"] == 3 and "subscription_id" not in dumped and "body" not in dumped


def test_the_log_filters_by_status():
    assert DeliveryListQuerySchema().load({"status": "failed"}) == {"status": "failed", "page": 1, "per_page": 20}
    with pytest.raises(ValidationError):
        DeliveryListQuerySchema().load({"status": "lost"})


def test_subscriptions_are_checked_against_every_type_ticketing_publishes():
    assert PUBLISHED_TYPES == tuple(event_type.name for event_type in PUBLISHED)
