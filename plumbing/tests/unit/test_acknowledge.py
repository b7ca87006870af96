"""A handled event whose ack meets a broker that went away (the faults run restarts RabbitMQ) is logged,
not raised: raised in the result handler, it killed the container and the process exited."""
import logging
from types import SimpleNamespace

from plumbing.consumer import BatchEventHandler


class ResetConsumer:
    def __init__(self):
        self.acked = []

    def ack_message(self, message):
        if message == "after the reset":
            raise ConnectionResetError(104, "Connection reset by peer")
        self.acked.append(message)


def test_a_batch_acknowledged_while_the_broker_is_away_is_logged_not_raised(caplog):
    handler = SimpleNamespace(queue_consumer=ResetConsumer(), queue=SimpleNamespace(name="appraisal--ticketing"))
    handler.acknowledge = lambda messages: BatchEventHandler.acknowledge(handler, messages)
    batch = [({}, "before"), ({}, "after the reset"), ({}, "never sent")]
    with caplog.at_level(logging.WARNING):
        assert BatchEventHandler.batch_processed(handler, batch, worker_ctx=None, result="done") == ("done", None)
    assert handler.queue_consumer.acked == ["before"]
    assert "handled but not acknowledged, the broker is away" in caplog.text
