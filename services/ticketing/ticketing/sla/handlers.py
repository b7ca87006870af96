"""SLA clocks: kept in step with every ticket change, swept for warnings
and breaches, managed through policies and their versions (T4). The rules are
in ``rules.py``, business time in ``calendar.py``, policies in docs/sla.md.

The sweep claims due clocks with ``FOR UPDATE SKIP LOCKED`` and marks each
warning and breach in the same transaction as its event, so replicas running
the same timer never publish one twice.
"""
import re
import time
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import and_, delete, distinct, func, or_, select

from plumbing.db import get_or_not_found
from plumbing.errors import Conflict, InvalidInput, NotFound, load_or_invalid as load
from plumbing.schemas import shared
from ticketing import events, metrics
from ticketing.contract import (
    CLOCKS, CONDITION_FIELDS, FIRST_RESPONSE, REPLY, RESOLUTION, SLA_VERSIONED, UPDATE, SlaPolicyCreateSchema,
    SlaPolicyListSchema, SlaPolicySchema, SlaPolicyUpdateSchema, SlaPolicyVersionListSchema, SlaPolicyVersionSchema,
    SlaPreviewResultSchema, SlaPreviewSchema,
)
from ticketing.models import SlaClock, SlaPolicy, SlaPolicyVersion, Ticket
from ticketing.sla import rules
from ticketing.sla.calendar import BusinessCalendar, CalendarError
from ticketing.tickets import steps
from ticketing.tickets.rules import OPEN_STATES

SWEEP_SECONDS = 10
SWEEP_BATCH = 200
POLICY_CACHE_SECONDS = 5
PREVIEWED_CLOCKS = (FIRST_RESPONSE, RESOLUTION)  # the clocks a new ticket starts


@dataclass(frozen=True)
class PolicyVersion:
    """A policy version as stored (policy id, version) and as the SLA rules use it."""
    id: int
    version: int
    rule: rules.Policy


class PolicyCache:
    """Policies change rarely and every ticket needs them: the current versions of the enabled ones
    are kept per process and database for ``POLICY_CACHE_SECONDS`` (forgotten at once when this
    process changes one); a version never changes, so it is built (its calendar too) once."""

    def __init__(self):
        self.loaded = {}  # database -> ([(position, PolicyVersion)] in the order tried, loaded at)
        self.versions = {}  # (database, policy id, version) -> PolicyVersion

    def current(self, session) -> list[tuple[int, PolicyVersion]]:
        """(position, version) of each enabled policy, in the order they are tried."""
        database = str(session.get_bind().url)
        current, loaded_at = self.loaded.get(database, (None, 0.0))
        if current is None or time.monotonic() - loaded_at > POLICY_CACHE_SECONDS:
            rows = session.execute(select(SlaPolicy, SlaPolicyVersion).join(SlaPolicyVersion, and_(
                SlaPolicyVersion.policy_id == SlaPolicy.id, SlaPolicyVersion.version == SlaPolicy.version))
                .where(SlaPolicy.enabled).order_by(SlaPolicy.position, SlaPolicy.id)).all()
            current = [(policy.position, self.version(database, policy.name, row)) for policy, row in rows]
            self.loaded[database] = (current, time.monotonic())
        return current

    def get(self, session, policy_id, version) -> PolicyVersion:
        database = str(session.get_bind().url)
        found = self.versions.get((database, policy_id, version))
        if found is None:
            row = session.get(SlaPolicyVersion, (policy_id, version))
            found = self.version(database, session.get(SlaPolicy, policy_id).name, row)
        return found

    def version(self, database, name, row) -> PolicyVersion:
        """The version built once; ``name`` is the policy's then (a rename makes no version: show a fresh one)."""
        key = (database, row.policy_id, row.version)
        if key not in self.versions:
            rule = rules.Policy(name, BusinessCalendar.from_config(row.calendar), row.targets, row.conditions,
                                row.warn_share)
            self.versions[key] = PolicyVersion(row.policy_id, row.version, rule)
        return self.versions[key]

    def forget(self):
        self.loaded.clear()


policies = PolicyCache()


def as_clock(row: SlaClock) -> rules.Clock:
    return rules.Clock(row.name, row.started_at, timedelta(seconds=row.target_seconds), row.due_at, row.warn_at,
                       timedelta(seconds=row.paused_seconds), row.paused_at, row.stopped_at, row.cancelled)


# -- policies ------------------------------------------------------------------------
def create_sla_policy(uow, data):
    fields = shared(SlaPolicyCreateSchema).dump(load(SlaPolicyCreateSchema, data))  # as stored: JSON
    checked_calendar(fields["calendar"])
    with uow.transaction():
        name_is_free(uow, fields["name"])
        policy = SlaPolicy(name=fields["name"], position=fields["position"], enabled=fields["enabled"], version=1,
                           updated_at=uow.now())
        uow.session.add(policy)
        uow.session.flush()
        add_version(uow, policy, fields)
        answer = policy_view(uow, policy)
    policies.forget()
    return answer


def update_sla_policy(uow, policy_id, data):
    """Each field given replaces the policy's; a change to what a version holds makes a new version."""
    changes = shared(SlaPolicyUpdateSchema).dump(load(SlaPolicyUpdateSchema, data))
    with uow.transaction():
        policy = get_or_not_found(uow.session, SlaPolicy, policy_id, lock=True)
        if changes.get("name", policy.name) != policy.name:
            name_is_free(uow, changes["name"])
        before = versioned(uow.session.get(SlaPolicyVersion, (policy.id, policy.version)))
        after = {**before, **{name: changes[name] for name in SLA_VERSIONED if name in changes}}
        own = {name: changes[name] for name in ("name", "position", "enabled") if name in changes}
        if after != before:
            checked_calendar(after["calendar"])
            policy.version += 1
            add_version(uow, policy, after)
        if after != before or any(getattr(policy, name) != value for name, value in own.items()):
            for name, value in own.items():
                setattr(policy, name, value)
            policy.updated_at = uow.now()
        answer = policy_view(uow, policy)
    policies.forget()
    return answer


def delete_sla_policy(uow, policy_id):
    """A policy no ticket ran on goes, its versions with it; one that tickets run on stays (their
    clocks need its versions): 409, disable it instead."""
    with uow.transaction():
        policy = get_or_not_found(uow.session, SlaPolicy, policy_id, lock=True)
        tickets = uow.session.scalar(select(func.count(distinct(SlaClock.ticket_id)))
                                     .where(SlaClock.policy_id == policy.id))
        if tickets:
            reason = f"{tickets} ticket(s) run on it: disable it instead (enabled false)"
            raise Conflict(f"SLA policy {policy.name!r} is in use", {"policy": [reason]})
        uow.session.execute(delete(SlaPolicyVersion).where(SlaPolicyVersion.policy_id == policy.id))
        uow.session.delete(policy)
    policies.forget()


def get_sla_policy(uow, policy_id):
    return policy_view(uow, get_or_not_found(uow.session, SlaPolicy, policy_id))


def list_sla_policies(uow):
    rows = uow.session.scalars(select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.id)).all()
    return shared(SlaPolicyListSchema).dump({"items": [as_it_is_now(uow, policy) for policy in rows]})


def list_sla_policy_versions(uow, policy_id):
    get_or_not_found(uow.session, SlaPolicy, policy_id)
    rows = uow.session.scalars(select(SlaPolicyVersion).where(SlaPolicyVersion.policy_id == policy_id)
                               .order_by(SlaPolicyVersion.version)).all()
    return shared(SlaPolicyVersionListSchema).dump({"items": rows})


def get_sla_policy_version(uow, policy_id, version):
    row = uow.session.get(SlaPolicyVersion, (policy_id, version))
    if row is None:
        raise NotFound(f"SLA policy {policy_id} has no version {version}")
    return shared(SlaPolicyVersionSchema).dump(row)


def name_is_free(uow, name):
    if uow.session.scalar(select(SlaPolicy.id).where(SlaPolicy.name == name)):
        raise Conflict(f"policy {name!r} exists", {"name": ["already taken"]})


def add_version(uow, policy, fields):
    uow.session.add(SlaPolicyVersion(policy_id=policy.id, version=policy.version, created_at=uow.now(),
                                     created_by=uow.actor, **{name: fields[name] for name in SLA_VERSIONED}))


def versioned(row) -> dict:
    return {name: getattr(row, name) for name in SLA_VERSIONED}


def policy_view(uow, policy):
    return shared(SlaPolicySchema).dump(as_it_is_now(uow, policy))


def as_it_is_now(uow, policy) -> dict:
    """The policy with its current version's fields."""
    current = uow.session.get(SlaPolicyVersion, (policy.id, policy.version))
    return dict(versioned(current), id=policy.id, name=policy.name, position=policy.position, enabled=policy.enabled,
                version=policy.version, updated_at=policy.updated_at)


def checked_calendar(calendar) -> BusinessCalendar:
    """The calendar the stored form makes, or a 400 naming the field and the reason."""
    try:
        return BusinessCalendar.from_config(calendar)
    except CalendarError as exc:
        details = [exc.reason]
        for part in reversed(re.findall(r"[^.\[\]]+", exc.field)):
            details = {part: details}
        raise InvalidInput(f"calendar is not valid: {exc}", {"calendar": details}) from None


def policy_of(uow, ticket_id):
    """The policy version a ticket runs on, as ``SlaPolicyRefSchema``; None if no policy matched it."""
    found = uow.session.execute(
        select(SlaClock.policy_id, SlaClock.policy_version, SlaPolicy.name)
        .join(SlaPolicy, SlaPolicy.id == SlaClock.policy_id).where(SlaClock.ticket_id == ticket_id)
        .order_by(*CURRENT_FIRST).limit(1)).first()
    return None if found is None else {"id": found.policy_id, "name": found.name, "version": found.policy_version}


# a ticket's clocks, the policy it runs on now first: its counting clocks (re-targeted ones too), then the newest
CURRENT_FIRST = (SlaClock.stopped_at.is_not(None), SlaClock.id.desc())


# -- preview ------------------------------------------------------------------------------
def preview_sla(uow, data):
    """Which policy a ticket with these fields, opened then, would get, and when its clocks fall due:
    among the saved enabled policies, or with a draft tried at its position (standing in for the
    policy it replaces); nothing is saved."""
    request = load(SlaPreviewSchema, data)
    # (position, id, rule, saved version): tried by position, then oldest first
    candidates = [(position, version.id, version.rule, version) for position, version in policies.current(uow.session)]
    draft = request.get("draft")
    if draft is not None:
        replacing = request.get("replacing")
        if replacing is not None:
            if uow.session.get(SlaPolicy, replacing) is None:
                raise NotFound(f"SLA policy {replacing} does not exist", {"replacing": ["no such policy"]})
            candidates = [candidate for candidate in candidates if candidate[1] != replacing]
        if draft["enabled"]:
            stored = shared(SlaPolicyCreateSchema).dump(draft)
            rule = rules.Policy(draft["name"], checked_calendar(stored["calendar"]), stored["targets"],
                                stored["conditions"], stored["warn_share"])
            # a new policy would get the highest id: tried after the saved ones of its position
            candidates.append((draft["position"], replacing or float("inf"), rule, None))
    candidates.sort(key=lambda candidate: candidate[:2])
    chosen = rules.choose_policy([rule for _position, _id, rule, _version in candidates], request["ticket"])
    answer = {"policy": None, "clocks": []}
    if chosen is not None:
        version = next(version for _position, _id, rule, version in candidates if rule is chosen)
        answer["policy"] = ({"id": None, "name": draft["name"], "version": None, "draft": True} if version is None
                            else {"id": version.id, "name": uow.session.get(SlaPolicy, version.id).name,
                                  "version": version.version, "draft": False})
        at = request["created_at"]
        for name in PREVIEWED_CLOCKS:
            clock = rules.start(chosen, name, at)
            if clock:
                answer["clocks"].append({"clock": name, "target_minutes": chosen.targets[name],
                                         "warn_at": clock.warn_at, "due_at": clock.due_at})
    return shared(SlaPreviewResultSchema).dump(answer)


# -- following the ticket -----------------------------------------------------------------
def start_clocks(uow, ticket, at, names=(FIRST_RESPONSE, RESOLUTION)):
    """The clocks of the first enabled policy (its current version) the ticket matches; none if none does."""
    versions = [version for _position, version in policies.current(uow.session)]
    facts = {name: getattr(ticket, name) for name in CONDITION_FIELDS}
    chosen = rules.choose_policy([version.rule for version in versions], facts)
    if chosen is None:
        return
    version = next(v for v in versions if v.rule is chosen)
    for name in names:
        start_clock(uow, ticket, version, name, at)


def start_clock(uow, ticket, version, name, at):
    """The clock ``name`` of the policy version from ``at``, if the version has a target for it."""
    clock = rules.start(version.rule, name, at)
    if clock:
        record = SlaClock(ticket_id=ticket.id, policy_id=version.id, policy_version=version.version, name=name,
                          target_seconds=int(clock.target.total_seconds()), started_at=at)
        keep(uow, ticket, record, clock, version.rule.calendar)
        uow.session.add(record)


def retarget_clocks(uow, ticket, at):
    """The ticket's priority or kind changed: the policy chosen again (``rules.retarget``). Clocks the
    new policy keeps no target for are cancelled; a ticket no policy matched before gets the new
    one's clocks from now (nothing counted before: no policy applied). Returns whether anything
    changed, and the policy the ticket runs on now (``{"id", "name", "version"}``, None: none)."""
    versions = [version for _position, version in policies.current(uow.session)]
    facts = {name: getattr(ticket, name) for name in CONDITION_FIELDS}
    chosen = rules.choose_policy([version.rule for version in versions], facts)
    version = next((v for v in versions if v.rule is chosen), None)
    session = uow.session
    counting = session.scalars(select(SlaClock).where(SlaClock.ticket_id == ticket.id, SlaClock.stopped_at.is_(None))
                               .order_by(SlaClock.id)).all()
    current = policy_of(uow, ticket.id)
    if (version and current and (current["id"], current["version"]) == (version.id, version.version)) or (
            version is None and not counting):
        return False, current
    for record in counting:
        calendar = policies.get(session, record.policy_id, record.policy_version).rule.calendar
        clock = as_clock(record)
        moved = None if version is None else rules.retarget(clock, calendar, version.rule, at)
        if moved is None:  # no such clock under the new policy, or none at all: it ends, counting nothing
            stopped = clock.stop(calendar, at)
            keep(uow, ticket, record, replace(stopped, cancelled=at <= stopped.due_at), calendar)
            continue
        record.policy_id, record.policy_version = version.id, version.version
        record.target_seconds = int(moved.target.total_seconds())
        if record.breached_at is not None:  # published: it stays, and so does its due time
            moved = replace(moved, due_at=clock.due_at)
        if record.warned_at is not None:
            moved = replace(moved, warn_at=clock.warn_at)
        keep(uow, ticket, record, moved, version.rule.calendar)
    if version is not None and current is None:
        names = [FIRST_RESPONSE] if ticket.first_responded_at is None else []
        if ticket.state not in ("resolved", "closed"):
            names.append(RESOLUTION)
        for name in names:
            start_clock(uow, ticket, version, name, at)
        session.flush()
        if ticket.state == "waiting_customer":
            update_clocks(uow, ticket, at, lambda clock, calendar: clock.pause(at))
    return True, None if version is None else policy_of(uow, ticket.id)


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
    policy = session.execute(select(SlaClock.policy_id, SlaClock.policy_version)
                             .where(SlaClock.ticket_id == ticket.id).order_by(*CURRENT_FIRST).limit(1)).first()
    if running is None and policy is not None:  # the ticket's version, however the policy changed since
        start_clock(uow, ticket, policies.get(session, *policy), UPDATE, at)


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
        calendar = policies.get(uow.session, record.policy_id, record.policy_version).rule.calendar
        keep(uow, ticket, record, change(as_clock(record), calendar), calendar, cause)


def keep(uow, ticket, record, clock, calendar, cause=None):
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
    business_seconds = clock.elapsed(calendar, clock.stopped_at).total_seconds()
    steps.publish(uow, events.SLA_CLOCK_STOPPED, ticket, clock=record.name, target_seconds=record.target_seconds,
                  business_seconds=business_seconds, outcome=outcome, met=outcome == rules.MET, cause=cause,
                  started_at=record.started_at, stopped_at=clock.stopped_at)
    if not uow.replaying and outcome != rules.CANCELLED:  # a cancelled clock is out of compliance: not observed
        uow.after_commit(metrics.clock_completed, ticket, record.name, outcome, business_seconds)


def ticket_sla(uow, ticket_id, now):
    """The ticket's SLA policy version (None without clocks) and its clocks' views."""
    return {"policy": policy_of(uow, ticket_id), "sla": clock_views(uow, ticket_id, now)}


def clock_views(uow, ticket_id, now):
    """The latest clock of each kind, as the ticket shows them."""
    views = {}
    session = uow.session
    for record in session.scalars(select(SlaClock).where(SlaClock.ticket_id == ticket_id).order_by(SlaClock.id)):
        calendar = policies.get(session, record.policy_id, record.policy_version).rule.calendar
        views[record.name] = as_clock(record).view(calendar, now)
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
    (a clock paused before its due time has none yet: it moves when the clock resumes). Only an open
    ticket has a clock not stopped (resolving or closing stops them all): saying so lets the list start
    from the few open tickets (``ix_tickets_open_id``) rather than from every ticket."""
    return and_(Ticket.state.in_(OPEN_STATES), select(SlaClock.id).where(
        SlaClock.ticket_id == Ticket.id, SlaClock.stopped_at.is_(None),
        or_(SlaClock.paused_at.is_(None), SlaClock.due_at <= SlaClock.paused_at),
        SlaClock.due_at <= due_before).exists())


def breached_condition():
    return select(SlaClock.id).where(SlaClock.ticket_id == Ticket.id, SlaClock.breached_at.is_not(None)).exists()
