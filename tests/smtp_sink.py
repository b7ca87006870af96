"""A real SMTP server on loopback for channels' tests (aiosmtpd), in a process of its own: the
tests' process is patched by eventlet, under which asyncio does not run.

    python tests/smtp_sink.py PORT DIRECTORY

Each accepted mail is written to DIRECTORY as ``<n>.eml`` (the bytes as received) with
``<n>.rcpt`` (the envelope recipients, one a line). A recipient whose local part starts with
``reject`` is refused with 550 (a permanent failure).
"""
import asyncio
import itertools
import sys
from pathlib import Path

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = Path(directory)
        self.counter = itertools.count(len(list(self.directory.glob("*.eml"))) + 1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("reject"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        number = next(self.counter)
        (self.directory / f"{number}.rcpt").write_text("\n".join(envelope.rcpt_tos))
        partial = self.directory / f"{number}.part"
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.rename(self.directory / f"{number}.eml")  # whole or not at all
        return "250 OK"


def main(port, directory):
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=int(port))
    controller.start()
    try:
        asyncio.run(asyncio.Event().wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main(*sys.argv[1:3])
