"""No event is lost when a service dies between commit and publish, or when
the broker restarts (X2). The services run as real processes."""
import json
import subprocess

import pytest
from kombu import Connection
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import MetaData, select
from sqlalchemy.orm import sessionmaker

from plumbing import migrate
from plumbing.config import database_url
from plumbing.db import make_engine
from plumbing.outbox import EventRecorder, messaging_tables
from plumbing.testing import wait_for, wait_until_answering
from plumbing.topology import handler_queue
from ticketing.events import TICKET_CREATED

TICKET = {"subject": "Where is my order?", "channel": "chat", "kind": "inquiry",
          "customer": {"name": "Zhao Min", "contact": "zhao@example.com"}}


@pytest.fixture
def ticketing_db(process_env, monkeypatch):
    monkeypatch.setenv("CSOPS_VAR_DIR", process_env["CSOPS_VAR_DIR"])
    migrate.upgrade("ticketing")
    engine = make_engine(database_url("ticketing"))
    yield engine
    engine.dispose()


@pytest.fixture
def consumer_queue(rabbit_config):
    """An outside consumer's queue on ticket.created; returns every envelope it holds."""
    queue = handler_queue("ticketing", "ticket.created", "outside", "reader")
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        queue(connection.default_channel).declare()

    def drain(expected, timeout=20):
        received = []
        with Connection(rabbit_config["AMQP_URI"]) as connection, connection.SimpleQueue(queue) as simple:
            while len(received) < expected:
                message = simple.get(timeout=timeout)
                received.append(json.loads(message.body))
                message.ack()
            try:  # nothing more may follow: exactly once
                extra = simple.get(timeout=1)
                received.append(json.loads(extra.body))
            except simple.Empty:
                pass
        return received
    return drain


def pending_outbox(engine):
    outbox, _ = messaging_tables(MetaData())
    with engine.connect() as connection:
        return connection.execute(select(outbox.c.id).where(outbox.c.published_at.is_(None))).scalars().all()


def test_a_service_killed_between_commit_and_publish_publishes_after_restart(
        service_process, rabbit_config, ticketing_db, consumer_queue):
    # OUTBOX_POLL_SECONDS=60: only the relay woken by the request reaches the failpoint
    doomed = service_process("ticketing.service:TicketingService").start(
        CSOPS_FAILPOINTS="outbox.before_publish", OUTBOX_POLL_SECONDS="60")
    wait_until_answering("ticketing", rabbit_config)
    with ServiceRpcProxy("ticketing", rabbit_config) as ticketing:
        ticket = ticketing.create_ticket(TICKET)
    assert doomed.wait(timeout=20) == 137, doomed.log()
    [event_id] = pending_outbox(ticketing_db)

    service_process("ticketing.service:TicketingService").start()
    [envelope] = consumer_queue(1)
    assert envelope["id"] == event_id
    assert envelope["data"]["ticket_id"] == ticket["id"]
    wait_for(lambda: pending_outbox(ticketing_db) == [], message="the outbox row marked published")


@pytest.mark.broker_restart
def test_events_recorded_while_the_broker_is_down_are_published_when_it_returns(
        service_process, rabbit_config, ticketing_db, consumer_queue):
    running = service_process("ticketing.service:TicketingService").start()
    wait_until_answering("ticketing", rabbit_config)
    subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=120)
    try:
        # a transaction that committed just as the broker went away
        recorder = EventRecorder("ticketing", messaging_tables(MetaData())[0])
        with sessionmaker(ticketing_db)() as session, session.begin():
            during_outage = recorder.record(session, TICKET_CREATED, "ticket", "9001", {"id": 9001})
        wait_for(lambda: "outbox relay of ticketing paused" in running.log(), timeout=20,
                 message="the relay to notice the broker is down")
    finally:
        subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True, timeout=120)
    subprocess.run(["rabbitmqctl", "await_startup"], check=True, capture_output=True, timeout=120)

    wait_until_answering("ticketing", rabbit_config)
    with ServiceRpcProxy("ticketing", rabbit_config) as ticketing:
        after = ticketing.create_ticket(TICKET)
    envelopes = consumer_queue(2, timeout=60)
    assert sorted(e["data"]["ticket_id"] for e in envelopes) == sorted([9001, after["id"]])
    assert during_outage["id"] in {e["id"] for e in envelopes}
    assert pending_outbox(ticketing_db) == []
