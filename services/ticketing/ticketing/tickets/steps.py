"""The steps every change to a ticket is made of, used by the ticket handlers
and by the other features' (SLA, routing, after-care, opinion alerts).

Each step appends the ticket's history and records its events in the open
transaction, so a change is never seen without its trail. Times are
``uow.now()`` and changes are ``uow.actor``'s: while an import replays a
ticket's history (``uow.as_of``), the original time and author of the step.
"""
from contextlib import contextmanager

from sqlalchemy import and_, false, or_, select, true, update
from sqlalchemy.orm.attributes import set_committed_value

from plumbing.db import get_or_not_found
from plumbing.errors import Conflict, Forbidden, NotFound
from plumbing.schemas import shared
from plumbing.text import with_article
from plumbing.unit_of_work import utc_now
from ticketing import events, metrics
from ticketing.aftercare import handlers as aftercare
from ticketing.attachments import handlers as attachments
from ticketing.attachments import rules as attachment_rules
from ticketing.contract import (
    CUSTOMER, REPLY, AttachmentSchema, SlaClockSchema, TicketSchema, customer, first_contact_resolution,
)
from ticketing.customers import records as customers
from ticketing.models import (
    Agent, CustomerDataAccess, OpinionAlertTicket, Ticket, TicketHistory, TicketMessage, TicketTag,
)
from ticketing.routing import handlers as routing
from ticketing.search import handlers as search
from ticketing.sla import handlers as sla
from ticketing.tickets import rules
from ticketing.webhooks import handlers as webhooks


def locked(uow, ticket_id):
    """The ticket the caller changes, locked until commit so concurrent changes
    queue: NotFound outside what she may read, Forbidden where she may read
    it but not change it (X1, ``rules.ticket_scope``)."""
    ticket = readable(uow, ticket_id, lock=True)
    if not caller_scope(uow, acting=True).covers(ticket.assignee, ticket.team):
        raise Forbidden(f"ticket {ticket_id} is another's to change", {"ticket_id": ["yours to read, not to change"]})
    return ticket


def readable(uow, ticket_id, lock=False):
    """The ticket, if the caller may read it; else NotFound, as if it did not exist."""
    ticket = get_or_not_found(uow.session, Ticket, ticket_id, lock=lock)
    if not caller_scope(uow, acting=False).covers(ticket.assignee, ticket.team):
        raise NotFound(f"ticket {ticket_id} does not exist")
    return ticket


def caller_scope(uow, acting):
    caller = uow.caller
    return rules.ticket_scope(caller.roles, caller.actor, caller.teams, acting)


def readable_condition(uow):
    """The tickets the caller may read, as an SQL condition on ``Ticket`` (the same rule as ``readable``)."""
    scope = caller_scope(uow, acting=False)
    if scope.everything:
        return true()
    conditions = [Ticket.team.in_(sorted(scope.teams))] if scope.teams else []
    if scope.owner is not None:
        conditions.append(Ticket.assignee == scope.owner)
    if scope.queues:
        conditions.append(and_(Ticket.assignee.is_(None), Ticket.team.in_(sorted(scope.queues))))
    return or_(false(), *conditions)


def next_state(ticket, target, imported=False):
    try:
        return rules.next_state(ticket.state, target, ticket.assignee, imported)
    except rules.InvalidTransition as exc:
        raise Conflict(str(exc), {"state": [str(exc)], "allowed": list(exc.allowed)}) from None
    except rules.NeedsAssignee as exc:
        raise Conflict(str(exc), {"assignee": [str(exc)]}) from None


def open_ticket(uow, fields, config):
    """A new ticket from valid fields, routed when it has no assignee (not while replaying).
    Attachments in the fields were checked against the blob store (``attachments.check_stored``)."""
    customers.for_new_ticket(uow, fields, config)  # the customer record it is for, and the tier it gets from them
    customer_fields = fields.pop("customer")
    refs = fields.pop("attachments", [])
    html = fields.pop("description_html", None)
    fields["tags"] = rules.normalise_tags(fields["tags"])
    created = uow.now()
    ticket = Ticket(**fields, state=rules.initial_state(fields["assignee"]), transfer_count=0, reopen_count=0,
                    escalation_level=0, customer_name=customer_fields["name"],
                    customer_contact=customer_fields["contact"], created_at=created, updated_at=created,
                    description_html=html)
    uow.session.add(ticket)
    uow.session.flush()
    uow.new_aggregate(events.AGGREGATE, ticket.id)
    uow.session.add_all(TicketTag(ticket_id=ticket.id, tag=tag) for tag in ticket.tags)
    search.index_new_ticket(uow, ticket)
    journal(uow, ticket, "created", {"state": [None, ticket.state], "assignee": [None, ticket.assignee]})
    record_customer_access(uow, ticket, "created")
    files = attachments.attach(uow, ticket.id, None, refs)
    if html and "cid:" in html:  # its images are these attachments: one UPDATE, once their ids are known
        ticket.description_html = attachment_rules.inline_images(html, ticket.id, refs, files)
    publish(uow, events.TICKET_CREATED, ticket, attachments=files)
    sla.start_clocks(uow, ticket, created)
    if not uow.replaying:
        uow.after_commit(metrics.TICKETS_CREATED.labels(ticket.channel, ticket.kind, ticket.priority).inc)
        if ticket.assignee is None:
            routing.route(uow, ticket, config, new=True)
    return ticket


def move(uow, ticket, after):
    before = ticket.state
    if after == before:
        return
    changed = uow.now()
    ticket.state, ticket.updated_at = after, changed
    reopened = rules.is_reopen(before, after)
    if reopened:
        ticket.reopen_count += 1
        ticket.resolved_at = ticket.closed_at = None
    elif after == "resolved":
        ticket.resolved_at = changed
    elif after == "closed":
        ticket.closed_at = changed
    journal(uow, ticket, "state_changed", {"state": [before, after]})
    publish(uow, events.TICKET_STATUS_CHANGED, ticket, from_state=before)
    sla.clocks_on_state(uow, ticket, before, after, changed)
    if reopened:
        publish(uow, events.TICKET_REOPENED, ticket)
    elif after == "resolved":
        token = aftercare.open_rating(uow, ticket, changed)
        uow.results.setdefault("rating_tokens", {})[ticket.id] = token  # shown once, in this call's answer
        first_contact = first_contact_resolution(after, ticket.reopen_count, ticket.transfer_count)
        publish(uow, events.TICKET_RESOLVED, ticket, first_contact_resolution=first_contact,
                opinion_alert_id=opinion_alert_of(uow, ticket))
        if not uow.replaying:
            uow.after_commit(metrics.TICKETS_RESOLVED.labels(ticket.team or "", str(first_contact).lower()).inc)
    elif after == "closed":
        publish(uow, events.TICKET_CLOSED, ticket, opinion_alert_id=opinion_alert_of(uow, ticket))


def opinion_alert_of(uow, ticket):
    """The opinion alert the ticket was opened for, if any (``opinion_alerts``)."""
    return uow.session.scalar(select(OpinionAlertTicket.alert_id).where(OpinionAlertTicket.ticket_id == ticket.id))


def check_open(ticket, action):
    """A resolved or closed ticket is reopened before it is ``action`` (assigned, escalated)."""
    if ticket.state in rules.REOPENABLE:
        raise Conflict(f"{with_article(ticket.state)} ticket cannot be {action}; reopen it first",
                       {"state": [ticket.state]})


def hand_to(uow, ticket, assignee, team):
    """Give the ticket to ``assignee``; callers have made sure they may take it."""
    previous, previous_team = ticket.assignee, ticket.team
    if (previous, previous_team) == (assignee, team):
        return
    agent = uow.session.get(Agent, assignee)
    if agent is not None:
        agent.last_assigned_at = uow.now()  # round-robin counts manual assignments too
    transferred = previous is not None and previous != assignee
    ticket.assignee, ticket.team, ticket.updated_at = assignee, team, uow.now()
    if transferred:
        ticket.transfer_count += 1
    journal(uow, ticket, "assigned", {"assignee": [previous, assignee], "team": [previous_team, team]})
    publish(uow, events.TICKET_TRANSFERRED if transferred else events.TICKET_ASSIGNED, ticket,
            previous_assignee=previous, previous_team=previous_team)
    if ticket.state == "new":
        move(uow, ticket, "assigned")


def write_message(uow, ticket, kind, body, config, refs=(), html=None):
    """A message, with its attachments' references (checked against the blob store by the caller)
    and, for a customer's mail, its sanitised HTML (its cid: images pointed at those attachments)."""
    author = uow.actor or "system"
    if kind == REPLY and ticket.assignee is None and routing.not_assignable_reason(uow, author, config) is None:
        hand_to(uow, ticket, author, ticket.team)  # whoever answers a new ticket owns it, if cleared
    message = TicketMessage(ticket_id=ticket.id, kind=kind, author=author, body=body, created_at=uow.now())
    uow.session.add(message)
    uow.session.flush()
    search.add_message(uow, ticket.id, body)
    files = attachments.attach(uow, ticket.id, message, refs)
    if html:
        message.html = attachment_rules.inline_images(html, ticket.id, refs, files)
    journal(uow, ticket, "message_added", {"kind": kind, "message_id": message.id,
                                           **({"attachments": [row.id for row in files]} if files else {})})
    if kind == REPLY:
        publish(uow, events.TICKET_REPLIED, ticket, message_id=message.id, author=author, attachments=files)
        if ticket.first_responded_at is None:
            ticket.first_responded_at = message.created_at
            publish(uow, events.TICKET_FIRST_RESPONDED, ticket, message_id=message.id, author=author,
                    attachments=files)
        sla.clocks_on_reply(uow, ticket, message.created_at)
    elif kind == CUSTOMER:
        sla.clocks_on_customer_message(uow, ticket, message.created_at)
    move(uow, ticket, rules.state_after_message(ticket.state, kind, ticket.assignee))
    return message


def escalate(uow, ticket, reason):
    """Raise the ticket to its team's supervisors (all supervisors when it has no team)."""
    ticket.escalation_level += 1
    ticket.escalated_at = ticket.updated_at = uow.now()
    supervisors = routing.supervisors_of(uow, ticket.team)
    journal(uow, ticket, "escalated", {"reason": reason, "escalation_level": ticket.escalation_level,
                                       "supervisors": supervisors})
    publish(uow, events.TICKET_ESCALATED, ticket, reason=reason, supervisors=supervisors)


def detail(uow, ticket):
    """The ticket with its SLA clocks (TicketDetailSchema), and the rating link if this call
    resolved it and the caller delivers it to the customer (never staff: ``rules.on_customers_side``)."""
    clocks = SlaClockSchema(many=True).dump(sla.clock_views(uow, ticket.id, uow.now()))
    token = uow.results.get("rating_tokens", {}).get(ticket.id) if rules.on_customers_side(uow.caller.roles) else None
    return dict(shared(TicketSchema).dump(ticket), customer=customer_for_caller(uow, ticket), sla=clocks,
                description_html=ticket.description_html,
                sla_policy=sla.policy_of(uow, ticket.id), rating_token=token,
                attachments=AttachmentSchema(many=True).dump(attachments.of_opening(uow, ticket.id)))


def customer_for_caller(uow, ticket):
    """The customer in full where the caller may see them (recorded), else masked (X6)."""
    if not rules.sees_customer(uow.caller.roles, uow.caller.actor, ticket.assignee):
        return customer(ticket.customer_name, ticket.customer_contact, masked=True)
    record_customer_access(uow, ticket, "read")
    return customer(ticket.customer_name, ticket.customer_contact)


def record_customer_access(uow, ticket, action):
    """Audit who stored or was shown a ticket's customer details: once per
    ticket and call, by the caller (not an imported step's author), at the real time."""
    accessed = uow.results.setdefault("customers_accessed", set())
    if ticket.id in accessed:
        return
    accessed.add(ticket.id)
    uow.session.add(CustomerDataAccess(ticket_id=ticket.id, at=utc_now(), actor=uow.caller.actor, action=action,
                                       request_id=uow.caller.request_id))


def owner_at(uow, ticket, instant):
    """Who owned the ticket at ``instant``: the latest owner its history names by then (a macro's
    entry names one when it assigned the ticket)."""
    entries = uow.session.scalars(
        select(TicketHistory.changes).where(TicketHistory.ticket_id == ticket.id, TicketHistory.at <= instant,
                                            TicketHistory.action.in_(("created", "assigned", MACRO_APPLIED)))
        .order_by(TicketHistory.at.desc(), TicketHistory.id.desc()))
    for changes in entries:
        owners = [step["changes"]["assignee"][1] for step in changes.get("steps", ())
                  if step["action"] == "assigned"] or ([changes["assignee"][1]] if "assignee" in changes else [])
        if owners:
            return owners[-1]
    return ticket.assignee


MACRO_APPLIED = "macro_applied"


def journal(uow, ticket, action, changes):
    """One history entry, which makes the ticket's version one more (its ETag). Inside ``one_entry``
    (a macro) the entry is gathered into the one that ends it instead."""
    gathered = uow.results.get(ONE_ENTRY, {}).get(ticket.id)
    if gathered is not None:
        gathered.append({"action": action, "changes": changes})
        return
    uow.session.add(TicketHistory(ticket_id=ticket.id, at=uow.now(), actor=uow.actor, action=action,
                                  changes=changes, version=next_version(uow, ticket)))


def next_version(uow, ticket):
    """The ticket's version, one more, in SQL: right even when the row was read without a lock (the
    SLA sweep's), as the update waits for the lock and counts from the committed version."""
    table = Ticket.__table__
    version = uow.session.execute(update(table).where(table.c.id == ticket.id)
                                  .values(version=table.c.version + 1).returning(table.c.version)).scalar_one()
    set_committed_value(ticket, "version", version)
    return version


ONE_ENTRY = "one_history_entry"


@contextmanager
def one_entry(uow, ticket, action, about):
    """The history entries the steps inside write, gathered into one entry ``action`` with ``about``
    and the gathered ``steps`` (a macro: one change, one entry, one version)."""
    gathering = uow.results.setdefault(ONE_ENTRY, {})
    gathering[ticket.id] = []
    try:
        yield
        gathered = gathering[ticket.id]
    finally:
        del gathering[ticket.id]
    journal(uow, ticket, action, dict(about, steps=gathered))


EVENT_FACTS = [column.key for column in Ticket.__table__.columns if column.key != "description_html"]  # not loaded


def publish(uow, event_type, ticket, **extra):
    """A ticket event: the ticket's routing facts, who acted, and ``extra``."""
    facts = {key: getattr(ticket, key) for key in EVENT_FACTS}
    webhooks.record_event(uow, event_type, events.AGGREGATE, ticket.id, dict(facts, actor=uow.actor, **extra))
