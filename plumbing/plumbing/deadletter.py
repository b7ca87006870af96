"""List and replay dead-lettered events.

    python -m plumbing.deadletter queues
    python -m plumbing.deadletter list QUEUE.dlq
    python -m plumbing.deadletter replay QUEUE.dlq [--limit N]

Replay moves each message back to the handler queue it came from, with its
try count reset, publishing with confirms before removing it from the DLQ.
"""
import argparse
import base64
import json
import sys
import urllib.parse
import urllib.request

from kombu import Connection, Queue
from nameko.constants import PERSISTENT

from plumbing.config import amqp_uri
from plumbing.topology import ATTEMPTS_HEADER, REASON_HEADER

DLQ_SUFFIX = ".dlq"


def peek(dead_letter_queue: str, limit: int = 100, uri=None):
    """Return up to ``limit`` dead letters without removing them."""
    letters = []
    with Connection(uri or amqp_uri()) as connection:
        queue = Queue(dead_letter_queue, durable=True)(connection.default_channel)
        queue.declare()
        messages = []
        while len(messages) < limit:
            message = queue.get(no_ack=False)
            if message is None:
                break
            messages.append(message)
            letters.append({
                "reason": message.headers.get(REASON_HEADER),
                "attempts": message.headers.get(ATTEMPTS_HEADER),
                "routing_key": message.headers.get("x-original-routing-key"),
                "body": as_text(message.body)[:2000],
            })
        for message in messages:
            message.requeue()
    return letters


def as_text(body) -> str:
    return body.decode("utf-8", "replace") if isinstance(body, bytes) else body


def replay(dead_letter_queue: str, limit=None, uri=None, progress=None) -> int:
    """Move dead letters back to their handler queue; returns how many."""
    target = dead_letter_queue.removesuffix(DLQ_SUFFIX)
    moved = 0
    with Connection(uri or amqp_uri(), transport_options={"confirm_publish": True}) as connection:
        channel = connection.default_channel
        queue = Queue(dead_letter_queue, durable=True)(channel)
        queue.declare()
        producer = connection.Producer(channel)
        while limit is None or moved < limit:
            message = queue.get(no_ack=False)
            if message is None:
                break
            headers = {k: v for k, v in message.headers.items() if k not in (ATTEMPTS_HEADER, REASON_HEADER)}
            producer.publish(message.body, exchange="", routing_key=target, headers=headers,
                             content_type=message.content_type, content_encoding=message.content_encoding,
                             delivery_mode=PERSISTENT)
            message.ack()
            moved += 1
            if progress:
                progress(moved)
    return moved


def dead_letter_queues(management_url="http://guest:guest@127.0.0.1:15672", uri=None):
    """Names and depths of the DLQs of the vhost ``AMQP_URI`` names (from the
    RabbitMQ management API): another platform on the same broker is not ours."""
    with Connection(uri or amqp_uri()) as connection:
        vhost = connection.virtual_host
    parts = urllib.parse.urlsplit(management_url)
    request = urllib.request.Request(f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}"
                                     f"/api/queues/{urllib.parse.quote(vhost, safe='')}")
    credentials = f"{parts.username or 'guest'}:{parts.password or 'guest'}".encode()
    request.add_header("Authorization", "Basic " + base64.b64encode(credentials).decode())
    with urllib.request.urlopen(request, timeout=5) as response:
        queues = json.load(response)
    return [(q["name"], q.get("messages", 0)) for q in queues if q["name"].endswith(DLQ_SUFFIX)]


def main(argv=None):
    parser = argparse.ArgumentParser(description="List and replay dead-lettered events.")
    sub = parser.add_subparsers(dest="command", required=True)
    queues_cmd = sub.add_parser("queues", help="every dead-letter queue of AMQP_URI's vhost and its depth")
    queues_cmd.add_argument("--management-url", default="http://guest:guest@127.0.0.1:15672")
    list_cmd = sub.add_parser("list", help="show dead letters without removing them")
    list_cmd.add_argument("queue")
    list_cmd.add_argument("--limit", type=int, default=20)
    replay_cmd = sub.add_parser("replay", help="send dead letters back to their handler")
    replay_cmd.add_argument("queue")
    replay_cmd.add_argument("--limit", type=int)
    args = parser.parse_args(argv)

    if args.command == "queues":
        for name, depth in dead_letter_queues(args.management_url):
            print(f"{depth:8d}  {name}")
    elif args.command == "list":
        for letter in peek(args.queue, args.limit):
            print(json.dumps(letter, ensure_ascii=False))
    else:
        moved = replay(args.queue, args.limit,
                       progress=lambda n: print(f"\rreplayed {n}", end="", file=sys.stderr, flush=True))
        print(f"\nreplayed {moved} message(s) from {args.queue}", file=sys.stderr)


if __name__ == "__main__":
    main()
