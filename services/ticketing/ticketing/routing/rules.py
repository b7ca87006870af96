"""Who gets a ticket (T3, R4), with no framework.

An agent can take a ticket while on duty, active, cleared for duty by a
valid training certification, under their capacity of open tickets, in the
ticket's team (when it names one) and holding every skill it needs.
Among those, round-robin gives it to whoever waited longest since their
last ticket; least-loaded to whoever has the fewest open tickets (then
round-robin). Decisions taken where the policies are silent: a supervisor's
manual assignment obeys the same clearance rule but not team, skill or
capacity (a supervisor may overload on purpose).

Waiting tickets (nobody could take them when they came in) are offered to
a freed slot in queue order: urgent first (then high, normal, low), within a
priority the earliest SLA due time first (a ticket on no SLA policy after
those with one), then the oldest. A new ticket is routed at once unless a
waiting ticket the queue puts before it could go to the same agent: then it
joins the queue, so a slot freed since the last sweep goes to the ticket
first in line, not to the newest.

A team is staffed while at least one active agent in it holds a valid
certification that clears for duty, on duty or not, full or not (a ticket
in no team: any such agent). A waiting ticket of a team that is not staffed
is unstaffed: it will wait until someone is cleared, so it is surfaced
rather than left to wait silently.
"""
from dataclasses import dataclass, field
from datetime import datetime

ROUND_ROBIN, LEAST_LOADED = "round_robin", "least_loaded"
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
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


# -- the queue of waiting tickets ----------------------------------------------------------
@dataclass(frozen=True)
class Waiting:
    ticket_id: int
    priority: str
    due_at: datetime | None   # the earliest running SLA clock's; None on no policy
    created_at: datetime


def queue_order(waiting) -> list[Waiting]:
    """Waiting tickets in the order a freed slot takes them (see the module notes)."""
    def key(ticket):
        due = naive(ticket.due_at)
        return (PRIORITY_RANK.get(ticket.priority, len(PRIORITY_RANK)), due is None, due or EPOCH,
                naive(ticket.created_at), ticket.ticket_id)
    return sorted(waiting, key=key)


def waits_its_turn(ticket: Waiting, waiting, needs, chosen: Candidate) -> bool:
    """Whether ``ticket`` (new) should leave ``chosen`` to a waiting ticket the queue puts before it;
    ``needs`` maps each waiting ticket's id to its ``Need``."""
    queue = queue_order([ticket, *waiting])
    return any(can_take(chosen, needs[ahead.ticket_id]) for ahead in queue[:queue.index(ticket)])


def naive(moment):
    return None if moment is None else moment.replace(tzinfo=None)


# -- staffing -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Staffing:
    """The teams with a cleared agent, and whether anyone at all is cleared."""
    teams: frozenset = frozenset()
    anyone: bool = False

    def covers(self, team) -> bool:
        return self.anyone if team is None else team in self.teams


def staffing(candidates) -> Staffing:
    cleared = [candidate for candidate in candidates if not_cleared_reason(candidate) is None]
    return Staffing(frozenset().union(*(candidate.teams for candidate in cleared)), bool(cleared))
