"""Benchmark: durable ticket creation and ticket reads through the gateway, and
ticket.created's propagation to appraisal, each against a raw baseline measured
in the same run (single-row INSERT+COMMIT, single-row SELECT by primary key,
a persistent message's publish with confirm -> a bare consumer).

    make bench                                          # = .venv/bin/python bench/gateway_tickets.py
    .venv/bin/python bench/gateway_tickets.py           # PostgreSQL, 8/32/128 connections, 10 s each
    .venv/bin/python bench/gateway_tickets.py --profile # plus a py-spy pass at 32 connections
    .venv/bin/python bench/gateway_tickets.py --sqlite  # every service on SQLite files instead

What it does, on resources of its own that it removes afterwards:

1. a fresh RabbitMQ vhost (management API on 127.0.0.1:15672) and a fresh
   PostgreSQL database per service (or SQLite files with ``--sqlite``);
   migrates them, declares the topology, binds a test queue to
   ``ticketing.events``/``ticket.created``;
2. starts every process of ``plumbing.services`` with the commands of
   `make up`'s Procfile (``python -m plumbing.serve``), the gateway on a free
   port, a JWT secret and an admin password of its own; waits for
   ``/health``; gets a token;
3. baseline: ``--baseline-connections`` connections each doing single-row
   INSERT+COMMIT into a table of the ticketing database for a fixed time;
4. load: wrk (Lua script ``bench/tickets.lua``; a Python keep-alive
   load generator if wrk is missing) POSTing tickets at each connection count
   for a fixed time; after each level it waits (bounded) for the outbox to be
   relayed and appraisal's queue to empty, so levels do not overlap;
5. reads: a baseline of single-row SELECTs by primary key of the tickets, then
   GET /api/v1/tickets/<id> over those tickets at each connection count, and
   one level of the list endpoint;
6. propagation: tickets created at a modest fixed rate, each timed from its
   201 answer until appraisal's database has its record (polled); baseline:
   persistent messages at the same rate, kombu publish with confirm -> a bare
   kombu consumer on the same broker;
7. durability: no outbox row left unpublished, and the ticket.created events
   on the test queue match the tickets in the database one for one;
8. writes ``bench/results/ticket_create.md`` and ``.json``; with
   ``--profile`` also ``bench/results/profile.md`` and py-spy raw stacks.

Figures are reported as ratios to the baseline; nothing here is a test.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from multiprocessing import get_context
from pathlib import Path
from urllib.parse import quote

from kit import BENCH, VENV_BIN, report, scratch  # first: outside the venv it says how to get one
from kit.console import say, stop_on_signals
from kit.load import paced, raw_round_trip, spread
from kit.machine import CpuMeter, commit, cpu_model, machine_busy, memory_gb, modified_files
from kit.metrics import histogram_delta, scrape
from kit.platform import Platform
from kit.profiles import summarise_stacks
from kit.report import fmt, latency_summary, percentile

import psycopg2
import requests
from kombu import Connection, Exchange, Queue

from plumbing.services import NAMES

LUA_SCRIPT = BENCH / "tickets.lua"

APPRAISAL_QUEUE = "evt-ticketing-ticket.created--appraisal.on_ticket_created"
EVENT_EXCHANGE = "ticketing.events"
TEST_QUEUE = "bench.ticket-created"
TARGET_DURABLE_PER_SECOND = 400
TARGET_P99_MS = 150
TARGET_CONNECTIONS = 32
BASELINE_PAYLOAD = json.dumps({
    "subject": "Bench ticket", "description": "Two debits for order 8812", "channel": "web_form",
    "kind": "complaint", "priority": "high", "tags": ["bench", "billing"],
    "customer": {"name": "Chen Jie", "contact": "+86 139 1234 5678"}})


# ---------------------------------------------------------------------------------------------------------------
# load generators running in worker processes (module level so "spawn" can import them)

# the raw database baselines: one row per statement
BASELINE_SQL = {"insert": "INSERT INTO bench_baseline (payload) VALUES (%s)",
                "select": "SELECT * FROM tickets WHERE id = %s"}


def _statement_worker(backend, target, threads, start_at, stop_at, hold_until, kind, ids):
    """``threads`` connections each doing, until ``stop_at``, a single-row INSERT+COMMIT (``kind`` "insert") or a
    single-row SELECT by primary key of ``ids`` in turn ("select", autocommit); the connections stay open until
    ``hold_until`` so their server processes' CPU can be read."""
    latencies, errors = [], []
    lock = threading.Lock()

    def connect():
        if backend == "postgres":
            connection = psycopg2.connect(target)
            connection.autocommit = kind == "select"  # a read is one round trip, no BEGIN/COMMIT
            return connection
        connection = sqlite3.connect(target, timeout=30, check_same_thread=False)
        connection.execute("PRAGMA busy_timeout=30000")
        return connection

    def loop(connection, offset):
        mine, failed, count = [], 0, offset
        cursor = connection.cursor()
        sql = BASELINE_SQL[kind] if backend == "postgres" else BASELINE_SQL[kind].replace("%s", "?")
        time.sleep(max(0.0, start_at - time.time()))
        while time.time() < stop_at:
            count += 1
            began = time.perf_counter()
            try:
                if kind == "insert":
                    cursor.execute(sql, (BASELINE_PAYLOAD,))
                    connection.commit()
                else:
                    cursor.execute(sql, (ids[count % len(ids)],))
                    cursor.fetchall()
                mine.append(time.perf_counter() - began)
            except Exception:
                failed += 1
                connection.rollback()
        time.sleep(max(0.0, hold_until - time.time()))
        connection.close()
        with lock:
            latencies.extend(mine)
            errors.append(failed)

    connections = [connect() for _ in range(threads)]
    workers = [threading.Thread(target=loop, args=(c, 7919 * i)) for i, c in enumerate(connections)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return latencies, sum(errors)


def _http_worker(port, token, threads, start_at, stop_at, worker_id, mode="create", ids=None):
    """Python fallback for wrk: keep-alive http.client requests until ``stop_at``, as tickets.lua's ``mode``
    (POST a ticket; GET one of ``ids``; GET the newest page)."""
    import http.client

    results = []
    lock = threading.Lock()
    priorities = ("normal", "high", "urgent")

    def loop(thread_id):
        mine, statuses, failures = [], Counter(), 0
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        time.sleep(max(0.0, start_at - time.time()))
        count = 0
        while time.time() < stop_at:
            count += 1
            if mode == "create":
                body = dict(json.loads(BASELINE_PAYLOAD), subject=f"Bench ticket {worker_id}-{thread_id}-{count}",
                            priority=priorities[count % 3])
                method, path, body = "POST", "/api/v1/tickets", json.dumps(body)
            elif mode == "read":
                method, path, body = "GET", f"/api/v1/tickets/{ids[(7919 * thread_id + count) % len(ids)]}", None
            else:
                method, path, body = "GET", "/api/v1/tickets?per_page=20", None
            began = time.perf_counter()
            try:
                connection.request(method, path, body, headers)
                response = connection.getresponse()
                response.read()
                mine.append(time.perf_counter() - began)
                statuses[response.status] += 1
            except Exception:
                failures += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.close()
        with lock:
            results.append((mine, statuses, failures))

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    latencies, statuses, failures = [], Counter(), 0
    for mine, counted, failed in results:
        latencies.extend(mine)
        statuses.update(counted)
        failures += failed
    return latencies, dict(statuses), failures


# ---------------------------------------------------------------------------------------------------------------
# py-spy raw (collapsed) stacks

# functions whose inclusive share is worth naming, whatever the process: (label, function, file part)
WATCHED = [
    ("HTTP: eventlet.wsgi request handling", "handle_one_request", "eventlet/wsgi.py"),
    ("gateway ApiEntrypoint.handle_request (whole request)", "handle_request", "gateway/api.py"),
    ("gateway authorise (JWT + account check)", "authorise", "gateway/api.py"),
    ("  jwt.decode", "decode", "jwt/api_jwt.py"),
    ("  AccountStore.accepts (account DB query per request)", "accepts", "gateway/accounts.py"),
    ("gateway parse_body (json + marshmallow load)", "parse_body", "gateway/api.py"),
    ("gateway create_ticket worker (dump + RPC round trip)", "create_ticket", "gateway/routes/tickets.py"),
    ("gateway response JSON encoding", "json_response", "gateway/api.py"),
    ("nameko RPC proxy: publish request", "publish", "nameko/amqp/publish.py"),
    ("nameko RPC reply listener", "handle_message", "nameko/rpc.py"),
    ("nameko RPC: send the reply (ticketing)", "send_response", "nameko/rpc.py"),
    ("nameko spawn_worker / worker lifecycle", "_run_worker", "nameko/containers.py"),
    ("ticketing create_tickets (whole RPC, one batch)", "create_tickets", "ticketing/tickets/handlers.py"),
    ("  marshmallow load_or_invalid", "load_or_invalid", "plumbing/errors.py"),
    ("  journal (history row)", "journal", "ticketing/tickets/steps.py"),
    ("  publish -> EventRecorder.record (outbox row)", "record", "plumbing/outbox.py"),
    ("  route (no assignee: candidate agents queried, one chosen)", "route", "ticketing/routing/handlers.py"),
    ("  start_clocks (SLA policy choice + due dates)", "start_clocks", "ticketing/sla/handlers.py"),
    ("  BusinessCalendar arithmetic", "", "ticketing/sla/calendar.py"),
    ("  detail (ticket + SLA clock views dumped)", "detail", "ticketing/tickets/steps.py"),
    ("    clock_views", "clock_views", "ticketing/sla/handlers.py"),
    ("SQLAlchemy Session.flush", "flush", "sqlalchemy/orm/session.py"),
    ("SQLAlchemy Session.commit", "commit", "sqlalchemy/orm/session.py"),
    ("SQLAlchemy Session.close", "close", "sqlalchemy/orm/session.py"),
    ("SQLAlchemy statement compile", "_compiler", "sqlalchemy/sql/elements.py"),
    ("SQLAlchemy execute (all)", "_execute_context", "sqlalchemy/engine/base.py"),
    ("SQLAlchemy pool checkout/checkin", "", "sqlalchemy/pool/base.py"),
    ("  pool_pre_ping (SELECT 1 on every checkout)", "do_ping", "sqlalchemy/"),
    ("psycopg2 execute (driver)", "do_execute", "sqlalchemy/engine/default.py"),
    ("marshmallow (all schema load/dump)", "", "marshmallow/schema.py"),
    ("  marshmallow Schema() construction (deep-copies its fields)", "__init__", "marshmallow/schema.py"),
    ("json encode (stdlib)", "", "json/encoder.py"),
    ("json decode (stdlib)", "", "json/decoder.py"),
    ("logging (all)", "", "logging/__init__.py"),
    ("prometheus_client (metrics)", "", "prometheus_client/"),
    ("outbox relay: relay_batch (whole)", "relay_batch", "plumbing/outbox.py"),
    ("outbox relay: Outbox.publish (one confirm per event)", "publish", "plumbing/outbox.py"),
    ("outbox relay: pending_count query", "pending_count", "plumbing/outbox.py"),
    ("kombu Producer.publish (all)", "publish", "kombu/messaging.py"),
    ("kombu connection pool acquire/release", "", "kombu/pools.py"),
    ("kombu/amqp publisher confirm wait", "basic_publish_confirm", "amqp/channel.py"),
    ("amqp frame reading/writing (all)", "", "amqp/"),
    ("appraisal take_ticket_facts (whole handler)", "take_ticket_facts", "appraisal/facts/handlers.py"),
    ("ticketing's webhook deliveries queued with each event", "queue_webhooks", "ticketing/webhooks/handlers.py"),
    ("plumbing consumer (event handler wrapper)", "", "plumbing/consumer.py"),
    ("argon2 (password hashing)", "", "argon2/"),
    ("uuid generation", "", "uuid.py"),
]


# ---------------------------------------------------------------------------------------------------------------
# the run

class Bench:
    def __init__(self, args):
        self.args = args
        self.run_id = f"{datetime.now().strftime('%m%d%H%M%S')}{secrets.token_hex(2)}"
        self.backend = "sqlite" if args.sqlite else "postgres"
        self.tmp = Path(tempfile.mkdtemp(prefix="csops-bench-"))
        self.vhost = f"csops-bench-{self.run_id}"
        self.amqp_uri = scratch.amqp_uri(self.vhost)
        self.databases = {}  # service -> database name (postgres) or file (sqlite)
        self.platform = None
        self.cleanups = []
        self.results = {"levels": [], "notes": []}
        self.failed = False

    # -- set-up ------------------------------------------------------------------------------------------------
    def create_vhost(self):
        say(f"RabbitMQ: creating vhost {self.vhost}")
        self.cleanups.append(self.delete_vhost)
        scratch.create_vhost(self.vhost)

    def delete_vhost(self):
        say(f"RabbitMQ: deleting vhost {self.vhost}")
        scratch.delete_vhost(self.vhost)

    def create_databases(self):
        if self.backend == "sqlite":
            (self.tmp / "var").mkdir()
            self.databases = {service: str(self.tmp / "var" / f"{service}.db") for service in NAMES}
            say(f"SQLite: databases under {self.tmp / 'var'}")
            return
        say("PostgreSQL: creating a database per service")
        self.databases = {service: f"csops_bench_{self.run_id}_{service}" for service in NAMES}
        self.cleanups.append(self.drop_databases)
        scratch.create_databases(self.databases.values())

    def drop_databases(self):
        say("PostgreSQL: dropping the bench databases")
        scratch.drop_databases(self.databases.values())

    def dsn(self, service):
        return f"host=127.0.0.1 port=5432 user=postgres dbname={self.databases[service]}"

    def start_platform(self):
        """Every process, on the run's vhost and databases (SQLite files under the run's folder with --sqlite),
        migrated and declared as `make up` does; a test queue bound to ticket.created before any load."""
        urls = None if self.backend == "sqlite" else {
            service: scratch.database_url(name) for service, name in self.databases.items()}
        self.platform = Platform(self.amqp_uri, self.tmp, urls, MAX_WORKERS=self.args.max_workers,
                                 LOG_LEVEL=self.args.log_level, OUTBOX_POLL_SECONDS=self.args.outbox_poll_seconds)
        self.platform.prepare()
        with Connection(self.amqp_uri) as connection:
            exchange = Exchange(EVENT_EXCHANGE, type="topic", durable=True)
            Queue(TEST_QUEUE, exchange=exchange, routing_key="ticket.created", durable=True)(
                connection.default_channel).declare()
        say(f"bound test queue {TEST_QUEUE} to {EVENT_EXCHANGE} / ticket.created")
        self.cleanups.append(self.platform.stop)
        self.platform.start(self.args.start_timeout)
        self.token = self.platform.token()
        say("got an admin token")
        probe = requests.post(f"{self.platform.base}/api/v1/tickets", timeout=30, data=BASELINE_PAYLOAD,
                              headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        if probe.status_code != 201:
            raise RuntimeError(f"a first ticket was refused ({probe.status_code}): {probe.text[:500]}")
        say(f"a first ticket was created (id {probe.json().get('id')}, state {probe.json().get('state')})")

    # -- measuring helpers ----------------------------------------------------------------------------------------
    def connect(self, service):
        """A DB-API connection to ``service``'s database that sees every commit at once (autocommit)."""
        if self.backend == "postgres":
            connection = psycopg2.connect(self.dsn(service))
            connection.autocommit = True
            return connection
        return sqlite3.connect(self.databases[service], timeout=30, isolation_level=None)

    def query(self, service, sql):
        connection = self.connect(service)
        try:
            cursor = connection.cursor()
            cursor.execute(sql)
            return cursor.fetchone()[0]
        finally:
            connection.close()

    def tickets(self):
        return self.query("ticketing", "SELECT count(*) FROM tickets")

    def ticket_id_range(self):
        """(first id, last id + 1) of the tickets created so far."""
        return (self.query("ticketing", "SELECT coalesce(min(id), 1) FROM tickets"),
                self.query("ticketing", "SELECT coalesce(max(id), 0) FROM tickets") + 1)

    def pending_outbox(self):
        return self.query("ticketing", "SELECT count(*) FROM outbox WHERE published_at IS NULL")

    def queue_depth(self, name):
        with Connection(self.amqp_uri) as connection:
            return connection.default_channel.queue_declare(queue=name, passive=True).message_count

    def pg_stats(self):
        if self.backend != "postgres":
            return {}
        admin = scratch.pg_admin()
        with admin.cursor() as cursor:
            cursor.execute("SELECT datname, xact_commit, xact_rollback, sessions, tup_inserted, tup_updated, "
                           "tup_fetched FROM pg_stat_database WHERE datname = ANY(%s)", (list(self.databases.values()),))
            names = {v: k for k, v in self.databases.items()}
            stats = {names[row[0]]: dict(zip(("commits", "rollbacks", "sessions", "inserted", "updated", "fetched"),
                                             row[1:])) for row in cursor.fetchall()}
        admin.close()
        return stats

    def metrics(self):
        return {name: scrape(self.platform.metrics_url(name)) for name in ("gateway", "ticketing", "appraisal")}

    def cpu_meter(self):
        return CpuMeter(self.platform.pids)

    def wait_drained(self, timeout):
        """Seconds after the load until every accepted request became a relayed ticket (RPC queue
        empty, ticket count still for 0.5 s, no pending outbox row), then until appraisal's queue is empty.

        wrk stops with requests in flight; the platform still creates those tickets, so they count."""
        began = time.monotonic()
        relayed_at = appraised_at = None
        last_count, last_change, clear_since = self.tickets(), 0.0, None
        while time.monotonic() - began < timeout:
            elapsed = time.monotonic() - began
            count = self.tickets()
            if count != last_count:
                last_count, last_change = count, elapsed
            if self.pending_outbox() == 0 and self.queue_depth("rpc-ticketing") == 0:
                clear_since = elapsed if clear_since is None else clear_since
            else:
                clear_since = None
            if clear_since is not None and elapsed - max(clear_since, last_change) >= 0.5:
                relayed_at = max(clear_since, last_change)
                break
            time.sleep(0.1)
        while relayed_at is not None and time.monotonic() - began < timeout:
            if self.queue_depth(APPRAISAL_QUEUE) == 0:
                appraised_at = time.monotonic() - began
                break
            time.sleep(0.1)
        return relayed_at, appraised_at

    # -- 1. baseline ----------------------------------------------------------------------------------------------
    def baseline(self, kind="insert"):
        """Single-row INSERT+COMMITs into a table of the ticketing database (``kind`` "insert", what a creation
        is measured against) or single-row SELECTs by primary key of its tickets ("select", for reads)."""
        connections, seconds = self.args.baseline_connections, self.args.baseline_duration
        target = self.dsn("ticketing") if self.backend == "postgres" else self.databases["ticketing"]
        ids = list(range(*self.ticket_id_range())) if kind == "select" else None
        if kind == "insert":
            self.create_baseline_table(target)
        what = {"insert": "single-row INSERT+COMMIT into a table of",
                "select": f"single-row SELECT by primary key of the {len(ids or ())} tickets in"}[kind]
        split = spread(connections, self.args.generator_processes)
        say(f"baseline: {connections} connections x {what} the ticketing database for {seconds:g} s "
            f"({len(split)} processes)")
        meter, cpu = self.cpu_meter(), {}
        with ProcessPoolExecutor(len(split), mp_context=get_context("spawn")) as pool:
            start_at = time.time() + 2.0  # every process connected and waiting
            stop_at = start_at + seconds
            threading.Timer(max(0.0, start_at - time.time()), meter.start).start()
            # read CPU while the server processes of the baseline connections still exist
            threading.Timer(max(0.0, stop_at + 0.3 - time.time()), lambda: cpu.update(meter.stop())).start()
            futures = [pool.submit(_statement_worker, self.backend, target, n, start_at, stop_at, stop_at + 1.0,
                                   kind, ids) for n in split]
            meter.service_pids.update({pid: "load generator" for pid in pool._processes})
            self.progress(start_at, seconds, "baseline")
            outcomes = [f.result() for f in futures]
        latencies = sorted(x for lats, _ in outcomes for x in lats)
        errors = sum(e for _, e in outcomes)
        result = {
            "statement": kind, "connections": connections, "seconds": seconds, "rows": len(latencies),
            "errors": errors, "rows_per_second": round(len(latencies) / seconds, 1),
            "p50_ms": round(1000 * percentile(latencies, 0.5), 2), "p99_ms": round(1000 * percentile(latencies, 0.99), 2),
            "cpu": cpu,
        }
        say(f"baseline: {result['rows_per_second']:.0f} rows/s, p50 {result['p50_ms']} ms, "
            f"p99 {result['p99_ms']} ms, {errors} errors")
        self.results["baseline" if kind == "insert" else "read_baseline"] = result
        return result

    def create_baseline_table(self, target):
        if self.backend == "postgres":
            ddl = ("CREATE TABLE bench_baseline (id bigserial PRIMARY KEY, payload text NOT NULL, "
                   "created_at timestamptz NOT NULL DEFAULT now())")
            connection = psycopg2.connect(target)
            with connection, connection.cursor() as cursor:
                cursor.execute(ddl)
            connection.close()
        else:
            connection = sqlite3.connect(target)
            connection.execute("CREATE TABLE bench_baseline (id INTEGER PRIMARY KEY, payload TEXT NOT NULL, "
                               "created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)")
            connection.commit()
            connection.close()

    def progress(self, start_at, seconds, what):
        """Print a line every few seconds while a fixed-duration run is going."""
        time.sleep(max(0.0, start_at - time.time()))
        end = start_at + seconds
        while time.time() < end - 0.5:
            time.sleep(min(5.0, max(0.0, end - time.time())))
            done = min(seconds, time.time() - start_at)
            if time.time() < end - 0.5:
                say(f"  {what}: {done:.0f}/{seconds:g} s")

    # -- 2. load ----------------------------------------------------------------------------------------------------
    def load_level(self, connections, seconds, label=None, profile=False):
        label = label or f"{connections} connections"
        tickets_before = self.tickets()
        metrics_before, stats_before = self.metrics(), self.pg_stats()
        meter = self.cpu_meter()
        spies = self.start_profilers(seconds) if profile else []
        say(f"load: {label}, POST /api/v1/tickets for {seconds:g} s with "
            f"{'wrk' if self.use_wrk else 'the Python load generator'}")
        meter.start()
        started = time.monotonic()
        if self.use_wrk:
            outcome = self.run_wrk(connections, seconds)
        else:
            outcome = self.run_python_load(connections, seconds)
        load_seconds = time.monotonic() - started - outcome.get("lead_seconds", 0.0)
        say(f"  {label}: {outcome['requests']} requests, {outcome['rps']:.0f} req/s, p50 {outcome['p50_ms']} ms, "
            f"p99 {outcome['p99_ms']} ms, {outcome['errors']} errors; waiting for requests still in flight and "
            "the outbox to drain")
        # before anything else talks to the platform: the requests wrk left in flight are still being served
        relayed, appraised = self.wait_drained(self.args.drain_timeout)
        cpu = meter.stop()  # the in-flight tickets, their relay and appraisal's work are in the window too
        metrics_after = self.metrics()
        created = self.tickets() - tickets_before
        stats_after = self.pg_stats()
        for spy in spies:
            spy["process"].wait(seconds + 30)
        durable_seconds = load_seconds + (relayed if relayed is not None else self.args.drain_timeout)
        window_seconds = load_seconds + (appraised or relayed or self.args.drain_timeout) + 0.5
        level = dict(
            outcome, label=label, connections=connections, tickets_created=created,
            outbox_drained_after_s=None if relayed is None else round(relayed, 2),
            appraisal_drained_after_s=None if appraised is None else round(appraised, 2),
            durable_per_second=round(created / durable_seconds, 1) if relayed is not None else None,
            gateway_http=histogram_delta(metrics_before["gateway"], metrics_after["gateway"],
                                         "csops_http_request_duration_seconds", route="/api/v1/tickets",
                                         method="POST", status="201"),
            ticketing_rpc=histogram_delta(metrics_before["ticketing"], metrics_after["ticketing"],
                                          "csops_rpc_duration_seconds", method="create_tickets", outcome="success"),
            cpu=cpu,
            other_cpu_share=round(cpu["cpu_seconds"].get("other", 0.0) / (window_seconds * (os.cpu_count() or 1)), 3),
            cpu_ms_per_ticket={k: round(1000 * v / max(1, created), 2) for k, v in cpu["cpu_seconds"].items()},
            db_per_ticket={service: {k: round((v - stats_before.get(service, {}).get(k, 0)) / max(1, created), 2)
                                     for k, v in values.items()}
                           for service, values in stats_after.items() if service in ("gateway", "ticketing", "appraisal")},
            profiled=profile,
        )
        if relayed is None:
            say(f"  tickets still being created or relayed after {self.args.drain_timeout:g} s")
        else:
            say(f"  {created} tickets, all created and relayed {relayed:.1f} s after the load -> "
                f"{level['durable_per_second']:.0f} durable creations/s; appraisal queue empty after "
                f"{appraised if appraised is None else round(appraised, 1)} s")
        if profile:
            level["profiles"] = self.summarise_profiles(spies, seconds)
        return level

    # -- 3. reads ----------------------------------------------------------------------------------------------------
    READS = {  # mode: (what, the gateway's route label, ticketing's RPC method)
        "read": ("GET /api/v1/tickets/<id>", "/api/v1/tickets/<int:ticket_id>", "get_ticket"),
        "list": ("GET /api/v1/tickets?per_page=20", "/api/v1/tickets", "list_tickets"),
    }

    def read_level(self, connections, seconds, mode):
        """Reads of the tickets created so far at ``connections``: req/s, latency, CPU per request."""
        what, route, method = self.READS[mode]
        ids = list(range(*self.ticket_id_range()))
        metrics_before, meter = self.metrics(), self.cpu_meter()
        say(f"reads: {what} at {connections} connections for {seconds:g} s ({len(ids)} tickets)")
        meter.start()
        started = time.monotonic()
        outcome = (self.run_wrk if self.use_wrk else self.run_python_load)(connections, seconds, mode, ids)
        window_seconds = time.monotonic() - started
        cpu = meter.stop()
        metrics_after = self.metrics()
        answered = max(1, outcome["requests"] - outcome["errors"])
        level = dict(
            outcome, label=what, mode=mode, connections=connections, cpu=cpu,
            other_cpu_share=round(cpu["cpu_seconds"].get("other", 0.0) / (window_seconds * (os.cpu_count() or 1)), 3),
            cpu_ms_per_request={k: round(1000 * v / answered, 2) for k, v in cpu["cpu_seconds"].items()},
            gateway_http=histogram_delta(metrics_before["gateway"], metrics_after["gateway"],
                                         "csops_http_request_duration_seconds", route=route, method="GET",
                                         status="200"),
            ticketing_rpc=histogram_delta(metrics_before["ticketing"], metrics_after["ticketing"],
                                          "csops_rpc_duration_seconds", method=method, outcome="success"),
        )
        say(f"  {what} at {connections}: {outcome['rps']:.0f} req/s, p50 {outcome['p50_ms']} ms, "
            f"p99 {outcome['p99_ms']} ms, {outcome['errors']} errors")
        return level

    def reads(self):
        self.baseline("select")
        self.results["read_levels"] = [self.read_level(connections, self.args.duration, "read")
                                       for connections in self.args.read_connections]
        if self.args.list_connections:
            self.results["read_levels"].append(self.read_level(self.args.list_connections, self.args.duration, "list"))

    # -- 4. event propagation ------------------------------------------------------------------------------------------
    def propagation(self):
        """Tickets created at a modest fixed rate; for each, seconds from its 201 answer until appraisal's
        database has its record (polled); then the raw broker's round trip at the same rate."""
        count, rate, poll = self.args.propagation_tickets, self.args.propagation_rate, self.args.poll_ms / 1000
        first_new = self.ticket_id_range()[1]
        answered, seen, refused = {}, {}, []
        created_in = []
        stop = threading.Event()
        local, sessions = threading.local(), []
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}

        def create(i):
            if not hasattr(local, "session"):
                local.session = requests.Session()
                sessions.append(local.session)
            body = dict(json.loads(BASELINE_PAYLOAD), subject=f"Propagation ticket {i}")
            began = time.monotonic()
            response = local.session.post(f"{self.platform.base}/api/v1/tickets", json=body, headers=headers, timeout=30)
            at = time.monotonic()
            if response.status_code == 201:
                answered[response.json()["id"]] = at
                created_in.append(at - began)
            else:
                refused.append(response.status_code)

        def watch():  # appraisal's records of the new tickets, each stamped when first seen
            connection = self.connect("appraisal")
            cursor = connection.cursor()
            while not stop.is_set():
                polled_at = time.monotonic()  # a row this query sees was committed before it started
                cursor.execute(f"SELECT ticket_id FROM ticket_records WHERE ticket_id >= {int(first_new)}")
                for (ticket_id,) in cursor.fetchall():
                    seen.setdefault(ticket_id, polled_at)
                time.sleep(poll)
            connection.close()

        say(f"propagation: {count} tickets at {rate:g}/s through the gateway; appraisal's database polled every "
            f"{self.args.poll_ms:g} ms for their records")
        meter, began = self.cpu_meter(), time.monotonic()
        meter.start()
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            paced(count, rate, create, workers=8)
            deadline = time.monotonic() + self.args.drain_timeout
            while not set(answered) <= set(seen) and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            stop.set()
            watcher.join(5)
            for session in sessions:  # no keep-alive connection left to hold the gateway up when it stops
                session.close()
        delays = [seen[t] - answered[t] for t in answered if t in seen]
        result = {
            "tickets": count, "rate": rate, "poll_ms": self.args.poll_ms, "refused": len(refused),
            "missing": len(set(answered) - set(seen)), "seen_before_the_answer": sum(d < 0 for d in delays),
            "created": latency_summary(created_in), "propagated": latency_summary(delays),
        }
        say(f"  ticket.created -> appraisal record: p50 {result['propagated']['p50_ms']} ms, "
            f"p99 {result['propagated']['p99_ms']} ms ({result['missing']} missing, {len(refused)} refused)")
        say(f"propagation baseline: {count} persistent messages at {rate:g}/s, kombu publish with confirm -> "
            "a bare kombu consumer")
        round_trip = raw_round_trip(self.amqp_uri, count, rate, json.loads(BASELINE_PAYLOAD))
        cpu = meter.stop()
        result["machine_busy_share"] = cpu["machine_busy_share"]  # both parts
        result["other_cpu_share"] = round(cpu["cpu_seconds"].get("other", 0.0)
                                          / ((time.monotonic() - began) * (os.cpu_count() or 1)), 3)
        say(f"  raw round trip: p50 {round_trip['consumed']['p50_ms']} ms, p99 {round_trip['consumed']['p99_ms']} ms "
            f"(confirm alone p50 {round_trip['confirm']['p50_ms']} ms), {round_trip['lost']} lost")
        self.results["propagation"], self.results["round_trip"] = result, round_trip

    def run_wrk(self, connections, seconds, mode="create", ids=None):
        """wrk with tickets.lua in ``mode`` (create, read of ``ids``, list)."""
        threads = max(1, min(connections, os.cpu_count() or 1))
        argv = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s", "--timeout", "10s",
                "-s", str(LUA_SCRIPT), self.platform.base]
        env = dict(os.environ, BENCH_TOKEN=self.token, BENCH_MODE=mode)
        if ids:
            env.update(BENCH_FIRST_ID=str(ids[0]), BENCH_LAST_ID=str(ids[-1]))
        process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.progress(time.time(), seconds, f"{connections} connections")
        output, _ = process.communicate(timeout=seconds + 60)
        line = next((l for l in output.splitlines() if l.startswith("BENCH_JSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk printed no summary:\n{output}")
        data = json.loads(line.split(" ", 1)[1])
        duration = data["duration_us"] / 1e6
        socket_errors = data["connect_errors"] + data["read_errors"] + data["write_errors"] + data["timeouts"]
        ok = data["requests"] - data["non2xx"]
        return {
            "tool": "wrk", "requests": data["requests"], "seconds": round(duration, 2),
            "rps": round(ok / duration, 1), "p50_ms": round(data["p50_us"] / 1000, 1),
            "p90_ms": round(data["p90_us"] / 1000, 1), "p99_ms": round(data["p99_us"] / 1000, 1),
            "max_ms": round(data["max_us"] / 1000, 1), "non2xx": data["non2xx"], "socket_errors": socket_errors,
            "errors": data["non2xx"] + socket_errors, "wrk": data,
        }

    def run_python_load(self, connections, seconds, mode="create", ids=None):
        split = spread(connections, self.args.generator_processes)
        entered = time.time()
        with ProcessPoolExecutor(len(split), mp_context=get_context("spawn")) as pool:
            start_at = time.time() + 2.0
            lead = start_at - entered  # worker start-up before the first request: not load time
            futures = [pool.submit(_http_worker, self.platform.ports["gateway"], self.token, n, start_at, start_at + seconds, i,
                                   mode, ids) for i, n in enumerate(split)]
            self.progress(start_at, seconds, f"{connections} connections")
            outcomes = [f.result() for f in futures]
        latencies = sorted(x for lats, _, _ in outcomes for x in lats)
        statuses = Counter()
        for _, counted, _ in outcomes:
            statuses.update(counted)
        failures = sum(f for _, _, f in outcomes)
        non2xx = sum(n for status, n in statuses.items() if not 200 <= status < 300)
        return {
            "tool": "python", "requests": len(latencies), "seconds": seconds,
            "rps": round((len(latencies) - non2xx) / seconds, 1),
            "p50_ms": round(1000 * percentile(latencies, 0.5), 1) if latencies else None,
            "p90_ms": round(1000 * percentile(latencies, 0.9), 1) if latencies else None,
            "p99_ms": round(1000 * percentile(latencies, 0.99), 1) if latencies else None,
            "max_ms": round(1000 * latencies[-1], 1) if latencies else None,
            "non2xx": non2xx, "socket_errors": failures, "errors": non2xx + failures, "statuses": dict(statuses),
            "lead_seconds": round(lead, 2),
        }

    # -- profiling ----------------------------------------------------------------------------------------------
    def start_profilers(self, seconds):
        spy = shutil.which("py-spy") or str(VENV_BIN / "py-spy")
        if not Path(spy).exists() and not shutil.which("py-spy"):
            self.results["notes"].append("py-spy not installed: `.venv/bin/pip install py-spy`; no profile taken")
            say("py-spy not found; skipping the profile")
            return []
        out = self.args.out / "profile"
        out.mkdir(parents=True, exist_ok=True)
        spies = []
        record_seconds = max(1, int(seconds) - 1)  # attached 1 s before the load, so stop inside it
        for name in self.args.profile_processes:
            raw = out / f"{name}.txt"
            argv = [spy, "record", "-p", str(self.platform.processes[name].pid), "-d", str(record_seconds), "-r",
                    str(self.args.profile_rate), "--nonblocking", "--gil", "--nolineno", "--format", "raw",
                    "-o", str(raw)]
            process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(self.tmp / f"py-spy-{name}.log", "wb"))
            spies.append({"name": name, "raw": raw, "process": process, "seconds": record_seconds})
        say(f"py-spy recording {', '.join(self.args.profile_processes)} at {self.args.profile_rate} Hz")
        time.sleep(1.0)  # attached before the load starts
        return spies

    def summarise_profiles(self, spies, seconds):
        summaries = {}
        for spy in spies:
            if spy["raw"].exists():
                summaries[spy["name"]] = summarise_stacks(spy["raw"], self.args.profile_rate, spy["seconds"], WATCHED)
            else:
                summaries[spy["name"]] = {"error": (self.tmp / f"py-spy-{spy['name']}.log").read_text(errors="replace")}
        return summaries

    # -- 5. durability ------------------------------------------------------------------------------------------------
    def durability(self):
        say("durability: waiting for every outbox row to be published")
        deadline = time.monotonic() + self.args.drain_timeout
        pending = self.pending_outbox()
        while pending and time.monotonic() < deadline:
            time.sleep(0.2)
            pending = self.pending_outbox()
        tickets = self.tickets()
        outbox_rows = self.query("ticketing", "SELECT count(*) FROM outbox WHERE event_type = 'ticket.created'")
        say(f"durability: {pending} pending outbox rows; draining {TEST_QUEUE} ({tickets} tickets expected)")
        received, ids = 0, Counter()
        with Connection(self.amqp_uri) as connection:
            channel = connection.channel()
            channel.basic_qos(0, 2000, False)
            last = time.monotonic()

            def on_message(message):
                nonlocal received, last
                received += 1
                last = time.monotonic()
                ids[json.loads(message.body)["data"]["ticket_id"]] += 1

            queue = Queue(TEST_QUEUE, exchange=Exchange(EVENT_EXCHANGE, type="topic", durable=True),
                          routing_key="ticket.created", durable=True)
            # on_message: raw bodies, no kombu decoding of the cloudevents content type
            with connection.Consumer([queue], channel=channel, on_message=on_message, no_ack=True):
                hard = time.monotonic() + self.args.drain_timeout
                while time.monotonic() < hard:
                    if received >= tickets and time.monotonic() - last > 1.0:
                        break
                    if received < tickets and time.monotonic() - last > 10.0:
                        break  # nothing new for 10 s: what is missing is not coming
                    try:
                        connection.drain_events(timeout=0.5)
                    except socket.timeout:
                        pass
        distinct = len(ids)
        duplicates = received - distinct
        check = {
            "tickets": tickets, "outbox_rows_ticket_created": outbox_rows, "outbox_pending": pending,
            "events_received": received, "distinct_ticket_ids": distinct, "duplicate_deliveries": duplicates,
            "passed": pending == 0 and outbox_rows == tickets and received == tickets and distinct == tickets,
        }
        say(f"durability: {'PASS' if check['passed'] else 'FAIL'} - {tickets} tickets, {outbox_rows} outbox rows, "
            f"{pending} pending, {received} events received ({distinct} distinct tickets)")
        self.results["durability"] = check
        return check

    # -- facts and report ------------------------------------------------------------------------------------------
    def facts(self):
        facts = {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "nproc": os.cpu_count(), "cpu": cpu_model(), "memory_gb": memory_gb(),
            "python": platform.python_version(), "kernel": platform.release(),
            "backend": self.backend, "load_tool": "wrk " + wrk_version() if self.use_wrk else "python http.client",
            "MAX_WORKERS": self.args.max_workers or "10 (default)", "LOG_LEVEL": self.args.log_level or "INFO (default)",
            "git_commit": commit(), "git_modified": modified_files(),
            "machine_busy_before_run": self.quiet[0], "other_processes_busy_before_run": self.quiet[1],
        }
        try:
            overview = requests.get(f"{scratch.MGMT}/api/overview", auth=scratch.MGMT_AUTH, timeout=5).json()
            facts["rabbitmq"] = overview.get("rabbitmq_version")
        except Exception:
            pass
        if self.backend == "postgres":
            admin = scratch.pg_admin()
            with admin.cursor() as cursor:
                cursor.execute("SHOW server_version")
                facts["postgresql"] = cursor.fetchone()[0]
                for setting in ("fsync", "synchronous_commit", "max_connections"):
                    cursor.execute(f"SHOW {setting}")
                    facts[f"pg_{setting}"] = cursor.fetchone()[0]
            admin.close()
        return facts

    def rabbit_totals(self):
        try:
            stats = requests.get(f"{scratch.MGMT}/api/vhosts/{quote(self.vhost, safe='')}", auth=scratch.MGMT_AUTH,
                                 timeout=5).json().get("message_stats", {})
        except Exception:
            return {}
        return {k: stats.get(k) for k in ("publish", "confirm", "deliver_get", "ack", "publish_in", "publish_out")}

    # -- the run -----------------------------------------------------------------------------------------------------
    def run(self):
        self.use_wrk = shutil.which("wrk") is not None and not self.args.python_load
        if not self.use_wrk and not self.args.python_load:
            say("wrk not found (apt-get install -y wrk): using the Python load generator")
        self.quiet = machine_busy()
        say(f"machine busy before the run: {100 * self.quiet[0]:.0f}% of {os.cpu_count()} CPUs"
            + (f" - other processes are running ({'; '.join(n for n, _ in self.quiet[2])}): figures will be low"
               if self.quiet[1] > 0.1 else ""))
        try:
            self.create_vhost()
            self.create_databases()
            self.start_platform()
            self.results["facts"] = self.facts()
            self.baseline()
            for connections in self.args.connections:
                self.results["levels"].append(self.load_level(connections, self.args.duration))
            if self.args.profile:
                self.results["profile_pass"] = self.load_level(
                    TARGET_CONNECTIONS, self.args.duration, label=f"{TARGET_CONNECTIONS} connections, profiled",
                    profile=True)
            if self.args.read_connections or self.args.list_connections:
                self.reads()
            if self.args.propagation_tickets:
                self.propagation()
            self.durability()
            self.results["rabbitmq_message_stats"] = self.rabbit_totals()
            self.write_report()
        except BaseException:
            self.failed = True
            raise
        finally:
            for cleanup in reversed(self.cleanups):
                try:
                    cleanup()
                except Exception as exc:
                    say(f"cleanup step {cleanup.__name__} failed: {exc}")
            if self.failed or self.args.keep_logs:
                say(f"process logs kept in {self.tmp}")
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)

    def write_report(self):
        out = self.args.out
        say(f"wrote {report.write(out, 'ticket_create', self.results, render_markdown(self.results))} "
            "and ticket_create.json")
        if "profile_pass" in self.results:
            (out / "profile.md").write_text(render_profile(self.results["profile_pass"]))
            say(f"wrote {out / 'profile.md'} (raw py-spy stacks in {out / 'profile'})")
        print()
        print(render_markdown(self.results), flush=True)


# ---------------------------------------------------------------------------------------------------------------
# Markdown

def render_markdown(results):
    base = results["baseline"]
    rate = base["rows_per_second"]
    facts = results.get("facts", {})
    lines = [
        "# Tickets through the gateway: creation, reads, propagation to appraisal", "",
        f"Run {facts.get('date', '?')} on {facts.get('nproc')} CPUs ({facts.get('cpu')}), Python {facts.get('python')}, "
        f"{facts.get('backend')} {facts.get('postgresql', '')}, RabbitMQ {facts.get('rabbitmq', '?')}, "
        f"{facts.get('load_tool')}, commit {facts.get('git_commit')}"
        f"{' + uncommitted changes' if facts.get('git_modified') else ''}.",
        "Every service on one machine, sharing its CPUs with PostgreSQL, RabbitMQ and the load generator.", "",
        *contamination(results),
        "| run | connections | req/s | p50 ms | p99 ms | errors | durable/s | ratio to baseline (req/s / rows/s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| baseline: single-row INSERT+COMMIT (ticketing DB) | {base['connections']} | {fmt(rate)} | "
        f"{fmt(base['p50_ms'], 2)} | {fmt(base['p99_ms'], 2)} | {base['errors']} | {fmt(rate)} | 1.000 |",
    ]
    for level in results["levels"]:
        lines.append(
            f"| POST /api/v1/tickets | {level['connections']} | {fmt(level['rps'])} | {fmt(level['p50_ms'], 1)} | "
            f"{fmt(level['p99_ms'], 1)} | {level['errors']} | {fmt(level['durable_per_second'])} | "
            f"{level['rps'] / rate:.3f} |")
    target = next((l for l in results["levels"] if l["connections"] == TARGET_CONNECTIONS), None)
    lines.append("")
    if target:
        met_rate = (target["durable_per_second"] or 0) >= TARGET_DURABLE_PER_SECOND
        met_p99 = target["p99_ms"] is not None and target["p99_ms"] < TARGET_P99_MS
        lines.append(
            f"Target at {TARGET_CONNECTIONS} connections: >= {TARGET_DURABLE_PER_SECOND} durable creations/s "
            f"(= {TARGET_DURABLE_PER_SECOND / rate:.3f} of this run's baseline) and p99 < {TARGET_P99_MS} ms. "
            f"Measured {fmt(target['durable_per_second'])}/s ({(target['durable_per_second'] or 0) / rate:.3f} of baseline, "
            f"{'met' if met_rate else 'NOT met'}), p99 {fmt(target['p99_ms'], 1)} ms ({'met' if met_p99 else 'NOT met'}).")
    lines += [
        "",
        "*req/s*: 2xx responses per second of load. *durable/s*: tickets committed in the database during the run "
        "divided by (load time + time until the requests still in flight when wrk stopped had become tickets and "
        "the outbox had no pending row), i.e. created, outbox row written and event relayed. "
        "*errors*: non-2xx responses plus socket errors/timeouts.",
        "", "## Where the time and CPU went (per level)", "",
        "| connections | tickets | all relayed s after load | gateway handler mean ms | ticketing create_tickets: batches, tickets per batch, mean ms (p99 bucket) | machine CPU busy (other processes) | CPU ms per ticket |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for level in results["levels"] + ([results["profile_pass"]] if "profile_pass" in results else []):
        cpu = ", ".join(f"{k} {v:.1f}" for k, v in level["cpu_ms_per_ticket"].items() if v >= 0.05)
        rpc = level["ticketing_rpc"]
        lines.append(
            f"| {level['connections']}{' (profiled)' if level.get('profiled') else ''} | {level['tickets_created']} | "
            f"{fmt(level['outbox_drained_after_s'], 1)} | {fmt(level['gateway_http']['mean_ms'], 1)} | "
            f"{rpc['count']}, {level['tickets_created'] / max(1, rpc['count']):.1f}, "
            f"{fmt(rpc['mean_ms'], 1)} (<= {fmt(rpc['p99_le_ms'])}) | {100 * level['cpu']['machine_busy_share']:.0f}% "
            f"({100 * level['other_cpu_share']:.0f}%) | {cpu} |")
    if target:
        own = {k: v for k, v in target["cpu_ms_per_ticket"].items()
               if k not in ("other", "profiler", "kernel threads")}
        total = sum(own.values())
        service, busiest = max(((k, v) for k, v in own.items() if k in NAMES), key=lambda kv: kv[1])
        nproc = facts.get("nproc") or 1
        lines += ["", f"Ceilings implied at {TARGET_CONNECTIONS} connections: the platform spends {total:.1f} ms of CPU "
                  f"per ticket (its five processes, PostgreSQL, RabbitMQ, the load generator; kernel threads "
                  f"not counted), so {nproc} CPUs allow at most "
                  f"~{nproc * 1000 / total:.0f} tickets/s; {service}, one single-threaded (eventlet) process, spends "
                  f"{busiest:.1f} ms, so one {service} process allows at most ~{1000 / busiest:.0f}/s whatever the machine. "
                  f"{TARGET_DURABLE_PER_SECOND}/s needs <= {nproc * 1000 / TARGET_DURABLE_PER_SECOND:.1f} ms per ticket "
                  f"in total on {nproc} CPUs."]
    base_cpu = ", ".join(f"{k} {1000 * v / max(1, base['rows']):.2f}" for k, v in base["cpu"]["cpu_seconds"].items()
                         if 1000 * v / max(1, base["rows"]) >= 0.01)
    lines += ["", f"Baseline CPU ms per row: {base_cpu} (machine busy {100 * base['cpu']['machine_busy_share']:.0f}%).",
              "", "Database round trips per ticket (transactions and rows, from pg_stat_database):", ""]
    for level in results["levels"]:
        parts = []
        for service, values in level.get("db_per_ticket", {}).items():
            parts.append(f"{service}: {values['commits']} commits, {values['rollbacks']} rollbacks, "
                         f"{values['inserted']} rows inserted, {values['updated']} updated, {values['sessions']} new sessions")
        if parts:
            lines.append(f"- {level['connections']} connections - " + "; ".join(parts))
    lines += render_reads(results) + render_propagation(results)
    durability = results.get("durability", {})
    lines += [
        "", "## Durability check (after all the load)", "",
        f"- {'PASS' if durability.get('passed') else 'FAIL'}: {durability.get('tickets')} tickets, "
        f"{durability.get('outbox_rows_ticket_created')} ticket.created outbox rows, "
        f"{durability.get('outbox_pending')} unpublished, {durability.get('events_received')} ticket.created events "
        f"on a test queue bound before the load ({durability.get('distinct_ticket_ids')} distinct tickets, "
        f"{durability.get('duplicate_deliveries')} duplicates).",
    ]
    stats = results.get("rabbitmq_message_stats") or {}
    if stats.get("publish") and durability.get("tickets"):
        lines.append(f"- RabbitMQ vhost totals (whole run, sampled every 5 s): {stats.get('publish')} publishes, "
                     f"{stats.get('confirm')} confirms, {stats.get('deliver_get')} deliveries "
                     f"(~{stats['publish'] / durability['tickets']:.1f} publishes per ticket).")
    lines += ["", "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in facts.items()]
    for note in results.get("notes", []):
        lines.append(f"- note: {note}")
    return "\n".join(lines) + "\n"


def render_reads(results):
    if not results.get("read_levels"):
        return []
    base = results["read_baseline"]
    rate = base["rows_per_second"]
    lines = [
        "", "## Reads through the gateway (after the creations)", "",
        "| run | connections | req/s | p50 ms | p99 ms | errors | ratio to baseline (req/s / rows/s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| baseline: single-row SELECT by primary key of tickets (ticketing DB, autocommit) | {base['connections']} | "
        f"{fmt(rate)} | {fmt(base['p50_ms'], 2)} | {fmt(base['p99_ms'], 2)} | {base['errors']} | 1.000 |",
    ]
    lines += [f"| {level['label']} | {level['connections']} | {fmt(level['rps'])} | {fmt(level['p50_ms'], 1)} | "
              f"{fmt(level['p99_ms'], 1)} | {level['errors']} | {level['rps'] / rate:.3f} |"
              for level in results["read_levels"]]
    lines += [
        "", "The baseline is the raw database's part of a read: one row by its key, one round trip. A read through "
        "the gateway also checks the token, makes an AMQP RPC to ticketing, loads the ticket with its SLA clocks and "
        "serialises it twice; the list page also counts its total.", "",
        "| run | connections | gateway handler mean ms | ticketing RPC mean ms | machine CPU busy (other processes) "
        "| CPU ms per request |", "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for level in results["read_levels"]:
        cpu = ", ".join(f"{k} {v:.2f}" for k, v in level["cpu_ms_per_request"].items() if v >= 0.05)
        lines.append(f"| {level['label']} | {level['connections']} | {fmt(level['gateway_http']['mean_ms'], 1)} | "
                     f"{fmt(level['ticketing_rpc']['mean_ms'], 1)} | {100 * level['cpu']['machine_busy_share']:.0f}% "
                     f"({100 * level['other_cpu_share']:.0f}%) | {cpu} |")
    return lines


def render_propagation(results):
    if "propagation" not in results:
        return []
    mine, raw = results["propagation"], results["round_trip"]

    def row(what, summary, extra):
        return (f"| {what} | {summary['count']} | {fmt(summary['p50_ms'], 1)} | {fmt(summary['p90_ms'], 1)} | "
                f"{fmt(summary['p99_ms'], 1)} | {fmt(summary['max_ms'], 1)} | {extra} |")

    return [
        "", f"## Event propagation: ticket.created -> appraisal ({mine['tickets']} tickets at {mine['rate']:g}/s; "
        f"machine {100 * mine['machine_busy_share']:.0f}% busy, {100 * mine['other_cpu_share']:.0f}% other processes)",
        "",
        "| path | count | p50 ms | p90 ms | p99 ms | max ms | notes |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
        row("POST /api/v1/tickets (the 201 answer)", mine["created"], f"{mine['refused']} refused"),
        row("201 answer -> appraisal's record of the ticket", mine["propagated"],
            f"appraisal's database polled every {mine['poll_ms']:g} ms; {mine['missing']} never seen, "
            f"{mine['seen_before_the_answer']} seen before the answer"),
        row("baseline: kombu publish with confirm -> a bare kombu consumer", raw["consumed"],
            f"persistent, durable queue, same broker and rate; {raw['lost']} lost"),
        row("(the same messages: publish -> its confirm)", raw["confirm"],
            "a persistent message is confirmed once written to disk, which may come after its delivery"),
        "", "The platform's path after the commit: the outbox relay's publish with its confirm, RabbitMQ, "
        "appraisal's batch consumer (it waits up to EVENT_BATCH_LINGER_SECONDS for a batch to fill), its "
        "transaction storing the fact and rebuilding the record.",
    ]


def contamination(results):
    levels = results["levels"] + results.get("read_levels", [])
    worst = max((level.get("other_cpu_share", 0.0) for level in levels), default=0.0)
    if worst < 0.05:
        return []
    names = sorted({name.split(" ", 1)[-1] for level in levels for name, _ in level["cpu"]["other_processes"]})
    return [f"**Warning**: processes outside the benchmark used up to {100 * worst:.0f}% of the machine during the "
            f"load ({'; '.join(names)[:300]}); the figures are lower than on a quiet machine "
            "(CPU ms per ticket is much less affected).", ""]


def render_profile(level):
    lines = [
        "# Profile of POST /api/v1/tickets at 32 connections (py-spy)", "",
        f"A separate pass after the measured levels: {level['requests']} requests, {fmt(level['rps'])} req/s "
        f"(py-spy --nonblocking; raw stacks in `profile/<process>.txt`, usable with flamegraph.pl or speedscope).",
        "py-spy ran with `--gil`: only samples in which the process held the GIL (ran Python or C called from it) "
        "count, so waits in the eventlet hub (epoll) and on sockets are left out. Shares are of those samples; "
        "busy share = samples / (rate x seconds), about how much of one core the process used. "
        "Inclusive rows overlap (a sample counts for every watched function on its stack).", "",
        "CPU per ticket in this pass (from /proc): "
        + ", ".join(f"{k} {v:.1f} ms" for k, v in level["cpu_ms_per_ticket"].items() if v >= 0.05) + ".", "",
    ]
    for name, summary in level.get("profiles", {}).items():
        if "error" in summary:
            lines += [f"## {name}", "", f"py-spy failed: {summary['error']}", ""]
            continue
        cpu_ms = level["cpu_ms_per_ticket"].get(name)
        lines += [f"## {name}: {summary['samples']} samples, busy {summary['busy_share_of_one_core']} of one core", "",
                  "| function (inclusive) | % of GIL samples | ~CPU ms per ticket |", "| --- | ---: | ---: |"]
        lines += [f"| {label} | {share} | {fmt(cpu_ms * share / 100 if cpu_ms else None, 2)} |"
                  for label, share in summary["watched_inclusive"]]
        lines += ["", "Self time by package:", "", "| package | % |", "| --- | ---: |"]
        lines += [f"| {name_} | {share} |" for name_, share in summary["self_by_package"]]
        lines += ["", "Top self-time functions:", "", "| function | % |", "| --- | ---: |"]
        lines += [f"| `{name_}` | {share} |" for name_, share in summary["top_self"]]
        lines.append("")
    return "\n".join(lines) + "\n"


def wrk_version():
    try:
        output = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
        return output.split()[1] if output else "?"
    except OSError:
        return "?"


def main(argv=None):
    parser = argparse.ArgumentParser(description="Benchmark ticket creation and reads through the gateway, and "
                                                 "ticket.created's propagation to appraisal.")
    parser.add_argument("--connections", type=lambda s: [int(x) for x in s.split(",")], default=[8, 32, 128],
                        help="load levels, comma-separated (default 8,32,128)")
    parser.add_argument("--duration", type=float, default=10, help="seconds per load level (default 10)")
    parser.add_argument("--read-connections", type=lambda s: [int(x) for x in s.split(",") if x], default=[8, 32, 128],
                        help="GET /api/v1/tickets/<id> levels after the creations, comma-separated (default "
                             "8,32,128; empty for none)")
    parser.add_argument("--list-connections", type=int, default=32,
                        help="one level of GET /api/v1/tickets?per_page=20 at this many connections (0: none)")
    parser.add_argument("--propagation-tickets", type=int, default=300,
                        help="tickets timed from their 201 to appraisal's record, and raw messages timed (0: none)")
    parser.add_argument("--propagation-rate", type=float, default=10, help="tickets (and messages) per second")
    parser.add_argument("--poll-ms", type=float, default=5, help="how often appraisal's database is polled")
    parser.add_argument("--baseline-connections", type=int, default=32)
    parser.add_argument("--baseline-duration", type=float, default=10)
    parser.add_argument("--sqlite", action="store_true", help="SQLite files instead of PostgreSQL databases")
    parser.add_argument("--profile", action="store_true",
                        help="after the measured levels, one more 32-connection pass under py-spy")
    parser.add_argument("--profile-processes", type=lambda s: s.split(","), default=["gateway", "ticketing", "appraisal"])
    parser.add_argument("--profile-rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator even if wrk exists")
    parser.add_argument("--generator-processes", type=int, default=os.cpu_count() or 2,
                        help="processes for the baseline and the Python load generator")
    parser.add_argument("--drain-timeout", type=float, default=45, help="max seconds to wait for the outbox to drain")
    parser.add_argument("--start-timeout", type=float, default=120)
    parser.add_argument("--max-workers", type=int, help="MAX_WORKERS for every service (default: theirs, 10)")
    parser.add_argument("--log-level", help="LOG_LEVEL for every service (default: theirs, INFO)")
    parser.add_argument("--outbox-poll-seconds", type=float, help="OUTBOX_POLL_SECONDS (default: theirs, 1)")
    parser.add_argument("--out", type=Path, default=BENCH / "results", help="where the report goes")
    parser.add_argument("--keep-logs", action="store_true", help="keep the service logs (printed path)")
    args = parser.parse_args(argv)
    stop_on_signals()
    Bench(args).run()


if __name__ == "__main__":
    main()
