"""Ticket volume per agent per day, the first figure appraisal keeps.

Days are UTC calendar days of the ticket's creation; a ticket with no
assignee counts under the unassigned key until routing lands.
"""
from datetime import date, datetime, timezone

UNASSIGNED = ""


def agent_key(assignee: str | None) -> str:
    return assignee or UNASSIGNED


def agent_of(key: str) -> str | None:
    return key or None


def day_of(created_at: str) -> date:
    moment = datetime.fromisoformat(created_at)
    if moment.tzinfo is None:
        raise ValueError(f"created_at {created_at!r} has no time zone")
    return moment.astimezone(timezone.utc).date()
