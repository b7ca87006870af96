"""Load shapes and raw baselines the benchmarks measure against."""
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from kombu import Connection, Exchange, Queue

from kit.report import latency_summary
from plumbing.events import CONTENT_TYPE, make_envelope, sequence_number

ROUND_TRIP_QUEUE = "bench.round-trip"


def paced(count, rate, act, workers):
    """``act(i)`` for i < ``count``, each started i / ``rate`` seconds from now on one of ``workers`` threads: an
    open loop, so a slow call does not delay the next (while a worker is free)."""
    with ThreadPoolExecutor(workers) as pool:
        start = time.monotonic()
        futures = []
        for i in range(count):
            time.sleep(max(0.0, start + i / rate - time.monotonic()))
            futures.append(pool.submit(act, i))
        return [future.result() for future in futures]


def raw_round_trip(amqp_uri, count, rate, payload, timeout=30.0):
    """The raw broker's part of an event's trip, on the same broker: ``count`` persistent messages the size of
    an event (envelopes of ``payload``), at ``rate``/s, each published by kombu with a publisher confirm to a
    durable queue and consumed (and acked) by a bare kombu consumer. Latencies from before the publish to the
    confirm and to the consumer."""
    exchange = Exchange(ROUND_TRIP_QUEUE, type="direct", durable=True)
    queue = Queue(ROUND_TRIP_QUEUE, exchange=exchange, routing_key=ROUND_TRIP_QUEUE, durable=True)
    sent, confirmed, received = {}, {}, {}
    ready, done = threading.Event(), threading.Event()

    def on_message(message):
        received[sequence_number(json.loads(message.body))] = time.monotonic()
        message.ack()

    with Connection(amqp_uri) as consuming, \
            Connection(amqp_uri, transport_options={"confirm_publish": True}) as publishing:
        queue(consuming.default_channel).declare()

        def consume():
            with consuming.Consumer([queue], on_message=on_message, prefetch_count=10):
                ready.set()
                while not done.is_set():
                    try:
                        consuming.drain_events(timeout=0.1)
                    except socket.timeout:
                        pass

        consumer = threading.Thread(target=consume, daemon=True)
        consumer.start()
        ready.wait(10)
        producer = publishing.Producer()

        def publish(i):
            body = json.dumps(make_envelope(service="bench", event_type="bench.round_trip", subject=f"ticket/{i}",
                                            data=dict(payload, ticket_id=i), sequence=i))
            sent[i] = time.monotonic()
            producer.publish(body, exchange=exchange, routing_key=ROUND_TRIP_QUEUE, delivery_mode=2,
                             content_type=CONTENT_TYPE, content_encoding="utf-8")
            confirmed[i] = time.monotonic()

        paced(count, rate, publish, workers=1)  # one channel: publishes in turn
        deadline = time.monotonic() + timeout
        while len(received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        done.set()
        consumer.join(5)
    return {"messages": count, "rate": rate, "lost": count - len(received),
            "confirm": latency_summary([confirmed[i] - sent[i] for i in confirmed]),
            "consumed": latency_summary([received[i] - sent[i] for i in received])}


def spread(connections, processes):
    """Split ``connections`` threads over ``processes`` worker processes."""
    processes = max(1, min(processes, connections))
    return [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
