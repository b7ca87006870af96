"""Ticketing's handlers on a unit of work over SQLite (``unit``, ``published``),
and outside systems' HTTP endpoints for the webhook tests, on loopback: real
servers, so that what ticketing sends goes through real sockets (and TLS)."""
import json
import ssl
from dataclasses import dataclass

import eventlet
import eventlet.wsgi
import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from plumbing.db import make_engine
from plumbing.unit_of_work import Unit, utc_now
from ticketing import models


@pytest.fixture
def database(migrated, sqlite_url):
    engine = make_engine(migrated("ticketing", sqlite_url))
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture
def unit(database):
    """``unit(actor=..., roles=..., teams=..., clock=...)``: a fresh unit, as each call gets one."""
    sessions = []

    def make(actor="alice", roles=None, clock=utc_now, request_id=None, teams=None):
        sessions.append(database())
        return Unit.on_session(sessions[-1], service="ticketing", outbox=models.outbox, inbox=models.inbox,
                               actor=actor, roles=roles, request_id=request_id, clock=clock, teams=teams)
    yield make
    for session in sessions:
        session.close()


@pytest.fixture
def published(database):
    """``published()``: the envelopes of the events in the outbox, in the order they were recorded."""
    def envelopes():
        with database() as session:
            return [json.loads(row.envelope) for row in session.execute(
                select(models.outbox.c.envelope).order_by(models.outbox.c.created_at, models.outbox.c.sequence))]
    return envelopes


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    status: int
    server_name: str | None = None   # what the client named in TLS (SNI)


class Receiver:
    """Records every request and answers 500 to the next ``fail_next(n)`` of
    them. With ``tls`` (an ``ssl.SSLContext``) it speaks https."""

    def __init__(self, tls=None):
        self.requests = []
        self.failures = 0
        self.server_names = []
        self.socket = eventlet.listen(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.scheme = "http"
        if tls is not None:
            tls.sni_callback = lambda connection, name, context: self.server_names.append(name)
            self.socket = tls.wrap_socket(self.socket, server_side=True)
            self.scheme = "https"
        self.thread = eventlet.spawn(eventlet.wsgi.server, self.socket, self.app, log_output=False)

    def url(self, path="/hook", host="127.0.0.1"):
        return f"{self.scheme}://{host}:{self.port}{path}"

    def fail_next(self, count):
        self.failures = count

    def at(self, path):
        return [request for request in self.requests if request.path == path]

    def app(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {name[5:].replace("_", "-").lower(): value
                   for name, value in environ.items() if name.startswith("HTTP_")}
        headers["content-type"] = environ.get("CONTENT_TYPE")
        failing = self.failures > 0
        if failing:
            self.failures -= 1
        status = 500 if failing else 200
        self.requests.append(Received(environ["PATH_INFO"], headers, body, status,
                                      self.server_names[-1] if self.server_names else None))
        start_response("500 Internal Server Error" if failing else "200 OK", [("Content-Type", "text/plain")])
        return [b"down" if failing else b"thanks"]

    def close(self):
        self.thread.kill()
        self.socket.close()


class TricklingReceiver:
    """Reads a request, then answers one byte a second: every read gets
    something, so only a deadline over the whole request ends it."""

    ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"

    def __init__(self):
        self.requests = 0
        self.socket = eventlet.listen(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.threads = [eventlet.spawn(self.serve)]

    def url(self):
        return f"http://127.0.0.1:{self.port}/slow"

    def serve(self):
        while True:
            connection, _ = self.socket.accept()
            self.threads.append(eventlet.spawn(self.trickle, connection))

    def trickle(self, connection):
        with connection:
            connection.recv(65536)
            self.requests += 1
            for byte in self.ANSWER:
                connection.sendall(bytes([byte]))
                eventlet.sleep(1)

    def close(self):
        for thread in self.threads:
            thread.kill()
        self.socket.close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def trickling_receiver():
    receiver = TricklingReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def tls_receiver(tmp_path):
    """An https receiver whose certificate, from a CA of the test's own, names
    ``hooks.partner.test``; ``tls_receiver.ca_bundle`` is that CA's file."""
    import trustme

    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("hooks.partner.test").configure_cert(context)
    receiver = Receiver(tls=context)
    receiver.ca_bundle = str(tmp_path / "ca.pem")
    authority.cert_pem.write_to_path(receiver.ca_bundle)
    yield receiver
    receiver.close()
