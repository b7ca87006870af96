"""Editing tickets (docs/workspace.md): one, with If-Match (``edit_ticket``), or up to
``contract.MAX_BULK`` with one change set, each in a transaction of its own (``bulk_edit``).

The rules are in ``rules.py``; the steps (history, events, SLA, routing) are the tickets'.
What an edit must set off:
- priority or kind: the SLA policy is chosen again and the running clocks re-targeted
  (``sla.retarget_clocks``, docs/workspace.md);
- team: a transfer. The owner keeps the ticket if in the new team (as an assignment that
  names only a team); otherwise it goes back to the new team's queue (``new``, or still
  waiting on the customer) and routing offers it at once;
- required skills (and team) of a waiting ticket: routing offers it again with them.
"""
from sqlalchemy import delete, select

from plumbing.errors import Conflict, DomainError, Forbidden, InvalidInput, PreconditionRequired
from plumbing.errors import load_or_invalid as load
from plumbing.schemas import shared
from ticketing import events
from ticketing.contract import (
    MAX_TAGS, BulkEditSchema, BulkResultSchema, HistoryEntrySchema, TicketEditSchema, etag,
)
from ticketing.edits import rules
from ticketing.models import Agent, TicketHistory, TicketTag
from ticketing.routing import handlers as routing
from ticketing.search import handlers as search
from ticketing.sla import handlers as sla
from ticketing.tickets import steps

OUTCOMES = {200: "ok", 403: "forbidden", 404: "not_found", 409: "conflict", 422: "invalid"}


def edit_ticket(uow, ticket_id, data, if_match, config):
    """PATCH: the fields given, on the version the caller read (``if_match``, the header as sent)."""
    wanted = load(TicketEditSchema, data)
    with uow.transaction():
        ticket = steps.locked(uow, ticket_id)
        check_if_match(uow, ticket, if_match)
        apply_edit(uow, ticket, wanted, config)
        return steps.detail(uow, ticket)


def check_if_match(uow, ticket, if_match):
    """428 without If-Match, 400 when it is no list of entity tags, 409 naming what changed when stale."""
    if if_match is None:
        raise PreconditionRequired(
            f"ticket {ticket.id} is changed only on the version you read: send its ETag as If-Match",
            {"If-Match": [f"required: the ETag of GET /api/v1/tickets/{ticket.id}, now {etag(ticket.id, ticket.version)}"]})
    try:
        tags = rules.entity_tags(if_match)
    except rules.BadEntityTags as exc:
        raise InvalidInput(f"If-Match: {exc}", {"If-Match": [str(exc)]}) from None
    current = etag(ticket.id, ticket.version)
    if tags is None or current in tags:
        return
    since = rules.version_named(tags, ticket.id)
    statement = select(TicketHistory).where(TicketHistory.ticket_id == ticket.id).order_by(TicketHistory.id)
    if since is not None:
        statement = statement.where(TicketHistory.version > since)
    entries = uow.session.scalars(statement).all()
    changed = rules.changed_fields([{"action": entry.action, "changes": entry.changes} for entry in entries])
    fields = {name: getattr(ticket, name) for name in changed if name in rules.TICKET_FIELDS}
    seen = "another ticket's ETag" if since is None else f"version {since}"
    raise Conflict(
        f"ticket {ticket.id} changed since {seen}: it is at version {ticket.version} ({', '.join(changed) or 'history'} "
        "changed); read it again and redo your change on it",
        {"If-Match": [f"stale: the ticket's ETag is now {current}"], "etag": current, "version": ticket.version,
         "changed": fields, "changed_fields": changed,
         "changes": shared(HistoryEntrySchema).dump(entries, many=True)})


def apply_edit(uow, ticket, wanted, config, macro_id=None):
    """The edit's changes to the locked ``ticket``, each a history entry, and what they set off.
    Returns the names of the fields that changed."""
    if ticket.state == "closed":
        raise Conflict(f"ticket {ticket.id} is closed: reopen it to edit it", {"state": ["closed"]})
    current = {name: list(getattr(ticket, name) or []) if name in ("tags", "required_skills")
               else dict(getattr(ticket, name) or {}) if name == "custom_fields" else getattr(ticket, name)
               for name in rules.EDITABLE_FIELDS}
    changes = rules.edits(current, wanted)
    team = changes.pop("team", None)
    for field, (before, after) in changes.items():
        setattr(ticket, field, after)
        steps.journal(uow, ticket, "edited", {field: [before, after]})
    if changes:
        ticket.updated_at = uow.now()
    if "subject" in changes:
        search.index_ticket(uow, ticket)
    if "tags" in changes:
        keep_tags(uow, ticket)
    if {"priority", "kind"} & set(changes) and ticket.state not in ("resolved", "closed"):
        before = sla.policy_of(uow, ticket.id)
        changed, after = sla.retarget_clocks(uow, ticket, uow.now())
        if changed:
            steps.journal(uow, ticket, "sla_retargeted", {"sla_policy": [before, after]})
    if team is not None:
        move_to_team(uow, ticket, team[1], config)
    changed = [*changes, *(["team"] if team else [])]
    if changed:
        previous = {field: before for field, (before, _after) in changes.items()
                    if field not in ("custom_fields", "team")}
        keys = rules.changed_keys(*changes["custom_fields"]) if "custom_fields" in changes else []
        steps.publish(uow, events.TICKET_UPDATED, ticket, changed=changed, previous=previous, subject=ticket.subject,
                      tags=ticket.tags, required_skills=ticket.required_skills, custom_field_keys=keys,
                      macro_id=macro_id)
    if {"required_skills", "team", "priority"} & set(changed) and waiting(ticket) and not uow.replaying:
        routing.route(uow, ticket, config, new=True)
    return changed


def waiting(ticket):
    return ticket.state == "new" and ticket.assignee is None


def keep_tags(uow, ticket):
    """The ticket's tags again as rows, for the list's tag filter."""
    if len(ticket.tags) > MAX_TAGS:
        raise InvalidInput(f"a ticket has at most {MAX_TAGS} tags", {"tags": [f"at most {MAX_TAGS}"]})
    uow.session.execute(delete(TicketTag).where(TicketTag.ticket_id == ticket.id))
    uow.session.add_all(TicketTag(ticket_id=ticket.id, tag=tag) for tag in ticket.tags)


def move_to_team(uow, ticket, team, config):
    """A transfer to ``team`` (see the module notes)."""
    steps.check_open(ticket, "moved to another team")
    owner = ticket.assignee
    if owner is None:  # in a queue: now in the new team's
        before, ticket.team, ticket.updated_at = ticket.team, team, uow.now()
        steps.journal(uow, ticket, "edited", {"team": [before, team]})
        return
    agent = uow.session.get(Agent, owner)
    if rules.keeps_owner(agent.teams if agent else (), team):
        steps.hand_to(uow, ticket, owner, team)
        return
    previous_team = ticket.team
    ticket.assignee, ticket.team, ticket.updated_at = None, team, uow.now()
    ticket.transfer_count += 1
    steps.journal(uow, ticket, "assigned", {"assignee": [owner, None], "team": [previous_team, team]})
    steps.publish(uow, events.TICKET_TRANSFERRED, ticket, previous_assignee=owner, previous_team=previous_team)
    if ticket.state in ("assigned", "in_progress"):  # nobody owns it: it waits in the new queue (waiting_customer
        steps.move(uow, ticket, "new")               # stays: the customer's answer brings it back to new)


# -- bulk ---------------------------------------------------------------------------------
def bulk_edit(uow, data, config):
    """One change set on many tickets, each in a transaction of its own: a result per ticket, in order
    (a ticket outside the caller's scope is not_found, as its own PATCH would be)."""
    batch = load(BulkEditSchema, data)
    changes = batch["changes"]
    if "assignee" in changes:
        check_may_assign(uow, changes["assignee"])
    items = []
    for ticket_id in batch["ids"]:
        callbacks = len(uow.committed_callbacks)
        try:
            with uow.transaction():
                ticket = steps.locked(uow, ticket_id)
                apply_changes(uow, ticket, changes, config)
                version = ticket.version
        except DomainError as exc:
            del uow.committed_callbacks[callbacks:]  # what the rolled-back change would have counted
            status = 422 if isinstance(exc, InvalidInput) else exc.status
            items.append({"ticket_id": ticket_id, "status": status, "outcome": OUTCOMES.get(status, exc.code),
                          "message": exc.message, "details": exc.details, "version": None})
            continue
        items.append({"ticket_id": ticket_id, "status": 200, "outcome": "ok", "message": None, "details": None,
                      "version": version})
    failed = sum(item["status"] != 200 for item in items)
    return shared(BulkResultSchema).dump({"items": items, "succeeded": len(items) - failed, "failed": failed})


def apply_changes(uow, ticket, changes, config):
    """A bulk change set: the edit's fields, tags added and removed, the assignee, then the state."""
    wanted = {name: changes[name] for name in rules.EDITABLE_FIELDS if name in changes}
    if "add_tags" in changes or "remove_tags" in changes:
        wanted["tags"] = rules.tags_after(ticket.tags, changes.get("add_tags", ()), changes.get("remove_tags", ()))
    if "assignee" in changes:
        team = wanted.pop("team", ticket.team)
        apply_edit(uow, ticket, wanted, config)
        assign(uow, ticket, changes["assignee"], team, config)
    elif wanted:
        apply_edit(uow, ticket, wanted, config)
    if "state" in changes:
        steps.move(uow, ticket, steps.next_state(ticket, changes["state"]))


def assign(uow, ticket, assignee, team, config):
    """As POST .../assignment: to a cleared agent, the same again a no-op."""
    steps.check_open(ticket, "assigned")
    if (assignee, team) != (ticket.assignee, ticket.team):
        routing.check_assignable(uow, assignee, config)
    steps.hand_to(uow, ticket, assignee, team)


def check_may_assign(uow, assignee):
    caller = uow.caller
    if not rules.may_assign(caller.roles, caller.actor, assignee):
        raise Forbidden("only supervisors and admins assign tickets to others; an agent may take one herself",
                        {"assignee": [f"you may name only yourself ({caller.actor})"]})
