"""A unit of work per call: what a handler needs, handed to it as one object.

Every service declares one ``UnitOfWork`` dependency; each worker (an RPC
call, an event or a batch of events, a timer's tick) gets a ``Unit`` of its
own: the database session and its transaction, who is calling and under
which request id, the clock, the event recorder (the outbox, written in the
same transaction), the inbox that makes event handlers idempotent, what to do
once the transaction has committed, and the call's own results. Handlers are
plain functions of their input and a unit, so a handler test builds a unit on
a session (``Unit.on_session``) and needs no container; nothing a call
produces is kept on the service class, where concurrent workers would share it.
"""
from contextlib import contextmanager
from datetime import datetime, timezone

from nameko.extensions import DependencyProvider

from plumbing.context import ACTOR_KEY, REQUEST_ID_KEY, ROLES_KEY, TEAMS_KEY, CallContext, bind_request_id
from plumbing.db import Database
from plumbing.outbox import EventRecorder, InboxGuard, Outbox


def utc_now():
    return datetime.now(timezone.utc)


class Unit:
    """The work of one call.

    ``caller`` is who called (actor, roles, request id); ``actor`` is whom the
    changes are attributed to: the caller, or while replaying recorded history
    (``as_of``) the original author. ``results`` holds what the call produced
    along the way that its answer shows (a token made while resolving, say)."""

    def __init__(self, session, events=None, inbox=None, caller=None, clock=utc_now):
        self.session = session
        self.events = events
        self.inbox = inbox
        self.caller = caller or CallContext(None, None)
        self.clock = clock
        self.actor = self.caller.actor
        self.replaying = False
        self.results = {}
        self.committed_callbacks = []

    @classmethod
    def on_session(cls, session, service="test", outbox=None, inbox=None, consumer="test.handler",
                   actor=None, roles=None, teams=None, request_id=None, clock=utc_now):
        """A unit outside any container (handler tests, scripts): events go into ``outbox`` if given."""
        return cls(session, EventRecorder(service, outbox, request_id) if outbox is not None else None,
                   InboxGuard(inbox, consumer) if inbox is not None else None,
                   CallContext(request_id, actor, roles, teams), clock)

    @property
    def roles(self):
        return self.caller.roles

    @property
    def teams(self):
        return self.caller.teams

    @property
    def request_id(self):
        return self.caller.request_id

    def now(self):
        return self.clock()

    def transaction(self):
        """``with uow.transaction():`` commits at the end, rolls back on an error (and forgets its events)."""
        return self.session.begin()

    def record(self, event_type, aggregate_type, aggregate_id, data, time=None):
        """An event into the outbox, in the open transaction; returns its envelope."""
        return self.events.record(self.session, event_type, aggregate_type, aggregate_id, data, time=time)

    def new_aggregate(self, aggregate_type, aggregate_id):
        """The aggregate was created in this transaction: its events start at sequence 1."""
        self.events.new_aggregate(aggregate_type, aggregate_id)

    def first_time(self, event) -> bool:
        """True the first time this handler sees the event, recorded in the open transaction."""
        return self.inbox.first_time(self.session, event)

    def after_commit(self, fn, *args):
        """Run ``fn(*args)`` once the call has ended without an error (its transaction
        committed), e.g. to count what really happened."""
        self.committed_callbacks.append((fn, args))

    def run_after_commit(self):
        callbacks, self.committed_callbacks = self.committed_callbacks, []
        for fn, args in callbacks:
            fn(*args)

    @contextmanager
    def acting_for(self, request_id, actor, roles=None, teams=None):
        """Work for a caller other than this worker's (one request of a batch):
        their actor and request id in history, events and log lines."""
        worker, worker_actor = self.caller, self.actor
        self.caller = CallContext(request_id, actor, roles, teams)
        self.actor = actor
        self.set_request_id(request_id)
        try:
            yield
        finally:
            self.caller, self.actor = worker, worker_actor
            self.set_request_id(worker.request_id)

    def set_request_id(self, request_id):
        if self.events is not None:
            self.events.request_id = request_id
        bind_request_id(request_id)

    @contextmanager
    def as_of(self, at, actor):
        """Replay a step of recorded history: the clock reads ``at`` and the step is
        ``actor``'s; the caller stays who asked for the replay."""
        clock, before, replaying = self.clock, self.actor, self.replaying
        self.clock, self.actor, self.replaying = (lambda: at), actor, True
        try:
            yield
        finally:
            self.clock, self.actor, self.replaying = clock, before, replaying


class UnitOfWork(DependencyProvider):
    """``self.uow`` in a worker: a ``Unit`` on the service's database, with its
    outbox (relayed after commit) and inbox when the service has them.

    The database URL comes from the ``DATABASE_URL`` config key, else from
    ``<SERVICE>_DATABASE_URL``, else an SQLite file under ``var/``."""

    def __init__(self, outbox=None, inbox=None):
        self.outbox_table = outbox
        self.inbox_table = inbox

    def setup(self):
        self.database = self.part(Database())
        self.outbox = None if self.outbox_table is None else self.part(Outbox(self.outbox_table, self.database))
        self.parts = [part for part in (self.database, self.outbox) if part is not None]
        for part in self.parts:
            part.setup()
        self.units = {}

    def part(self, provider):
        """A provider this one runs itself: set up, started, stopped and given each worker by this one."""
        provider.container = self.container
        return provider

    @property
    def session_factory(self):
        return self.database.session_factory

    def start(self):
        for part in self.parts:
            part.start()

    def stop(self):
        for part in reversed(self.parts):
            part.stop()

    kill = stop

    def worker_setup(self, worker_ctx):
        bind_request_id(worker_ctx.data.get(REQUEST_ID_KEY))

    def get_dependency(self, worker_ctx):
        data = worker_ctx.data
        consumer = f"{worker_ctx.service_name}.{worker_ctx.entrypoint.method_name}"
        unit = self.units[worker_ctx] = Unit(
            self.database.get_dependency(worker_ctx),
            self.outbox.get_dependency(worker_ctx) if self.outbox is not None else None,
            InboxGuard(self.inbox_table, consumer) if self.inbox_table is not None else None,
            CallContext(data.get(REQUEST_ID_KEY), data.get(ACTOR_KEY), data.get(ROLES_KEY), data.get(TEAMS_KEY)))
        return unit

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        unit = self.units.get(worker_ctx)
        if unit is not None and exc_info is None:
            unit.run_after_commit()

    def worker_teardown(self, worker_ctx):
        self.units.pop(worker_ctx, None)
        for part in self.parts:
            part.worker_teardown(worker_ctx)
