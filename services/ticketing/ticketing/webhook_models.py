"""Webhook subscriptions and their delivery log (X2), on ticketing's own Base.

A delivery is one event for one subscription: created once (unique
subscription and event id, so an event RabbitMQ redelivers adds nothing),
attempted until it is ``delivered`` or, after ``webhooks.MAX_ATTEMPTS``,
``failed``. Its id is the ``X-CSOPS-Delivery`` header, the same on every
attempt; ``body`` holds the exact bytes that are signed and sent.
"""
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plumbing.db import UTCDateTime
from ticketing.models import Base

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
DELIVERY_STATUSES = (PENDING, DELIVERED, FAILED)


class WebhookSubscription(Base):
    """An outside system's URL and the event types it wants, signed with ``secret``."""
    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))   # needed in clear to sign; never shown after creation
    event_types: Mapped[list] = mapped_column(JSON)    # exact types or patterns (webhooks.matches)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebhookDelivery(Base):
    """One event for one subscription, and how its attempts went."""
    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)   # uuid4, the delivery id
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)                 # the CloudEvents envelope exactly as sent
    status: Mapped[str] = mapped_column(String(16))         # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # when the next attempt is due; while one is in flight, when its lease ends;
    # null once delivered or failed
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        # also the index of a subscription's delivery log
        UniqueConstraint("subscription_id", "event_id", name="uq_webhook_deliveries_subscription_event"),
    )
