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
