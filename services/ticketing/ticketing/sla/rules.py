"""SLA policies and clocks in business time (T4), with no framework.

Three clocks, as in Zammad: ``first_response`` (until the first reply the
customer can see), ``update`` (from a customer message until the next such
reply) and ``resolution`` (until the ticket is resolved). Each runs on the
policy's business calendar and counts business time; while the ticket waits
on the customer it is paused and counts nothing.

A clock is due at the instant it has counted its target, and warns when it
has counted ``warn_share`` of it. A pause stops only time not yet counted:
resuming moves a due or warning time not yet reached by the business time
the clock stood still, and leaves one already passed where it was - once
due, a clock stays due (an hour's pause after a breach does not undo it).
Reopening resumes the resolution clock the same way, the resolved period
counting as a pause.

A change of the ticket's priority or kind (docs/workspace.md) chooses the
policy again, as a new ticket would, among the enabled policies now; if
another policy (or version) comes out, each clock still counting keeps the
business time it has counted and gets the new policy's target
(``retarget``): due when it has counted that, on the new calendar; one that
has counted more already is due at the change. A clock already breached
stays breached (its breach was published), its due time where it was.

A stopped clock is met when it stopped by its due time, else breached. A
ticket resolved or closed before the reply a reply clock (first response,
update) waits for cancels that clock: there was no reply, so nothing was
met, unless it was due already, which stays a breach (docs/sla.md).
"""
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from ticketing.contract import RESOLUTION
from ticketing.sla.calendar import BusinessCalendar

RUNNING, PAUSED, MET, BREACHED, CANCELLED = "running", "paused", "met", "breached", "cancelled"
DEFAULT_WARN_SHARE = 0.8


@dataclass(frozen=True)
class Policy:
    """Targets in minutes per clock; a clock without a target is not kept."""
    name: str
    calendar: BusinessCalendar
    targets: dict
    conditions: dict = field(default_factory=dict)  # field -> allowed values; a field left out: any
    warn_share: float = DEFAULT_WARN_SHARE

    def matches(self, ticket: dict) -> bool:
        return all(ticket.get(name) in allowed for name, allowed in self.conditions.items() if allowed)

    def target(self, clock) -> timedelta | None:
        minutes = self.targets.get(clock)
        return None if minutes is None else timedelta(minutes=minutes)


def choose_policy(policies, ticket: dict) -> Policy | None:
    """The first policy whose conditions the ticket meets (policies in order); None: the ticket has no SLA."""
    return next((policy for policy in policies if policy.matches(ticket)), None)


@dataclass(frozen=True)
class Clock:
    """One clock's state; every method returns a new Clock."""
    name: str
    started_at: datetime
    target: timedelta
    due_at: datetime                        # the instant it has counted ``target``
    warn_at: datetime                       # ... and the warning share of it
    paused: timedelta = timedelta(0)        # business time it stood still (paused, or stopped before a reopen)
    paused_at: datetime | None = None
    stopped_at: datetime | None = None
    cancelled: bool = False                 # stopped without the reply it waited for

    def pause(self, at) -> "Clock":
        if self.paused_at or self.stopped_at:
            return self
        return replace(self, paused_at=at)

    def resume(self, calendar, at) -> "Clock":
        """Count again from ``at``: after a pause, or a resolution clock stopped by a ticket now reopened."""
        since = self.stopped_at or self.paused_at
        if since is None:
            return self
        return replace(self, paused_at=None, stopped_at=None, paused=self.paused + calendar.elapsed(since, at),
                       due_at=moved(calendar, self.due_at, since, at), warn_at=moved(calendar, self.warn_at, since, at))

    def stop(self, calendar, at) -> "Clock":
        if self.stopped_at:
            return self
        return replace(self.resume(calendar, at), stopped_at=at)

    def finish(self, calendar, at) -> "Clock":
        """The ticket is resolved or closed: the resolution clock stops; a reply clock
        (first response, update) that got no reply is cancelled, unless it was due already."""
        if self.stopped_at or self.name == RESOLUTION:
            return self.stop(calendar, at)
        stopped = self.stop(calendar, at)
        return replace(stopped, cancelled=at <= stopped.due_at)

    def elapsed(self, calendar, now) -> timedelta:
        """Business time the clock has counted, pauses excluded."""
        end = self.stopped_at or self.paused_at or now
        return calendar.elapsed(self.started_at, end) - self.paused

    def status(self, now) -> str:
        if self.stopped_at:
            if self.cancelled:
                return CANCELLED
            return MET if self.stopped_at <= self.due_at else BREACHED
        if (self.paused_at or now) >= self.due_at:  # due before it paused, it stays due
            return BREACHED
        return PAUSED if self.paused_at else RUNNING

    def view(self, calendar, now) -> dict:
        """What a ticket shows for this clock."""
        elapsed = self.elapsed(calendar, now)
        return {
            "clock": self.name, "status": self.status(now), "due_at": self.due_at,
            "elapsed_seconds": int(elapsed.total_seconds()),
            "remaining_seconds": int((self.target - elapsed).total_seconds()),
            "target_seconds": int(self.target.total_seconds()),
        }


def moved(calendar, mark, since, at):
    """A due or warning time after the clock stood still from ``since`` to ``at``:
    one not yet reached is what remained to count, counted from ``at``; one passed stays."""
    return mark if mark <= since else calendar.add(at, calendar.elapsed(since, mark))


def start(policy: Policy, name, at) -> Clock | None:
    target = policy.target(name)
    if target is None:
        return None
    calendar = policy.calendar
    return Clock(name, at, target, calendar.add(at, target), calendar.add(at, target * policy.warn_share))


def retarget(clock: Clock, calendar: BusinessCalendar, policy: Policy, at) -> Clock | None:
    """``clock`` (running or paused, on ``calendar``) under ``policy`` from ``at``: the business time
    counted kept, the target the policy's (None: the policy keeps no such clock). The due and warning
    times are where the clock reaches the new target and its warning share counting on from now (from
    its pause, while paused: resuming moves them on), or now if it has counted that much already."""
    target = policy.target(clock.name)
    if target is None:
        return None
    new_calendar = policy.calendar
    end = clock.paused_at or at
    counted = clock.elapsed(calendar, end)

    def reached(share):
        left = target * share - counted
        return new_calendar.add(end, left) if left > timedelta(0) else end
    # paused: what the new calendar counts from the start that the clock did not
    paused = new_calendar.elapsed(clock.started_at, end) - counted
    return replace(clock, target=target, paused=paused, due_at=reached(1), warn_at=reached(policy.warn_share))
