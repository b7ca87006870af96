"""A service outlives a broker that goes away while a worker is finishing
(found by tests/faults: a RabbitMQ restart made services exit), and answers
"unavailable" when its database does not."""
from unittest.mock import patch

import pytest
from kombu.exceptions import OperationalError
from nameko.rpc import Responder
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import create_engine, text

from plumbing.consumer import ReliableEventHandler, event_handler
from plumbing.errors import Unavailable
from plumbing.rpc import rpc
from plumbing.testing import publish_event, wait_for

AWAY = OperationalError("[Errno 111] ECONNREFUSED")


class Answering:
    name = "answering"
    calls = []

    @rpc
    def echo(self, value):
        self.calls.append(value)
        return value


def test_a_reply_the_broker_cannot_take_is_dropped_and_the_service_answers_the_next_call(
        container_factory, rabbit_config):
    Answering.calls = []
    container = container_factory(Answering, rabbit_config)
    container.start()
    with ServiceRpcProxy("answering", rabbit_config, timeout=10) as answering:
        with patch.object(Responder, "publisher_cls") as publisher:
            publisher.return_value.publish.side_effect = AWAY
            answering.echo.call_async("lost")
            wait_for(lambda: publisher.return_value.publish.called, message="the reply to be tried")
        assert answering.echo("answered") == "answered"
    assert not container._died.ready()
    assert Answering.calls == ["lost", "answered"]  # the request whose reply was lost was acked, not run again


class FailingOnce:
    name = "failing_once"
    tries = []

    @event_handler("source", "thing.happened")
    def on_thing(self, event):
        self.tries.append(event["id"])
        if len(self.tries) == 1:
            raise RuntimeError("first try fails")


def test_a_failed_event_that_cannot_be_sent_to_retry_goes_back_to_its_queue(container_factory, service_config):
    FailingOnce.tries = []
    container = container_factory(FailingOnce, service_config)
    container.start()
    with patch.object(ReliableEventHandler, "republish", side_effect=AWAY):
        event = publish_event(service_config["AMQP_URI"], "source", "thing.happened", {})
        wait_for(lambda: len(FailingOnce.tries) == 2, message="the event delivered again")
    assert FailingOnce.tries == [event["id"]] * 2
    assert not container._died.ready()


class Stored:
    name = "stored"

    @rpc
    def count(self):
        # a database that refuses the connection, as PostgreSQL does while it is down
        engine = create_engine("postgresql+psycopg2://postgres@127.0.0.1:1/nothing")
        with engine.connect() as connection:
            return connection.scalar(text("SELECT 1"))


def test_a_request_whose_database_does_not_answer_is_refused_as_unavailable(container_factory, rabbit_config):
    container_factory(Stored, rabbit_config).start()
    with ServiceRpcProxy("stored", rabbit_config, timeout=10) as stored:
        with pytest.raises(Unavailable, match="stored's database does not answer"):
            stored.count()
