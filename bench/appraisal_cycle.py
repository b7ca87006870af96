"""Appraisal at scale: a month of ticket events for A agents and N tickets
consumed by the appraisal service, then the month's cycle computed; each set
against a baseline measured in the same run on the same database.

    .venv/bin/python bench/appraisal_cycle.py                    # 500 agents, 1,000,000 tickets (~4.4 M events)
    .venv/bin/python bench/appraisal_cycle.py --quick            # 20,000 tickets, a few minutes
    .venv/bin/python bench/appraisal_cycle.py --tickets 100000 --agents 500

What it does, on resources of its own that it removes afterwards (also on
Ctrl-C): a RabbitMQ vhost and a PostgreSQL database (``bench/kit/scratch.py``).

1. migrates the database and declares appraisal's exchanges and queues;
2. publishes the month (ticket.created, ticket.assigned, sla.clock_stopped,
   ticket.transferred, ticket.resolved, ticket.reopened, ticket.rated,
   sla.breached; one training.exam_passed per agent) to ``ticketing.events``
   and ``training.events`` with publisher confirms awaited in windows, before
   appraisal runs, so the queues hold the whole month;
3. ingest baseline: the same facts inserted into a copy of the ``facts``
   table (same columns and indexes) with plain multi-row INSERTs, one
   transaction per ``--batch`` rows: the raw rate of the database;
4. ingest: starts ``python -m plumbing.serve appraisal.service:AppraisalService``
   and measures facts/s from the first fact stored to the last (progress
   from ``pg_stat_user_tables``, the end by ``count(*)``);
5. cycle: KPI definitions, a template and a monthly cycle over RPC; times
   ``advance_cycle(compute)``; baseline: one hand-written SQL statement with
   the same per-agent aggregates (counts, means, percentile_disc, ratios)
   over the ``measures``; checks every agent's figures against it;
6. writes ``bench/results/appraisal_cycle.md`` and ``.json``.

Targets (issue 5): ingest >= 5,000 events/s; cycle within 2x the aggregate.
Figures are ratios to the same-run baselines; nothing here is a test.
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import deque
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from kit import RESULTS, report  # first: outside the venv it says how to get one
from kit.console import say, stop_on_signals
from kit.machine import CpuMeter, commit, cpu_model, machine_busy, memory_gb
from kit.platform import ServiceReplicas
from kit.scratch import MGMT, MGMT_AUTH, scratch

import amqp
import psycopg2
import requests
from kombu import Connection
from nameko.standalone.rpc import ServiceRpcProxy
from psycopg2.extras import execute_values

from appraisal.contract import KPI_KEYS
from appraisal.facts import rules as facts
from appraisal.facts.handlers import measure_row, record_row
from appraisal.service import AppraisalService
from plumbing import migrate
from plumbing.events import CONTENT_TYPE, exchange_name, make_envelope, sequence_number
from plumbing.testing import wait_until_answering
from plumbing.topology import declare
from ticketing.events import PUBLISHED as TICKETING_EVENTS

MONTH_START, MONTH_DAYS = date(2026, 3, 1), 31
DATA_VERSIONS = {event_type.name: event_type.version for event_type in TICKETING_EVENTS}
TARGET_EVENTS_PER_SECOND = 5000
TARGET_CYCLE_RATIO = 2.0
CONFIRM_WINDOW = 20000
UTC = timezone.utc

# -- the month ---------------------------------------------------------------------------------------------------
KINDS = ["inquiry"] * 6 + ["incident"] * 2 + ["request", "complaint"]
PRIORITIES = ["low", "normal", "normal", "normal", "high", "urgent"]
CHANNELS = ["email", "chat", "phone", "web"]
TARGETS = {"low": 8 * 3600, "normal": 4 * 3600, "high": 3600, "urgent": 900}  # first response, business seconds


def agent_name(number):
    return f"agent{number:04d}"


def month_events(tickets, agents, seed, part=0, parts=1):
    """(source, routing key, envelope) of the whole month (or of the tickets
    ``part`` of ``parts``: every parts-th), the same every time for the same
    arguments: each ticket draws from a generator seeded by its id. Each
    ticket's events carry its own sequence, as ticketing publishes them; about
    4.4 events per ticket, and one exam grade per agent (in part 0)."""
    rnd = random.Random()
    start = datetime.combine(MONTH_START, datetime.min.time(), tzinfo=UTC)
    for number in range(agents if part == 0 else 0):
        rnd.seed(f"exam-{seed}-{number}")
        at = start + timedelta(days=rnd.uniform(0, MONTH_DAYS))
        yield "training", "training.exam_passed", make_envelope(
            service="training", event_type="training.exam_passed", subject=f"training/{agent_name(number)}",
            data={"agent": agent_name(number), "score": float(rnd.randint(50, 100))}, sequence=1,
            event_id=f"exam-{seed}-{number}", time=at)
    for ticket_id in range(1 + part, tickets + 1, parts):
        rnd.seed(seed * 1_000_000_007 + ticket_id)
        owner = rnd.randrange(agents)
        priority = rnd.choice(PRIORITIES)
        created = start + timedelta(seconds=rnd.uniform(0, MONTH_DAYS * 86400))
        facts = {"ticket_id": ticket_id, "assignee": agent_name(owner), "team": f"team{owner % 20:02d}",
                 "kind": rnd.choice(KINDS), "priority": priority, "channel": rnd.choice(CHANNELS),
                 "state": "assigned", "actor": None}
        events, at = [], created

        def emit(event_type, seconds_later, **data):
            nonlocal at
            at = at + timedelta(seconds=seconds_later)
            events.append((event_type, at, dict(facts, **data)))

        def clock(name, seconds, target):
            met = seconds <= target
            emit("sla.clock_stopped", seconds, clock=name, business_seconds=seconds, met=met, target_seconds=target,
                 started_at=created.isoformat(), stopped_at=(at + timedelta(seconds=seconds)).isoformat())

        emit("ticket.created", 0, subject=f"ticket {ticket_id}", tags=[], created_at=created.isoformat())
        if rnd.random() < 0.25:
            emit("ticket.assigned", rnd.uniform(1, 120), previous_assignee=None)
        if rnd.random() < 0.95:
            clock("first_response", round(rnd.expovariate(1 / (0.4 * TARGETS[priority])), 3), TARGETS[priority])
        transfers = 0
        if rnd.random() < 0.12:
            owner, transfers = rnd.randrange(agents), 1
            previous = facts["assignee"]
            facts.update(assignee=agent_name(owner), team=f"team{owner % 20:02d}")
            emit("ticket.transferred", rnd.uniform(60, 7200), previous_assignee=previous, transfer_count=1)
        if rnd.random() < 0.85:
            resolution_target = 6 * TARGETS[priority]
            emit("ticket.resolved", rnd.uniform(600, 86400), first_contact_resolution=not transfers,
                 reopen_count=0, transfer_count=transfers)
            clock("resolution", round(rnd.expovariate(1 / (0.5 * resolution_target)), 3), resolution_target)
            if rnd.random() < 0.06:
                emit("ticket.reopened", rnd.uniform(3600, 12 * 86400), reopen_count=1)
                if rnd.random() < 0.6:
                    emit("ticket.resolved", rnd.uniform(600, 86400), first_contact_resolution=False, reopen_count=1,
                         transfer_count=transfers)
                    clock("resolution", round(rnd.expovariate(1 / (0.5 * resolution_target)), 3), resolution_target)
            if rnd.random() < 0.3:
                score = rnd.choice((1, 2, 3, 3, 4, 4, 4, 5, 5, 5))
                emit("ticket.rated", rnd.uniform(60, 86400), score=score, top_box=score >= 4, resolution=1)
        if rnd.random() < 0.03:
            emit("sla.breached", rnd.uniform(60, 3600), clock="resolution")
        for sequence, (event_type, at_, data) in enumerate(events, start=1):
            yield "ticketing", event_type, make_envelope(
                service="ticketing", event_type=event_type, subject=f"ticket/{ticket_id}", data=data,
                sequence=sequence, event_id=f"t{seed}-{ticket_id}-{sequence}", time=at_,
                data_version=DATA_VERSIONS[event_type])


# -- publishing ----------------------------------------------------------------------------------------------------
class ConfirmedPublisher:
    """Publishes on one channel in confirm mode, awaiting the broker's acks only
    when ``window`` messages are unconfirmed (not one round trip per message)."""

    def __init__(self, channel, window=CONFIRM_WINDOW):
        self.channel, self.window = channel, window
        self.next_tag, self.pending, self.acked_singly, self.nacked = 1, deque(), set(), 0
        channel.confirm_select()
        channel.events["basic_ack"].add(self.settle)
        channel.events["basic_nack"].add(self.refuse)

    def settle(self, tag, multiple):
        if multiple:
            while self.pending and self.pending[0] <= tag:
                self.pending.popleft()
        else:
            self.acked_singly.add(tag)
        while self.pending and self.pending[0] in self.acked_singly:
            self.acked_singly.discard(self.pending.popleft())

    def refuse(self, tag, multiple, *_):
        self.nacked += 1
        self.settle(tag, multiple)

    def publish(self, body, exchange, routing_key):
        message = amqp.Message(body, content_type=CONTENT_TYPE, content_encoding="utf-8", delivery_mode=2)
        self.channel.basic_publish(message, exchange=exchange, routing_key=routing_key)
        self.pending.append(self.next_tag)
        self.next_tag += 1
        if len(self.pending) >= self.window:
            self.drain(self.window // 2)

    def drain(self, down_to=0, timeout=120):
        deadline = time.monotonic() + timeout
        while len(self.pending) > down_to:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(self.pending)} publishes unconfirmed after {timeout}s")
            self.channel.connection.drain_events(timeout=timeout)


PUBLISHED = None  # a shared counter of the publishing processes (fork start: inherited)


def publish_part(amqp_uri, args, part, parts):
    counts = {}
    with Connection(amqp_uri) as connection:
        publisher = ConfirmedPublisher(connection.channel())
        for source, routing_key, envelope in month_events(args.tickets, args.agents, args.seed, part, parts):
            publisher.publish(json.dumps(envelope), exchange_name(source), routing_key)
            counts[routing_key] = counts.get(routing_key, 0) + 1
            if publisher.next_tag % 1000 == 0:
                with PUBLISHED.get_lock():
                    PUBLISHED.value += 1000
        publisher.drain()
    return counts, publisher.nacked


def publish_month(amqp_uri, args):
    """The month through ``--publishers`` processes, each a share of the tickets on a connection of its own."""
    global PUBLISHED
    parts = args.publishers
    say(f"publishing the month: {args.agents} agents, {args.tickets:,} tickets, {parts} publishing processes "
        f"(confirms awaited every {CONFIRM_WINDOW // 2:,}-{CONFIRM_WINDOW:,} messages)")
    context = multiprocessing.get_context("fork")
    PUBLISHED = context.Value("q", 0)
    started = time.perf_counter()
    with context.Pool(parts) as pool:
        pending = pool.starmap_async(publish_part, [(amqp_uri, args, part, parts) for part in range(parts)])
        while not pending.ready():
            pending.wait(5)
            if not pending.ready():
                done = PUBLISHED.value
                say(f"  published {done:,} events ({done / (time.perf_counter() - started):,.0f}/s)")
        answers = pending.get()
        pool.close()  # let the workers end: leaving the block terminates them with SIGTERM (our KeyboardInterrupt)
        pool.join()
    seconds = time.perf_counter() - started
    counts = {}
    for part_counts, _ in answers:
        for key, value in part_counts.items():
            counts[key] = counts.get(key, 0) + value
    nacked = sum(refused for _, refused in answers)
    if nacked:
        raise RuntimeError(f"the broker refused (nack) {nacked} publishes")
    total = sum(counts.values())
    say(f"published and confirmed {total:,} events in {seconds:.1f}s ({total / seconds:,.0f}/s)")
    return {"events": total, "by_type": dict(sorted(counts.items())), "seconds": round(seconds, 2),
            "per_second": round(total / seconds), "processes": parts}


# -- the database --------------------------------------------------------------------------------------------------
def dsn_of(database_url):
    parsed = urlparse(database_url)
    return f"host={parsed.hostname} port={parsed.port or 5432} user={parsed.username} dbname={parsed.path[1:]}"


def connect(database_url):
    connection = psycopg2.connect(dsn_of(database_url))
    connection.autocommit = True
    return connection


def scalar(connection, sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def ingest_baseline(database_url, args):
    """The same facts as plain multi-row INSERTs into a copy of ``facts``, one
    transaction per ``--batch`` rows; only the database's time is counted."""
    say(f"ingest baseline: the same facts, INSERT of {args.batch} rows + COMMIT into a copy of facts")
    connection = connect(database_url)
    connection.autocommit = False
    rows, inserted, seconds = [], 0, 0.0
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_facts (LIKE facts INCLUDING ALL)")
        connection.commit()

        def flush():
            nonlocal rows, inserted, seconds
            began = time.perf_counter()
            execute_values(cursor, "INSERT INTO bench_facts (event_id, type, sequence, time, ticket_id, agent, data) "
                                   "VALUES %s", rows, page_size=len(rows))
            connection.commit()
            seconds += time.perf_counter() - began
            inserted += len(rows)
            rows = []

        last = time.monotonic()
        for _, event_type, envelope in month_events(args.tickets, args.agents, args.seed):
            data = envelope["data"]
            rows.append((envelope["id"], event_type, sequence_number(envelope), envelope["time"], data.get("ticket_id"),
                         data.get("assignee", data.get("agent")), json.dumps(data)))
            if len(rows) >= args.batch:
                flush()
                if time.monotonic() - last >= 5:
                    last = time.monotonic()
                    say(f"  baseline: {inserted:,} rows ({inserted / seconds:,.0f}/s)")
        if rows:
            flush()
        cursor.execute("DROP TABLE bench_facts")
        connection.commit()
    connection.close()
    say(f"ingest baseline: {inserted:,} rows in {seconds:.1f}s of database time ({inserted / seconds:,.0f}/s)")
    return {"rows": inserted, "seconds": round(seconds, 2), "per_second": round(inserted / seconds),
            "batch": args.batch}


def load_records(database_url, args):
    """The state ingest would leave, written straight to the tables: every
    event kept as a fact and each ticket's record and measures (and each exam's
    measure) derived from its facts by appraisal's own code (``facts.project``),
    with multi-row INSERTs. For timing the cycle at sizes whose ingest takes an
    hour (``--records-only``)."""
    say(f"writing the month's facts and ticket records directly ({args.tickets:,} tickets)")
    connection = connect(database_url)
    connection.autocommit = False
    facts_written, records, measures, ticket_facts, current = 0, [], [], [], None
    started = last = time.monotonic()
    with connection.cursor() as cursor:
        def flush(fact_rows):
            execute_values(cursor, "INSERT INTO facts (event_id, type, sequence, time, ticket_id, agent, data) "
                                   "VALUES %s", fact_rows, page_size=1000)
            if records:
                columns = list(records[0])
                execute_values(cursor, f"INSERT INTO ticket_records ({', '.join(columns)}) VALUES %s",
                               [tuple(row[c] for c in columns) for row in records], page_size=1000)
                records.clear()
            if measures:
                columns = list(measures[0])
                execute_values(cursor, f"INSERT INTO measures ({', '.join(columns)}) VALUES %s",
                               [tuple(row[c] for c in columns) for row in measures], page_size=1000)
                measures.clear()
            connection.commit()

        def close_ticket():
            if current is not None:
                record, derived = facts.project(current, [facts.Fact(t, q, datetime.fromisoformat(at), d)
                                                          for t, q, at, d in ticket_facts])
                records.append(record_row(record))
                measures.extend(measure_row(measure, ticket_id=current) for measure in derived)
                ticket_facts.clear()

        fact_rows = []
        for _, event_type, envelope in month_events(args.tickets, args.agents, args.seed):
            data = envelope["data"]
            ticket_id = data.get("ticket_id")
            if ticket_id != current:
                close_ticket()
                current = ticket_id
            if ticket_id is not None:
                ticket_facts.append((event_type, sequence_number(envelope), envelope["time"], data))
            elif event_type.startswith("training.exam_"):
                measures.append(measure_row(facts.exam_measure(facts.Fact(
                    event_type, sequence_number(envelope), datetime.fromisoformat(envelope["time"]), data),
                    data["agent"]), event_id=envelope["id"]))
            fact_rows.append((envelope["id"], event_type, sequence_number(envelope), envelope["time"], ticket_id,
                              data.get("assignee", data.get("agent")), json.dumps(data)))
            if len(fact_rows) >= 20000:
                flush(fact_rows)
                facts_written += len(fact_rows)
                fact_rows = []
                if time.monotonic() - last >= 5:
                    last = time.monotonic()
                    say(f"  {facts_written:,} facts written ({facts_written / (last - started):,.0f}/s)")
        close_ticket()
        flush(fact_rows)
        facts_written += len(fact_rows)
    written = scalar(connection, "SELECT count(*) FROM ticket_records")
    connection.close()
    say(f"wrote {facts_written:,} facts, {written:,} ticket records and their measures in "
        f"{time.monotonic() - started:.0f}s")
    return {"events": facts_written, "ticket_records": written}


# -- the service ---------------------------------------------------------------------------------------------------
class Appraisal(ServiceReplicas):
    """``appraisal.service:AppraisalService`` in ``replicas`` processes (competing consumers of the same queues)."""

    def __init__(self, database_url, amqp_uri, log_level, workdir, replicas=1):
        super().__init__("appraisal", "appraisal.service:AppraisalService", dict(
            AMQP_URI=amqp_uri, APPRAISAL_DATABASE_URL=database_url, METRICS_PORT="0", LOG_LEVEL=log_level),
            workdir, replicas)
        say(f"started appraisal (pids {', '.join(str(process.pid) for process in self.processes)})")

    def stop(self):
        super().stop()
        say("appraisal stopped")


def inserted_so_far(connection):
    """Facts inserted per the statistics collector (cheap; lags up to a second)."""
    return scalar(connection, "SELECT coalesce(sum(n_tup_ins), 0)::bigint FROM pg_stat_user_tables "
                              "WHERE relname = 'facts'")


def ingest(database_url, service, expected, args):
    """Seconds from the first fact stored to the last, with CPU per process."""
    connection = connect(database_url)
    deadline = time.monotonic() + args.start_timeout
    while not scalar(connection, "SELECT EXISTS (SELECT 1 FROM facts)"):
        if not service.alive():
            raise RuntimeError(f"appraisal exited:\n{service.tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"no fact stored {args.start_timeout}s after the start:\n{service.tail()}")
        time.sleep(0.02)
    first = time.perf_counter()
    meter = CpuMeter(service.pids)
    meter.start()
    say(f"first fact stored; consuming {expected:,} events")
    last_report, progress, progressed_at, stored = time.monotonic(), 0, time.monotonic(), 0
    window = deque([(time.perf_counter(), 0)], maxlen=6)
    while True:
        time.sleep(0.2)
        if not service.alive():
            raise RuntimeError(f"appraisal exited:\n{service.tail()}")
        stored = inserted_so_far(connection)
        if stored >= 0.99 * expected or time.monotonic() - progressed_at > 10:
            stored = scalar(connection, "SELECT count(*) FROM facts")
            if stored >= expected:
                break
        if stored > progress:
            progress, progressed_at = stored, time.monotonic()
        elif time.monotonic() - progressed_at > args.stall_seconds:
            raise RuntimeError(f"no fact stored for {args.stall_seconds}s at {stored:,} of {expected:,}:\n"
                               f"{service.tail()}")
        if time.monotonic() - last_report >= 5:
            last_report = time.monotonic()
            window.append((time.perf_counter(), stored))
            recent = (window[-1][1] - window[0][1]) / max(1e-9, window[-1][0] - window[0][0])
            elapsed = time.perf_counter() - first
            say(f"  facts {stored:,} of {expected:,} ({100 * stored / expected:.0f}%): {stored / elapsed:,.0f}/s "
                f"overall, {recent:,.0f}/s lately")
        if time.perf_counter() - first > args.ingest_timeout:
            raise RuntimeError(f"ingest not done after {args.ingest_timeout}s ({stored:,} of {expected:,})")
    seconds = time.perf_counter() - first
    cpu = meter.stop()
    records = scalar(connection, "SELECT count(*) FROM ticket_records")
    connection.close()
    say(f"ingest: {expected:,} facts in {seconds:.1f}s ({expected / seconds:,.0f}/s); {records:,} ticket records")
    return {"facts": expected, "seconds": round(seconds, 2), "per_second": round(expected / seconds),
            "ticket_records": records, "cpu": cpu}


def dead_letters(amqp_uri):
    vhost = unquote(urlparse(amqp_uri).path[1:])
    queues = requests.get(f"{MGMT}/api/queues/{quote(vhost, safe='')}", auth=MGMT_AUTH, timeout=30).json()
    return {queue["name"]: queue.get("messages", 0) for queue in queues
            if queue["name"].endswith(".dlq") and queue.get("messages", 0)}


# -- the cycle -----------------------------------------------------------------------------------------------------
DEFINITIONS = [  # (key, category, measure, direction, target, floor, weight)
    ("speed", "efficiency", "first_response_mean", "lower_better", 600, 7200, 20),
    ("speed_p90", "efficiency", "first_response_p90", "lower_better", 1800, 21600, 10),
    ("resolution", "efficiency", "resolution_mean", "lower_better", 3600, 86400, 15),
    ("sla", "quality", "sla_compliance", "higher_better", 0.98, 0.6, 15),
    ("fcr", "problem_solving", "first_contact_rate", "higher_better", 0.95, 0.5, 15),
    ("csat", "quality", "csat_mean", "higher_better", 5, 1, 15),
    ("volume", "volume", "volume", "higher_better", 3000, 100, 5),
    ("exam", "quality", "exam_score", "higher_better", 100, 50, 5),
]
TEMPLATE = {
    "name": "Agents monthly (bench)", "role": "agent", "period_type": "monthly",
    "items": [{"kpi": key, "weight": weight} for key, *_, weight in DEFINITIONS],
    "reviewer_weights": {"supervisor": 60, "quality": 40},
    "bands": [{"grade": "A", "min_score": 85, "bonus_tier": 1, "promotion_eligible": True},
              {"grade": "B", "min_score": 60, "bonus_tier": 2},
              {"grade": "C", "min_score": 0, "warning": True, "retraining_course_id": 42}],
}

# The hand-written baseline: kpis/rules.py's definitions as one statement over the measures (ratios over counts,
# nearest-rank percentiles).
AGGREGATE = """
SELECT agent,
       count(*) FILTER (WHERE kind = 'received') AS volume,
       avg(value) FILTER (WHERE kind = 'first_response') AS first_response_mean,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY value) FILTER (WHERE kind = 'first_response') AS first_response_p50,
       percentile_disc(0.9) WITHIN GROUP (ORDER BY value) FILTER (WHERE kind = 'first_response') AS first_response_p90,
       avg(value) FILTER (WHERE kind = 'first_resolution') AS first_resolution_mean,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY value) FILTER (WHERE kind = 'first_resolution')
           AS first_resolution_p50,
       percentile_disc(0.9) WITHIN GROUP (ORDER BY value) FILTER (WHERE kind = 'first_resolution')
           AS first_resolution_p90,
       avg(value) FILTER (WHERE kind = 'full_resolution') AS resolution_mean,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY value) FILTER (WHERE kind = 'full_resolution') AS resolution_p50,
       percentile_disc(0.9) WITHIN GROUP (ORDER BY value) FILTER (WHERE kind = 'full_resolution') AS resolution_p90,
       count(*) FILTER (WHERE kind = 'sla_met')::float8
           / nullif(count(*) FILTER (WHERE kind IN ('sla_met', 'sla_breach')), 0) AS sla_compliance,
       count(*) FILTER (WHERE kind = 'first_contact')::float8
           / nullif(count(*) FILTER (WHERE kind = 'contact_resolved'), 0) AS first_contact_rate,
       count(*) FILTER (WHERE kind = 'first_resolution')::float8
           / nullif(count(DISTINCT ticket_id) FILTER (WHERE kind = 'handled'), 0) AS resolution_rate,
       count(*) FILTER (WHERE kind = 'reopened')::float8
           / nullif(count(*) FILTER (WHERE kind = 'resolved'), 0) AS reopen_rate,
       count(*) FILTER (WHERE kind = 'transfer')::float8
           / nullif(count(*) FILTER (WHERE kind = 'received'), 0) AS transfer_rate,
       count(*) FILTER (WHERE kind = 'complaint')::float8
           / nullif(count(*) FILTER (WHERE kind = 'received'), 0) AS complaint_rate,
       avg(value) FILTER (WHERE kind = 'csat') AS csat_mean,
       count(*) FILTER (WHERE kind = 'csat_top')::float8
           / nullif(count(*) FILTER (WHERE kind = 'csat'), 0) AS csat_top2
FROM measures
WHERE at >= %(start)s AND at < %(end)s AND agent IS NOT NULL AND kind <> 'exam'
GROUP BY agent
"""
COMPARED = [key for key in KPI_KEYS if key != "exam_score"]  # exam grades: not in the aggregate


def aggregate(connection, start, end):
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(AGGREGATE, {"start": start, "end": end})
        columns = [column.name for column in cursor.description]
        rows = {row[0]: dict(zip(columns[1:], row[1:])) for row in cursor.fetchall()}
    return time.perf_counter() - began, rows


def differs(mine, theirs):
    if mine is None or theirs is None:
        return mine is not theirs
    return not math.isclose(float(mine), float(theirs), rel_tol=1e-9, abs_tol=1e-12)


def cycle(database_url, amqp_uri, service, args):
    config = {"AMQP_URI": amqp_uri, "serializer": "json"}
    start = datetime.combine(MONTH_START, datetime.min.time(), tzinfo=UTC)
    end = start + timedelta(days=MONTH_DAYS)
    with ServiceRpcProxy("appraisal", config, timeout=args.rpc_timeout, context_data={"actor": "bench"}) as rpc:
        for key, category, measure, direction, target, floor, _ in DEFINITIONS:
            rpc.create_kpi_definition({"key": key, "name": key, "category": category, "source": "measured",
                                       "measure": measure, "direction": direction, "target": target, "floor": floor})
        template = rpc.create_template(TEMPLATE, [])  # no training here: its course 42 taken as there
        planned = rpc.create_cycle({"template_id": template["id"], "period_start": MONTH_START.isoformat()})
        rpc.advance_cycle(planned["id"], {"action": "start"})
        connection = connect(database_url)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE measures")
            cursor.execute("ANALYZE facts")
        say(f"cycle {planned['id']} collecting; timing compute and the hand-written aggregate, {args.repeat}x each")
        aggregate_seconds, compute_seconds, cpu = [], [], {}
        for attempt in range(args.repeat):
            seconds, expected = aggregate(connection, start, end)
            aggregate_seconds.append(seconds)
            say(f"  aggregate: {seconds:.2f}s ({len(expected)} agents)")
            meter = CpuMeter(service.pids)
            meter.start()
            began = time.perf_counter()
            computed = rpc.advance_cycle(planned["id"], {"action": "compute"})
            compute_seconds.append(time.perf_counter() - began)
            cpu = meter.stop()
            say(f"  compute:   {compute_seconds[-1]:.2f}s (state {computed['state']})")
        results = rpc.list_results(planned["id"])["items"]
        connection.close()
    mismatches = []
    # an agent with an exam grade and no ticket in the month has a result but no row in the aggregate
    by_agent = {result["agent"]: result for result in results if result["agent"] in expected}
    if set(by_agent) != set(expected):
        mismatches.append(f"agents differ: {len(by_agent)} results, {len(expected)} in the aggregate; only in "
                          f"results: {sorted(set(by_agent) - set(expected))[:5]}, only in the aggregate: "
                          f"{sorted(set(expected) - set(by_agent))[:5]}")
    for agent in sorted(set(by_agent) & set(expected)):
        for key in COMPARED:
            mine, theirs = by_agent[agent]["kpis"].get(key), expected[agent][key]
            if differs(mine, theirs):
                mismatches.append(f"{agent} {key}: cycle {mine!r}, aggregate {theirs!r}")
    if mismatches:
        say(f"MISMATCH: {len(mismatches)} figures differ between the cycle and the aggregate:")
        for line in mismatches[:20]:
            say(f"  {line}")
    else:
        say(f"the cycle's figures equal the aggregate's for all {len(expected)} agents x {len(COMPARED)} KPIs")
    sample = sorted(by_agent)[:3]
    return {
        "agents": len(results), "repeat": args.repeat,
        "compute_seconds": [round(s, 3) for s in compute_seconds],
        "aggregate_seconds": [round(s, 3) for s in aggregate_seconds],
        "compute_median": round(statistics.median(compute_seconds), 3),
        "aggregate_median": round(statistics.median(aggregate_seconds), 3),
        "mismatches": mismatches, "compared": f"{len(expected)} agents x {len(COMPARED)} KPIs",
        "sample": {agent: {"cycle": {k: by_agent[agent]["kpis"].get(k) for k in COMPARED},
                           "aggregate": {k: expected[agent][k] for k in COMPARED},
                           "score": by_agent[agent]["score"], "grade": by_agent[agent]["grade"]} for agent in sample},
        "cpu_last_compute": cpu,
    }


# -- report -------------------------------------------------------------------------------------------------------
def server_versions(database_url):
    connection = connect(database_url)
    postgres = scalar(connection, "SHOW server_version")
    connection.close()
    try:
        rabbit = requests.get(f"{MGMT}/api/overview", auth=MGMT_AUTH, timeout=10).json().get("rabbitmq_version")
    except requests.RequestException:
        rabbit = "?"
    return postgres, rabbit


def cpu_lines(cpu, events=None):
    """CPU seconds per component (and milliseconds per event when ``events`` is given)."""
    if events is None:
        return ["| component | CPU s |", "| --- | ---: |"] + [
            f"| {name} | {seconds:.2f} |" for name, seconds in cpu["cpu_seconds"].items()]
    return ["| component | CPU s | CPU ms per event |", "| --- | ---: | ---: |"] + [
        f"| {name} | {seconds:.1f} | {1000 * seconds / events:.3f} |" for name, seconds in cpu["cpu_seconds"].items()]


def render(results):
    cycle_, sizes = results["cycle"], results["sizes"]
    ingested = "ingest" in results
    events = results["published"]["events"] if ingested else results["loaded"]["events"]
    lines = [
        "# Appraisal at scale: a month of events, then the cycle", "",
        f"{results['at']}, commit {results['commit']}; {sizes['agents']} agents, {sizes['tickets']:,} tickets, "
        f"{events:,} events, {sizes.get('replicas', 1)} appraisal process(es); command: `{results['command']}`.",
        f"Machine: {results['machine']['cpu']} x {results['machine']['cpus']}, {results['machine']['memory_gb']} GB; "
        f"PostgreSQL {results['machine']['postgres']}, RabbitMQ {results['machine']['rabbitmq']}; busy before the "
        f"run: {100 * results['machine']['busy_before'][0]:.0f}% ({100 * results['machine']['busy_before'][1]:.0f}% "
        "other processes).", "",
        "| measure | value | baseline (same run) | ratio | target | met |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    if ingested:
        ingest_, baseline = results["ingest"], results["ingest_baseline"]
        lines.append(
            f"| ingest, events/s (first to last fact stored) | {ingest_['per_second']:,} | {baseline['per_second']:,} "
            f"(INSERT {baseline['batch']} rows + COMMIT) | {ingest_['per_second'] / baseline['per_second']:.3f} | "
            f">= {TARGET_EVENTS_PER_SECOND:,}/s | "
            f"{'yes' if ingest_['per_second'] >= TARGET_EVENTS_PER_SECOND else 'NO'} |")
    lines += [
        f"| cycle compute, s (median of {cycle_['repeat']}) | {cycle_['compute_median']:.2f} | "
        f"{cycle_['aggregate_median']:.2f} (one SQL aggregate) | {results['cycle_ratio']:.2f}x | "
        f"<= {TARGET_CYCLE_RATIO:g}x | {'yes' if results['cycle_ratio'] <= TARGET_CYCLE_RATIO else 'NO'} |", "",
        f"Compute runs: {', '.join(f'{s:.2f}' for s in cycle_['compute_seconds'])} s; aggregate runs: "
        f"{', '.join(f'{s:.2f}' for s in cycle_['aggregate_seconds'])} s.", "",
    ]
    if ingested:
        lines += [
            f"Publishing (not a target): {results['published']['per_second']:,} events/s with confirms "
            f"from {results['published']['processes']} processes ({results['published']['seconds']:.0f} s). "
            f"Ingest took {ingest_['seconds']:.1f} s for {ingest_['facts']:,} facts and built "
            f"{ingest_['ticket_records']:,} ticket records.", "",
            "Events by type: " + ", ".join(f"{k} {v:,}" for k, v in results["published"]["by_type"].items()) + ".",
            "",
        ]
    else:
        lines += [f"No ingest (`--records-only`): the {events:,} facts and {results['loaded']['ticket_records']:,} "
                  "ticket records were written straight to the tables, each record projected from its facts by "
                  "appraisal's own `facts.project`.", ""]
    lines += [
        f"**Figures checked**: {cycle_['compared']} compared between the cycle's results and the aggregate: "
        + ("all equal (relative tolerance 1e-9)." if not cycle_["mismatches"] else
           f"**{len(cycle_['mismatches'])} MISMATCHES**, first: " + "; ".join(cycle_["mismatches"][:5])), "",
    ]
    if ingested:
        lines += [f"Dead letters after ingest: {results['dead_letters'] or 'none'}.", "",
                  f"## CPU during ingest ({ingest_['seconds']:.0f} s; machine "
                  f"{100 * ingest_['cpu']['machine_busy_share']:.0f}% busy)", "",
                  *cpu_lines(ingest_["cpu"], ingest_["facts"]), ""]
    lines += [f"## CPU during the last compute (machine {100 * cycle_['cpu_last_compute']['machine_busy_share']:.0f}% "
              "busy)", "", *cpu_lines(cycle_["cpu_last_compute"]), ""]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description="Appraisal at scale: ingest a month of events, compute the cycle.")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="20,000 tickets (a few minutes)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--batch", type=int, default=500, help="rows per INSERT in the ingest baseline "
                        "(appraisal's EVENT_BATCH_SIZE default)")
    parser.add_argument("--publishers", type=int, default=os.cpu_count() or 2, help="publishing processes")
    parser.add_argument("--repeat", type=int, default=3, help="compute and aggregate runs (median reported)")
    parser.add_argument("--log-level", default="WARNING", help="appraisal's LOG_LEVEL")
    parser.add_argument("--start-timeout", type=float, default=120)
    parser.add_argument("--stall-seconds", type=float, default=120, help="give up when no fact is stored this long")
    parser.add_argument("--ingest-timeout", type=float, default=3 * 3600)
    parser.add_argument("--rpc-timeout", type=float, default=1800)
    parser.add_argument("--replicas", type=int, default=1, help="appraisal processes consuming (default 1)")
    parser.add_argument("--records-only", action="store_true", help="skip publishing and ingest: write the facts "
                        "and ticket records directly, then time the cycle (written to appraisal_cycle_records.md)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.tickets = 20_000
    stop_on_signals()
    busy = machine_busy()
    say(f"machine busy before the run: {100 * busy[0]:.0f}% of {os.cpu_count()} CPUs ({100 * busy[1]:.0f}% other)")
    results = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "commit": commit(), "sizes": {"agents": args.agents, "tickets": args.tickets, "replicas": args.replicas},
               "command": "python bench/appraisal_cycle.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    workdir = Path(tempfile.mkdtemp(prefix="csops-bench-appraisal-"))
    with scratch("appraisal") as (database_url, amqp_uri):
        say("migrating a fresh database; declaring appraisal's exchanges and queues on a fresh vhost")
        migrate.upgrade("appraisal", database_url)
        declare([AppraisalService], amqp_uri)
        postgres, rabbit = server_versions(database_url)
        results["machine"] = {"cpu": cpu_model(), "cpus": os.cpu_count(), "memory_gb": memory_gb(),
                              "postgres": postgres, "rabbitmq": rabbit, "busy_before": busy}
        if args.records_only:
            results["loaded"] = load_records(database_url, args)
        else:
            results["published"] = publish_month(amqp_uri, args)
            results["ingest_baseline"] = ingest_baseline(database_url, args)
        service = Appraisal(database_url, amqp_uri, args.log_level, workdir, args.replicas)
        try:
            if not args.records_only:
                results["ingest"] = ingest(database_url, service, results["published"]["events"], args)
                results["dead_letters"] = dead_letters(amqp_uri)
            else:
                wait_until_answering("appraisal", {"AMQP_URI": amqp_uri}, timeout=args.start_timeout)
            results["cycle"] = cycle(database_url, amqp_uri, service, args)
        except BaseException:
            say(f"failed; appraisal's log is kept in {workdir}")
            raise
        finally:
            service.stop()
    shutil.rmtree(workdir, ignore_errors=True)
    if not args.records_only:
        results["ingest_ratio"] = round(results["ingest"]["per_second"] / results["ingest_baseline"]["per_second"], 4)
        say(f"ingest {results['ingest']['per_second']:,}/s vs baseline {results['ingest_baseline']['per_second']:,}/s")
    results["cycle_ratio"] = round(results["cycle"]["compute_median"] / results["cycle"]["aggregate_median"], 3)
    name = "appraisal_cycle_records" if args.records_only else "appraisal_cycle"
    report.write(args.out, name, results, render(results))
    say(f"cycle {results['cycle']['compute_median']:.2f}s vs aggregate {results['cycle']['aggregate_median']:.2f}s "
        f"({results['cycle_ratio']:.2f}x); written to {args.out / name}.md")
    if results["cycle"]["mismatches"]:
        say("MISMATCHES between the cycle and the aggregate: see the report")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
