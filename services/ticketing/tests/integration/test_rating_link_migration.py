"""Rating links that ticket.resolved v1 carried leave the outbox and the webhook bodies once
migrated, on SQLite and PostgreSQL; other events and fields stay as they were."""
import json
from datetime import datetime, timezone

from alembic import command
from sqlalchemy import insert, select

from plumbing.db import make_engine
from plumbing.migrate import alembic_config, upgrade
from ticketing import models

BEFORE = "9dd1e7f5128c"
T0 = datetime(2026, 11, 2, 9, tzinfo=timezone.utc)


def envelope(event_type, data):
    return json.dumps({"id": f"{event_type}-1", "type": event_type, "data": data})


def test_stored_rating_links_leave_the_outbox_and_the_webhook_bodies(database_url):
    resolved = envelope("ticket.resolved", {"ticket_id": 7, "rating_token": "live-token", "state": "resolved"})
    replied = envelope("ticket.replied", {"ticket_id": 7, "body": "rating_token stays in what an agent wrote"})
    engine = make_engine(database_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config("ticketing", connection), BEFORE)
        connection.execute(insert(models.outbox), [
            dict(id=f"e{n}", aggregate_type="ticket", aggregate_id="7", sequence=n, event_type=kind, envelope=body,
                 created_at=T0) for n, (kind, body) in enumerate(
                (("ticket.resolved", resolved), ("ticket.replied", replied)), start=1)])
        connection.execute(insert(models.WebhookSubscription.__table__).values(
            id=1, url="https://crm.example.com/hook", secret="s", event_types=["ticket.*"], active=True,
            description="", legacy_signature=False, created_at=T0))
        connection.execute(insert(models.WebhookDelivery.__table__).values(
            id="d1", subscription_id=1, event_id="e1", event_type="ticket.resolved", body=resolved,
            status="pending", attempts=0, created_at=T0, next_attempt_at=T0))
    upgrade("ticketing", database_url)
    with engine.connect() as connection:
        stored = dict(connection.execute(select(models.outbox.c.event_type, models.outbox.c.envelope)).all())
        [body] = connection.execute(select(models.WebhookDelivery.body)).scalars()
    engine.dispose()
    expected = {"ticket_id": 7, "state": "resolved"}
    assert json.loads(stored["ticket.resolved"])["data"] == expected
    assert json.loads(body)["data"] == expected and json.loads(body)["id"] == "ticket.resolved-1"
    assert json.loads(stored["ticket.replied"]) == json.loads(replied)
