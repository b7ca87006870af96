"""SLA policies and clocks in business time (T4), with no framework.

Three clocks, as in Zammad: ``first_response`` (until the first reply the
customer can see), ``update`` (from a customer message until the next such
reply) and ``resolution`` (until the ticket is resolved). Each runs on the
policy's business calendar; while the ticket waits on the customer it is
paused and its due time moves by the paused business time:

    due = calendar.add(started_at, target + paused)

A warning is due at ``warn_share`` of the target, the same way. A stopped
clock is met when it stopped before its due time, else breached. Reopening
resumes the resolution clock, the resolved period counting as a pause.
"""
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from ticketing.sla.calendar import BusinessCalendar

RUNNING, PAUSED, MET, BREACHED = "running", "paused", "met", "breached"
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
    paused: timedelta = timedelta(0)        # business time spent paused so far
    paused_at: datetime | None = None
    stopped_at: datetime | None = None

    def due(self, calendar) -> datetime:
        return calendar.add(self.started_at, self.target + self.paused)

    def warn_at(self, calendar, share) -> datetime:
        return calendar.add(self.started_at, self.target * share + self.paused)

    def pause(self, at) -> "Clock":
        if self.paused_at or self.stopped_at:
            return self
        return replace(self, paused_at=at)

    def resume(self, calendar, at) -> "Clock":
        if self.stopped_at:  # a reopened resolution clock: the time stopped counts as paused
            return replace(self, stopped_at=None, paused=self.paused + calendar.elapsed(self.stopped_at, at))
        if not self.paused_at:
            return self
        return replace(self, paused_at=None, paused=self.paused + calendar.elapsed(self.paused_at, at))

    def stop(self, calendar, at) -> "Clock":
        if self.stopped_at:
            return self
        return replace(self.resume(calendar, at), stopped_at=at)

    def elapsed(self, calendar, now) -> timedelta:
        """Business time the clock has counted, pauses excluded."""
        end = self.stopped_at or self.paused_at or now
        return calendar.elapsed(self.started_at, end) - self.paused

    def status(self, calendar, now) -> str:
        due = self.due(calendar)
        if self.stopped_at:
            return MET if self.stopped_at <= due else BREACHED
        if self.paused_at:
            return PAUSED
        return BREACHED if now >= due else RUNNING

    def view(self, calendar, now) -> dict:
        """What a ticket shows for this clock."""
        elapsed = self.elapsed(calendar, now)
        return {
            "clock": self.name, "status": self.status(calendar, now), "due_at": self.due(calendar),
            "elapsed_seconds": int(elapsed.total_seconds()),
            "remaining_seconds": int((self.target - elapsed).total_seconds()),
            "target_seconds": int(self.target.total_seconds()),
        }


def start(policy: Policy, name, at) -> Clock | None:
    target = policy.target(name)
    return None if target is None else Clock(name, at, target)
