"""SLA clocks: kept in step with every ticket change, swept for warnings
and breaches, managed through policies (T4). The rules are in ``rules.py``,
business time in ``calendar.py``.

The sweep claims due clocks with ``FOR UPDATE SKIP LOCKED`` and marks each
warning and breach in the same transaction as its event, so replicas running
the same timer never publish one twice.
"""
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select

from plumbing.errors import Conflict, InvalidInput, load_or_invalid as load
from plumbing.schemas import shared
from ticketing import events, metrics
from ticketing.contract import (
    CLOCKS, CONDITION_FIELDS, FIRST_RESPONSE, REPLY, RESOLUTION, UPDATE, SlaPolicyCreateSchema, SlaPolicyListSchema,
    SlaPolicySchema,
)
from ticketing.models import SlaClock, SlaPolicy, Ticket
from ticketing.sla import rules
from ticketing.sla.calendar import BusinessCalendar
from ticketing.tickets import steps

SWEEP_SECONDS = 10
SWEEP_BATCH = 200
POLICY_CACHE_SECONDS = 5


@dataclass(frozen=True)
class PolicyVersion:
    """A policy as stored (id, version) and as the SLA rules use it."""
    id: int
    updated_at: datetime
    rule: rules.Policy


class PolicyCache:
    """Policies change rarely and every ticket needs them: kept per process and
    database for ``POLICY_CACHE_SECONDS`` (forgotten at once when this process
    changes one), calendars built once per policy version."""

    def __init__(self):
        self.loaded = {}  # database -> (versions, loaded at)
        self.calendars = {}

    def all(self, session) -> list[PolicyVersion]:
        database = str(session.get_bind().url)
        versions, loaded_at = self.loaded.get(database, (None, 0.0))
        if versions is None or time.monotonic() - loaded_at > POLICY_CACHE_SECONDS:
            rows = session.scalars(select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.id)).all()
            versions = [self.version(row) for row in rows]
            self.loaded[database] = (versions, time.monotonic())
        return versions

    def get(self, session, policy_id) -> PolicyVersion:
        found = next((v for v in self.all(session) if v.id == policy_id), None)
        return found or self.version(session.get(SlaPolicy, policy_id))

    def version(self, row) -> PolicyVersion:
        key = (row.id, row.updated_at, str(row.calendar))
        if key not in self.calendars:
            self.calendars[key] = BusinessCalendar.from_config(row.calendar)
        rule = rules.Policy(row.name, self.calendars[key], row.targets, row.conditions, row.warn_share)
        return PolicyVersion(row.id, row.updated_at, rule)

    def forget(self):
        self.loaded.clear()


policies = PolicyCache()


def as_clock(row: SlaClock) -> rules.Clock:
    return rules.Clock(row.name, row.started_at, timedelta(seconds=row.target_seconds), row.due_at, row.warn_at,
                       timedelta(seconds=row.paused_seconds), row.paused_at, row.stopped_at, row.cancelled)


# -- policies ------------------------------------------------------------------------
def create_sla_policy(uow, data):
    fields = load(SlaPolicyCreateSchema, data)
    try:
        BusinessCalendar.from_config(fields["calendar"])
    except ValueError as exc:
        raise InvalidInput("calendar is not valid", {"calendar": [str(exc)]}) from None
    with uow.transaction():
        if uow.session.scalar(select(SlaPolicy.id).where(SlaPolicy.name == fields["name"])):
            raise Conflict(f"policy {fields['name']!r} exists", {"name": ["already taken"]})
        policy = SlaPolicy(**fields, updated_at=uow.now())
        uow.session.add(policy)
    policies.forget()
    return shared(SlaPolicySchema).dump(policy)


def list_sla_policies(uow):
    rows = uow.session.scalars(select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.id)).all()
    return shared(SlaPolicyListSchema).dump({"items": rows})


# -- following the ticket -----------------------------------------------------------------
def start_clocks(uow, ticket, at, names=(FIRST_RESPONSE, RESOLUTION)):
    versions = policies.all(uow.session)
    if not versions:
        return
    facts = {name: getattr(ticket, name) for name in CONDITION_FIELDS}
    chosen = rules.choose_policy([version.rule for version in versions], facts)
    version = next(v for v in versions if v.rule is chosen)
    for name in names:
        clock = rules.start(chosen, name, at)
        if clock:
            record = SlaClock(ticket_id=ticket.id, policy_id=version.id, name=name,
                              target_seconds=int(clock.target.total_seconds()), started_at=at)
            keep(uow, ticket, record, clock)
            uow.session.add(record)


def clocks_on_reply(uow, ticket, at):
    update_clocks(uow, ticket, at, lambda clock, calendar: clock.stop(calendar, at), names=(FIRST_RESPONSE, UPDATE),
                  cause=REPLY)


def clocks_on_customer_message(uow, ticket, at):
    """A customer message after the first response starts an update clock."""
    if ticket.first_responded_at is None:
        return
    session = uow.session
    running = session.scalar(select(SlaClock.id).where(
        SlaClock.ticket_id == ticket.id, SlaClock.name == UPDATE, SlaClock.stopped_at.is_(None)))
    policy_id = session.scalar(select(SlaClock.policy_id).where(SlaClock.ticket_id == ticket.id).limit(1))
    if running is None and policy_id is not None:
        version = policies.get(session, policy_id)
        clock = rules.start(version.rule, UPDATE, at)
        if clock:
            record = SlaClock(ticket_id=ticket.id, policy_id=version.id, name=UPDATE,
                              target_seconds=int(clock.target.total_seconds()), started_at=at)
            keep(uow, ticket, record, clock)
            session.add(record)


def clocks_on_state(uow, ticket, before, after, at):
    if after == "waiting_customer":
        update_clocks(uow, ticket, at, lambda clock, calendar: clock.pause(at))
    elif after in ("resolved", "closed"):
        update_clocks(uow, ticket, at, lambda clock, calendar: clock.finish(calendar, at), cause=after)
    elif before == "waiting_customer":
        update_clocks(uow, ticket, at, lambda clock, calendar: clock.resume(calendar, at))
    elif before in ("resolved", "closed"):  # reopened: resolution runs again
        update_clocks(uow, ticket, at, lambda clock, calendar: clock.resume(calendar, at),
                      names=(RESOLUTION,), stopped_too=True)


def update_clocks(uow, ticket, at, change, names=CLOCKS, stopped_too=False, cause=None):
    """Apply ``change`` to the ticket's clocks; ``cause`` says what stops them: a public reply, or the ticket
    resolved or closed."""
    statement = select(SlaClock).where(SlaClock.ticket_id == ticket.id, SlaClock.name.in_(names))
    if not stopped_too:
        statement = statement.where(SlaClock.stopped_at.is_(None))
    for record in uow.session.scalars(statement.order_by(SlaClock.id)):  # one event order on every database
        calendar = policies.get(uow.session, record.policy_id).rule.calendar
        keep(uow, ticket, record, change(as_clock(record), calendar), cause)


def keep(uow, ticket, record, clock, cause=None):
    """Store the clock's new state; a clock that stops now publishes how it went, and
    its breach if the sweep has not published it yet (it stopped late between two sweeps)."""
    newly_stopped = clock.stopped_at is not None and record.stopped_at is None
    record.paused_seconds = clock.paused.total_seconds()
    record.paused_at, record.stopped_at, record.cancelled = clock.paused_at, clock.stopped_at, clock.cancelled
    record.due_at, record.warn_at = clock.due_at, clock.warn_at
    if not newly_stopped:
        return
    outcome = clock.status(clock.stopped_at)
    if outcome == rules.BREACHED and record.breached_at is None:
        record.breached_at = clock.stopped_at
        publish_clock(uow, events.SLA_BREACHED, ticket, record)
    calendar = policies.get(uow.session, record.policy_id).rule.calendar
    business_seconds = clock.elapsed(calendar, clock.stopped_at).total_seconds()
    steps.publish(uow, events.SLA_CLOCK_STOPPED, ticket, clock=record.name, target_seconds=record.target_seconds,
                  business_seconds=business_seconds, outcome=outcome, met=outcome == rules.MET, cause=cause,
                  started_at=record.started_at, stopped_at=clock.stopped_at)
    if not uow.replaying and outcome != rules.CANCELLED:  # a cancelled clock is out of compliance: not observed
        uow.after_commit(metrics.clock_completed, ticket, record.name, outcome, business_seconds)


def ticket_sla(uow, ticket_id, now):
    """The ticket's SLA policy (``{"id", "name"}``, None without clocks) and its clocks' views."""
    policy_id = uow.session.scalar(select(SlaClock.policy_id).where(SlaClock.ticket_id == ticket_id).limit(1))
    policy = None if policy_id is None else {"id": policy_id, "name": policies.get(uow.session, policy_id).rule.name}
    return {"policy": policy, "sla": clock_views(uow, ticket_id, now)}


def clock_views(uow, ticket_id, now):
    """The latest clock of each kind, as the ticket shows them."""
    views = {}
    session = uow.session
    for record in session.scalars(select(SlaClock).where(SlaClock.ticket_id == ticket_id).order_by(SlaClock.id)):
        views[record.name] = as_clock(record).view(policies.get(session, record.policy_id).rule.calendar, now)
    return [views[name] for name in CLOCKS if name in views]


# -- the sweep ------------------------------------------------------------------------------
def sweep_sla(uow):
    """Publish each warning and breach that is due, once; returns how many were published."""
    now = uow.now()
    published = 0
    with uow.transaction():
        session = uow.session
        counted_until = func.coalesce(SlaClock.paused_at, now)  # a paused clock reached what it had by its pause
        due = session.scalars(
            select(SlaClock).where(
                SlaClock.stopped_at.is_(None),
                or_(and_(SlaClock.warned_at.is_(None), SlaClock.warn_at <= counted_until),
                    and_(SlaClock.breached_at.is_(None), SlaClock.due_at <= counted_until)))
            .order_by(SlaClock.due_at).limit(SWEEP_BATCH).with_for_update(skip_locked=True)).all()
        for record in due:
            ticket = session.get(Ticket, record.ticket_id)
            if record.warned_at is None:
                record.warned_at = now
                publish_clock(uow, events.SLA_WARNING, ticket, record)
                uow.after_commit(metrics.SLA_WARNINGS.labels(record.name).inc)
                published += 1
            if record.breached_at is None and record.due_at <= (record.paused_at or now):
                record.breached_at = now
                publish_clock(uow, events.SLA_BREACHED, ticket, record)
                uow.after_commit(metrics.SLA_BREACHES.labels(record.name).inc)
                steps.escalate(uow, ticket, f"{record.name} SLA breached")
                published += 1
    return published


def publish_clock(uow, event_type, ticket, record):
    """A warning or a breach, naming who owned the ticket when the clock reached that point."""
    reached = record.due_at if event_type is events.SLA_BREACHED else record.warn_at
    steps.publish(uow, event_type, ticket, clock=record.name, due_at=record.due_at,
                  target_seconds=record.target_seconds, owner=steps.owner_at(uow, ticket, reached))


def breaching_condition(due_before):
    """A clock of the ticket, still counting or paused after it fell due, falls due before ``due_before``
    (a clock paused before its due time has none yet: it moves when the clock resumes)."""
    return select(SlaClock.id).where(
        SlaClock.ticket_id == Ticket.id, SlaClock.stopped_at.is_(None),
        or_(SlaClock.paused_at.is_(None), SlaClock.due_at <= SlaClock.paused_at),
        SlaClock.due_at <= due_before).exists()


def breached_condition():
    return select(SlaClock.id).where(SlaClock.ticket_id == Ticket.id, SlaClock.breached_at.is_not(None)).exists()
