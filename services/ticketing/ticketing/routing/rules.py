"""Who gets a ticket (T3, R4), with no framework.

An agent can take a ticket while on duty, active, cleared for duty by a
valid training certification, under their capacity of open tickets, in the
ticket's team (when it names one) and holding every skill it needs.
Among those, round-robin gives it to whoever waited longest since their
last ticket; least-loaded to whoever has the fewest open tickets (then
round-robin). Decisions taken where the policies are silent: a supervisor's
manual assignment obeys the same clearance rule but not team, skill or
capacity (a supervisor may overload on purpose).
"""
from dataclasses import dataclass, field
from datetime import datetime

ROUND_ROBIN, LEAST_LOADED = "round_robin", "least_loaded"
STRATEGIES = (ROUND_ROBIN, LEAST_LOADED)
EPOCH = datetime.min


@dataclass(frozen=True)
class Candidate:
    username: str
    teams: frozenset = frozenset()
    skills: frozenset = frozenset()
    capacity: int = 10
    open_tickets: int = 0
    on_duty: bool = False
    active: bool = True
    cleared: bool = False
    last_assigned_at: datetime | None = None


@dataclass(frozen=True)
class Need:
    team: str | None = None
    skills: frozenset = field(default_factory=frozenset)


def not_cleared_reason(candidate: Candidate | None) -> str | None:
    """Why this agent may not be given tickets at all, or None."""
    if candidate is None:
        return "is not a known agent"
    if not candidate.active:
        return "is deactivated"
    if not candidate.cleared:
        return "holds no valid certification that clears them for duty"
    return None


def can_take(candidate: Candidate, need: Need) -> bool:
    return (not_cleared_reason(candidate) is None and candidate.on_duty
            and candidate.open_tickets < candidate.capacity
            and (need.team is None or need.team in candidate.teams)
            and need.skills <= candidate.skills)


def choose(candidates, need: Need, strategy=ROUND_ROBIN) -> Candidate | None:
    eligible = [c for c in candidates if can_take(c, need)]
    if not eligible:
        return None

    def waited(candidate):
        return (candidate.last_assigned_at or EPOCH).replace(tzinfo=None), candidate.username

    if strategy == LEAST_LOADED:
        return min(eligible, key=lambda c: (c.open_tickets, *waited(c)))
    return min(eligible, key=waited)
