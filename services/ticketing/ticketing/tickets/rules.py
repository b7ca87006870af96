"""Ticket rules that need no framework: intake, lifecycle, messages (T1, T2, T9).

States run new -> assigned -> in_progress -> waiting_customer -> resolved ->
closed; ``reopen`` brings a resolved or closed ticket back. Decisions taken
where the policies are silent:
- a ticket may be resolved or closed from any open state (a question
  answered at once, spam);
- reopening returns to in_progress when someone owns the ticket, else new;
- a customer message on a resolved or closed ticket reopens it, and on a
  ticket waiting on the customer resumes it (in_progress, or new when
  nobody owns it);
- an agent's public reply moves an assigned ticket to in_progress; on a new
  ticket the replying agent also becomes its owner.

Customer details (X6): a list shows every customer masked; one ticket shows
its customer in full to supervisors, admins, integrations and services, and
to an agent only on a ticket the agent owns. The masking itself
(``contract.customer``) and first-contact resolution
(``contract.first_contact_resolution``) are in the contract, whose ticket
schemas apply them.

Object scope (X1), within what the gateway's role table lets a caller do at
all (``ticket_scope``):
- everyone reads and changes the tickets she owns;
- an agent also reads her teams' tickets, and changes the unassigned ones of
  her teams' queues (a reply takes such a ticket, as it always did), not a
  teammate's;
- a supervisor reads and changes her teams' tickets, whoever owns them;
- admins, integrations, and services (no roles: not a person through the
  gateway) every ticket. A ticket in no team is in nobody's queue: its owner,
  admins and integrations reach it.
The customer's side (an integration, or a service such as a channel) writes
``customer`` messages and receives the rating link; staff never do
(``on_customers_side``): the link would let a colleague rate the work.
"""
from dataclasses import dataclass
from datetime import timedelta

from plumbing.text import with_article
from ticketing.contract import CUSTOMER, REPLY

OPEN_STATES = ("new", "assigned", "in_progress", "waiting_customer")

TRANSITIONS = {
    "new": ("assigned", "resolved", "closed"),
    "assigned": ("in_progress", "waiting_customer", "resolved", "closed"),
    "in_progress": ("waiting_customer", "resolved", "closed"),
    "waiting_customer": ("in_progress", "resolved", "closed"),
    "resolved": ("closed",),
    "closed": (),
}
REOPENABLE = ("resolved", "closed")
# Another help desk may have let a ticket nobody owned wait on the customer (a "pending" one): its
# history replays that pause. Here a ticket waits on the customer only once someone owns it.
IMPORTED_PATHS = (("new", "waiting_customer"),)
IMPORT_CLOCK_SKEW = timedelta(minutes=5)   # how far another system's clock may run ahead of ours

CUSTOMER_READERS = ("supervisor", "admin", "integration")
EVERY_TICKET = ("admin", "integration")
CUSTOMERS_SIDE = "integration"


class InvalidTransition(Exception):
    def __init__(self, current, target, allowed):
        self.current, self.target, self.allowed = current, target, tuple(allowed)
        options = ", ".join(self.allowed) or "none"
        super().__init__(f"{with_article(current)} ticket cannot become {target}; allowed: {options}")


class NeedsAssignee(Exception):
    pass


def normalise_tags(tags) -> list[str]:
    """Tags compare case-insensitively and appear once, in a stable order."""
    seen = []
    for tag in tags or ():
        tag = tag.strip().lower()
        if tag and tag not in seen:
            seen.append(tag)
    return seen


def initial_state(assignee) -> str:
    """A ticket created with an assignee starts assigned, otherwise new."""
    return "assigned" if assignee else "new"


def allowed_targets(current) -> tuple:
    targets = TRANSITIONS[current]
    return targets + ("reopened",) if current in REOPENABLE else targets


def next_state(current, target, assignee, imported=False) -> str:
    """The state a requested change leads to; ``reopened`` is the reopen action. An
    ``imported`` history may also take the ``IMPORTED_PATHS``."""
    if imported and (current, target) in IMPORTED_PATHS:
        return target
    if target == "reopened":
        if current not in REOPENABLE:
            raise InvalidTransition(current, target, allowed_targets(current))
        return "in_progress" if assignee else "new"
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(current, target, allowed_targets(current))
    if target in ("assigned", "in_progress", "waiting_customer") and not assignee:
        raise NeedsAssignee(f"a ticket must have an assignee to become {target}")
    return target


def state_after_message(current, kind, assignee) -> str:
    """The state a new message moves the ticket to (see the module notes);
    for a reply on a new ticket, ``assignee`` is already the replying agent."""
    if kind == CUSTOMER and current in REOPENABLE:
        return next_state(current, "reopened", assignee)
    if kind == CUSTOMER and current == "waiting_customer":
        return "in_progress" if assignee else "new"
    if kind == REPLY and current in ("new", "assigned"):
        return "in_progress"
    return current


def future_times(ticket, now) -> dict:
    """An imported ticket's times later than ``now`` allows (plus the clock skew), as
    ``{"created_at": [...], "history": {"<step>": {"at": [...]}}}``: history cannot be in the future."""
    latest = now + IMPORT_CLOCK_SKEW
    reason = f"after {latest.isoformat(timespec='seconds')} (now, and {IMPORT_CLOCK_SKEW} of clock skew)"
    problems = {"created_at": [reason]} if ticket["created_at"] > latest else {}
    steps = {str(i): {"at": [reason]} for i, step in enumerate(ticket.get("history", ())) if step["at"] > latest}
    return dict(problems, history=steps) if steps else problems


def is_reopen(before, after) -> bool:
    return before in REOPENABLE and after in OPEN_STATES


def sees_customer(roles, actor, assignee) -> bool:
    """Whether a caller sees a ticket's customer in full; ``roles`` None is a
    service or an operator's tool, not a person through the gateway."""
    return roles is None or bool(set(roles) & set(CUSTOMER_READERS)) or (actor is not None and actor == assignee)


@dataclass(frozen=True)
class Scope:
    """Tickets a caller may reach: every one, or those ``owner`` owns, those
    of ``teams``, and the unassigned ones of ``queues``. The ticket list
    turns the same fields into SQL (``steps.readable_condition``)."""
    everything: bool = False
    owner: str | None = None
    teams: frozenset = frozenset()
    queues: frozenset = frozenset()

    def covers(self, assignee, team) -> bool:
        return (self.everything or (self.owner is not None and assignee == self.owner) or team in self.teams
                or (assignee is None and team in self.queues))


def ticket_scope(roles, actor, teams, acting) -> Scope:
    """The tickets a caller may read, or with ``acting`` change (see the module notes)."""
    if roles is None or set(roles) & set(EVERY_TICKET):
        return Scope(everything=True)
    teams = frozenset(teams or ())
    supervised = teams if "supervisor" in roles else frozenset()
    queued = teams if "agent" in roles else frozenset()
    if acting:
        return Scope(owner=actor, teams=supervised, queues=queued)
    return Scope(owner=actor, teams=supervised | queued)


def on_customers_side(roles) -> bool:
    """Whether a caller speaks for the customer: an integration holding no staff role, or a service."""
    return roles is None or set(roles) == {CUSTOMERS_SIDE}
