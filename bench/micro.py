"""What the pieces of one ticket creation cost, each timed alone.

    .venv/bin/python bench/micro.py        # ~20 s; writes bench/results/micro.md and .json

Runs under ``eventlet.monkey_patch()`` like the services, against a fresh
PostgreSQL database and RabbitMQ vhost of its own (removed afterwards), so
the figures are the ones a gateway or ticketing worker pays. It imports the
project's own code and calls it as the services do; it changes nothing.
These are the numbers behind the expected gains in bench/README.md; the
end-to-end figures come from bench/gateway_tickets.py.
"""
import eventlet

eventlet.monkey_patch()  # noqa: E402  (as plumbing.serve does, before sockets)

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402
from types import SimpleNamespace  # noqa: E402

from kit import RESULTS, report  # noqa: E402
from kit.scratch import scratch  # noqa: E402

from kombu import Connection, Exchange  # noqa: E402
from nameko.amqp.publish import get_producer  # noqa: E402
from nameko.constants import PERSISTENT  # noqa: E402
from sqlalchemy import select, text  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from gateway import auth  # noqa: E402
from gateway.accounts import AccountStore  # noqa: E402
from gateway.models import Account  # noqa: E402
from plumbing import migrate  # noqa: E402
from plumbing.context import RequestIdLogFilter  # noqa: E402
from plumbing.db import make_engine  # noqa: E402
from plumbing.events import CONTENT_TYPE, make_envelope  # noqa: E402
from ticketing import events  # noqa: E402
from ticketing.contract import FIRST_RESPONSE, RESOLUTION  # noqa: E402
from ticketing.sla import rules as sla  # noqa: E402
from ticketing.sla.calendar import BusinessCalendar  # noqa: E402
from ticketing.contract import SlaClockSchema, TicketCreateSchema, TicketSchema  # noqa: E402

BODY = {"subject": "Bench ticket 1-1", "description": "Two debits for order 1", "channel": "web_form",
        "kind": "complaint", "priority": "high", "tags": ["bench", "billing"],
        "customer": {"name": "Chen Jie", "contact": "+86 139 1234 5678"}}
OFFICE_HOURS = {"timezone": "Asia/Shanghai",
                "windows": {day: ["09:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
                "country_holidays": [{"country": "CN", "make_up_day_windows": ["09:00-18:00"]}]}


def per_call(fn, seconds=0.6, repeat=3):
    """Best of ``repeat`` runs of about ``seconds`` each: microseconds per call."""
    fn()  # warm
    best = None
    for _ in range(repeat):
        calls, began = 0, time.perf_counter()
        while True:
            fn()
            calls += 1
            elapsed = time.perf_counter() - began
            if elapsed >= seconds:
                break
        value = 1e6 * elapsed / calls
        best = value if best is None else min(best, value)
    return round(best, 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the report goes")
    args = parser.parse_args(argv)
    rows = []

    def row(group, what, micros, note=""):
        rows.append({"group": group, "what": what, "us": micros, "note": note})
        print(f"{group:10} {what:72} {micros:>10,.1f} us  {note}", flush=True)

    # -- marshmallow ---------------------------------------------------------------------------------------------
    shared = TicketCreateSchema()
    loaded = shared.load(BODY)
    row("schema", "TicketCreateSchema() - build a schema instance", per_call(TicketCreateSchema))
    row("schema", "TicketCreateSchema().load(body) - new instance each time (as before 2ac8b8b)",
        per_call(lambda: TicketCreateSchema().load(BODY)))
    row("schema", "shared_instance.load(body) - one instance reused", per_call(lambda: shared.load(BODY)))
    row("schema", "TicketCreateSchema().dump(loaded) - gateway re-dumps before the RPC",
        per_call(lambda: TicketCreateSchema().dump(loaded)))
    now = datetime.now(timezone.utc)
    ticket = SimpleNamespace(**dict(
        {k: v for k, v in loaded.items() if k != "customer"}, id=1, state="assigned", transfer_count=0,
        reopen_count=0, escalation_level=0, customer_name="Chen Jie", customer_contact="+86 139 1234 5678",
        created_at=now, updated_at=now, first_responded_at=None, resolved_at=None, closed_at=None,
        escalated_at=None, merged_into_id=None))
    row("schema", "TicketSchema().dump(ticket) - the answer's body", per_call(lambda: TicketSchema().dump(ticket)))
    facts = dict(vars(ticket), actor="admin")
    row("schema", "TICKET_CREATED.data_schema().dump(facts) - the event's data",
        per_call(lambda: events.TICKET_CREATED.data_schema().dump(facts)))

    # -- SLA -----------------------------------------------------------------------------------------------------------
    calendar_built = per_call(lambda: BusinessCalendar.from_config(OFFICE_HOURS), seconds=0.3, repeat=1)
    row("sla", "BusinessCalendar.from_config(CN office hours) - cached per policy, paid once", calendar_built)
    calendar = BusinessCalendar.from_config(OFFICE_HOURS)
    policy = sla.Policy("high", calendar, {"first_response": 60, "update": 120, "resolution": 480}, {}, 0.8)

    def clocks():
        for name in (FIRST_RESPONSE, RESOLUTION):
            sla.start(policy, name, now).view(calendar, now)   # start works out the due and warning times
    row("sla", "two clocks: start + due + warn_at + view (warm calendar)", per_call(clocks))
    views = [sla.start(policy, n, now).view(calendar, now) for n in (FIRST_RESPONSE, RESOLUTION)]
    row("schema", "SlaClockSchema(many=True).dump(two clock views)",
        per_call(lambda: SlaClockSchema(many=True).dump(views)))

    # -- events, JSON, logging, tokens --------------------------------------------------------------------------------
    data = events.TICKET_CREATED.data_schema().dump(facts)
    row("event", "make_envelope + json.dumps (outbox row body)", per_call(lambda: json.dumps(make_envelope(
        service="ticketing", event_type="ticket.created", subject="ticket/1", data=data, sequence=1,
        request_id="r" * 32))))
    detail = dict(TicketSchema().dump(ticket), sla=SlaClockSchema(many=True).dump(views))
    row("json", "json.dumps(detail, ensure_ascii=False) - the HTTP body", per_call(
        lambda: json.dumps(detail, ensure_ascii=False)))
    secret = secrets.token_urlsafe(48)
    token = auth.issue_token(secret, "admin", ["admin"], 3600)
    row("auth", "auth.read_token (PyJWT HS256 decode + claims)", per_call(lambda: auth.read_token(secret, token)))
    hashed = auth.hash_password("x" * 16)
    row("auth", "auth.verify_password (argon2id) - only POST /auth/token, not per request",
        per_call(lambda: auth.verify_password(hashed, "x" * 16), seconds=0.5, repeat=1))
    handler = logging.StreamHandler(open(os.devnull, "w"))
    handler.addFilter(RequestIdLogFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    logger = logging.getLogger("bench.micro")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    row("logging", "one INFO line (the gateway's access line format)",
        per_call(lambda: logger.info("%s %s -> %s", "POST", "/api/v1/tickets", 201)))

    # -- database and broker, on resources of our own ------------------------------------------------------------------
    with scratch("micro") as (url, amqp):
        migrate.upgrade("gateway", url)
        engine = make_engine(url)  # the services' engine: pool_pre_ping, green psycopg2
        factory = sessionmaker(engine, expire_on_commit=False)
        store = AccountStore(factory)
        store.bootstrap_admin("agent1", "x" * 16)  # one account in the store, as after the first start
        principal = auth.read_token(secret, auth.issue_token(secret, "agent1", ["admin"], 3600))
        def account_query():  # what AccountStore.accepts did on every request before it cached (2ac8b8b)
            with factory() as session:
                session.scalars(select(Account).where(Account.username == principal.username)).first()
        row("db", "account check from the database: Session + SELECT account + close",
            per_call(account_query, seconds=1.0))
        row("db", "AccountStore.accepts(principal) as the store answers now",
            per_call(lambda: store.accepts(principal), seconds=1.0))

        def ping_begin_select():
            with factory() as session:
                session.execute(text("SELECT 1"))
        row("db", "Session checkout (pre-ping SELECT 1) + SELECT 1 + close (ROLLBACK)",
            per_call(ping_begin_select, seconds=1.0))
        raw = engine.raw_connection()
        cursor = raw.cursor()
        row("db", "one round trip, SELECT 1 on a held psycopg2 connection (green)",
            per_call(lambda: cursor.execute("SELECT 1"), seconds=1.0))
        raw.close()
        engine.dispose()

        exchange = Exchange("bench.micro", type="topic", durable=True)
        with Connection(amqp) as connection:
            exchange(connection.default_channel).declare()
        body = json.dumps(make_envelope(service="ticketing", event_type="ticket.created", subject="ticket/1",
                                        data=data, sequence=1))

        def publish_confirmed():  # what Outbox.publish does for each row
            with get_producer(amqp, confirms=True) as producer:
                producer.publish(body, exchange=exchange, routing_key="ticket.created", content_type=CONTENT_TYPE,
                                 content_encoding="utf-8", delivery_mode=PERSISTENT, declare=[exchange],
                                 retry=True, retry_policy={"max_retries": 2})
        row("broker", "Outbox.publish: one persistent message, pooled producer, wait for its confirm",
            per_call(publish_confirmed, seconds=1.0))

        def publish_unconfirmed():
            with get_producer(amqp, confirms=False) as producer:
                producer.publish(body, exchange=exchange, routing_key="ticket.created", content_type=CONTENT_TYPE,
                                 content_encoding="utf-8", delivery_mode=PERSISTENT)
        row("broker", "same without confirms (lower bound of the publish itself)",
            per_call(publish_unconfirmed, seconds=1.0))
        batch = 100
        connection = Connection(amqp)
        channel = connection.channel()
        acked = []
        channel.events["basic_ack"].add(lambda tag, multiple: acked.append((tag, multiple)))
        channel.confirm_select()
        producer = connection.Producer(channel)
        state = {"published": 0}

        def publish_batch():
            del acked[:]
            for _ in range(batch):
                producer.publish(body, exchange=exchange, routing_key="ticket.created", content_type=CONTENT_TYPE,
                                 content_encoding="utf-8", delivery_mode=PERSISTENT)
                state["published"] += 1
            while not acked or acked[-1][0] < state["published"]:
                connection.drain_events(timeout=5)
        per_batch = per_call(publish_batch, seconds=1.0)
        row("broker", f"batched: {batch} persistent messages, then wait for their confirms - per message",
            round(per_batch / batch, 1))
        connection.release()

    lines = ["# Micro-costs of one ticket creation (bench/micro.py)", "",
             f"{datetime.now(timezone.utc).isoformat(timespec='seconds')}, {os.cpu_count()} CPUs, Python "
             f"{sys.version.split()[0]}, under eventlet.monkey_patch() like the services; best of 3.", "",
             "| area | what | us per call |", "| --- | --- | ---: |"]
    lines += [f"| {r['group']} | {r['what']} | {r['us']:,.1f} |" for r in rows]
    markdown = "\n".join(lines) + "\n"
    print(f"wrote {report.write(args.out, 'micro', rows, markdown)}")


if __name__ == "__main__":
    main()
