"""Mail in and mail out through channels, each against a bare baseline measured in the same run.

    .venv/bin/python bench/channels_mail.py            # ~1-2 min; writes bench/results/channels_mail.md and .json
    .venv/bin/python bench/channels_mail.py --quick    # 50 mails each way, a 1 MiB attachment

Inbound: 1,000 mails (the shapes of ``services/channels/tests/mail/``: plain text, multipart/
alternative, Outlook and Foxmail replies in GBK, Big5, HTML-only, a forward, a photo attached;
each given a Message-ID of its own) through ``inbound.take_mail`` -- what the raw-mail RPC and
the IMAP poller both call: parse, log the mail, store its files, open or join a ticket -- with
ticketing's own handlers in the same process (no broker: the figure is channels' and
ticketing's work and their databases', on PostgreSQL). Baseline: the stdlib's
``email.message_from_bytes(policy=default)`` of the same mails, walking every part.

Outbound: 1,000 replies queued as deliveries (as ``ticket.replied`` makes them), then sent by
``outbound.send_due`` (lease, SMTP, record) to a local aiosmtpd server in a process of its own
(``tests/smtp_sink.py``). Baseline: the same messages sent by bare
``smtplib`` over one connection to the same server.

Memory: one mail with a 20 MiB attachment through the inbound path (the raw mail already in memory,
as the poller holds it); the peak resident memory (VmHWM, reset through ``/proc/self/clear_refs``
before) less the resident memory before (freed memory given back first, ``malloc_trim``); the same
of the stdlib's parse of that mail alone after it.

The script runs under ``eventlet.monkey_patch()``, as every service process does
(``plumbing.serve``): the sender's connections are green threads there, and here.
"""
import eventlet

eventlet.monkey_patch()  # noqa: E402  (before anything opens a socket)

import argparse  # noqa: E402
import ctypes  # noqa: E402
import gc  # noqa: E402
import email  # noqa: E402
import email.policy  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import smtplib  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from base64 import encodebytes  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

from kit import RESULTS, report, scratch  # noqa: E402
from kit.console import say, stop_on_signals  # noqa: E402
from kit.machine import machine_cpu  # noqa: E402

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from channels import models  # noqa: E402
from channels.inbound import handlers as inbound  # noqa: E402
from channels.mailboxes import handlers as mailboxes  # noqa: E402
from channels.models import Delivery  # noqa: E402
from channels.outbound import handlers as outbound  # noqa: E402
from channels.outbound import rules  # noqa: E402
from plumbing import migrate  # noqa: E402
from plumbing.db import make_engine  # noqa: E402
from plumbing.testing import free_port  # noqa: E402
from plumbing.unit_of_work import Unit  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MAIL = ROOT / "services" / "channels" / "tests" / "mail"
SINK = ROOT / "tests" / "smtp_sink.py"
SHAPES = ["multipart_alternative.eml", "outlook_reply.eml", "outlook_zh_reply.eml", "foxmail_reply.eml",
          "gmail_reply.eml", "netease_reply.eml", "big5.eml", "html_only.eml", "forwarded.eml",
          "with_attachment.eml"]
PLAIN = (b"From: Dana Lee <dana@customer.example.org>\r\nTo: support@shop.example.com\r\n"
         b"Subject: Where is my order?\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n"
         b"Content-Type: text/plain; charset=utf-8\r\n\r\nHello, my order 1234 has not arrived yet.\r\n")
TARGETS = {"inbound": 50, "outbound": 200, "memory_ratio": 3}


class Phase:
    """Wall seconds, this process's CPU seconds and the machine's busy share over a ``with`` block
    (the machine is shared: the CPU per mail is the steadier figure, the busy share says how loud)."""

    def __enter__(self):
        self.machine, self.cpu, self.began = machine_cpu(), time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc_info):
        self.seconds = time.perf_counter() - self.began
        self.cpu = time.process_time() - self.cpu
        (total0, busy0), (total1, busy1) = self.machine, machine_cpu()
        self.busy = (busy1 - busy0) / max(1e-9, total1 - total0)

    def figures(self, count):
        return {"seconds": round(self.seconds, 3), "per_second": rate(count, self.seconds),
                "cpu_ms_per_mail": round(1000 * self.cpu / count, 3), "machine_busy": round(self.busy, 3)}


def rate(count, seconds):
    return count / seconds if seconds else None


def with_message_id(raw, number):
    """The mail under a Message-ID of its own (replaced, or added where it had none)."""
    head, sep, body = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
    newline = b"\r\n" if sep == b"\r\n\r\n" else b"\n"
    lines = [line for line in head.split(newline) if not re.match(rb"(?i)message-id:", line)]
    lines.append(b"Message-ID: <bench-%d@customer.example.org>" % number)
    return newline.join(lines) + sep + body


def mails(count):
    shapes = [PLAIN] + [(MAIL / name).read_bytes() for name in SHAPES]
    return [with_message_id(shapes[number % len(shapes)], number) for number in range(count)]


def big_mail(size):
    """A mail of a few lines with ``size`` bytes attached (base64, as clients send it)."""
    blob = bytes(range(256)) * (size // 256)
    return (b"From: Dana Lee <dana@customer.example.org>\r\nTo: support@shop.example.com\r\n"
            b"Subject: The photos\r\nMessage-ID: <bench-big@customer.example.org>\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n\r\nThe photos of the broken parcel.\r\n--b1\r\n"
            b"Content-Type: application/octet-stream; name=\"photos.bin\"\r\nContent-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=\"photos.bin\"\r\n\r\n"
            + encodebytes(blob).replace(b"\n", b"\r\n") + b"--b1--\r\n")


def bare_parse(raw):
    message = email.message_from_bytes(raw, policy=email.policy.default)
    for part in message.walk():
        if not part.is_multipart():
            part.get_content()
    return message


class Units:
    """A unit per call over a database, as a service worker has one."""

    def __init__(self, url, service, module):
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.service, self.module = service, module

    def run(self, handler, *args):
        with self.sessions() as session:
            uow = Unit.on_session(session, service=self.service, outbox=self.module.outbox, inbox=self.module.inbox)
            answer = handler(uow, *args)
            uow.run_after_commit()
            return answer


class Ticketing:
    """Ticketing's handlers in this process, called as mail in calls them by RPC."""

    def __init__(self, units, config):
        from ticketing.tickets import handlers
        self.units, self.config, self.handlers = units, config, handlers

    def create_tickets(self, requests):
        return self.units.run(self.handlers.create_tickets, requests, self.config)

    def add_message(self, ticket_id, data):
        return self.units.run(self.handlers.add_message, ticket_id, data, self.config)

    def list_messages(self, ticket_id, query=None):
        return self.units.run(self.handlers.list_messages, ticket_id, query)

    def get_ticket(self, ticket_id):
        return self.units.run(self.handlers.get_ticket, ticket_id)


def rss_kib(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


def fresh_peak():
    """This process's resident KiB once what was freed is given back (``malloc_trim``), the peak
    (VmHWM) reset to it (``/proc/self/clear_refs``): what comes next is measured from here."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")
    return rss_kib("VmRSS")


def inbound_run(channels, ticketing, settings, mailbox_id, raws, label):
    began, outcomes = time.perf_counter(), {}
    for number, raw in enumerate(raws, 1):
        answer = channels.run(inbound.take_mail, ticketing, settings, mailbox_id, raw)
        outcomes[answer["outcome"]] = outcomes.get(answer["outcome"], 0) + 1
        if number % max(1, len(raws) // 10) == 0:
            say(f"{label}: {number}/{len(raws)} ({rate(number, time.perf_counter() - began):.0f}/s)")
    return time.perf_counter() - began, outcomes


def queue_replies(channels, count, config):
    def queue(uow):
        with uow.transaction():
            for number in range(count):
                ticket = {"id": 100000 + number, "subject": f"Order {number} not arrived",
                          "customer": {"contact": f"customer{number}@customer.example.org"}}
                outbound.customer_delivery(uow, ticket, rules.REPLY, {"body": "Your parcel left today.\n" * 5,
                                                                      "author": "ann"}, f"bench:{number}", config)
    channels.run(queue)


def messages_of(channels, config):
    """The messages the sender makes of the queued deliveries (``outbound.prepare``): the baseline sends these."""
    with channels.sessions() as session:
        rows = session.scalars(select(Delivery).order_by(Delivery.id)).all()
    return [outbound.prepare(delivery, None, config) for delivery in rows]


def outbound_run(channels, config, count):
    began = time.perf_counter()
    sent = 0
    while True:
        with channels.sessions() as session:
            sent = session.scalar(select(func.count(Delivery.id)).where(Delivery.status == rules.SENT))
            left = session.scalar(select(func.count(Delivery.id)).where(Delivery.status == rules.QUEUED))
        say(f"outbound: {sent}/{count} sent ({rate(sent, time.perf_counter() - began) or 0:.0f}/s)")
        if not left:
            break
        channels.run(outbound.send_due, None, config)
    return time.perf_counter() - began, sent


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--attachment-mib", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="50 mails each way, a 1 MiB attachment")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.mails, args.attachment_mib = 50, 1
    stop_on_signals()
    workdir = Path(tempfile.mkdtemp(prefix="bench-channels-"))
    names = [f"csops_bench_channels_{time.time_ns() % 10**9}", f"csops_bench_ticketing_{time.time_ns() % 10**9}"]
    scratch.create_databases(names)
    sink = None
    result = {"mails": args.mails, "targets": TARGETS}
    try:
        channels_url, ticketing_url = (scratch.database_url(name) for name in names)
        say("migrating the scratch databases")
        migrate.upgrade("channels", channels_url)
        migrate.upgrade("ticketing", ticketing_url)
        from ticketing import models as ticketing_models
        blobs = workdir / "blobs"
        config = {"BLOB_DIR": str(blobs), "CHANNELS_REPLY_SECRET": "bench-secret", "SENDER_LIMIT_PER_HOUR": 10**9}
        channels = Units(channels_url, "channels", models)
        ticketing = Ticketing(Units(ticketing_url, "ticketing", ticketing_models), {"BLOB_DIR": str(blobs)})
        settings = inbound.Settings(config)
        mailbox = channels.run(mailboxes.create_mailbox, {"address": "support@shop.example.com", "team": "billing",
                                                         "kind": "inquiry", "priority": "normal"})

        # -- inbound ----------------------------------------------------------------------------
        raws = mails(args.mails)
        with Phase() as parse:
            for raw in raws:
                bare_parse(raw)
        say(f"baseline: {len(raws)} mails parsed by the stdlib in {parse.seconds:.2f} s")
        with Phase() as taking:
            _, outcomes = inbound_run(channels, ticketing, settings, mailbox["id"], raws, "inbound")
        result["inbound"] = dict(taking.figures(len(raws)), outcomes=outcomes, baseline=parse.figures(len(raws)),
                                 baseline_per_second=rate(len(raws), parse.seconds))

        # -- a big attachment -------------------------------------------------------------------
        size = args.attachment_mib * 1024 * 1024
        raw = big_mail(size)
        # mail in first: memory the stdlib's parse frees stays resident and would be reused unseen
        before = fresh_peak()
        began = time.perf_counter()
        answer = channels.run(inbound.take_mail, ticketing, settings, mailbox["id"], raw)
        big_seconds = time.perf_counter() - began
        peak_delta = (rss_kib("VmHWM") - before) * 1024
        before = fresh_peak()
        bare_parse(raw)  # the baseline: the stdlib's parse of the same mail alone
        parse_delta = (rss_kib("VmHWM") - before) * 1024
        del raw
        result["attachment"] = {"bytes": size, "outcome": answer["outcome"], "seconds": round(big_seconds, 3),
                                "peak_rss_delta_bytes": peak_delta, "ratio_to_size": peak_delta / size,
                                "baseline_parse_peak_rss_delta_bytes": parse_delta}
        say(f"{args.attachment_mib} MiB attachment: {answer['outcome']} in {big_seconds:.2f} s, "
            f"peak RSS +{peak_delta / 2**20:.1f} MiB ({peak_delta / size:.2f}x; the stdlib's parse alone "
            f"+{parse_delta / 2**20:.1f} MiB)")

        # -- outbound ---------------------------------------------------------------------------
        port = free_port()
        (workdir / "sink").mkdir()
        sink = subprocess.Popen([sys.executable, str(SINK), str(port), str(workdir / "sink")])
        deadline = time.monotonic() + 15
        while True:
            try:
                smtplib.SMTP("127.0.0.1", port, timeout=1).quit()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        out_config = dict(config, CHANNELS_SMTP_HOST="127.0.0.1", CHANNELS_SMTP_PORT=port,
                          CHANNELS_FROM_ADDRESS="support@shop.example.com")
        queue_replies(channels, args.mails, out_config)
        made = messages_of(channels, out_config)
        with Phase() as bare:
            with smtplib.SMTP("127.0.0.1", port) as smtp:
                for message, sender, recipient in made:
                    smtp.send_message(message, from_addr=sender, to_addrs=[recipient])
        say(f"baseline: {len(made)} mails sent by bare smtplib in {bare.seconds:.2f} s")
        with Phase() as sending:
            _, sent = outbound_run(channels, out_config, args.mails)
        result["outbound"] = dict(sending.figures(sent), sent=sent, baseline=bare.figures(len(made)),
                                  baseline_per_second=rate(len(made), bare.seconds))
    finally:
        if sink is not None:
            sink.terminate()
            sink.wait(10)
        scratch.drop_databases(names)
        shutil.rmtree(workdir, ignore_errors=True)

    inbound_figures, outbound_figures, big = result["inbound"], result["outbound"], result["attachment"]

    def met(value, target):
        return "met" if value is not None and value >= target else "NO"
    lines = [f"# Channels: mail in and mail out ({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC)", "",
             f"{args.mails} mails each way; PostgreSQL; ticketing's handlers in the same process; "
             "the SMTP server is aiosmtpd in a process of its own.", "",
             "| measure | value | baseline (same run) | ratio | target |", "| --- | ---: | ---: | ---: | --- |",
             f"| inbound mails/s (`take_mail` -> ticket) | {report.fmt(inbound_figures['per_second'], 1)} | "
             f"{report.fmt(inbound_figures['baseline_per_second'], 1)} (stdlib parse) | "
             f"{inbound_figures['per_second'] / inbound_figures['baseline_per_second']:.3f} | "
             f">= {TARGETS['inbound']}: {met(inbound_figures['per_second'], TARGETS['inbound'])} |",
             f"| outbound mails/s (`send_due` -> SMTP) | {report.fmt(outbound_figures['per_second'], 1)} | "
             f"{report.fmt(outbound_figures['baseline_per_second'], 1)} (bare smtplib, one connection) | "
             f"{outbound_figures['per_second'] / outbound_figures['baseline_per_second']:.3f} | "
             f">= {TARGETS['outbound']}: {met(outbound_figures['per_second'], TARGETS['outbound'])} |",
             f"| {args.attachment_mib} MiB attachment: peak RSS delta | {big['peak_rss_delta_bytes'] / 2**20:.1f} MiB "
             f"({big['seconds']:.2f} s, {big['outcome']}) | {big['bytes'] / 2**20:.0f} MiB (its size); the stdlib's "
             f"parse alone: +{big['baseline_parse_peak_rss_delta_bytes'] / 2**20:.1f} MiB | "
             f"{big['ratio_to_size']:.2f} | <= {TARGETS['memory_ratio']}x: "
             f"{'met' if big['ratio_to_size'] <= TARGETS['memory_ratio'] else 'NO'} |", "",
             "This process's CPU per mail (steadier than the rates on a shared machine), and how busy the "
             "whole machine was meanwhile:", "",
             "| measure | CPU ms/mail | baseline CPU ms/mail | machine busy | baseline's machine busy |",
             "| --- | ---: | ---: | ---: | ---: |",
             *(f"| {way} | {figures['cpu_ms_per_mail']:.2f} | {figures['baseline']['cpu_ms_per_mail']:.2f} | "
               f"{figures['machine_busy']:.0%} | {figures['baseline']['machine_busy']:.0%} |"
               for way, figures in (("inbound", inbound_figures), ("outbound", outbound_figures))), "",
             "Inbound outcomes: " + ", ".join(f"{name} {count}"
                                              for name, count in sorted(inbound_figures["outcomes"].items())),
             ""]
    print("\n".join(lines))
    name = "channels_mail_quick" if args.quick else "channels_mail"
    print(f"wrote {report.write(args.out, name, result, chr(10).join(lines) + chr(10))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
