"""Helpers for tests of services built on plumbing."""
import json
import re
import shlex
import socket
import time

from kombu import Connection, Exchange

from plumbing.events import CONTENT_TYPE, exchange_name, make_envelope


def wait_for(predicate, timeout=10, interval=0.05, message="condition"):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def publish_raw(amqp_uri, source, routing_key, body, content_type=CONTENT_TYPE, headers=None):
    """Put a message straight onto a service's events exchange, as any publisher could."""
    exchange = Exchange(exchange_name(source), type="topic", durable=True)
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        connection.Producer().publish(body, exchange=exchange, routing_key=routing_key, declare=[exchange],
                                      content_type=content_type, content_encoding="utf-8",
                                      headers=headers or {}, delivery_mode=2)


def publish_event(amqp_uri, source, event_type, data, **envelope_fields):
    envelope = make_envelope(service=source, event_type=event_type, subject=envelope_fields.pop("subject", "x/1"),
                             data=data, sequence=envelope_fields.pop("sequence", 1), **envelope_fields)
    publish_raw(amqp_uri, source, event_type, envelope)
    return envelope


def call(container, method, *args, **kwargs):
    """Run one entrypoint of a running container and return its result."""
    return call_as(None, container, method, *args, **kwargs)


def call_as(actor, container, method, *args, roles=None, teams=None, **kwargs):
    """``call`` on behalf of ``actor`` holding ``roles`` in ``teams``, as the gateway passes them in the context data."""
    from nameko.testing.services import entrypoint_hook

    context_data = {key: value for key, value in (("actor", actor), ("roles", roles), ("teams", teams))
                    if value is not None}
    with entrypoint_hook(container, method, context_data=context_data or None) as hook:
        return hook(*args, **kwargs)


def wait_until_answering(service, config, timeout=30):
    """Wait until a service (a process of its own, say) answers an RPC ping."""
    from nameko.standalone.rpc import ServiceRpcProxy

    def answers():
        try:
            with ServiceRpcProxy(service, config) as proxy:
                return proxy.ping.call_async().result() == "pong"
        except Exception:
            return False
    wait_for(answers, timeout=timeout, interval=0.3, message=f"{service} to answer")


def procfile_commands(procfile, env):
    """[(name, extra env, argv)] of a Procfile's lines, each to run as a process of
    its own; ``${VAR:-default}`` expanded from ``env`` as a shell would."""
    expand = lambda text: re.sub(  # noqa: E731
        r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: env.get(m.group(1)) or (m.group(2) or ""), text)
    commands = []
    for line in procfile.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, command = line.partition(":")
        words = shlex.split(command)
        extra = {}
        while words and re.match(r"^\w+=", words[0]):
            key, _, value = words.pop(0).partition("=")
            extra[key] = expand(value)
        commands.append((name.strip(), extra, [expand(word) for word in words]))
    return commands


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EventTap:
    """A durable queue bound to a service's events, like an outside consumer's.

    ``take(n)`` returns the next n envelopes (failing if they do not come);
    ``rest()`` whatever else arrives within ``quiet`` seconds.
    """

    def __init__(self, amqp_uri, source, pattern="#", name="tap"):
        from kombu import Queue

        self.amqp_uri = amqp_uri
        exchange = Exchange(exchange_name(source), type="topic", durable=True)
        self.queue = Queue(f"test-{name}-{source}-{pattern}", exchange=exchange, routing_key=pattern, durable=True)
        with Connection(amqp_uri) as connection:
            self.queue(connection.default_channel).declare()
        self.messages = []

    def take(self, count, timeout=10):
        envelopes = []
        with Connection(self.amqp_uri) as connection, connection.SimpleQueue(self.queue) as simple:
            for _ in range(count):
                message = simple.get(timeout=timeout)
                self.messages.append(message)
                envelopes.append(json.loads(message.body))
                message.ack()
        return envelopes

    def rest(self, quiet=1.0):
        envelopes = []
        with Connection(self.amqp_uri) as connection, connection.SimpleQueue(self.queue) as simple:
            while True:
                try:
                    message = simple.get(timeout=quiet)
                except simple.Empty:
                    return envelopes
                self.messages.append(message)
                envelopes.append(json.loads(message.body))
                message.ack()
