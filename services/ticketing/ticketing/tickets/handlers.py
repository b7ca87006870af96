"""Ticket use cases (T1, T2, T9, X6): opening (one, or a batch with
idempotency keys), merging, importing another help desk's history, state,
assignment, escalation, messages, history and the customer-data audit.

The rules are in ``rules.py``; the steps a change is made of in ``steps.py``.
"""
import hashlib
import json
import logging

from nameko.exceptions import serialize
from sqlalchemy import exists, or_, select, update

from plumbing.db import upsert_insert
from plumbing.errors import Conflict, DomainError, Forbidden, InvalidInput, load_or_invalid as load
from plumbing.paging import contains_text, fetch_page
from plumbing.schemas import shared
from ticketing import events
from ticketing.aftercare import handlers as aftercare
from ticketing.attachments import handlers as attachments
from ticketing.collaboration import handlers as collaboration
from ticketing.contract import (
    CUSTOMER, NOTE, AssignmentSchema, AttachmentSchema, CustomerAccessPageSchema, CustomerAccessQuerySchema,
    EscalationSchema, HistorySchema, ImportedStepSchema, ImportResultSchema, MergeSchema,
    MentionsSchema, MessageCreateWithAttachmentsSchema, MessageListQuerySchema, MessageListSchema, MessageSchema,
    StateChangeSchema,
    TicketCreateWithAttachmentsSchema, TicketImportSchema, TicketListQuerySchema, TicketPageSchema,
    TicketSummarySchema,
)
from ticketing.models import (
    CustomerDataAccess, Ticket, TicketHistory, TicketImport, TicketMessage, TicketRequest, TicketTag,
)
from ticketing.routing import handlers as routing
from ticketing.search import handlers as search
from ticketing.sla import handlers as sla
from ticketing.tickets import rules, steps

log = logging.getLogger(__name__)


def create_ticket(uow, data, config):
    with uow.transaction():
        return steps.detail(uow, steps.open_ticket(uow, accepted_ticket(uow, data, config), config))


def create_tickets(uow, requests, config):
    """Tickets asked for by concurrent callers, opened in one transaction
    (the gateway's group commit: one RPC and one commit for many).

    Each request is ``{"ticket": data, "actor", "request_id",
    "idempotency_key"}`` and keeps its own actor and request id in
    history, events and logs. A key the same actor sent before answers
    with the ticket opened then (a retry, or a request delivered again
    after a crash), never a second one. Answers come in order:
    ``{"ticket": detail}``, or ``{"error": exception}`` (nameko's
    serialised form) for a request refused on its own, which leaves the
    others untouched. A request with ``"brief": True`` is answered with
    the ticket's id alone (``{"ticket": {"id": ...}}``): a caller that
    needs no more (mail in) saves the detail's reads, and shows no
    customer data."""
    answers = []
    with uow.transaction():
        for request in requests:
            with uow.acting_for(request["request_id"], request["actor"], request.get("roles")):
                try:
                    fields = accepted_ticket(uow, request["ticket"], config)  # reads only: a refusal writes nothing
                    earlier = opened_for_key(uow, request)  # nor here: a refused key was not taken
                except DomainError as exc:
                    answers.append({"error": serialize(exc)})
                    continue
                ticket = earlier or steps.open_ticket(uow, fields, config)
                if earlier is None:
                    keep_key(uow, request, ticket)
                answers.append({"ticket": {"id": ticket.id} if request.get("brief") else steps.detail(uow, ticket)})
    return answers


def accepted_ticket(uow, data, config):
    """A new ticket's fields once valid, with an assignee who may take it and attachments the blob store holds."""
    fields = load(TicketCreateWithAttachmentsSchema, data)
    if fields["assignee"]:
        routing.check_assignable(uow, fields["assignee"], config)
    attachments.check_stored(fields["attachments"], config)
    return fields


def opened_for_key(uow, request):
    """The ticket an earlier request with this one's idempotency key opened;
    None once this request has taken the key (a concurrent request with the
    same key waits here until this one's transaction ends). The same key
    for a different ticket is a Conflict."""
    key = request_key(uow, request)
    if key is None:
        return None
    session, table = uow.session, TicketRequest.__table__
    fingerprint = hashlib.sha256(json.dumps(request["ticket"], sort_keys=True).encode()).hexdigest()
    taken = session.execute(upsert_insert(session)(table).on_conflict_do_nothing().returning(table.c.actor),
                            dict(key, fingerprint=fingerprint, created_at=uow.now())).first()
    if taken:
        return None
    earlier = session.execute(select(table.c.fingerprint, table.c.ticket_id).filter_by(**key)).one()
    if earlier.fingerprint != fingerprint:
        raise Conflict(f"Idempotency-Key {key['idempotency_key']!r} was sent before with another ticket",
                       {"idempotency_key": ["already used for another ticket"]})
    return session.get(Ticket, earlier.ticket_id)


def keep_key(uow, request, ticket):
    key = request_key(uow, request)
    if key is not None:
        uow.session.execute(update(TicketRequest).filter_by(**key).values(ticket_id=ticket.id))


def request_key(uow, request):
    """The caller's idempotency key as the key of its ``ticket_requests`` row; None without one."""
    if request.get("idempotency_key") is None:
        return None
    return dict(actor=uow.caller.actor or "", idempotency_key=request["idempotency_key"])


def merge_ticket(uow, ticket_id, data):
    """Merge a duplicate into another ticket: the duplicate closes, its
    conversation shows on the ticket it was merged into."""
    into = load(MergeSchema, data)["into"]
    if into == ticket_id:
        raise InvalidInput("a ticket cannot be merged into itself", {"into": ["must be another ticket"]})
    with uow.transaction():
        locked = {tid: steps.locked(uow, tid) for tid in sorted((ticket_id, into))}  # one lock order: no deadlock
        source, target = locked[ticket_id], locked[into]
        if source.merged_into_id is not None:
            raise Conflict(f"ticket {ticket_id} is already merged into {source.merged_into_id}",
                           {"into": ["already merged"]})
        if target.state == "closed" or target.merged_into_id is not None:
            raise Conflict(f"ticket {into} is closed or merged itself", {"into": ["not an open ticket"]})
        source.merged_into_id = target.id
        uow.session.flush()
        search.index_ticket(uow, target)  # found by the words of the conversation it now shows
        steps.journal(uow, source, "merged", {"into": target.id})
        steps.journal(uow, target, "absorbed", {"from": source.id})
        steps.publish(uow, events.TICKET_MERGED, source, merged_into=target.id)
        if source.state != "closed":
            steps.move(uow, source, "closed")
        return steps.detail(uow, target)


def import_tickets(uow, data, config):
    """Tickets from another help desk with their whole history, replayed
    at their original times so SLA clocks and events follow them. The
    batch is all or nothing; tickets imported before are skipped. History
    in the future, or that this desk's rules could not have produced, is
    refused naming the ticket and the step (400): an import cannot invent facts."""
    batch = load(TicketImportSchema, data)
    imported, skipped = [], []
    with uow.transaction():
        now = uow.now()
        for index, fields in enumerate(batch["tickets"]):
            external_id = fields.pop("external_id")
            if uow.session.get(TicketImport, (batch["source"], external_id)):
                skipped.append(external_id)
                continue
            future = rules.future_times(fields, now)
            if future:
                raise InvalidInput(f"ticket {index} ({external_id}): history cannot be in the future",
                                   {"tickets": {str(index): future}})
            ticket = replay(uow, index, external_id, fields, config)
            uow.session.add(TicketImport(source=batch["source"], external_id=external_id, ticket_id=ticket.id))
            imported.append(dict(sla.ticket_sla(uow, ticket.id, now), external_id=external_id, ticket_id=ticket.id))
            if len(imported) % 100 == 0:
                log.info("import from %s: %s tickets replayed", batch["source"], len(imported))
    return shared(ImportResultSchema).dump({"imported": imported, "skipped": skipped})


def replay(uow, index, external_id, fields, config):
    """Open an imported ticket and replay its history, each step at its original time and by its author."""
    history = fields.pop("history")
    with uow.as_of(fields.pop("created_at"), fields.pop("created_by")):
        ticket = steps.open_ticket(uow, fields, config)
    for number, step in enumerate(history):
        with uow.as_of(step["at"], step.get("actor")):
            try:
                replay_step(uow, ticket, step, config)
            except DomainError as exc:
                field = ImportedStepSchema.NEEDS[step["type"]][0]
                raise InvalidInput(f"ticket {index} ({external_id}), step {number}: {exc.message}",
                                   {"tickets": {str(index): {"history": {str(number): {field: [exc.message]}}}}}
                                   ) from None
    return ticket


def replay_step(uow, ticket, step, config):
    """One step, by the rules a live change follows (plus ``rules.IMPORTED_PATHS``)."""
    if step["type"] == "message":
        steps.write_message(uow, ticket, step["kind"], step["body"], config)
    elif step["type"] == "state":
        steps.move(uow, ticket, steps.next_state(ticket, step["state"], imported=True))
    elif step["type"] == "assignment":
        steps.check_open(ticket, "assigned")
        steps.hand_to(uow, ticket, step["assignee"], step.get("team") or ticket.team)
    else:
        aftercare.replay_rating(uow, ticket, step["score"], step.get("comment"))


def get_ticket(uow, ticket_id):
    with uow.transaction():  # showing the customer is recorded
        return steps.detail(uow, steps.readable(uow, ticket_id))


def ticket_summary(uow, ticket_id):
    """The ticket with its customer masked, if the caller may read it (else NotFound): what names a
    ticket in a staff notification, or checks a caller's scope, without reading customer data (X6)."""
    return shared(TicketSummarySchema).dump(steps.readable(uow, ticket_id))


def list_tickets(uow, query, extra=()):
    """The tickets the caller may read that match the query (and the ``extra`` conditions of a view)."""
    criteria = load(TicketListQuerySchema, query or {})
    asked = dict(criteria)  # what a cursor is for: every filter, those made conditions below too
    sort = criteria.pop("sort", None)
    conditions, tree = list_conditions(uow, criteria)
    order_by, conditions = search.order(uow, tree, sort, conditions + list(extra))
    page = fetch_page(uow.session, Ticket, criteria, order_by, conditions, query=asked)
    return shared(TicketPageSchema).dump(page)


def list_conditions(uow, criteria):
    """``(conditions, search tree)``: the SQL conditions of a loaded list query's filters that are no plain
    column equality (taken out of ``criteria``, which keeps those), the caller's scope first, and the
    parsed ``q`` (None without one)."""
    conditions = [steps.readable_condition(uow)]
    if "tag" in criteria:
        tag = criteria.pop("tag").strip().lower()
        conditions.append(exists().where(TicketTag.ticket_id == Ticket.id, TicketTag.tag == tag))
    if "text" in criteria:  # deprecated: a substring, by scanning the table (q uses the search index)
        text = criteria.pop("text")
        conditions.append(or_(contains_text(Ticket.subject, text), contains_text(Ticket.description, text)))
    tree = search.parse_query(criteria.pop("q", None))
    if tree is not None:
        conditions.append(search.condition(uow, tree))
    if "breached" in criteria:
        breached = sla.breached_condition()
        conditions.append(breached if criteria.pop("breached") else ~breached)
    if "due_before" in criteria:
        conditions.append(sla.breaching_condition(criteria.pop("due_before")))
    if "escalated" in criteria:
        conditions.append(Ticket.escalation_level > 0 if criteria.pop("escalated") else Ticket.escalation_level == 0)
    if "unstaffed" in criteria:
        unstaffed = routing.unstaffed_condition(routing.staffing_now(uow.session, uow.now()))
        conditions.append(unstaffed if criteria.pop("unstaffed") else ~unstaffed)
    return conditions, tree


def change_state(uow, ticket_id, data):
    target = load(StateChangeSchema, data)["state"]
    with uow.transaction():
        ticket = steps.locked(uow, ticket_id)
        steps.move(uow, ticket, steps.next_state(ticket, target))
        return steps.detail(uow, ticket)


def assign(uow, ticket_id, data, config):
    assignment = load(AssignmentSchema, data)
    with uow.transaction():
        ticket = steps.locked(uow, ticket_id)
        steps.check_open(ticket, "assigned")
        assignee, team = assignment["assignee"], assignment["team"] or ticket.team
        if (assignee, team) != (ticket.assignee, ticket.team):  # the same again stays a no-op
            routing.check_assignable(uow, assignee, config)
        steps.hand_to(uow, ticket, assignee, team)
        return steps.detail(uow, ticket)


def escalate_ticket(uow, ticket_id, data):
    reason = load(EscalationSchema, data)["reason"]
    with uow.transaction():
        ticket = steps.locked(uow, ticket_id)
        steps.check_open(ticket, "escalated")
        steps.escalate(uow, ticket, reason)
        return steps.detail(uow, ticket)


def add_message(uow, ticket_id, data, config):
    """A reply, a note, or what the customer said (from the customer's side only: an integration, never staff)."""
    fields = load(MessageCreateWithAttachmentsSchema, data)
    if fields["kind"] == CUSTOMER and not rules.on_customers_side(uow.caller.roles):
        raise Forbidden("staff do not write as the customer: customer messages come from integrations",
                        {"kind": [f"{CUSTOMER} messages come from integrations, not from staff"]})
    attachments.check_stored(fields["attachments"], config)
    with uow.transaction():
        ticket = steps.locked(uow, ticket_id)
        message = steps.write_message(uow, ticket, fields["kind"], fields["body"], config, fields["attachments"],
                                      fields["html"] if fields["kind"] == CUSTOMER else None)
        mentions = (collaboration.mention(uow, ticket, message) if fields["kind"] == NOTE
                    else {"notified": [], "cannot_read": [], "unknown": []})
    return dict(shared(MessageSchema).dump(message), mentions=shared(MentionsSchema).dump(mentions))


def list_messages(uow, ticket_id, query):
    """The conversation, with those of the tickets merged into this one."""
    include_notes = load(MessageListQuerySchema, query or {})["include_notes"]
    steps.readable(uow, ticket_id)
    merged = select(Ticket.id).where(Ticket.merged_into_id == ticket_id)
    statement = select(TicketMessage).where(or_(TicketMessage.ticket_id == ticket_id,
                                                TicketMessage.ticket_id.in_(merged)))
    if not include_notes:
        statement = statement.where(TicketMessage.kind != NOTE)
    messages = uow.session.scalars(statement.order_by(TicketMessage.id)).all()
    return shared(MessageListSchema).dump({"items": messages})


def get_attachment(uow, ticket_id, attachment_id):
    """An attachment of a ticket the caller may read (its blob's sha256 is how the gateway serves it);
    NotFound as for the ticket itself outside the caller's scope."""
    steps.readable(uow, ticket_id)
    return shared(AttachmentSchema).dump(attachments.find(uow, ticket_id, attachment_id))


def customer_data_access(uow, query):
    """The audit of customer data, newest first (X6)."""
    criteria = load(CustomerAccessQuerySchema, query or {})
    page = fetch_page(uow.session, CustomerDataAccess, criteria, [CustomerDataAccess.id.desc()])
    return shared(CustomerAccessPageSchema).dump(page)


def ticket_history(uow, ticket_id):
    steps.readable(uow, ticket_id)
    entries = uow.session.scalars(
        select(TicketHistory).where(TicketHistory.ticket_id == ticket_id).order_by(TicketHistory.id)).all()
    return shared(HistorySchema).dump({"items": entries})
