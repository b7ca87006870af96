"""Names and declarations of the queues around each event handler.

For a handler queue ``Q`` (nameko's ``evt-<source>-<type>--<service>.<method>``):
``Q.delay.<ms>ms`` holds a failed message for ``ms`` milliseconds, then
dead-letters it back to ``Q``; ``Q.dlq`` keeps what failed for good until an
operator replays it (``python -m plumbing.deadletter``). The consuming service
moves messages between them through an exchange of its own,
``<service>.retry``, to which each is bound under its own name: never through
the default exchange, a write permission on which would let a service put a
message into any queue of the vhost (deploy/rabbitmq/definitions.json grants
each service only its own exchanges and queues).

Run ``python -m plumbing.topology`` before the services start so that every
handler queue exists and binds before the first event is published (RabbitMQ
drops a message that no queue is bound to). Without arguments it declares
those of every process in ``plumbing.services``.
"""
import argparse
import importlib
import sys

from kombu import Connection, Exchange, Queue, binding

from plumbing.config import amqp_uri
from plumbing.events import exchange_name
from plumbing.services import PROCESSES

ATTEMPTS_HEADER = "x-csops-attempts"
REASON_HEADER = "x-csops-dead-letter-reason"


class HandlerQueues:
    def __init__(self, queue: Queue, retry_delays, service: str):
        self.exchange = retry_exchange(service)
        # ``queue`` as nameko makes it, bound to its source's exchange, and bound here too, where the delay
        # queues send a message back (kombu drops a queue's exchange once it has bindings: both are bindings)
        self.queue = Queue(queue.name, bindings=[binding(queue.exchange, routing_key=queue.routing_key),
                                                 binding(self.exchange, routing_key=queue.name)],
                           durable=queue.durable, auto_delete=queue.auto_delete, exclusive=queue.exclusive)
        self.retry_queues = [retry_queue(queue.name, delay, self.exchange) for delay in retry_delays]
        self.dead_letter = Queue(f"{queue.name}.dlq", exchange=self.exchange, routing_key=f"{queue.name}.dlq",
                                 durable=True)

    def all(self):
        return [self.queue, *self.retry_queues, self.dead_letter]


def retry_exchange(service: str) -> Exchange:
    return Exchange(f"{service}.retry", type="direct", durable=True)


def retry_queue(queue_name: str, delay_seconds: float, exchange: Exchange) -> Queue:
    delay_ms = int(delay_seconds * 1000)
    # not the ``Q.retry.<ms>ms`` of earlier releases, which dead-letter through the default exchange:
    # RabbitMQ refuses to declare a queue again with other arguments
    name = f"{queue_name}.delay.{delay_ms}ms"
    return Queue(
        name, exchange=exchange, routing_key=name, durable=True,
        queue_arguments={
            "x-message-ttl": delay_ms,
            "x-dead-letter-exchange": exchange.name,
            "x-dead-letter-routing-key": queue_name,
        })


def handler_queue(source: str, event_type: str, service: str, method: str) -> Queue:
    """The queue nameko's SERVICE_POOL handler consumes from."""
    exchange = Exchange(exchange_name(source), type="topic", durable=True)
    return Queue(f"evt-{source}-{event_type}--{service}.{method}", exchange=exchange,
                 routing_key=event_type, durable=True)


def subscriptions(service_cls):
    """(source, event type, method) of every event handler on a service class."""
    for name in dir(service_cls):
        for entrypoint in getattr(getattr(service_cls, name), "nameko_entrypoints", ()):
            if hasattr(entrypoint, "event_type"):
                yield entrypoint.source_service, entrypoint.event_type, name


def declare(service_classes, uri=None):
    """Declare each service's exchange and every handler's queues; returns queue names."""
    declared = []
    with Connection(uri or amqp_uri()) as connection:
        channel = connection.default_channel
        for service_cls in service_classes:
            Exchange(exchange_name(service_cls.name), type="topic", durable=True)(channel).declare()
            for source, event_type, method in subscriptions(service_cls):
                queue = handler_queue(source, event_type, service_cls.name, method)
                for each in HandlerQueues(queue, (), service_cls.name).all():
                    each(channel).declare()
                declared.append(queue.name)
    return declared


def load(path: str):
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


def main(argv=None):
    from plumbing.serve import broker_problem

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("services", nargs="*", default=[process.service_class for process in PROCESSES],
                        help="service classes, e.g. appraisal.service:AppraisalService (default: every process)")
    args = parser.parse_args(argv)
    problem = broker_problem(amqp_uri())
    if problem:
        sys.exit(problem)
    for name in declare([load(path) for path in args.services]):
        print(f"declared {name}")


if __name__ == "__main__":
    main()
