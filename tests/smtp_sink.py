"""A real SMTP server on loopback for the mail tests (aiosmtpd), in a process of its own (the tests'
process is patched by eventlet, under which asyncio does not run), and ``SmtpServer``, which starts,
stops and reads it for a test.

    python tests/smtp_sink.py PORT DIRECTORY [SECONDS]

Each accepted mail is written to DIRECTORY as ``<n>.eml`` (the bytes as received) with
``<n>.rcpt`` (the envelope recipients, one a line). A recipient whose local part starts with
``reject`` is refused with 550 (a permanent failure). SECONDS (0 by default) is how long the
server takes over each mail before it keeps it and answers 250 (a slow server: a client killed
meanwhile has its mail dropped, as an MTA drops a transaction it never confirmed).
"""
import asyncio
import itertools
import socket
import subprocess
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller

from plumbing.testing import free_port


class Sink:
    def __init__(self, directory, seconds=0.0):
        self.directory, self.seconds = Path(directory), seconds
        self.counter = itertools.count(len(list(self.directory.glob("*.eml"))) + 1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("reject"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.seconds:
            await asyncio.sleep(self.seconds)
        number = next(self.counter)
        (self.directory / f"{number}.rcpt").write_text("\n".join(envelope.rcpt_tos))
        partial = self.directory / f"{number}.part"
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.rename(self.directory / f"{number}.eml")  # whole or not at all
        return "250 OK"


class SmtpServer:
    """The SMTP sink (tests/smtp_sink.py, aiosmtpd) on a loopback port, taking ``seconds`` over each mail:
    ``stop()`` and ``start()`` again on the same port (the server down for a while), ``mails()`` what it
    accepted, parsed, ``message_ids()`` theirs (as many times as each was accepted)."""

    def __init__(self, directory, seconds=0.0):
        directory.mkdir(exist_ok=True)
        self.directory, self.seconds, self.port, self.process = directory, seconds, free_port(), None

    def start(self):
        self.process = subprocess.Popen([sys.executable, __file__, str(self.port), str(self.directory),
                                         str(self.seconds)])
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
        files = sorted(self.directory.glob("*.eml"), key=lambda path: int(path.stem))
        return [message_from_bytes(path.read_bytes(), policy=policy.default) for path in files]

    def message_ids(self):
        return [mail["Message-ID"] for mail in self.mails()]

    def config(self):
        return {"CHANNELS_SMTP_HOST": "127.0.0.1", "CHANNELS_SMTP_PORT": self.port,
                "CHANNELS_SMTP_TIMEOUT_SECONDS": 2}


def main(port, directory, seconds="0"):
    controller = Controller(Sink(directory, float(seconds)), hostname="127.0.0.1", port=int(port))
    controller.start()
    try:
        asyncio.run(asyncio.Event().wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main(*sys.argv[1:4])
