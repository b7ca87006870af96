"""The outbox relay on a real SQLite database with a recording publisher."""
import json

import pytest
from sqlalchemy import MetaData, select
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.orm import sessionmaker

from marshmallow import Schema, fields

from plumbing.db import make_engine
from plumbing.events import EventType, sequence_number
from plumbing.outbox import EventRecorder, OutboxRelay, messaging_tables


THING_HAPPENED = EventType("thing.happened", Schema.from_dict({"n": fields.Integer()}), "a test event")


@pytest.fixture
def store(tmp_path):
    metadata = MetaData()
    outbox, _ = messaging_tables(metadata)
    engine = make_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
    metadata.create_all(engine)
    yield sessionmaker(engine), outbox
    engine.dispose()


def record(session_factory, outbox, count, aggregate_id="1"):
    recorder = EventRecorder("ticketing", outbox, request_id="req-9")
    with session_factory() as session, session.begin():
        return [recorder.record(session, THING_HAPPENED, "thing", aggregate_id, {"n": n}) for n in range(count)]


def test_sequence_counts_per_aggregate(store):
    session_factory, outbox = store
    first = record(session_factory, outbox, 2, aggregate_id="1")
    other = record(session_factory, outbox, 1, aggregate_id="2")
    assert [sequence_number(e) for e in first] == [1, 2]
    assert sequence_number(other[0]) == 1
    assert first[0]["requestid"] == "req-9"


def test_a_transactions_events_are_written_in_one_statement_at_commit(store):
    session_factory, outbox = store
    inserts = []
    engine = session_factory.kw["bind"]
    listen = (engine, "before_cursor_execute", lambda conn, cursor, statement, *rest: inserts.append(statement)
              if statement.startswith("INSERT INTO outbox") else None)
    sqlalchemy_event.listen(*listen)
    try:
        record(session_factory, outbox, 3)
    finally:
        sqlalchemy_event.remove(*listen)
    assert len(inserts) == 1
    with session_factory() as session:
        assert session.execute(select(outbox.c.sequence).order_by(outbox.c.sequence)).scalars().all() == [1, 2, 3]


def test_events_of_a_rolled_back_transaction_are_not_written_and_their_numbers_are_reused(store):
    session_factory, outbox = store
    recorder = EventRecorder("ticketing", outbox)
    with session_factory() as session:
        with pytest.raises(RuntimeError):
            with session.begin():
                recorder.record(session, THING_HAPPENED, "thing", "1", {"n": 1})
                raise RuntimeError("the change failed")
        with session.begin():
            again = recorder.record(session, THING_HAPPENED, "thing", "1", {"n": 2})
    assert sequence_number(again) == 1
    with session_factory() as session:
        assert session.execute(select(outbox.c.sequence)).scalars().all() == [1]


def test_relay_publishes_in_order_and_marks_rows_published(store):
    session_factory, outbox = store
    recorded = record(session_factory, outbox, 3)
    published = []
    batches = []

    def publish_batch(messages):
        batches.append(len(messages))
        published.extend((json.loads(body), key) for body, key in messages)
    relay = OutboxRelay(session_factory, outbox, publish_batch, batch_size=2)
    assert relay.relay_pending() == 3
    assert [(envelope["id"], key) for envelope, key in published] == [(e["id"], "thing.happened") for e in recorded]
    assert [envelope["data"] for envelope, _ in published] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert batches == [2, 1]
    assert relay.pending_count() == 0
    assert relay.relay_pending() == 0


def test_a_failed_publish_leaves_the_batch_pending_for_the_next_pass(store):
    session_factory, outbox = store
    record(session_factory, outbox, 2)

    def broker_down(messages):
        raise ConnectionRefusedError("broker down")

    with pytest.raises(ConnectionRefusedError):
        OutboxRelay(session_factory, outbox, broker_down).relay_pending()
    relay = OutboxRelay(session_factory, outbox, lambda messages: None)
    assert relay.pending_count() == 2
    assert relay.relay_pending() == 2
    with session_factory() as session:
        assert all(session.execute(select(outbox.c.published_at)).scalars())
