"""Views: the built-in ones, the relative values a saved query may hold, and who sees or changes
a view. No framework here; ``handlers.py`` turns what these answer into SQL.

Relative values (resolved each time a view runs, so a shared view is everyone's own):
- ``assignee``: ``@me`` (the caller) or ``@none`` (nobody owns it);
- ``team``: ``@my_teams`` (any team of the caller's; none: the view lists nothing);
- ``state``: ``@open`` (new, assigned, in_progress or waiting_customer);
- ``due_before``: ``now``, ``now+1h``, ``now+30m``, ``now-2d`` (m, h, d).

Visibility: a personal view is its owner's alone; a team view is every member's of the team, saved
and changed by the team's supervisors and admins; an everyone view is every ticket reader's, saved
and changed by admins. An admin sees and changes every view. A view the caller may not see is 404;
one she sees but may not change is 403 to a change.
"""
import re
from datetime import timedelta

from ticketing.contract import (
    ME, MY_TEAMS, NOBODY, OPEN, RELATIVE_TIME_PATTERN, VIEW_QUERY_FIELDS, is_relative_time,
)
from ticketing.tickets.rules import OPEN_STATES

ADMIN, SUPERVISOR = "admin", "supervisor"
PERSONAL, TEAM, EVERYONE = "personal", "team", "everyone"

# key -> (name, query, sort): fixed, every ticket reader's, each running within the caller's scope
BUILTINS = {
    "mine": ("Mine", {"assignee": ME, "state": OPEN}, "-updated_at"),
    "team_queue": ("My team's queue", {"team": MY_TEAMS, "assignee": NOBODY, "state": OPEN}, "created_at"),
    "unassigned": ("Unassigned", {"assignee": NOBODY, "state": OPEN}, "created_at"),
    "breaching_soon": ("Breaching soon", {"due_before": "now+1h", "state": OPEN}, "created_at"),
    "waiting_on_customer": ("Waiting on the customer", {"state": "waiting_customer"}, "-updated_at"),
}
RELATIVE = {"assignee": (ME, NOBODY), "team": (MY_TEAMS,), "state": (OPEN,)}
# what a relative value stands for while a saved query is checked (the field's own rules then apply)
STAND_INS = {"assignee": "someone", "team": "some-team", "state": "new", "due_before": "2000-01-01T00:00:00+00:00"}
UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def query_problems(query) -> dict:
    """Fields a view's query may not hold (paging is the runner's), as ``{field: [reason]}``."""
    return {name: ["not a filter of the ticket list"] for name in query if name not in VIEW_QUERY_FIELDS}


def with_stand_ins(query) -> dict:
    """The query with each relative value replaced by a value of its field's type, to be checked as
    GET /api/v1/tickets checks its filters."""
    checked = {}
    for name, value in query.items():
        relative = value in RELATIVE.get(name, ()) or (name == "due_before" and is_relative_time(value))
        checked[name] = STAND_INS[name] if relative else value
    return checked


def relative_time(value, now):
    sign, amount, unit = re.match(RELATIVE_TIME_PATTERN, value).groups()
    if amount is None:
        return now
    shift = timedelta(**{UNITS[unit]: int(amount)})
    return now + shift if sign == "+" else now - shift


def resolve(query, actor, teams, now):
    """``(filters, special)``: the query for the ticket list with the relative values resolved, and
    what the list's own filters cannot say: ``states`` (any of), ``unassigned``, ``teams`` (any of)."""
    filters, special = {}, {}
    for name, value in query.items():
        if name == "assignee" and value == ME:
            filters[name] = actor or ""  # a caller without a name owns nothing
        elif name == "assignee" and value == NOBODY:
            special["unassigned"] = True
        elif name == "team" and value == MY_TEAMS:
            special["teams"] = tuple(sorted(teams or ()))
        elif name == "state" and value == OPEN:
            special["states"] = OPEN_STATES
        elif name == "due_before" and is_relative_time(value):
            filters[name] = relative_time(value, now).isoformat()
        else:
            filters[name] = value
    return filters, special


def sees(visibility, team, owner, actor, roles, teams) -> bool:
    if ADMIN in (roles or ()) or visibility == EVERYONE:
        return True
    if visibility == TEAM:
        return team in (teams or ())
    return owner == actor


def changes(visibility, team, owner, actor, roles, teams) -> bool:
    """Whether the caller may save or change a view of this visibility (or delete it)."""
    roles = roles or ()
    if ADMIN in roles:
        return True
    if visibility == TEAM:
        return SUPERVISOR in roles and team in (teams or ())
    if visibility == EVERYONE:
        return False
    return owner == actor
