"""Ticketing against real RabbitMQ and a real database."""
import pytest
from nameko.testing.services import entrypoint_hook

from plumbing.errors import InvalidInput, NotFound
from plumbing.testing import EventTap

NEW_TICKET = {
    "subject": "Parcel arrived damaged",
    "description": "Box crushed, vase broken",
    "channel": "phone",
    "kind": "complaint",
    "priority": "high",
    "customer": {"name": "Li Lei", "contact": "+86 138 0000 0000"},
    "tags": ["Delivery", "delivery", "damage"],
}


def summary(ticket):
    """What a list shows of a ticket: all but the detail-only SLA clocks and policy, the rating link, the
    files it was opened with and its mail's HTML, the customer masked."""
    return dict({key: value for key, value in ticket.items()
                 if key not in ("sla", "sla_policy", "rating_token", "attachments", "description_html")},
                customer={"name": "L*", "contact": "+86 138****0000"})


@pytest.fixture
def tap(service_config):
    return EventTap(service_config["AMQP_URI"], "ticketing", "ticket.#")


def test_create_get_and_list_a_ticket(ticketing, tap, event_schemas):
    with entrypoint_hook(ticketing, "create_ticket") as create:
        ticket = create(NEW_TICKET)
    assert ticket["state"] == "new"
    assert ticket["tags"] == ["delivery", "damage"]
    assert ticket["created_at"].endswith("+00:00")

    with entrypoint_hook(ticketing, "get_ticket") as get:
        fetched = get(ticket["id"])
        assert [(c["clock"], c["due_at"]) for c in fetched["sla"]] == [(c["clock"], c["due_at"]) for c in ticket["sla"]]
        assert summary(fetched) == summary(ticket)
    with entrypoint_hook(ticketing, "list_tickets") as list_tickets:
        page = list_tickets({"priority": "high"})
        assert page["total"] == 1 and page["items"] == [summary(ticket)]
        assert list_tickets({"priority": "low"})["total"] == 0

    [envelope] = tap.take(1)
    [message] = tap.messages
    assert message.content_type == "application/cloudevents+json"
    assert message.delivery_info["routing_key"] == "ticket.created"
    assert message.properties["delivery_mode"] == 2
    assert envelope["type"] == "ticket.created"
    assert envelope["subject"] == f"ticket/{ticket['id']}"
    assert envelope["sequence"] == "00000000000000000001"  # a string, as the CloudEvents sequence extension says
    assert envelope["data"]["ticket_id"] == ticket["id"]
    assert "customer" not in envelope["data"]
    event_schemas.validate(envelope)


def test_invalid_ticket_names_the_fields_and_writes_nothing(ticketing):
    bad = dict(NEW_TICKET, channel="pigeon", surprise=1)
    del bad["subject"]
    with entrypoint_hook(ticketing, "create_ticket") as create:
        with pytest.raises(InvalidInput) as raised:
            create(bad)
    assert set(raised.value.details) == {"channel", "subject", "surprise"}
    with entrypoint_hook(ticketing, "list_tickets") as list_tickets:
        assert list_tickets({})["total"] == 0


def test_unknown_ticket_is_not_found(ticketing):
    with entrypoint_hook(ticketing, "get_ticket") as get:
        with pytest.raises(NotFound):
            get(999)


def test_list_pages_newest_first_with_a_total(ticketing):
    with entrypoint_hook(ticketing, "create_ticket") as create:
        ids = [create(dict(NEW_TICKET, subject=f"ticket {n}"))["id"] for n in range(5)]
    with entrypoint_hook(ticketing, "list_tickets") as list_tickets:
        page = list_tickets({"page": 2, "per_page": 2})
    assert page["total"] == 5
    assert [t["id"] for t in page["items"]] == [ids[2], ids[1]]


def test_the_service_starts_on_a_postgres_url_as_operators_write_it(container_factory, service_config,
                                                                    postgres_url, migrated, monkeypatch):
    """``TICKETING_DATABASE_URL=postgresql://...``, no driver named: the service starts and answers from that
    database (``postgres://`` takes the same path: plumbing/tests/unit/test_database_urls.py)."""
    from ticketing.service import TicketingService
    url = migrated("ticketing", postgres_url)
    monkeypatch.setenv("TICKETING_DATABASE_URL", url.replace("postgresql+psycopg2://", "postgresql://", 1))
    container = container_factory(TicketingService, service_config)  # no DATABASE_URL key: the environment's
    container.start()
    with entrypoint_hook(container, "create_ticket") as create:
        created = create(NEW_TICKET)
    with entrypoint_hook(container, "get_ticket") as get:
        assert get(created["id"])["subject"] == NEW_TICKET["subject"]
