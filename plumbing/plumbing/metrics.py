"""Prometheus metrics every service exports the same way.

Each service process serves its registry on ``METRICS_PORT``; the job label
that Prometheus adds names the service, so metric labels stay bounded.
"""
import logging
import time

import eventlet
import eventlet.wsgi

from nameko.events import EventHandler
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.metrics_core import Metric

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

RPC_DURATION = Histogram(
    "csops_rpc_duration_seconds", "Time an RPC method took to run.",
    ["method", "outcome"], buckets=LATENCY_BUCKETS)
EVENT_HANDLER_DURATION = Histogram(
    "csops_event_handler_duration_seconds", "Time an event handler took to run.",
    ["event", "handler", "outcome"], buckets=LATENCY_BUCKETS)
EVENTS_PUBLISHED = Counter(
    "csops_events_published_total", "Events relayed from the outbox to the broker.", ["event"])
EVENTS_DEAD_LETTERED = Counter(
    "csops_events_dead_lettered_total", "Messages moved to a dead-letter queue.", ["queue", "reason"])
EVENTS_RETRIED = Counter(
    "csops_events_retried_total", "Failed event deliveries scheduled for another try.", ["queue"])
OUTBOX_PENDING = Gauge(
    "csops_outbox_pending_events", "Outbox rows not yet published to the broker.")


def outcome_of(exc_info) -> str:
    return "success" if exc_info is None else "error"


class Metrics(DependencyProvider):
    """Times every RPC and event-handler worker and serves ``/metrics``."""

    def setup(self):
        self.started = {}
        self.server_thread = None

    def start(self):
        port = int(self.container.config.get("METRICS_PORT") or 0)
        if port:
            # served by eventlet's own WSGI server: prometheus_client's threaded
            # server trips over eventlet's green getaddrinfo
            address = self.container.config.get("METRICS_ADDRESS", "127.0.0.1")
            self.socket = eventlet.listen((address, port))
            self.server_thread = self.container.spawn_managed_thread(
                lambda: eventlet.wsgi.server(self.socket, make_wsgi_app(), log_output=False), identifier="metrics")
            log.info("metrics of %s on http://%s:%s/metrics", self.container.service_name, address, port)

    def stop(self):
        if self.server_thread is not None:
            self.server_thread.kill()
            self.socket.close()

    def worker_setup(self, worker_ctx):
        self.started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self.started.pop(worker_ctx, None)
        if started is None:
            return
        elapsed = time.perf_counter() - started
        entrypoint = worker_ctx.entrypoint
        if isinstance(entrypoint, Rpc):
            RPC_DURATION.labels(entrypoint.method_name, outcome_of(exc_info)).observe(elapsed)
        elif isinstance(entrypoint, EventHandler):
            EVENT_HANDLER_DURATION.labels(
                f"{entrypoint.source_service}.{entrypoint.event_type}", entrypoint.method_name,
                outcome_of(exc_info)).observe(elapsed)


class DatabaseGauges(DependencyProvider):
    """Registers ``collector_cls(session_factory)``: gauges counted in the
    service's database at scrape time, so they are right after a restart and
    the same on every replica."""

    def __init__(self, collector_cls, **kwargs):
        self.collector_cls = collector_cls
        self.collector = None
        super().__init__(**kwargs)

    def start(self):
        from plumbing.db import database_of

        database = database_of(self.container)
        collector = Described(self.collector_cls(database.session_factory))
        try:
            REGISTRY.register(collector)
        except ValueError:  # another container of this service in the process already counts them
            return
        self.collector = collector

    def stop(self):
        if self.collector is not None:
            REGISTRY.unregister(self.collector)
            self.collector = None

    kill = stop


class Described:
    """A database-counted collector with ``describe``: the registry reads the names from it, not by
    collecting under its lock. Collecting there runs queries (and, once, imports) while the lock is
    held; a metric made meanwhile waits for that lock in the same thread, and the process hangs."""

    def __init__(self, collector):
        self.collector = collector
        self.families = [Metric(family.name, family.documentation, family.type) for family in collector.collect()]

    def describe(self):
        return self.families

    def collect(self):
        return self.collector.collect()
