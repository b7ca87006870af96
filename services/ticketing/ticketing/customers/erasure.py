"""Erasing a customer's personal data (on request, or by retention), everywhere ticketing holds
it, in the caller's transaction; what stays and why is in ``rules`` and docs/customers.md.

Every erasure is audited (``CustomerErasure``: who, when, whose, how much, never what) and
announced (``customer.erased``, ids only), so the other services erase their copies: channels
its mails in and out of the tickets. The files of removed attachments leave the blob store once
the transaction has committed, unless another attachment still names them.
"""
import logging

from sqlalchemy import delete, exists, select

from plumbing.blobs import BlobStore
from plumbing.db import one_of
from ticketing import events, metrics
from ticketing.contract import CUSTOMER
from ticketing.customers import records, rules
from ticketing.models import (
    Attachment, Callback, Complaint, ComplaintStep, Customer, CustomerErasure, Rating, Suggestion,
    Ticket, TicketHistory, TicketMessage, TicketRequest,
)
from ticketing.search import handlers as search
from ticketing.webhooks import handlers as webhooks

log = logging.getLogger(__name__)

IDS_PER_EVENT = 1000  # an event stays far below the consumers' 1 MiB limit


def personal_values(customer, tickets, merged_away=()):
    """What to look for in staff's text: the names and contacts as the records hold them."""
    values = [t.customer_name for t in tickets] + [t.customer_contact for t in tickets]
    for person in (customer, *merged_away):
        if person is not None:
            values += [person.name] + [contact.value for contact in person.contacts]
    return [value for value in values if value and value != rules.ERASED]


def erase_tickets(uow, tickets, personal, blobs):
    """Erase the personal data of ``tickets`` (locked by the caller); the files of the attachments removed go
    into ``blobs``. Returns (messages, attachments) removed. A ticket erased before is left as it is."""
    tickets = [ticket for ticket in tickets if ticket.erased_at is None]
    if not tickets:
        return 0, 0
    session, now = uow.session, uow.now()
    ids = [ticket.id for ticket in tickets]
    for ticket in tickets:
        ticket.customer_name = ticket.customer_contact = ticket.subject = rules.ERASED
        ticket.description = rules.REMOVED if ticket.description else ""
        ticket.description_html = None
        ticket.custom_fields = {}
        ticket.erased_at = now
    messages = removed_files = 0
    for message in session.scalars(select(TicketMessage).where(one_of(session, TicketMessage.ticket_id, ids))):
        if message.kind == CUSTOMER:
            message.body, message.html = rules.REMOVED, None
            messages += 1
            removed_files += remove_files(message.attachments, blobs)
        else:
            message.body = rules.scrub(message.body, personal)
    removed_files += remove_files(session.scalars(select(Attachment).where(
        one_of(session, Attachment.ticket_id, ids), Attachment.message_id.is_(None))).all(), blobs)
    for complaint in session.scalars(select(Complaint).where(one_of(session, Complaint.ticket_id, ids))):
        complaint.issue = rules.scrub(complaint.issue, personal)
        complaint.demand = rules.scrub(complaint.demand, personal)
        complaint.result = complaint.result and rules.scrub(complaint.result, personal)
    for step in session.scalars(select(ComplaintStep).where(one_of(session, ComplaintStep.ticket_id, ids))):
        step.note = rules.scrub(step.note, personal)
    for rating in session.scalars(select(Rating).where(one_of(session, Rating.ticket_id, ids),
                                                       Rating.comment.is_not(None))):
        rating.comment = rules.REMOVED  # the customer's words; the score stays
    for callback in session.scalars(select(Callback).where(one_of(session, Callback.ticket_id, ids))):
        callback.note = rules.scrub(callback.note, personal)
        callback.outcome_note = callback.outcome_note and rules.scrub(callback.outcome_note, personal)
    for suggestion in session.scalars(select(Suggestion).where(one_of(session, Suggestion.ticket_id, ids))):
        suggestion.decision = suggestion.decision and rules.scrub(suggestion.decision, personal)
    # edits recorded the subject and custom fields they changed: the one exception to append-only history
    for entry in session.scalars(select(TicketHistory).where(
            one_of(session, TicketHistory.ticket_id, ids), TicketHistory.action == "edited")):
        entry.changes = rules.erased_edit(entry.changes)
    # the idempotency keys' fingerprints are hashes of the request, customer included: no retry is that late
    session.execute(delete(TicketRequest).where(one_of(session, TicketRequest.ticket_id, ids)))
    session.flush()
    targets = {ticket.merged_into_id for ticket in tickets if ticket.merged_into_id}  # searched by their text too
    for ticket in [*tickets, *session.scalars(select(Ticket).where(Ticket.id.in_(targets - set(ids))))]:
        search.index_ticket(uow, ticket)
    return messages, removed_files


def remove_files(attachments, blobs):
    removed = 0
    for attachment in attachments:
        if attachment.sha256:
            blobs.add(attachment.sha256)
            attachment.sha256, attachment.filename = "", rules.ERASED  # size, type and time stay
            removed += 1
    return removed


def erase_record(uow, customer):
    """The customer record itself: contacts gone, name replaced; tier, language and organisation stay
    (no one is identified by them, and figures by tier keep adding up)."""
    contacts = len(customer.contacts)
    customer.contacts.clear()
    customer.name, customer.erased_at, customer.updated_at = rules.ERASED, uow.now(), uow.now()
    uow.session.flush()
    return contacts


def record(uow, customer_id, reason, tickets, counts, customer_erased, blobs, config):
    """The audit row and the events of one erasure, and the files to delete after commit."""
    messages, attachments, contacts = counts
    ticket_ids = sorted(ticket.id for ticket in tickets)
    row = CustomerErasure(customer_id=customer_id, reason=reason, customer_erased=customer_erased,
                          actor=uow.caller.actor, request_id=uow.caller.request_id, at=uow.now(),
                          tickets=len(ticket_ids), messages=messages, attachments=attachments, contacts=contacts,
                          ticket_ids=ticket_ids)
    uow.session.add(row)
    if customer_id is not None:
        records.audit(uow, customer_id, "erased")
        records.journal(uow, customer_id, "erased", {"reason": reason, "tickets": len(ticket_ids),
                                                     "customer_erased": customer_erased})
    chunks = [ticket_ids[start:start + IDS_PER_EVENT] for start in range(0, len(ticket_ids), IDS_PER_EVENT)] or [[]]
    for chunk in chunks:
        webhooks.record_event(uow, events.CUSTOMER_ERASED, events.CUSTOMER_AGGREGATE, customer_id or 0, {
            "customer_id": customer_id, "ticket_ids": chunk, "reason": reason, "customer_erased": customer_erased,
            "actor": uow.caller.actor})
    uow.session.flush()
    unreferenced = set(blobs) - set(uow.session.scalars(select(Attachment.sha256).where(
        one_of(uow.session, Attachment.sha256, sorted(blobs))))) if blobs else set()
    uow.after_commit(delete_files, config, sorted(unreferenced))
    uow.after_commit(metrics.PERSONAL_DATA_ERASED.labels(reason).inc, len(ticket_ids))
    return row


def delete_files(config, hashes):
    store = BlobStore.from_config(config)
    deleted = sum(store.delete(sha256) for sha256 in hashes)
    if hashes:
        log.info("erasure: %s of %s files deleted from the blob store", deleted, len(hashes))


def erase_customer(uow, customer, config):
    """Everything of one customer (locked by the caller), and of the customers merged into them."""
    session = uow.session
    merged_away = session.scalars(select(Customer).where(Customer.merged_into_id == customer.id)).all()
    tickets = session.scalars(select(Ticket).where(Ticket.customer_id == customer.id).order_by(Ticket.id)
                              .with_for_update()).all()
    personal = personal_values(customer, tickets, merged_away)
    blobs = set()
    messages, attachments = erase_tickets(uow, tickets, personal, blobs)
    contacts = erase_record(uow, customer)
    for other in merged_away:
        contacts += erase_record(uow, other)
    return record(uow, customer.id, "request", tickets, (messages, attachments, contacts), True, blobs, config)


def purge_closed(uow, cutoff, batch, config):
    """One batch of the retention sweep: tickets closed before ``cutoff`` whose personal data is still there,
    oldest first, erased by customer; a customer with no such ticket left loses their record too. Returns
    how many tickets were purged."""
    session = uow.session
    tickets = session.scalars(select(Ticket).where(Ticket.erased_at.is_(None), Ticket.state == "closed",
                                                   Ticket.closed_at < cutoff)
                              .order_by(Ticket.closed_at, Ticket.id).limit(batch)
                              .with_for_update(skip_locked=True)).all()
    by_customer = {}
    for ticket in tickets:
        by_customer.setdefault(ticket.customer_id, []).append(ticket)
    for customer_id, group in by_customer.items():
        customer = session.get(Customer, customer_id, with_for_update=True) if customer_id is not None else None
        blobs = set()
        messages, attachments = erase_tickets(uow, group, personal_values(customer, group), blobs)
        erased_record, contacts = False, 0
        if customer is not None and customer.erased_at is None and customer.merged_into_id is None and not \
                session.scalar(select(exists().where(Ticket.customer_id == customer.id, Ticket.erased_at.is_(None)))):
            contacts, erased_record = erase_record(uow, customer), True
        record(uow, customer_id, "retention", group, (messages, attachments, contacts), erased_record, blobs, config)
    return len(tickets)
