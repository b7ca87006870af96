"""Views (docs/workspace.md, "Views"): saved ticket lists, personal or shared, and the built-in
ones, each run through the ticket list (``tickets.handlers.list_tickets``) within the caller's
scope; the list of views counts each one's tickets, up to a cap."""
from marshmallow import ValidationError
from sqlalchemy import false, or_, select

from plumbing.errors import Forbidden, InvalidInput, NotFound, load_or_invalid as load
from plumbing.paging import capped_count
from plumbing.schemas import shared
from ticketing.contract import (
    DEFAULT_COLUMNS, VIEW_COUNT_CAP, TicketListQuerySchema, ViewCreateSchema, ViewListSchema,
    ViewSchema, ViewTicketsQuerySchema, ViewUpdateSchema,
)
from ticketing.models import Ticket, TicketView
from ticketing.tickets import handlers as tickets
from ticketing.views import rules


def create_view(uow, data):
    fields = checked(uow, load(ViewCreateSchema, data))
    with uow.transaction():
        now = uow.now()
        view = TicketView(**fields, owner=uow.caller.actor or "", created_at=now, updated_at=now)
        uow.session.add(view)
        uow.session.flush()
        return shared(ViewSchema).dump(saved_view(view))


def update_view(uow, view_id, data):
    changes = load(ViewUpdateSchema, data)
    if not changes:
        raise InvalidInput("name at least one field to change", {"_schema": ["name at least one field to change"]})
    with uow.transaction():
        view = changeable(uow, view_id)
        fields = {name: getattr(view, name) for name in ("name", "query", "sort", "columns", "visibility", "team")}
        fields.update(changes)
        if changes.get("visibility") not in (None, rules.TEAM) and "team" not in changes:
            fields["team"] = None
        for name, value in checked(uow, fields).items():
            setattr(view, name, value)
        view.updated_at = uow.now()
        return shared(ViewSchema).dump(saved_view(view))


def delete_view(uow, view_id):
    with uow.transaction():
        uow.session.delete(changeable(uow, view_id))


def get_view(uow, view_id):
    return shared(ViewSchema).dump(find(uow, view_id))


def list_views(uow):
    """The built-ins, then the caller's own views, then those shared with her, each with its count."""
    caller = uow.caller
    statement = select(TicketView)
    if rules.ADMIN not in (caller.roles or ()):
        statement = statement.where(or_(
            TicketView.owner == (caller.actor or ""), TicketView.visibility == rules.EVERYONE,
            (TicketView.visibility == rules.TEAM) & TicketView.team.in_(sorted(caller.teams or ()) or [""])))
    views = [builtin(key) for key in rules.BUILTINS] + [saved_view(view) for view in uow.session.scalars(
        statement.order_by((TicketView.owner != (caller.actor or "")), TicketView.name, TicketView.id))]
    items = [dict(view, count=count_view(uow, view)) for view in views]
    return shared(ViewListSchema).dump({"items": items})


def view_tickets(uow, view_id, query):
    """A page of the view's tickets, as the ticket list answers it, sorted as the view says."""
    paging = load(ViewTicketsQuerySchema, query or {})
    view = find(uow, view_id)
    filters, extra = run_conditions(uow, view)
    page = tickets.list_tickets(uow, dict(filters, sort=view["sort"], **paging), extra)
    return dict(page, view=shared(ViewSchema).dump(view))  # the page as the ticket list dumped it


# -- running a view -----------------------------------------------------------------------
def run_conditions(uow, view):
    """The ticket list's filters for the view now, and the conditions they cannot say."""
    caller = uow.caller
    filters, special = rules.resolve(view["query"], caller.actor, caller.teams, uow.now())
    extra = []
    if "states" in special:
        extra.append(Ticket.state.in_(special["states"]))
    if special.get("unassigned"):
        extra.append(Ticket.assignee.is_(None))
    if "teams" in special:
        extra.append(Ticket.team.in_(special["teams"]) if special["teams"] else false())
    return filters, extra


def count_view(uow, view):
    """How many tickets the view lists for the caller now, counted up to ``VIEW_COUNT_CAP``."""
    filters, extra = run_conditions(uow, view)
    criteria = load(TicketListQuerySchema, filters)
    conditions, _tree = tickets.list_conditions(uow, criteria)
    conditions += extra + [getattr(Ticket, name) == value for name, value in criteria.items()
                           if name not in ("page", "per_page")]
    count, exact = capped_count(uow.session, Ticket, conditions, cap=VIEW_COUNT_CAP)
    return {"count": count, "capped": not exact}


# -- finding and checking views -----------------------------------------------------------
def builtin(key):
    name, query, sort = rules.BUILTINS[key]
    return {"id": key, "builtin": True, "name": name, "query": query, "sort": sort, "columns": list(DEFAULT_COLUMNS),
            "visibility": rules.EVERYONE, "team": None, "owner": None, "created_at": None, "updated_at": None,
            "count": None}


def saved_view(view):
    return {"id": str(view.id), "builtin": False, "name": view.name, "query": view.query, "sort": view.sort,
            "columns": view.columns, "visibility": view.visibility, "team": view.team, "owner": view.owner,
            "created_at": view.created_at, "updated_at": view.updated_at, "count": None}


def find(uow, view_id):
    """A built-in by its key, or a saved view the caller may see (else NotFound)."""
    if view_id in rules.BUILTINS:
        return builtin(view_id)
    return saved_view(visible(uow, view_id))


def visible(uow, view_id, lock=False):
    text = str(view_id)
    number = int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else None  # not '²', not 5000 digits
    number = number if number is not None and 0 < number < 2**31 else None  # an INTEGER key
    view = uow.session.get(TicketView, number, with_for_update=lock or None) if number else None
    caller = uow.caller
    if view is None or not rules.sees(view.visibility, view.team, view.owner, caller.actor, caller.roles,
                                      caller.teams):
        raise NotFound(f"view {view_id} does not exist")
    return view


def changeable(uow, view_id):
    if view_id in rules.BUILTINS:
        raise Forbidden(f"the built-in view {view_id} cannot be changed", {"view_id": ["a built-in view"]})
    view = visible(uow, view_id, lock=True)
    caller = uow.caller
    if not rules.changes(view.visibility, view.team, view.owner, caller.actor, caller.roles, caller.teams):
        raise Forbidden(f"view {view_id} is yours to use, not to change", {"view_id": ["not yours to change"]})
    return view


def checked(uow, fields):
    """The view's fields once its query would run as GET /api/v1/tickets takes it and the caller may share it
    so: 400 naming the field, or 403."""
    problems = rules.query_problems(fields["query"])
    if problems:
        raise InvalidInput("a view's query holds the filters of the ticket list", {"query": problems})
    try:
        shared(TicketListQuerySchema).load(rules.with_stand_ins(fields["query"]))
    except ValidationError as exc:
        raise InvalidInput("a view's query holds the filters of the ticket list", {"query": exc.messages}) from None
    visibility, team = fields["visibility"], fields["team"]
    if visibility == rules.TEAM and not team:
        raise InvalidInput("a team view names its team", {"team": ["required for a team view"]})
    if visibility != rules.TEAM and team:
        raise InvalidInput("only a team view names a team", {"team": ["only for a team view"]})
    caller = uow.caller
    if not rules.changes(visibility, team, caller.actor, caller.actor, caller.roles, caller.teams):
        who = "a supervisor of the team or an admin" if visibility == rules.TEAM else "an admin"
        raise Forbidden(f"{who} shares a view with {'the team' if team else 'everyone'}",
                        {"visibility": [f"{visibility}: {who} only"]})
    return fields
