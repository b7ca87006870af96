"""Transactional outbox and inbox.

A service records an event in the same transaction as the change it
describes; the relay publishes it after commit (persistent, with publisher
confirms) and only then marks it published. A crash between commit and
publish leaves the row pending and the relay publishes it on the next pass,
so delivery is at least once. Consumers make that exactly-once in effect with
the inbox: the event id is recorded in the same transaction as the effect.
"""
import json
import logging
import time
from datetime import datetime, timezone

from eventlet.green import threading
from kombu import Connection, Exchange, Producer
from nameko.amqp.publish import get_connection
from nameko.constants import PERSISTENT
from nameko.extensions import DependencyProvider
from sqlalchemy import (
    Column, Index, Integer, String, Table, Text, UniqueConstraint, func, insert, select,
    update,
)
from sqlalchemy import event as sqlalchemy_event

from plumbing import failpoints, metrics
from plumbing.db import UTCDateTime, database_of
from plumbing.events import CONTENT_TYPE, exchange_name, make_envelope
from plumbing.schemas import shared

log = logging.getLogger(__name__)

def messaging_tables(metadata):
    """The outbox and inbox tables, added to a service's own metadata."""
    outbox = Table(
        "outbox", metadata,
        Column("id", String(36), primary_key=True),
        Column("aggregate_type", String(64), nullable=False),
        Column("aggregate_id", String(64), nullable=False),
        Column("sequence", Integer, nullable=False),
        Column("event_type", String(128), nullable=False),
        Column("envelope", Text, nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("published_at", UTCDateTime()),
        UniqueConstraint("aggregate_type", "aggregate_id", "sequence", name="uq_outbox_aggregate_sequence"),
        Index("ix_outbox_pending", "published_at", "created_at"),
    )
    inbox = Table(
        "inbox", metadata,
        Column("event_id", String(255), primary_key=True),
        Column("consumer", String(255), primary_key=True),
        Column("processed_at", UTCDateTime(), nullable=False),
    )
    return outbox, inbox


class EventRecorder:
    """Writes events into the outbox inside the caller's transaction: the rows
    of a transaction go in one INSERT just before it commits (a rollback
    forgets them), so a change with many events costs one statement."""

    def __init__(self, service, outbox, request_id=None):
        self.service = service
        self.outbox = outbox
        self.request_id = request_id
        self.recorded = 0
        self.sequences = {}  # aggregate -> last sequence this worker wrote: one query per aggregate
        self.pending = []    # rows of the open transaction
        self.session = None  # the session whose commits write them

    def new_aggregate(self, aggregate_type, aggregate_id):
        """The aggregate was created in this transaction: it has no events yet, no need to ask."""
        self.sequences[(aggregate_type, str(aggregate_id))] = 0

    def record(self, session, event_type, aggregate_type, aggregate_id, subject_object, time=None):
        """Write ``event_type`` (an EventType) about one aggregate; ``data`` is
        ``subject_object`` dumped through the type's data schema; ``time``
        is when it happened (now unless replaying history)."""
        if aggregate_type != event_type.subject_type:  # the documented subject pattern would not match
            raise ValueError(f"{event_type.name} is about {event_type.subject_type!r}, not {aggregate_type!r}")
        data = shared(event_type.data_schema).dump(subject_object)
        aggregate_id = str(aggregate_id)
        table = self.outbox
        key = (aggregate_type, aggregate_id)
        if key not in self.sequences:
            self.sequences[key] = session.execute(
                select(func.coalesce(func.max(table.c.sequence), 0)).where(
                    table.c.aggregate_type == aggregate_type, table.c.aggregate_id == aggregate_id)
            ).scalar_one()
        sequence = self.sequences[key] = self.sequences[key] + 1
        envelope = make_envelope(
            service=self.service, event_type=event_type.name, subject=f"{aggregate_type}/{aggregate_id}",
            data=data, sequence=sequence, request_id=self.request_id, data_version=event_type.version, time=time,
        )
        self.pending.append(dict(
            id=envelope["id"], aggregate_type=aggregate_type, aggregate_id=aggregate_id,
            sequence=sequence, event_type=event_type.name, envelope=json.dumps(envelope),
            created_at=datetime.now(timezone.utc),
        ))
        if self.session is not session:
            sqlalchemy_event.listen(session, "before_commit", self.write_pending)
            sqlalchemy_event.listen(session, "after_rollback", self.forget_pending)
            self.session = session
        self.recorded += 1
        return envelope

    def write_pending(self, session):
        if self.pending:
            rows, self.pending = self.pending, []
            session.execute(insert(self.outbox), rows)

    def forget_pending(self, session):
        self.pending.clear()
        self.sequences.clear()  # the numbers handed out were rolled back too


class OutboxRelay:
    """Publishes pending outbox rows in order and marks them published.

    Rows are claimed with ``FOR UPDATE SKIP LOCKED`` so replicas of a service
    share the work without publishing a row twice.
    """

    def __init__(self, session_factory, outbox, publish_batch, batch_size=100):
        self.session_factory = session_factory
        self.outbox = outbox
        self.publish_batch = publish_batch  # [(body, routing key)], returns once the broker confirmed all
        self.batch_size = batch_size

    def relay_batch(self) -> int:
        table = self.outbox
        with self.session_factory() as session, session.begin():
            rows = session.execute(
                select(table.c.id, table.c.event_type, table.c.envelope)
                .where(table.c.published_at.is_(None))
                .order_by(table.c.created_at, table.c.sequence)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            if rows:
                failpoints.hit("outbox.before_publish")
                self.publish_batch([(row.envelope, row.event_type) for row in rows])
                for row in rows:
                    metrics.EVENTS_PUBLISHED.labels(event=row.event_type).inc()
                session.execute(
                    update(table).where(table.c.id.in_([row.id for row in rows]))
                    .values(published_at=datetime.now(timezone.utc))
                )
        return len(rows)

    def relay_pending(self) -> int:
        total = 0
        while True:
            relayed = self.relay_batch()
            total += relayed
            if relayed < self.batch_size:
                return total

    def pending_count(self) -> int:
        table = self.outbox
        with self.session_factory() as session:
            return session.execute(
                select(func.count()).select_from(table).where(table.c.published_at.is_(None))
            ).scalar_one()


class ConfirmedPublisher:
    """Publishes a batch of persistent messages, then waits once for the
    broker's confirms of all of them (one wait per message costs 3-4 times as
    much). A nack, a timeout or a lost connection raises, and the caller
    leaves the batch pending for the next pass."""

    CONFIRM_TIMEOUT_SECONDS = 10

    def __init__(self, amqp_uri, exchange):
        self.amqp_uri = amqp_uri
        self.exchange = exchange
        self.connection = None

    def open(self):
        self.connection = Connection(self.amqp_uri)
        self.channel = self.connection.channel()
        self.exchange(self.channel).declare()
        self.published, self.confirmed, self.refused = 0, 0, []
        self.channel.events["basic_ack"].add(self.on_ack)
        self.channel.events["basic_nack"].add(self.on_nack)
        self.channel.confirm_select()
        self.producer = Producer(self.channel)

    def on_ack(self, delivery_tag, multiple):
        self.confirmed = max(self.confirmed, delivery_tag)

    def on_nack(self, delivery_tag, multiple):
        self.refused.append(delivery_tag)

    def publish_batch(self, messages):
        if self.connection is None:
            self.open()
        try:
            first = self.published + 1
            for body, routing_key in messages:
                self.producer.publish(body, exchange=self.exchange, routing_key=routing_key,
                                      content_type=CONTENT_TYPE, content_encoding="utf-8", delivery_mode=PERSISTENT)
                self.published += 1
            deadline = time.monotonic() + self.CONFIRM_TIMEOUT_SECONDS
            while self.confirmed < self.published and not self.refused:
                self.connection.drain_events(timeout=max(deadline - time.monotonic(), 0.001))
            if any(tag >= first for tag in self.refused):
                raise RuntimeError("the broker refused some of the batch (nack)")
        except Exception:
            self.close()
            raise

    def close(self):
        if self.connection is not None:
            self.connection.release()
            self.connection = None


class Outbox(DependencyProvider):
    """``self.events.record(session, type, aggregate_type, aggregate_id, data)``.

    Relays right after a worker that recorded events ends (its transaction
    has committed by then) and polls every ``OUTBOX_POLL_SECONDS`` for rows a
    crash or a broker outage left behind.
    """

    def __init__(self, outbox_table, database=None):
        self.outbox_table = outbox_table
        self.database = database  # the service's Database, when not a dependency of its own (a UnitOfWork's)

    def setup(self):
        config = self.container.config
        self.service = self.container.service_name
        self.amqp_uri = config["AMQP_URI"]
        self.poll_seconds = float(config.get("OUTBOX_POLL_SECONDS", 1.0))
        self.exchange = Exchange(exchange_name(self.service), type="topic", durable=True)
        self.recorders = {}
        self.wake = threading.Event()

    def start(self):
        database = self.database or database_of(self.container)
        self.publisher = ConfirmedPublisher(self.amqp_uri, self.exchange)
        self.relay = OutboxRelay(database.session_factory, self.outbox_table, self.publisher.publish_batch)
        with get_connection(self.amqp_uri) as connection:
            self.exchange(connection.default_channel).declare()
        self.relay_thread = self.container.spawn_managed_thread(self.relay_forever, identifier="outbox-relay")

    def stop(self):
        # rows left pending are relayed by the next start or by another replica
        self.relay_thread.kill()
        self.publisher.close()

    def relay_forever(self):
        woken = False
        while True:
            self.wake.clear()
            try:
                self.relay.relay_pending()
                if not woken:  # the backlog gauge on the poll's rhythm, not once per request
                    metrics.OUTBOX_PENDING.set(self.relay.pending_count())
            except Exception as exc:  # broker or database away: rows stay pending, next pass retries
                log.warning("outbox relay of %s paused: %s", self.service, exc)
            woken = self.wake.wait(self.poll_seconds)

    def get_dependency(self, worker_ctx):
        recorder = EventRecorder(self.service, self.outbox_table, worker_ctx.data.get("request_id"))
        self.recorders[worker_ctx] = recorder
        return recorder

    def worker_teardown(self, worker_ctx):
        recorder = self.recorders.pop(worker_ctx, None)
        if recorder is not None and recorder.recorded:
            self.wake.set()


class Inbox(DependencyProvider):
    """``self.inbox.first_time(session, event)``: True the first time this
    handler sees the event id, recording it in the caller's transaction."""

    def __init__(self, inbox_table, **kwargs):
        self.inbox_table = inbox_table
        super().__init__(**kwargs)

    def get_dependency(self, worker_ctx):
        consumer = f"{worker_ctx.service_name}.{worker_ctx.entrypoint.method_name}"
        return InboxGuard(self.inbox_table, consumer)


class InboxGuard:
    def __init__(self, inbox_table, consumer):
        self.inbox_table = inbox_table
        self.consumer = consumer

    def first_time(self, session, event) -> bool:
        table = self.inbox_table
        seen = session.execute(
            select(table.c.event_id).where(table.c.event_id == event["id"], table.c.consumer == self.consumer)
        ).first()
        if seen:
            return False
        session.execute(insert(table).values(
            event_id=event["id"], consumer=self.consumer, processed_at=datetime.now(timezone.utc)))
        return True
