"""Events ticketing publishes to the ``ticketing.events`` exchange.

docs/events/ is generated from ``PUBLISHED`` (``make event-docs``)."""
from plumbing.events import EventType
from ticketing.contract import (
    PUBLISHED_TYPES, CallbackDataSchema, CustomerErasedDataSchema, CustomerMergedDataSchema, ComplaintRecordedDataSchema, ComplaintVerdictDataSchema,
    SearchMissedDataSchema, SlaClockDataSchema, SlaClockStoppedDataSchema, SuggestionDataSchema,
    TicketAssignedDataSchema, TicketCreatedDataSchema, TicketEscalatedDataSchema, TicketLinkedDataSchema,
    TicketMentionedDataSchema, TicketMergedDataSchema, TicketRatedDataSchema, TicketRepliedDataSchema,
    TicketReopenedDataSchema, TicketResolvedDataSchema, TicketSettledDataSchema, TicketStatusChangedDataSchema,
    TicketUpdatedDataSchema,
)

AGGREGATE = "ticket"

TICKET_CREATED = EventType("ticket.created", TicketCreatedDataSchema, "A ticket was opened.")
TICKET_ASSIGNED = EventType("ticket.assigned", TicketAssignedDataSchema, "A ticket got its first owner.")
TICKET_TRANSFERRED = EventType(
    "ticket.transferred", TicketAssignedDataSchema, "A ticket moved from one owner to another (counted, T3).")
TICKET_STATUS_CHANGED = EventType(
    "ticket.status_changed", TicketStatusChangedDataSchema, "A ticket's state changed (every change).")
# version 2 left out the customer's rating link token (docs/events/README.md, "Versioning")
TICKET_RESOLVED = EventType("ticket.resolved", TicketResolvedDataSchema, "A ticket was resolved.", version=2)
TICKET_REOPENED = EventType("ticket.reopened", TicketReopenedDataSchema, "A resolved or closed ticket reopened.")
TICKET_CLOSED = EventType("ticket.closed", TicketSettledDataSchema, "A ticket was closed.")
TICKET_REPLIED = EventType("ticket.replied", TicketRepliedDataSchema, "An agent sent the customer a public reply.")
TICKET_FIRST_RESPONDED = EventType(
    "ticket.first_responded", TicketRepliedDataSchema, "The first public reply the customer saw.")

TICKET_MERGED = EventType(
    "ticket.merged", TicketMergedDataSchema, "A duplicate ticket was merged into another and closed.")
TICKET_ESCALATED = EventType(
    "ticket.escalated", TicketEscalatedDataSchema, "A ticket was escalated to a supervisor (by hand or on breach).")
SLA_WARNING = EventType(
    "sla.warning", SlaClockDataSchema, "An SLA clock reached its warning share of the target; breach is near.",
    aggregate=AGGREGATE)
SLA_BREACHED = EventType("sla.breached", SlaClockDataSchema, "An SLA clock passed its due time.", aggregate=AGGREGATE)
SLA_CLOCK_STOPPED = EventType(
    "sla.clock_stopped", SlaClockStoppedDataSchema,
    "An SLA clock stopped (a reply the customer saw, or a resolution): business time taken and whether it met "
    "its target. A reopened ticket's resolution clock stops again at its next resolution.", aggregate=AGGREGATE)
COMPLAINT_RECORDED = EventType(
    "complaint.recorded", ComplaintRecordedDataSchema, "A complaint's issue, demand and time were recorded (T5).",
    aggregate=AGGREGATE)
COMPLAINT_VERDICT = EventType(
    "complaint.verdict_given", ComplaintVerdictDataSchema,
    "The customer judged the result of a complaint: satisfied settles it, unsatisfied reopens it.",
    aggregate=AGGREGATE)
TICKET_RATED = EventType("ticket.rated", TicketRatedDataSchema, "The customer rated a resolution (CSAT 1-5, T6).")
CALLBACK_SCHEDULED = EventType("callback.scheduled", CallbackDataSchema, "A follow-up call was scheduled.",
    aggregate=AGGREGATE)
CALLBACK_COMPLETED = EventType("callback.completed", CallbackDataSchema, "A follow-up call's outcome was recorded.",
    aggregate=AGGREGATE)
SUGGESTION_FORWARDED = EventType(
    "suggestion.forwarded", SuggestionDataSchema, "A suggestion went to the department that owns it (T7).",
    aggregate=AGGREGATE)
SUGGESTION_DECIDED = EventType(
    "suggestion.decided", SuggestionDataSchema, "The department decided on a suggestion; the customer was told.",
    aggregate=AGGREGATE)
KB_SEARCH_MISSED = EventType(
    "kb.search_missed", SearchMissedDataSchema, "A knowledge-base search found nothing: a gap to fill (T8).",
    aggregate="kb_search")
TICKET_UPDATED = EventType(
    "ticket.updated", TicketUpdatedDataSchema,
    "A ticket's own fields were edited (subject, priority, kind, tags, custom fields, required skills): by "
    "PATCH, a bulk edit or a macro.")

CUSTOMER_AGGREGATE = "customer"
CUSTOMER_MERGED = EventType(
    "customer.merged", CustomerMergedDataSchema,
    "A duplicate customer record was merged into another: its contacts and tickets moved there.")
CUSTOMER_ERASED = EventType(
    "customer.erased", CustomerErasedDataSchema,
    "A customer's personal data was erased from these tickets (on request, or by retention): every service "
    "erases its own copy. Ids only.")

TICKET_MENTIONED = EventType(
    "ticket.mentioned", TicketMentionedDataSchema,
    "An internal note mentioned staff who may read the ticket (channels mails them; never the note's text).")
TICKET_LINKED = EventType(
    "ticket.linked", TicketLinkedDataSchema, "A ticket was linked to another as its parent, child or related.")
TICKET_UNLINKED = EventType("ticket.unlinked", TicketLinkedDataSchema, "A link between two tickets was removed.")

PUBLISHED = (
    TICKET_CREATED, TICKET_ASSIGNED, TICKET_TRANSFERRED, TICKET_STATUS_CHANGED, TICKET_RESOLVED, TICKET_REOPENED,
    TICKET_CLOSED, TICKET_REPLIED, TICKET_FIRST_RESPONDED, TICKET_MERGED, TICKET_ESCALATED, SLA_WARNING,
    SLA_BREACHED, SLA_CLOCK_STOPPED, COMPLAINT_RECORDED, COMPLAINT_VERDICT, TICKET_RATED, CALLBACK_SCHEDULED,
    CALLBACK_COMPLETED, SUGGESTION_FORWARDED, SUGGESTION_DECIDED, KB_SEARCH_MISSED, TICKET_UPDATED,
    CUSTOMER_MERGED, CUSTOMER_ERASED,
    TICKET_MENTIONED, TICKET_LINKED, TICKET_UNLINKED,
)

if tuple(event_type.name for event_type in PUBLISHED) != PUBLISHED_TYPES:  # webhooks validate against the names
    raise RuntimeError("contract.PUBLISHED_TYPES must name the types of events.PUBLISHED, in order")
