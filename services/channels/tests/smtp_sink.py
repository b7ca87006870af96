"""A real SMTP server on loopback for channels' tests (aiosmtpd), in a process of its own: the
tests' process is patched by eventlet, under which asyncio does not run.

    python smtp_sink.py PORT DIRECTORY [SECONDS]

Each accepted mail is written to DIRECTORY as ``<n>.eml`` (the bytes as received) with
``<n>.rcpt`` (the envelope recipients, one a line). A recipient whose local part starts with
``reject`` is refused with 550 (a permanent failure). SECONDS (0 by default) is how long the
server takes over each mail before it keeps it and answers 250 (a slow server: a client killed
meanwhile has its mail dropped, as an MTA drops a transaction it never confirmed).
"""
import asyncio
import itertools
import sys
from pathlib import Path

from aiosmtpd.controller import Controller


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


def main(port, directory, seconds="0"):
    controller = Controller(Sink(directory, float(seconds)), hostname="127.0.0.1", port=int(port))
    controller.start()
    try:
        asyncio.run(asyncio.Event().wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main(*sys.argv[1:4])
