"""Ticket rules that need no framework: intake, lifecycle, messages (T1, T2, T9).

States run new -> assigned -> in_progress -> waiting_customer -> resolved ->
closed; ``reopen`` brings a resolved or closed ticket back. Decisions taken
where the policies are silent:
- a ticket may be resolved or closed from any open state (a question
  answered at once, spam);
- reopening returns to in_progress when someone owns the ticket, else new;
- a customer message on a resolved or closed ticket reopens it, and on a
  ticket waiting on the customer resumes it (in_progress);
- an agent's public reply moves an assigned ticket to in_progress; on a new
  ticket the replying agent also becomes its owner.

Customer details (X6): a list shows every customer masked; one ticket shows
its customer in full to supervisors, admins, integrations and services, and
to an agent only on a ticket the agent owns. The masking itself
(``contract.customer``) and first-contact resolution
(``contract.first_contact_resolution``) are in the contract, whose ticket
schemas apply them.
"""
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

CUSTOMER_READERS = ("supervisor", "admin", "integration")


class InvalidTransition(Exception):
    def __init__(self, current, target, allowed):
        self.current, self.target, self.allowed = current, target, tuple(allowed)
        options = ", ".join(self.allowed) or "none"
        super().__init__(f"a {current} ticket cannot become {target}; allowed: {options}")


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


def next_state(current, target, assignee) -> str:
    """The state a requested change leads to; ``reopened`` is the reopen action."""
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
        return "in_progress"
    if kind == REPLY and current in ("new", "assigned"):
        return "in_progress"
    return current


def is_reopen(before, after) -> bool:
    return before in REOPENABLE and after in OPEN_STATES


def sees_customer(roles, actor, assignee) -> bool:
    """Whether a caller sees a ticket's customer in full; ``roles`` None is a
    service or an operator's tool, not a person through the gateway."""
    return roles is None or bool(set(roles) & set(CUSTOMER_READERS)) or (actor is not None and actor == assignee)

