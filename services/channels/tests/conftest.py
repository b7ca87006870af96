"""Channels under test: its handlers on a unit over SQLite, without a container."""
import pytest
from sqlalchemy.orm import sessionmaker

from channels import models
from plumbing.db import make_engine
from plumbing.unit_of_work import Unit, utc_now


@pytest.fixture
def run(migrated, sqlite_url):
    """``run(handler, *args, at=None)``: the handler in a unit of its own (a session, the
    outbox, the clock), its after-commit actions run as a worker's would be."""
    engine = make_engine(migrated("channels", sqlite_url))
    sessions = sessionmaker(engine, expire_on_commit=False)

    def run(handler, *args, at=None, **kwargs):
        with sessions() as session:
            uow = Unit.on_session(session, service="channels", outbox=models.outbox, inbox=models.inbox,
                                  clock=(lambda: at) if at else utc_now)
            answer = handler(uow, *args, **kwargs)
            uow.run_after_commit()
            return answer
    run.sessions = sessions
    yield run
    engine.dispose()


class TicketingOnSqlite:
    """Ticketing's own handlers on a migrated SQLite database, called as mail in calls them by RPC
    (a unit per call, as a service worker has): the same validation, lifecycle and idempotency,
    without a broker. Handler tests only; the integration tests call the running service."""

    def __init__(self, sessions, config):
        self.sessions, self.config, self.calls = sessions, config, []

    def call(self, handler, *args):
        from ticketing import models as ticketing_models
        self.calls.append(handler.__name__)
        with self.sessions() as session:
            uow = Unit.on_session(session, service="ticketing", outbox=ticketing_models.outbox,
                                  inbox=ticketing_models.inbox, roles=None)
            return handler(uow, *args)

    def create_tickets(self, requests):
        from ticketing.tickets import handlers
        return self.call(handlers.create_tickets, requests, self.config)

    def add_message(self, ticket_id, data):
        from ticketing.tickets import handlers
        return self.call(handlers.add_message, ticket_id, data, self.config)

    def list_messages(self, ticket_id, query=None):
        from ticketing.tickets import handlers
        return self.call(handlers.list_messages, ticket_id, query)

    def get_ticket(self, ticket_id):
        from ticketing.tickets import handlers
        return self.call(handlers.get_ticket, ticket_id)

    def set_state(self, ticket_id, state):
        from ticketing.tickets import handlers
        return self.call(handlers.change_state, ticket_id, {"state": state})


@pytest.fixture
def ticketing(migrated, tmp_path):
    engine = make_engine(migrated("ticketing", f"sqlite:///{tmp_path / 'ticketing.db'}"))
    yield TicketingOnSqlite(sessionmaker(engine, expire_on_commit=False), {"BLOB_DIR": str(tmp_path / "blobs")})
    engine.dispose()


class SmtpServer:
    """The SMTP sink (tests/smtp_sink.py) on a loopback port: ``stop()`` and ``start()`` again on
    the same port (the server down for a while), ``mails()`` what it accepted, parsed."""

    def __init__(self, directory):
        from plumbing.testing import free_port

        self.directory, self.port, self.process = directory, free_port(), None

    def start(self):
        import socket
        import subprocess
        import sys
        import time
        from pathlib import Path

        script = Path(__file__).with_name("smtp_sink.py")
        self.process = subprocess.Popen([sys.executable, str(script), str(self.port), str(self.directory)])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the SMTP sink did not start")

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def mails(self):
        from email import message_from_bytes, policy

        files = sorted(self.directory.glob("*.eml"), key=lambda path: int(path.stem))
        return [message_from_bytes(path.read_bytes(), policy=policy.default) for path in files]

    def config(self):
        return {"CHANNELS_SMTP_HOST": "127.0.0.1", "CHANNELS_SMTP_PORT": self.port,
                "CHANNELS_SMTP_TIMEOUT_SECONDS": 2}


@pytest.fixture
def smtp_server(tmp_path):
    """A real SMTP server (aiosmtpd) on loopback, started for the test."""
    directory = tmp_path / "smtp"
    directory.mkdir()
    server = SmtpServer(directory).start()
    yield server
    server.stop()
