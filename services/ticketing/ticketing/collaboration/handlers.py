"""Working together on a ticket (docs/workspace.md): who else is on it (presence), @mentions in
internal notes, followers, and links between tickets. Each within the caller's ticket scope
(``tickets.steps.readable``: NotFound outside it). Whom the platform tells of a mention or of a
followed ticket's news is decided here, by the staff registry routing keeps (``Agent``, from the
gateway's staff events): active accounts who may read the ticket (``tickets.rules.ticket_scope``);
channels mails them."""
from datetime import timedelta

from sqlalchemy import case, delete, or_, select

from plumbing.db import upsert_insert
from plumbing.errors import Conflict, Forbidden, InvalidInput, load_or_invalid as load
from plumbing.schemas import shared
from ticketing import events
from ticketing.collaboration import rules
from ticketing.contract import (
    PRESENCE_SECONDS, FollowerListSchema, FollowSchema, LinkCreateSchema, LinkListSchema, PresenceListSchema,
    PresenceUpdateSchema, UnfollowQuerySchema,
)
from ticketing.models import Agent, Ticket, TicketFollower, TicketLink, TicketPresence
from ticketing.tickets import rules as ticket_rules
from ticketing.tickets import steps

PRESENCE = timedelta(seconds=PRESENCE_SECONDS)
PRUNE_SECONDS = 60
PRIVILEGED = ("supervisor", "admin")  # may make others follow a ticket they may change, or stop them
MAX_DEPTH = 1000  # parents walked looking for a cycle: deeper chains are refused


# -- presence -----------------------------------------------------------------------------------
def heartbeat(uow, ticket_id, data):
    """The caller is viewing or replying to the ticket for the next ``PRESENCE_SECONDS``; the others on it."""
    activity = load(PresenceUpdateSchema, data)["activity"]
    with uow.transaction():
        steps.readable(uow, ticket_id)
        now = uow.now()
        table = TicketPresence.__table__
        insert = upsert_insert(uow.session)(table).values(
            ticket_id=ticket_id, username=uow.caller.actor or "", activity=activity, since=now, seen_at=now,
            expires_at=now + PRESENCE)
        same = (table.c.activity == insert.excluded.activity) & (table.c.expires_at > now)
        uow.session.execute(insert.on_conflict_do_update(index_elements=["ticket_id", "username"], set_={
            "activity": insert.excluded.activity, "seen_at": now, "expires_at": insert.excluded.expires_at,
            "since": case((same, table.c.since), else_=insert.excluded.since)}))
        return others_present(uow, ticket_id, now)


def presence(uow, ticket_id):
    steps.readable(uow, ticket_id)
    return others_present(uow, ticket_id, uow.now())


def others_present(uow, ticket_id, now):
    rows = uow.session.scalars(select(TicketPresence).where(
        TicketPresence.ticket_id == ticket_id, TicketPresence.expires_at > now,
        TicketPresence.username != (uow.caller.actor or "")).order_by(TicketPresence.since, TicketPresence.username))
    return shared(PresenceListSchema).dump({"items": list(rows), "expires_in": PRESENCE_SECONDS})


def prune_presence(uow):
    """Forget heartbeats that ran out (reads skip them already): the table stays as small as the live ones."""
    with uow.transaction():
        return uow.session.execute(delete(TicketPresence).where(TicketPresence.expires_at <= uow.now())).rowcount


# -- mentions -----------------------------------------------------------------------------------
def mention(uow, ticket, message):
    """Tell the staff an internal note mentions (``ticket.mentioned``), in its transaction; what to answer."""
    names = rules.mentioned(message.body)
    answer = {"notified": [], "cannot_read": [], "unknown": []}
    if not names:
        return answer
    staff = {agent.username: agent for agent in uow.session.scalars(select(Agent).where(Agent.username.in_(names)))}
    for name in names:
        agent = staff.get(name)
        if agent is None or not agent.active:
            answer["unknown"].append(name)
        elif name != uow.caller.actor:
            answer["notified" if may_read(agent, ticket) else "cannot_read"].append(name)
    if answer["notified"] or answer["cannot_read"]:
        steps.journal(uow, ticket, "mentioned", {"message_id": message.id, "notified": answer["notified"],
                                                 "cannot_read": answer["cannot_read"]})
    if answer["notified"]:
        steps.publish(uow, events.TICKET_MENTIONED, ticket, message_id=message.id, mentioned=answer["notified"])
    return answer


def may_read(agent, ticket) -> bool:
    scope = ticket_rules.ticket_scope(agent.roles or [], agent.username, agent.teams, acting=False)
    return scope.covers(ticket.assignee, ticket.team)


# -- followers ----------------------------------------------------------------------------------
def follow(uow, ticket_id, data):
    """The caller (she reads the ticket), or someone a supervisor or admin who may change it names: an active
    staff member who may read it."""
    username = load(FollowSchema, data)["username"] or uow.caller.actor
    with uow.transaction():
        ticket = for_following(uow, ticket_id, username)
        agent = uow.session.get(Agent, username) if username != uow.caller.actor else None
        if username != uow.caller.actor and (agent is None or not agent.active or not may_read(agent, ticket)):
            raise InvalidInput(f"{username} cannot follow ticket {ticket_id}",
                               {"username": ["no active staff account that may read this ticket"]})
        table = TicketFollower.__table__
        added = uow.session.execute(upsert_insert(uow.session)(table).values(
            ticket_id=ticket_id, username=username, added_by=uow.caller.actor, added_at=uow.now()
        ).on_conflict_do_nothing().returning(table.c.username)).first()
        if added:
            steps.journal(uow, ticket, "followed", {"username": username})
        return followers_of(uow, ticket_id)


def unfollow(uow, ticket_id, query):
    username = load(UnfollowQuerySchema, query or {}).get("username") or uow.caller.actor
    with uow.transaction():
        ticket = for_following(uow, ticket_id, username)
        gone = uow.session.execute(delete(TicketFollower).where(
            TicketFollower.ticket_id == ticket_id, TicketFollower.username == username)).rowcount
        if gone:
            steps.journal(uow, ticket, "unfollowed", {"username": username})


def for_following(uow, ticket_id, username):
    """The ticket, locked: readable for the caller's own following; changeable by a supervisor or an
    admin for another's (else Forbidden)."""
    if username == uow.caller.actor:
        return steps.readable(uow, ticket_id, lock=True)
    ticket = steps.readable(uow, ticket_id, lock=True)
    if not set(uow.caller.roles or ()) & set(PRIVILEGED) or not steps.caller_scope(uow, acting=True).covers(
            ticket.assignee, ticket.team):
        raise Forbidden("a supervisor of the ticket's team or an admin makes others follow a ticket",
                        {"username": ["only your own"]})
    return ticket


def list_followers(uow, ticket_id):
    steps.readable(uow, ticket_id)
    return followers_of(uow, ticket_id)


def followers_of(uow, ticket_id):
    rows = uow.session.scalars(select(TicketFollower).where(TicketFollower.ticket_id == ticket_id)
                               .order_by(TicketFollower.added_at, TicketFollower.username))
    return shared(FollowerListSchema).dump({"items": list(rows)})


def notified_followers(uow, ticket_id):
    """The followers to tell of the ticket's news now: active staff who may still read it (channels asks)."""
    ticket = steps.readable(uow, ticket_id)
    staff = uow.session.scalars(select(Agent).join(TicketFollower, TicketFollower.username == Agent.username)
                                .where(TicketFollower.ticket_id == ticket_id).order_by(Agent.username))
    return [agent.username for agent in staff if agent.active and may_read(agent, ticket)]


# -- links --------------------------------------------------------------------------------------
def link(uow, ticket_id, data):
    """Link another ticket the caller may read to this one, which she may change."""
    fields = load(LinkCreateSchema, data)
    other_id, kind = fields["ticket_id"], fields["kind"]
    if other_id == ticket_id:
        raise InvalidInput("a ticket is not linked to itself", {"ticket_id": ["must be another ticket"]})
    with uow.transaction():
        ticket, other = both(uow, ticket_id, other_id)
        from_id, to_id, stored = rules.stored_link(ticket_id, other_id, kind)
        if pair_link(uow, ticket_id, other_id) is not None:
            raise Conflict(f"tickets {ticket_id} and {other_id} are linked already; unlink them first",
                           {"ticket_id": ["linked already"]})
        if stored == rules.PARENT:
            check_parent(uow, from_id, to_id)
        uow.session.add(TicketLink(from_ticket_id=from_id, to_ticket_id=to_id, kind=stored,
                                   created_by=uow.caller.actor, created_at=uow.now()))
        uow.session.flush()
        record_link(uow, events.TICKET_LINKED, "linked", ticket, other, kind)
        return links_of(uow, ticket_id)


def unlink(uow, ticket_id, other_id):
    """Remove the link between the two (none: nothing to do)."""
    if other_id == ticket_id:
        raise InvalidInput("a ticket is not linked to itself", {"linked_id": ["must be another ticket"]})
    with uow.transaction():
        ticket, other = both(uow, ticket_id, other_id)
        found = pair_link(uow, ticket_id, other_id)
        if found is None:
            return
        kind = rules.kind_for(ticket_id, found.from_ticket_id, found.kind)
        uow.session.delete(found)
        record_link(uow, events.TICKET_UNLINKED, "unlinked", ticket, other, kind)


def list_links(uow, ticket_id):
    steps.readable(uow, ticket_id)
    return links_of(uow, ticket_id)


def both(uow, ticket_id, other_id):
    """This ticket (the caller changes it) and the other (she reads it), locked in id order."""
    locked = {}
    for number in sorted((ticket_id, other_id)):
        locked[number] = steps.locked(uow, number) if number == ticket_id else steps.readable(uow, number, lock=True)
    return locked[ticket_id], locked[other_id]


def pair_link(uow, one, other):
    return uow.session.scalars(select(TicketLink).where(or_(
        (TicketLink.from_ticket_id == one) & (TicketLink.to_ticket_id == other),
        (TicketLink.from_ticket_id == other) & (TicketLink.to_ticket_id == one)))).first()


def check_parent(uow, parent_id, child_id):
    """A child has one parent, and is no ancestor of its parent."""
    current = uow.session.scalar(select(TicketLink.from_ticket_id).where(
        TicketLink.to_ticket_id == child_id, TicketLink.kind == rules.PARENT))
    if current is not None:
        raise Conflict(f"ticket {child_id} has a parent already: {current}",
                       {"kind": [f"ticket {child_id} is a child of {current} already"]})
    ancestor, depth = parent_id, 0
    while ancestor is not None:
        if ancestor == child_id:
            raise Conflict(f"ticket {child_id} is an ancestor of {parent_id}: the link would make a cycle",
                           {"kind": ["would make a cycle"]})
        depth += 1
        if depth > MAX_DEPTH:
            raise Conflict("the chain of parents is too deep", {"kind": [f"more than {MAX_DEPTH} parents up"]})
        ancestor = uow.session.scalar(select(TicketLink.from_ticket_id).where(
            TicketLink.to_ticket_id == ancestor, TicketLink.kind == rules.PARENT))


def record_link(uow, event_type, action, ticket, other, kind):
    """History on both tickets, each saying what the other is to it; one event, of the ticket named."""
    mirrored = {rules.PARENT: rules.CHILD, rules.CHILD: rules.PARENT}.get(kind, kind)
    steps.journal(uow, ticket, action, {"ticket_id": other.id, "link": kind})
    steps.journal(uow, other, action, {"ticket_id": ticket.id, "link": mirrored})
    steps.publish(uow, event_type, ticket, linked_ticket_id=other.id, link=kind)


def links_of(uow, ticket_id):
    """The ticket's links to tickets the caller may read."""
    rows = uow.session.execute(
        select(TicketLink, Ticket).join(Ticket, or_(
            (TicketLink.from_ticket_id == ticket_id) & (Ticket.id == TicketLink.to_ticket_id),
            (TicketLink.to_ticket_id == ticket_id) & (Ticket.id == TicketLink.from_ticket_id)))
        .where(steps.readable_condition(uow)).order_by(TicketLink.created_at, Ticket.id)).all()
    items = [{"ticket_id": other.id, "kind": rules.kind_for(ticket_id, found.from_ticket_id, found.kind),
              "subject": other.subject, "state": other.state, "created_by": found.created_by,
              "created_at": found.created_at} for found, other in rows]
    return shared(LinkListSchema).dump({"items": items})
