"""An outside consumer of CS Ops ticket events: plain kombu, no nameko.

    AMQP_URI=amqp://csops:secret@127.0.0.1:5672/ python docs/events/consumer_example.py

Declares its own durable queue bound to the ``ticketing.events`` topic exchange
with routing key ``ticket.#``, acks each message only after handling it, and
skips redeliveries by envelope ``id`` (delivery is at least once), and
notices an event older than one already handled of the same ``subject`` by its
``sequence`` (20 zero-padded digits: text order is number order; ``time`` does
not order events). A real consumer keeps the seen ids and last sequences in its
database, in the same transaction as its effect, and checks ``dataversion``
before reading ``data``. Ctrl-C stops it.
"""
import json
import os

from kombu import Connection, Consumer, Exchange, Queue

AMQP_URI = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
QUEUE_NAME = os.environ.get("QUEUE_NAME", "example-consumer.ticket-events")

exchange = Exchange("ticketing.events", type="topic", durable=True)
queue = Queue(QUEUE_NAME, exchange=exchange, routing_key="ticket.#", durable=True)
seen_ids = set()
last_sequence = {}  # subject -> the highest sequence handled


def on_message(message):
    try:  # structured-mode CloudEvents: the body is the whole JSON envelope
        event = json.loads(message.body)
        event_id, event_type = event["id"], event["type"]
    except (ValueError, KeyError, TypeError) as exc:
        print(f"rejected a message that is not a CloudEvents envelope: {exc!r}", flush=True)
        message.reject()  # not requeued: it would fail again
        return
    # an event recorded before sequence became a string carries an integer: padded, both compare as text
    subject, sequence = event.get("subject"), str(event.get("sequence", "")).zfill(20)
    if event_id in seen_ids:
        print(f"duplicate {event_id} skipped", flush=True)
    else:
        if sequence < last_sequence.get(subject, ""):
            print(f"{subject} {sequence} arrived after {last_sequence[subject]}: older than what was handled",
                  flush=True)
        last_sequence[subject] = max(sequence, last_sequence.get(subject, ""))
        print(f"{event_type} v{event.get('dataversion')} {subject} "
              f"seq={sequence} id={event_id} request={event.get('requestid')}\n"
              f"  data={json.dumps(event.get('data'), ensure_ascii=False)}", flush=True)
        seen_ids.add(event_id)
    message.ack()


def main():
    with Connection(AMQP_URI) as connection:
        connection.ensure_connection(max_retries=3)
        with Consumer(connection, queues=[queue], on_message=on_message, prefetch_count=10):
            print(f"consuming {QUEUE_NAME} <- ticketing.events (ticket.#); Ctrl-C stops", flush=True)
            while True:
                connection.drain_events()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
