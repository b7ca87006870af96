"""Event handlers that retry with back-off and dead-letter what keeps failing.

Stock nameko acks a message whose handler raised, and the event is lost.
Here a failed delivery is republished (with publisher confirms) to a delay
queue whose TTL dead-letters it back to the handler's own queue; after the
last retry, or at once for a message that can never succeed (not JSON, not
a CloudEvents envelope, an unsupported ``dataversion``), it goes to the
handler's dead-letter queue ``<queue>.dlq`` with the reason in its headers.
Only then is the original acked, so a crash in between duplicates a message
(handled by the inbox) but never loses one. A message over ``EVENT_MAX_BYTES``
(1 MiB) is dead-lettered unread: no event of ours comes near it, and a
consumer must not store or work through whatever a hostile publisher sends.
"""
import logging
from functools import partial

import eventlet
from nameko.amqp.publish import get_producer
from nameko.constants import PERSISTENT
from nameko.events import EventHandler
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import QueueConsumer

from plumbing import metrics
from plumbing.context import REQUEST_ID_KEY
from plumbing.errors import UnprocessableEvent
from plumbing.events import CONTENT_TYPE, SERIALIZER, envelope_problems
from plumbing.rpc import BROKER_AWAY
from plumbing.topology import ATTEMPTS_HEADER, REASON_HEADER, HandlerQueues

log = logging.getLogger(__name__)

DEFAULT_RETRY_DELAYS = (1, 5, 30)
DEFAULT_MAX_BYTES = 1024 * 1024
DEFAULT_BATCH_SIZE = 500
DEFAULT_BATCH_LINGER_SECONDS = 0.05
ACCEPTED_CONTENT = [SERIALIZER, "json"]


class DeadLetteringQueueConsumer(QueueConsumer):
    """A queue consumer that dead-letters messages kombu cannot decode
    instead of letting the decode error kill the consumer thread."""

    @property
    def accept(self):
        return ACCEPTED_CONTENT

    def get_consumers(self, consumer_cls, channel):
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = partial(self.on_undecodable, provider)
        return consumers

    def on_undecodable(self, provider, message, exc):
        provider.dead_letter(message, "undecodable", f"undecodable message: {exc}")
        self.ack_message(message)


class ReliableEventHandler(EventHandler):
    queue_consumer = DeadLetteringQueueConsumer()

    def __init__(self, source_service, event_type, versions=(1,), **kwargs):
        self.versions = tuple(versions)
        super().__init__(source_service, event_type, requeue_on_error=False, **kwargs)

    def setup(self):
        super().setup()
        delays = self.container.config.get("EVENT_RETRY_DELAYS", DEFAULT_RETRY_DELAYS)
        self.queues = HandlerQueues(self.queue, delays, self.container.service_name)
        self.queue = self.queues.queue
        self.amqp_uri = self.container.config["AMQP_URI"]
        self.max_bytes = int(self.container.config.get("EVENT_MAX_BYTES", DEFAULT_MAX_BYTES))

    def refused(self, body, message) -> bool:
        """Dead-letter (and ack) a message that can never be handled; True if it was."""
        size = len(message.body)
        if size > self.max_bytes:
            self.dead_letter(message, "too_large", f"{size} bytes, over the {self.max_bytes}-byte limit of an event")
        elif problems := envelope_problems(body, self.event_type, self.versions):
            self.dead_letter(message, "invalid_envelope", "; ".join(problems))
        else:
            return False
        self.queue_consumer.ack_message(message)
        return True

    def handle_message(self, body, message):
        if self.refused(body, message):
            return
        context_data = {REQUEST_ID_KEY: body.get("requestid")}
        try:
            self.container.spawn_worker(
                self, (body,), {}, context_data=context_data,
                handle_result=partial(self.handle_result, message))
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is not None:
            try:
                self.retry_or_dead_letter(message, exc_info[1])
            except BROKER_AWAY as exc:  # raised here, it would kill the container: the process would exit
                log.warning("%s: a failed message can be neither retried nor dead-lettered while the broker "
                            "is away (%s); it goes back to the queue", self.queue.name, exc)
                self.queue_consumer.requeue_message(message)
                return
        self.acknowledge([message])

    def acknowledge(self, messages):
        """Ack each; if the broker went away meanwhile (raised here, it would kill the container: the
        process would exit), it redelivers them once the consumer is back, and the inbox skips them."""
        try:
            for message in messages:
                self.queue_consumer.ack_message(message)
        except BROKER_AWAY as exc:
            log.warning("%s: handled but not acknowledged, the broker is away (%s); redelivered, they are "
                        "skipped as seen", self.queue.name, exc)

    def retry_or_dead_letter(self, message, exc):
        attempts = int((message.headers or {}).get(ATTEMPTS_HEADER, 0)) + 1
        reason = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, UnprocessableEvent):
            self.dead_letter(message, "unprocessable", reason)
            return
        if attempts > len(self.queues.retry_queues):
            self.dead_letter(message, "retries_exhausted", f"failed {attempts} times, last: {reason}", attempts)
            return
        log.warning("%s failed (try %s), retrying: %s", self.queue.name, attempts, reason)
        self.republish(message, self.queues.retry_queues[attempts - 1], {ATTEMPTS_HEADER: attempts})
        metrics.EVENTS_RETRIED.labels(queue=self.queue.name).inc()

    def dead_letter(self, message, category, reason, attempts=0):
        """``category`` is a bounded metric label; ``reason`` the full story, in a header."""
        log.error("dead-lettering a message from %s: %s", self.queue.name, reason)
        self.republish(message, self.queues.dead_letter, {REASON_HEADER: reason[:1000], ATTEMPTS_HEADER: attempts})
        metrics.EVENTS_DEAD_LETTERED.labels(queue=self.queue.name, reason=category).inc()

    def republish(self, message, queue, extra_headers):
        """Publish the raw body unchanged to ``queue`` through the service's retry exchange."""
        headers = dict(message.headers or {})
        headers.update(extra_headers)
        headers.setdefault("x-original-exchange", message.delivery_info.get("exchange", ""))
        headers.setdefault("x-original-routing-key", message.delivery_info.get("routing_key", ""))
        with get_producer(self.amqp_uri, confirms=True) as producer:
            producer.publish(
                message.body, exchange=self.queues.exchange, routing_key=queue.name, headers=headers,
                content_type=message.content_type or CONTENT_TYPE,
                content_encoding=message.content_encoding or "utf-8",
                delivery_mode=PERSISTENT, declare=[queue], retry=True)


class BatchQueueConsumer(DeadLetteringQueueConsumer):
    """A consumer of its own (a channel of its own) that lets the broker send
    each batch handler's queue two batches ahead, not ``max_workers`` messages."""

    @property
    def prefetch_count(self):
        return 2 * int(self.container.config.get("EVENT_BATCH_SIZE", DEFAULT_BATCH_SIZE))


class BatchEventHandler(ReliableEventHandler):
    """Like ``event_handler``, but the method gets a list of envelopes: what
    arrived within ``EVENT_BATCH_LINGER_SECONDS``, at most ``EVENT_BATCH_SIZE``,
    so one transaction serves many events. A batch that fails is run again one
    event at a time, so only the events that fail alone are retried and
    dead-lettered, as ``event_handler`` does with each."""
    queue_consumer = BatchQueueConsumer()

    def setup(self):
        super().setup()
        config = self.container.config
        self.batch_size = int(config.get("EVENT_BATCH_SIZE", DEFAULT_BATCH_SIZE))
        self.linger = float(config.get("EVENT_BATCH_LINGER_SECONDS", DEFAULT_BATCH_LINGER_SECONDS))
        self.pending = []  # (envelope, message) not yet handed to a worker
        self.flush_scheduled = False

    def handle_message(self, body, message):
        if self.refused(body, message):
            return
        self.pending.append((body, message))
        if len(self.pending) >= self.batch_size:
            self.flush()
        elif not self.flush_scheduled:
            self.flush_scheduled = True
            self.container.spawn_managed_thread(self.flush_after_linger)

    def flush_after_linger(self):
        eventlet.sleep(self.linger)
        self.flush_scheduled = False
        self.flush()

    def flush(self):
        batch, self.pending = self.pending, []
        if batch:
            self.run(batch)

    def run(self, batch):
        try:
            self.container.spawn_worker(self, ([body for body, _ in batch],), {},
                                        handle_result=partial(self.batch_processed, batch))
        except ContainerBeingKilled:
            for _, message in batch:
                self.queue_consumer.requeue_message(message)

    def batch_processed(self, batch, worker_ctx, result=None, exc_info=None):
        if exc_info is None:
            self.acknowledge([message for _, message in batch])
        elif len(batch) == 1:
            self.handle_message_processed(batch[0][1], result, exc_info)
        else:
            log.warning("a batch of %s from %s failed (%s); handling its events one by one",
                        len(batch), self.queue.name, exc_info[1])
            for each in batch:
                self.run([each])
        return result, exc_info


event_handler = ReliableEventHandler.decorator
batch_event_handler = BatchEventHandler.decorator
