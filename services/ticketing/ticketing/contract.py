"""The ticketing API's shapes: validated at the gateway and again by the
service, and the source of the OpenAPI document; with the enumerations they
allow and the data schemas of the events ticketing publishes.

Only the standard library, marshmallow and plumbing's schema helpers here:
the gateway imports this module, and the domain takes its constants from it.
"""
import re
from datetime import datetime, timezone
from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, pre_dump, validate, validates_schema

from plumbing.privacy import MaskedString, mask_contact, mask_name
from plumbing.schemas import (
    PageQuerySchema, ResponseSchema, StrictSchema, answer_of, every_field_optional, page_schema, required,
)
from plumbing.text import with_article

# -- enumerations ---------------------------------------------------------------------
CHANNELS = ("phone", "chat", "email", "web_form", "social")
KINDS = ("inquiry", "complaint", "suggestion", "after_sales")
PRIORITIES = ("low", "normal", "high", "urgent")
STATES = ("new", "assigned", "in_progress", "waiting_customer", "resolved", "closed")
MAX_TAGS = 20
CUSTOMER_ACCESS_ACTIONS = ("created", "read", "updated", "merged", "erased")

# who wrote a message, and whether the customer sees it
REPLY, NOTE, CUSTOMER = "reply", "note", "customer"
MESSAGE_KINDS = (REPLY, NOTE, CUSTOMER)

FIRST_RESPONSE, UPDATE, RESOLUTION = "first_response", "update", "resolution"
CLOCKS = (FIRST_RESPONSE, UPDATE, RESOLUTION)
CLOCK_STATUSES = ("running", "paused", "met", "breached", "cancelled")
CLOCK_OUTCOMES = ("met", "breached", "cancelled")
CLOCK_STOP_CAUSES = (REPLY, "resolved", "closed")
CONDITION_FIELDS = ("priority", "kind", "channel", "customer_tier")

SEVERITIES = ("normal", "serious", "major")
CALLBACK_OUTCOMES = ("reached", "no_answer", "wrong_number", "declined")
RATING_SCALE = (1, 2, 3, 4, 5)

# files on a message (or on a ticket as opened): the content is in the blob store (plumbing.blobs)
MAX_ATTACHMENTS = 20  # per message
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024  # each
MAX_HTML_CHARS = 500_000  # a mail's sanitised HTML; a longer one is not kept (its text is)
MAX_FILENAME_CHARS = 255  # what a stored name is cut to (ticketing.attachments.rules.safe_filename)
SHA256_PATTERN = r"^[0-9a-f]{64}$"
CONTENT_TYPE_PATTERN = r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$"
# served inline by the gateway; every other type (SVG and HTML included) as a download, with nosniff
INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
DELIVERY_STATUSES = (PENDING, DELIVERED, FAILED)

# every type in events.PUBLISHED, in its order (events.py checks that they agree):
# webhook subscriptions are validated against them where the registry cannot be imported
PUBLISHED_TYPES = (
    "ticket.created", "ticket.assigned", "ticket.transferred", "ticket.status_changed", "ticket.resolved",
    "ticket.reopened", "ticket.closed", "ticket.replied", "ticket.first_responded", "ticket.merged",
    "ticket.escalated", "sla.warning", "sla.breached", "sla.clock_stopped", "complaint.recorded",
    "complaint.verdict_given", "ticket.rated", "callback.scheduled", "callback.completed", "suggestion.forwarded",
    "suggestion.decided", "kb.search_missed", "ticket.updated", "customer.merged", "customer.erased",
    "ticket.mentioned", "ticket.linked", "ticket.unlinked",
)


# -- the small rules the shapes themselves apply ------------------------------------------
def customer(name, contact, masked=False) -> dict:
    """A ticket's customer, in full or masked (X6)."""
    if masked:
        return {"name": mask_name(name), "contact": mask_contact(contact)}
    return {"name": name, "contact": contact}


# what customer() answers, for the OpenAPI document (a Method field has no type of its own)
CUSTOMER_TYPE = {"type": "object", "properties": {"name": {"type": "string"}, "contact": {"type": "string"}},
                 "required": ["name", "contact"]}


def first_contact_resolution(state, reopen_count, transfer_count):
    """T9: resolved with no reopen and no transfer; None while not resolved."""
    if state not in ("resolved", "closed"):
        return None
    return reopen_count == 0 and transfer_count == 0


ANY = "*"
EVENT_TYPE_PATTERN = re.compile(r"^(\*|[a-z0-9_]+)(\.(\*|[a-z0-9_]+))*$")


def is_valid_pattern(pattern: str) -> bool:
    """An event type a webhook may subscribe to: exact (``ticket.created``), a
    pattern where a ``*`` segment stands for exactly one segment (``ticket.*``),
    or ``*`` alone for every type."""
    return isinstance(pattern, str) and bool(EVENT_TYPE_PATTERN.match(pattern))


def pattern_matches(pattern: str, event_type: str) -> bool:
    if pattern == ANY:
        return True
    wanted, actual = pattern.split("."), event_type.split(".")
    return len(wanted) == len(actual) and all(w in (ANY, a) for w, a in zip(wanted, actual))


def matches(subscription_event_types, event_type: str) -> bool:
    """Whether a subscription to ``subscription_event_types`` wants ``event_type``."""
    return any(pattern_matches(pattern, event_type) for pattern in subscription_event_types)


def attachment_path(ticket_id, attachment_id) -> str:
    """Where the gateway serves an attachment (GET, the ticket's access rules)."""
    return f"/api/v1/tickets/{ticket_id}/attachments/{attachment_id}"


class AttachmentRefSchema(StrictSchema):
    """A file already in the blob store (what ``plumbing.blobs`` put answered) and the name it came
    with. Ticketing checks the store holds it with this size and type; the name is cleaned (no path,
    no control or direction characters, at most 255 characters)."""
    sha256 = fields.String(required=True, validate=validate.Regexp(SHA256_PATTERN, error="must be 64 lower-case "
                                                                    "hex digits (a sha256 in the blob store)"))
    filename = fields.String(required=True, validate=validate.Length(1, 1000))
    content_type = fields.String(required=True, validate=[
        validate.Length(3, 127), validate.Regexp(CONTENT_TYPE_PATTERN, error="must be a MIME type: type/subtype")],
        metadata={"description": "as the blob store detected it from the content"})
    size = fields.Integer(required=True, strict=True, validate=validate.Range(0, MAX_ATTACHMENT_BYTES),
                          metadata={"description": "bytes"})
    content_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 500), metadata={
        "description": "a mail part's Content-ID (without <>): the message's HTML shows it where it says cid:<this>"})


def attachment_refs(description):
    return fields.List(fields.Nested(AttachmentRefSchema), load_default=list,
                       validate=validate.Length(max=MAX_ATTACHMENTS), metadata={"description": description})


class AttachmentSchema(ResponseSchema):
    id = fields.Integer()
    ticket_id = fields.Integer()
    message_id = fields.Integer(allow_none=True, metadata={"description": "null: attached as the ticket was opened"})
    filename = fields.String()
    content_type = fields.String(metadata={"description": "detected from the content, not from the name"})
    size = fields.Integer(metadata={"description": "bytes"})
    sha256 = fields.String(metadata={"description": "of the content: the same file attached twice is stored once"})
    created_at = fields.DateTime()
    url = fields.Method("dump_url", metadata={"type": "string", "description": (
        "the download's path on the gateway (GET, the ticket's access rules)")})

    def dump_url(self, attachment):
        return attachment_path(attachment.ticket_id, attachment.id)


class CustomerSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(1, 200))
    contact = fields.String(required=True, validate=validate.Length(1, 200),
                            metadata={"description": "phone number, email or social handle"})


class TicketCreateSchema(StrictSchema):
    """A new ticket from any channel (T1)."""
    subject = fields.String(required=True, validate=validate.Length(1, 200))
    description = fields.String(load_default="", validate=validate.Length(max=20000))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    priority = fields.String(load_default="normal", validate=validate.OneOf(PRIORITIES))
    customer = fields.Nested(CustomerSchema, required=True)
    tags = fields.List(fields.String(validate=validate.Length(1, 50)), load_default=list,
                       validate=validate.Length(max=MAX_TAGS))
    assignee = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64),
                             metadata={"description": "username of the agent to assign at once"})
    team = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64))
    required_skills = fields.List(fields.String(validate=validate.Length(1, 64)), load_default=list,
                                  validate=validate.Length(max=10),
                                  metadata={"description": "routing gives the ticket only to agents with them all"})
    customer_tier = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 32), metadata={
        "description": "e.g. standard, vip; SLA policies may match on it. Left out: the customer record's tier, "
                       "else their organisation's, else standard"})
    custom_fields = fields.Dict(keys=fields.String(validate=validate.Length(1, 64)),
                                values=fields.Raw(validate=lambda v: v is None or isinstance(v, (str, int, float, bool))),
                                load_default=dict, validate=validate.Length(max=50),
                                metadata={"description": "your own fields: string keys, scalar values"})


def html_field(description):
    return fields.String(load_default=None, allow_none=True, validate=validate.Length(max=MAX_HTML_CHARS),
                         metadata={"description": description})


class TicketCreateWithAttachmentsSchema(TicketCreateSchema):
    """What the ``create_ticket`` and ``create_tickets`` RPCs take: a new ticket and the files that came
    with it (a new mail's), already in the blob store. The gateway's JSON has no files, nor HTML."""
    attachments = attachment_refs(f"files of the opening message, at most {MAX_ATTACHMENTS}")
    description_html = html_field("the opening message as sanitised HTML (a mail's, by channels): its cid: "
                                  "images point at the attachments with those Content-IDs once stored")


class MergeSchema(StrictSchema):
    into = fields.Integer(required=True, strict=True, validate=validate.Range(min=1), metadata={
        "description": "the ticket that absorbs this one"})


IMPORTED_STEPS = ("message", "state", "assignment", "rating")


class ImportedStepSchema(StrictSchema):
    """One thing that happened to an imported ticket, at its original time."""
    at = fields.AwareDateTime(required=True)
    type = fields.String(required=True, validate=validate.OneOf(IMPORTED_STEPS))
    actor = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64))
    kind = fields.String(validate=validate.OneOf(MESSAGE_KINDS), metadata={"description": "message steps"})
    body = fields.String(validate=validate.Length(1, 20000), metadata={"description": "message steps"})
    state = fields.String(validate=validate.OneOf(STATES + ("reopened",)), metadata={"description": "state steps"})
    assignee = fields.String(validate=validate.Length(1, 64), metadata={"description": "assignment steps"})
    team = fields.String(allow_none=True, validate=validate.Length(1, 64))
    score = fields.Integer(strict=True, validate=validate.Range(1, 5), metadata={"description": "rating steps"})
    comment = fields.String(allow_none=True, validate=validate.Length(max=2000))

    NEEDS = {"message": ("kind", "body"), "state": ("state",), "assignment": ("assignee",), "rating": ("score",)}

    @validates_schema
    def step_has_its_fields(self, data, **kwargs):
        missing = [name for name in self.NEEDS[data["type"]] if name not in data]
        if missing:
            raise ValidationError({name: [f"required for {with_article(data['type'])} step"] for name in missing})


class ImportedTicketSchema(TicketCreateSchema):
    external_id = fields.String(required=True, validate=validate.Length(1, 128), metadata={
        "description": "the ticket's id in the help desk it comes from"})
    created_at = fields.AwareDateTime(required=True)
    created_by = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64))
    history = fields.List(fields.Nested(ImportedStepSchema), load_default=list, validate=validate.Length(max=2000))

    @validates_schema
    def history_in_order(self, data, **kwargs):
        times = [data["created_at"]] + [step["at"] for step in data.get("history", [])]
        if any(later < earlier for earlier, later in zip(times, times[1:])):
            raise ValidationError("steps must be in time order, none before created_at", "history")


def imported_people(batch) -> list[tuple[tuple[str, ...], str]]:
    """Everyone an import names as having acted or owned a ticket, as ``(path, username)``, the path
    that of the field (``("tickets", "0", "history", "2", "actor")``): each must be an account."""
    named = []
    for i, ticket in enumerate(batch["tickets"]):
        named += [(("tickets", str(i), field), ticket[field]) for field in ("assignee", "created_by")
                  if ticket.get(field)]
        named += [(("tickets", str(i), "history", str(j), field), step[field])
                  for j, step in enumerate(ticket.get("history", ())) for field in ("actor", "assignee")
                  if step.get(field)]
    return named


class TicketImportSchema(StrictSchema):
    source = fields.String(required=True, validate=validate.Length(1, 64), metadata={
        "description": "the help desk the tickets come from, e.g. zammad, osticket"})
    tickets = fields.List(fields.Nested(ImportedTicketSchema), required=True, validate=validate.Length(1, 500))


class StateChangeSchema(StrictSchema):
    state = fields.String(required=True, validate=validate.OneOf(STATES + ("reopened",)), metadata={
        "description": "the state to move to; `reopened` reopens a resolved or closed ticket"})


class AssignmentSchema(StrictSchema):
    assignee = fields.String(required=True, validate=validate.Length(1, 64))
    team = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64))


class MessageCreateSchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(MESSAGE_KINDS), metadata={
        "description": "reply: public answer the customer sees; note: internal; customer: what the customer said"})
    body = fields.String(required=True, validate=validate.Length(1, 20000))


class MessageCreateWithAttachmentsSchema(MessageCreateSchema):
    """What the ``add_message`` RPC takes: a message and its files, already in the blob store. Through
    the gateway the files are multipart/form-data parts named ``attachments``, which it stores."""
    attachments = attachment_refs(
        f"files in the blob store, at most {MAX_ATTACHMENTS} of at most {MAX_ATTACHMENT_BYTES // 2**20} MiB each")
    html = html_field("a customer message as sanitised HTML (a mail's, by channels): its cid: images point at "
                      "the attachments with those Content-IDs once stored")


class MessageSchema(ResponseSchema):
    id = fields.Integer()
    ticket_id = fields.Integer()
    kind = fields.String()
    author = fields.String()
    body = fields.String()
    html = fields.String(allow_none=True, metadata={"description": (
        "the customer's message as sanitised HTML where it came as such (a mail): its images are the "
        "message's attachments, by their download paths; null otherwise")})
    created_at = fields.DateTime()
    attachments = fields.List(fields.Nested(AttachmentSchema))


class MessageListSchema(ResponseSchema):
    items = fields.List(fields.Nested(MessageSchema))


class MessageListQuerySchema(StrictSchema):
    include_notes = fields.Boolean(load_default=True)


class HistoryEntrySchema(ResponseSchema):
    at = fields.DateTime()
    actor = fields.String(allow_none=True)
    action = fields.String()
    changes = fields.Dict(metadata={"description": "field -> [before, after], or what was added"})
    version = fields.Integer(allow_none=True, metadata={
        "description": "the ticket's version this entry made it (its ETag's); null: written before tickets had one"})


class HistorySchema(ResponseSchema):
    items = fields.List(fields.Nested(HistoryEntrySchema))


class TicketSchema(ResponseSchema):
    id = fields.Integer()
    subject = fields.String()
    description = fields.String()
    channel = fields.String()
    kind = fields.String()
    priority = fields.String()
    state = fields.String(validate=validate.OneOf(STATES))
    customer = fields.Method("dump_customer", metadata=CUSTOMER_TYPE)
    customer_tier = fields.String()
    assignee = fields.String(allow_none=True)
    team = fields.String(allow_none=True)
    tags = fields.List(fields.String())
    required_skills = fields.List(fields.String())
    custom_fields = fields.Dict()
    transfer_count = fields.Integer()
    reopen_count = fields.Integer()
    first_contact_resolution = fields.Method("dump_fcr", metadata={
        "type": "boolean", "nullable": True,
        "description": "T9: resolved with no reopen and no transfer; null while open"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    first_responded_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    escalation_level = fields.Integer()
    escalated_at = fields.DateTime(allow_none=True)
    merged_into_id = fields.Integer(allow_none=True)
    version = fields.Integer(metadata={"description": (
        "one more with every change to the ticket, by any route or the platform itself; the ETag of GET "
        "/api/v1/tickets/{id} is \"<id>-<version>\", what If-Match sends back")})
    customer_id = fields.Integer(allow_none=True, metadata={
        "description": "the customer record (GET /api/v1/customers/{id}), found by the contact or made for it; "
                       "`customer` is what the ticket was opened with"})
    erased_at = fields.DateTime(allow_none=True, metadata={
        "description": "when its personal data was erased (on request or by retention); null while it has it"})

    def dump_fcr(self, ticket):
        return first_contact_resolution(ticket.state, ticket.reopen_count, ticket.transfer_count)

    def dump_customer(self, ticket):
        return customer(ticket.customer_name, ticket.customer_contact)


class TicketSummarySchema(TicketSchema):
    """A ticket in a list: its customer masked (X6); the ticket itself shows them."""
    customer = fields.Method("dump_customer", metadata={
        **CUSTOMER_TYPE, "description": "masked, e.g. +86 138****5678: open the ticket for the full details"})

    def dump_customer(self, ticket):
        return customer(ticket.customer_name, ticket.customer_contact, masked=True)


SEARCH_SORT_COLUMNS = ("id", "created_at", "updated_at", "priority", "state", "subject", "assignee", "team",
                       "kind", "channel", "escalation_level")
SEARCH_SORTS = ("relevance",) + tuple(name for column in SEARCH_SORT_COLUMNS for name in (column, "-" + column))


class TicketListQuerySchema(PageQuerySchema):
    state = fields.String(validate=validate.OneOf(STATES))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    kind = fields.String(validate=validate.OneOf(KINDS))
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    assignee = fields.String(validate=validate.Length(1, 64))
    team = fields.String(validate=validate.Length(1, 64))
    tag = fields.String(validate=validate.Length(1, 50))
    q = fields.String(validate=validate.Length(1, 500), metadata={
        "description": "a search (docs/search.md): words (all of them; Chinese needs no spaces), \"a phrase\", "
                       "OR, NOT or -word, parentheses, and field:value for state, priority, kind, channel, "
                       "assignee, team, tag, created, updated (created:>=2026-01-01, "
                       "created:2026-01-01..2026-01-31). Words are looked for in the subject, description and "
                       "messages. A query that cannot be read is a 400 naming the position and the reason"})
    sort = fields.String(validate=validate.OneOf(SEARCH_SORTS), metadata={
        "description": "relevance (the default with words to search: the best of the newest 1000 matching "
                       "tickets), or a column, descending with a leading '-' (default -id, newest first)"})
    text = fields.String(validate=validate.Length(1, 200), metadata={
        "description": "deprecated, use q: this substring of the subject or description, any case (a scan of "
                       "every ticket, without the search index: slow on a large desk)"})
    breached = fields.Boolean(metadata={"description": "true: some SLA clock breached"})
    due_before = fields.DateTime(metadata={
        "description": "a running SLA clock falls due before this time: the tickets breaching soon"})
    escalated = fields.Boolean(metadata={"description": "true: escalated at least once; false: never escalated"})
    unstaffed = fields.Boolean(metadata={
        "description": "true: waiting (new, nobody assigned) in a team with no agent cleared for duty, so routing "
                       "cannot give it to anyone; false: every other ticket"})


TicketPageSchema = page_schema(TicketSummarySchema, "TicketPageSchema")


class CustomerAccessQuerySchema(PageQuerySchema):
    ticket_id = fields.Integer(validate=validate.Range(min=1))
    customer_id = fields.Integer(validate=validate.Range(min=1))
    actor = fields.String(validate=validate.Length(1, 64))
    action = fields.String(validate=validate.OneOf(CUSTOMER_ACCESS_ACTIONS))


class CustomerAccessSchema(ResponseSchema):
    at = fields.DateTime()
    actor = fields.String(allow_none=True, metadata={"description": "a username, or null for the platform itself"})
    ticket_id = fields.Integer(allow_none=True, metadata={"description": "null: a customer record's"})
    customer_id = fields.Integer(allow_none=True, metadata={"description": "the customer record, if it was one"})
    action = fields.String(metadata={
        "description": "created: the customer's details were stored; read: they were shown in full; updated, "
                       "merged, erased: a customer record's"})
    request_id = fields.String(allow_none=True, metadata={"description": "the request, as in the log lines"})


CustomerAccessPageSchema = page_schema(CustomerAccessSchema, "CustomerAccessPageSchema")


# -- SLA (T4): policies and their business calendars (docs/sla.md) -------------------
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WINDOW_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
MAX_TARGET_MINUTES = 43200  # 30 days of round-the-clock minutes: a due time stays within reach of any calendar


def windows_field(description, **kwargs):
    """A day's working windows in the calendar's local time: ``"HH:MM-HH:MM"``, the end up to ``24:00``."""
    window = fields.String(validate=validate.Regexp(WINDOW_PATTERN,
                                                    error="expected 'HH:MM-HH:MM' (an end up to 24:00)"))
    return fields.List(window, metadata={"description": description, "example": ["09:00-12:00", "13:00-18:00"]},
                       **kwargs)


class SlaWeekSchema(StrictSchema):
    """Working windows per weekday; a day left out or empty is closed. Windows must not overlap."""
    mon = windows_field("Monday", load_default=list)
    tue = windows_field("Tuesday", load_default=list)
    wed = windows_field("Wednesday", load_default=list)
    thu = windows_field("Thursday", load_default=list)
    fri = windows_field("Friday", load_default=list)
    sat = windows_field("Saturday", load_default=list)
    sun = windows_field("Sunday", load_default=list)


class CountryHolidaysSchema(StrictSchema):
    """A country's public holidays (the `holidays` library's), and a subdivision's if named, close the desk."""
    country = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{2,3}$", error="an ISO 3166 code, e.g. CN"),
                            metadata={"description": "ISO 3166-1 code the holidays library knows, e.g. CN, DE, US"})
    subdivision = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 16), metadata={
        "description": "ISO 3166-2 subdivision, e.g. BY (Bavaria) for DE, CA for US; null: nationwide holidays only"})
    make_up_day_windows = windows_field(
        "windows of the country's make-up working days (weekend days worked in exchange for a bridge day off, as "
        "in China); empty: they stay closed", load_default=list)


class WorkingDaySchema(StrictSchema):
    """A date the desk works, whatever its weekday or holidays say, with its own windows."""
    date = fields.Date(required=True)
    windows = windows_field("its working windows", required=True, validate=validate.Length(1, 24))


class SlaCalendarSchema(StrictSchema):
    """When the desk is open, in its own time zone. Per local day, the first rule that applies: an extra
    working day opens with its windows; an extra holiday is closed; a country's make-up working day opens
    with that country's make-up windows; a country's holiday is closed; else the weekday's windows."""
    timezone = fields.String(required=True, validate=validate.Length(1, 64), metadata={
        "description": "IANA time zone, e.g. Asia/Shanghai; every window is its wall-clock time", "example": "UTC"})
    windows = fields.Nested(SlaWeekSchema, required=True)
    country_holidays = fields.List(fields.Nested(CountryHolidaysSchema), load_default=list,
                                   validate=validate.Length(max=10), metadata={
                                       "description": "opt-in: the countries whose holidays close the desk; none "
                                                      "by default"})
    holidays = fields.List(fields.Date(), load_default=list, validate=validate.Length(max=1000),
                           metadata={"description": "extra days the desk is closed"})
    working_days = fields.List(fields.Nested(WorkingDaySchema), load_default=list, validate=validate.Length(max=1000),
                               metadata={"description": "extra days the desk works, each with its own windows"})


class SlaConditionsSchema(StrictSchema):
    """Which tickets a policy is for: each field given lists the values a ticket may have; {} matches every
    ticket (a default policy)."""
    priority = fields.List(fields.String(validate=validate.OneOf(PRIORITIES)), validate=validate.Length(1, 10))
    kind = fields.List(fields.String(validate=validate.OneOf(KINDS)), validate=validate.Length(1, 10))
    channel = fields.List(fields.String(validate=validate.OneOf(CHANNELS)), validate=validate.Length(1, 10))
    customer_tier = fields.List(fields.String(validate=validate.Length(1, 32)), validate=validate.Length(1, 50))


class SlaTargetsSchema(StrictSchema):
    """Business minutes each clock may run; a clock without a target is not kept. At least one."""
    first_response = fields.Integer(strict=True, validate=validate.Range(1, MAX_TARGET_MINUTES),
                                    metadata={"description": "from creation to the first public reply"})
    update = fields.Integer(strict=True, validate=validate.Range(1, MAX_TARGET_MINUTES),
                            metadata={"description": "from a customer message to the next public reply"})
    resolution = fields.Integer(strict=True, validate=validate.Range(1, MAX_TARGET_MINUTES),
                                metadata={"description": "from creation to resolution, waiting on the customer "
                                                         "excluded"})

    @validates_schema
    def some_target(self, data, **kwargs):
        if not data:
            raise ValidationError(f"at least one of {', '.join(CLOCKS)}")

    def get_attribute(self, obj, attr, default):
        return obj.get(attr, default)  # targets are a dict: a missing "update" is not dict.update


# a stored calendar was loaded, so every default is filled in: its answer has every field
StoredSlaWeekSchema = answer_of(SlaWeekSchema, "StoredSlaWeekSchema")
StoredCountryHolidaysSchema = answer_of(CountryHolidaysSchema, "StoredCountryHolidaysSchema")
StoredWorkingDaySchema = answer_of(WorkingDaySchema, "StoredWorkingDaySchema")
StoredSlaCalendarSchema = answer_of(
    SlaCalendarSchema, "StoredSlaCalendarSchema", windows=fields.Nested(StoredSlaWeekSchema),
    country_holidays=fields.List(fields.Nested(StoredCountryHolidaysSchema)),
    working_days=fields.List(fields.Nested(StoredWorkingDaySchema)))


class StoredSlaConditionsSchema(ResponseSchema):
    """A policy's conditions as stored: a field left out when it was saved is null (any value matches)."""
    priority = fields.List(fields.String(), allow_none=True)
    kind = fields.List(fields.String(), allow_none=True)
    channel = fields.List(fields.String(), allow_none=True)
    customer_tier = fields.List(fields.String(), allow_none=True)

    def get_attribute(self, obj, attr, default):
        return obj.get(attr)


class StoredSlaTargetsSchema(ResponseSchema):
    """A policy's targets in business minutes as stored: null for a clock the policy does not keep."""
    first_response = fields.Integer(allow_none=True)
    update = fields.Integer(allow_none=True)
    resolution = fields.Integer(allow_none=True)

    def get_attribute(self, obj, attr, default):
        return obj.get(attr)


class SlaPolicyCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(1, 64))
    position = fields.Integer(required=True, strict=True, validate=validate.Range(0, 1000000), metadata={
        "description": "policies are tried in ascending position (then oldest first); the first enabled one whose "
                       "conditions match a new ticket is its policy"})
    enabled = fields.Boolean(load_default=True, metadata={"description": "false: no new ticket gets this policy"})
    conditions = fields.Nested(SlaConditionsSchema, load_default=dict)
    targets = fields.Nested(SlaTargetsSchema, required=True)
    calendar = fields.Nested(SlaCalendarSchema, required=True)
    warn_share = fields.Float(load_default=0.8, validate=validate.Range(0, 1, min_inclusive=False, max_inclusive=False),
                              metadata={"description": "the warning is due at this share of each target"})


# what a version is made of: editing any of them makes a new version (name, position and enabled do not)
SLA_VERSIONED = ("conditions", "targets", "calendar", "warn_share")


SlaPolicyUpdateSchema = every_field_optional(
    SlaPolicyCreateSchema, "SlaPolicyUpdateSchema",
    "An edit: each field given replaces the policy's. A change to conditions, targets, calendar or warn_share makes "
    "a new version; tickets keep the version they started with.")


class SlaPolicySchema(ResponseSchema):
    """A policy as it is now: its current version's conditions, targets and calendar."""
    id = fields.Integer()
    name = fields.String()
    position = fields.Integer()
    enabled = fields.Boolean()
    version = fields.Integer(metadata={"description": "the current version; 1 when created"})
    conditions = fields.Nested(StoredSlaConditionsSchema)
    targets = fields.Nested(StoredSlaTargetsSchema)
    calendar = fields.Nested(StoredSlaCalendarSchema)
    warn_share = fields.Float()
    updated_at = fields.DateTime()


class SlaPolicyListSchema(ResponseSchema):
    items = fields.List(fields.Nested(SlaPolicySchema))


class SlaPolicyVersionSchema(ResponseSchema):
    """One version of a policy, as tickets that started on it run: never changed."""
    policy_id = fields.Integer()
    version = fields.Integer()
    conditions = fields.Nested(StoredSlaConditionsSchema)
    targets = fields.Nested(StoredSlaTargetsSchema)
    calendar = fields.Nested(StoredSlaCalendarSchema)
    warn_share = fields.Float()
    created_at = fields.DateTime()
    created_by = fields.String(allow_none=True)


class SlaPolicyVersionListSchema(ResponseSchema):
    items = fields.List(fields.Nested(SlaPolicyVersionSchema), metadata={"description": "oldest first"})


class SlaPolicyRefSchema(ResponseSchema):
    """The policy version a ticket runs on."""
    id = fields.Integer()
    name = fields.String()
    version = fields.Integer()


class SlaPreviewTicketSchema(StrictSchema):
    """The fields policies match on, as a ticket would have them."""
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    priority = fields.String(load_default="normal", validate=validate.OneOf(PRIORITIES))
    customer_tier = fields.String(load_default="standard", validate=validate.Length(1, 32))


PREVIEW_FROM, PREVIEW_UNTIL = datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(2200, 1, 1, tzinfo=timezone.utc)


class SlaPreviewSchema(StrictSchema):
    ticket = fields.Nested(SlaPreviewTicketSchema, required=True)
    created_at = fields.AwareDateTime(required=True, validate=validate.Range(PREVIEW_FROM, PREVIEW_UNTIL), metadata={
        "description": "when the ticket would be opened (1970 to 2199)"})
    draft = fields.Nested(SlaPolicyCreateSchema, metadata={
        "description": "an unsaved policy, tried at its position among the saved ones; leave out to preview the "
                       "saved policies alone"})
    replacing = fields.Integer(strict=True, validate=validate.Range(min=1), metadata={
        "description": "the saved policy the draft stands in for (an edit checked before saving)"})

    @validates_schema
    def replacing_needs_a_draft(self, data, **kwargs):
        if "replacing" in data and "draft" not in data:
            raise ValidationError("only with a draft", "replacing")


class SlaPreviewPolicySchema(ResponseSchema):
    id = fields.Integer(allow_none=True, metadata={"description": "null for the draft"})
    name = fields.String()
    version = fields.Integer(allow_none=True, metadata={"description": "null for the draft"})
    draft = fields.Boolean()


class SlaPreviewClockSchema(ResponseSchema):
    clock = fields.String(validate=validate.OneOf(CLOCKS))
    target_minutes = fields.Integer(metadata={"description": "business minutes"})
    warn_at = fields.DateTime()
    due_at = fields.DateTime(metadata={"description": "if the clock never pauses"})


class SlaPreviewResultSchema(ResponseSchema):
    policy = fields.Nested(SlaPreviewPolicySchema, allow_none=True, metadata={
        "description": "the policy the ticket would get; null when no enabled policy matches (no SLA)"})
    clocks = fields.List(fields.Nested(SlaPreviewClockSchema), metadata={
        "description": "the clocks a new ticket starts (first response, resolution) and when they fall due"})


class SlaClockSchema(ResponseSchema):
    clock = fields.String(validate=validate.OneOf(CLOCKS))
    status = fields.String(validate=validate.OneOf(CLOCK_STATUSES), metadata={
        "description": "breached from its due time on, even paused; cancelled: the ticket was resolved or closed "
                       "before the reply the clock waited for (not a first response, outside compliance)"})
    due_at = fields.DateTime(metadata={
        "description": "when it has counted its target; kept once passed, moved by a pause that began before it"})
    elapsed_seconds = fields.Integer(metadata={"description": "business seconds counted, pauses excluded"})
    remaining_seconds = fields.Integer(metadata={"description": "negative once breached"})
    target_seconds = fields.Integer()


class TicketDetailSchema(TicketSchema):
    description_html = fields.String(allow_none=True, metadata={"description": (
        "the opening message as sanitised HTML where it came as such (a mail): its images are the "
        "ticket's attachments, by their download paths; null otherwise")})
    attachments = fields.List(fields.Nested(AttachmentSchema), metadata={
        "description": "files attached as the ticket was opened; a message's are on the message"})
    sla = fields.List(fields.Nested(SlaClockSchema), metadata={"description": "each clock's latest state"})
    sla_policy = fields.Nested(SlaPolicyRefSchema, allow_none=True, metadata={
        "description": "the SLA policy and version the ticket runs on (kept when the policy is edited); null: "
                       "no policy matched it"})
    rating_token = fields.String(allow_none=True, metadata={
        "description": "null to staff, always: the customer's side gets the rating link (an integration from "
                       "POST /api/v1/tickets/{id}/rating-link; a service in the answer of its call that resolved)"})


class ImportedSchema(ResponseSchema):
    external_id = fields.String()
    ticket_id = fields.Integer()
    policy = fields.Nested(SlaPolicyRefSchema, allow_none=True, metadata={
        "description": "the SLA policy and version its clocks run on, null if none"})
    sla = fields.List(fields.Nested(SlaClockSchema), metadata={
        "description": "each clock's state once its history is replayed, as the ticket shows it"})


class ImportResultSchema(ResponseSchema):
    imported = fields.List(fields.Nested(ImportedSchema))
    skipped = fields.List(fields.String(), metadata={"description": "external ids imported before"})


class EscalationSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(1, 500))


# -- complaints, ratings, callbacks, suggestions (T5, T6, T7) -----------------------
class ComplaintRecordSchema(StrictSchema):
    issue = fields.String(required=True, validate=validate.Length(1, 5000), metadata={"description": "what went wrong"})
    demand = fields.String(required=True, validate=validate.Length(1, 2000), metadata={
        "description": "what the customer asks for"})
    occurred_at = fields.AwareDateTime(required=True, metadata={"description": "when it happened"})
    category = fields.String(required=True, validate=validate.Length(1, 64), metadata={
        "description": "classification, e.g. product quality, delivery, service attitude"})
    severity = fields.String(load_default="normal", validate=validate.OneOf(SEVERITIES), metadata={
        "description": "major complaints escalate to management at once"})


class CoordinationSchema(StrictSchema):
    department = fields.String(required=True, validate=validate.Length(1, 64))
    note = fields.String(required=True, validate=validate.Length(1, 5000))


class ComplaintResultSchema(StrictSchema):
    result = fields.String(required=True, validate=validate.Length(1, 5000), metadata={
        "description": "what was done; sent to the customer as a public reply"})


class VerdictSchema(StrictSchema):
    satisfied = fields.Boolean(required=True)
    comment = fields.String(load_default="", validate=validate.Length(max=2000))


class ComplaintStepSchema(ResponseSchema):
    step = fields.String()
    department = fields.String(allow_none=True)
    note = fields.String()
    satisfied = fields.Boolean(allow_none=True)
    actor = fields.String(allow_none=True)
    at = fields.DateTime()


class ComplaintSchema(ResponseSchema):
    ticket_id = fields.Integer()
    issue = fields.String()
    demand = fields.String()
    occurred_at = fields.DateTime()
    category = fields.String()
    severity = fields.String()
    recorded_by = fields.String(allow_none=True)
    recorded_at = fields.DateTime()
    result = fields.String(allow_none=True)
    result_reported_at = fields.DateTime(allow_none=True)
    unsatisfied_verdicts = fields.Integer()
    settled_at = fields.DateTime(allow_none=True)
    steps = fields.List(fields.Nested(ComplaintStepSchema))


class RatingSubmitSchema(StrictSchema):
    score = fields.Integer(required=True, strict=True, validate=validate.OneOf(RATING_SCALE))
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class RatingSchema(ResponseSchema):
    ticket_id = fields.Integer()
    resolution = fields.Integer()
    score = fields.Integer()
    comment = fields.String(allow_none=True)
    rated_at = fields.DateTime()


class RatingLinkSchema(ResponseSchema):
    ticket_id = fields.Integer()
    resolution = fields.Integer(metadata={"description": "which resolution of the ticket the link rates"})
    rating_token = fields.String(metadata={
        "description": "the customer's one-time link token (POST /api/v1/ratings/{token}); one issued before "
                       "for this resolution stops working"})
    expires_at = fields.DateTime()


class CallbackCreateSchema(StrictSchema):
    scheduled_for = fields.AwareDateTime(required=True)
    assignee = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64), metadata={
        "description": "who calls; the ticket's assignee when left out"})
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class CallbackOutcomeSchema(StrictSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(CALLBACK_OUTCOMES))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class CallbackSchema(ResponseSchema):
    id = fields.Integer()
    ticket_id = fields.Integer()
    scheduled_for = fields.DateTime()
    assignee = fields.String()
    note = fields.String()
    outcome = fields.String(allow_none=True)
    outcome_note = fields.String(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class CallbackListQuerySchema(PageQuerySchema):
    assignee = fields.String(validate=validate.Length(1, 64))
    due_before = fields.AwareDateTime(metadata={"description": "open callbacks scheduled before this time"})


CallbackPageSchema = page_schema(CallbackSchema, "CallbackPageSchema")


class ForwardSchema(StrictSchema):
    department = fields.String(required=True, validate=validate.Length(1, 64))


class DecisionSchema(StrictSchema):
    adopted = fields.Boolean(required=True)
    decision = fields.String(required=True, validate=validate.Length(1, 2000), metadata={
        "description": "the department's answer, reported to the customer"})


class SuggestionSchema(ResponseSchema):
    ticket_id = fields.Integer()
    department = fields.String()
    forwarded_at = fields.DateTime()
    forwarded_by = fields.String(allow_none=True)
    adopted = fields.Boolean(allow_none=True)
    decision = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)


# -- routing (T3) --------------------------------------------------------------------
class AgentSchema(ResponseSchema):
    username = fields.String()
    teams = fields.List(fields.String())
    skills = fields.List(fields.String())
    capacity = fields.Integer()
    open_tickets = fields.Integer()
    on_duty = fields.Boolean()
    cleared = fields.Boolean(metadata={"description": "holds a valid certification that clears for duty (R4)"})
    not_cleared_because = fields.String(allow_none=True)


class AgentListSchema(ResponseSchema):
    items = fields.List(fields.Nested(AgentSchema))
    warnings = fields.List(fields.String(), metadata={
        "description": "what keeps routing from working, e.g. nobody cleared for duty on a new install"})


# -- knowledge base (T8) ----------------------------------------------------------
class ArticleCreateSchema(StrictSchema):
    title = fields.String(required=True, validate=validate.Length(1, 200))
    body = fields.String(required=True, validate=validate.Length(1, 100000))
    category = fields.String(required=True, validate=validate.Length(1, 64))
    tags = fields.List(fields.String(validate=validate.Length(1, 50)), load_default=list,
                       validate=validate.Length(max=MAX_TAGS))


class ArticleSchema(ResponseSchema):
    id = fields.Integer()
    title = fields.String()
    body = fields.String()
    category = fields.String()
    tags = fields.List(fields.String())
    hits = fields.Integer(metadata={"description": "times agents opened it"})
    author = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ArticleSearchQuerySchema(StrictSchema):
    q = fields.String(required=True, validate=validate.Length(1, 200), metadata={
        "description": "words or a phrase, Chinese or English; no spaces needed between Chinese words"})
    category = fields.String(validate=validate.Length(1, 64))
    limit = fields.Integer(load_default=10, validate=validate.Range(1, 50))


class ArticleHitSchema(ResponseSchema):
    id = fields.Integer()
    title = fields.String()
    category = fields.String()
    score = fields.Float()
    snippet = fields.String()


class ArticleSearchResultSchema(ResponseSchema):
    items = fields.List(fields.Nested(ArticleHitSchema))
    gap = fields.Boolean(metadata={"description": "nothing found: recorded as a knowledge gap"})


class GapQuerySchema(StrictSchema):
    since = fields.DateTime(metadata={"description": "only searches at or after this time"})
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))


class GapSchema(ResponseSchema):
    query = fields.String()
    searches = fields.Integer()
    last_searched_at = fields.DateTime()


class GapListSchema(ResponseSchema):
    items = fields.List(fields.Nested(GapSchema))


# -- webhooks (X2) -------------------------------------------------------------------
MAX_EVENT_TYPES = 50
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def check_url(url):
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        # the signature authenticates ticketing; a password in a URL ends up in logs and answers
        raise ValidationError("must not carry a user name or password")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ValidationError("must be https; plain http is allowed only for localhost and 127.0.0.1")


def check_event_type(pattern):
    if not is_valid_pattern(pattern):
        raise ValidationError(
            "must be an event type such as ticket.created, a pattern such as ticket.*, or * for every type")
    if not any(pattern_matches(pattern, name) for name in PUBLISHED_TYPES):
        raise ValidationError(f"{pattern!r} matches no event type ticketing publishes")


def check_no_duplicates(values):
    if len(set(values)) != len(values):
        raise ValidationError("lists a type twice")


class WebhookCreateSchema(StrictSchema):
    """A new subscription; the server makes its secret and shows it once."""
    url = fields.String(required=True, validate=[
        validate.Length(1, 2000), validate.URL(schemes={"http", "https"}, require_tld=False), check_url],
        metadata={"description": (
            "where events are POSTed; https (http only for localhost), no user name or password; "
            "not this machine, a private network or a cloud metadata service unless the operator's "
            "allow-list names it (400 naming url)")})
    event_types = fields.List(
        fields.String(validate=[validate.Length(1, 128), check_event_type]), required=True,
        validate=[validate.Length(1, MAX_EVENT_TYPES), check_no_duplicates], metadata={"description": (
            "event types (ticket.created), patterns where * stands for one segment (ticket.*), "
            "or * for every type")})
    description = fields.String(load_default="", validate=validate.Length(max=500))


class WebhookSchema(ResponseSchema):
    id = fields.Integer()
    url = fields.String()
    event_types = fields.List(fields.String())
    active = fields.Boolean()
    description = fields.String()
    created_by = fields.String(allow_none=True, metadata={
        "description": "the account that made it: only it and admins see the webhook and its deliveries"})
    created_at = fields.DateTime()
    legacy_signature = fields.Boolean(metadata={"description": (
        "made before Standard Webhooks signatures: its requests carry the old X-CSOPS-Signature and "
        "X-CSOPS-Delivery too; make a new webhook to drop them")})


class WebhookCreatedSchema(WebhookSchema):
    secret = fields.String(metadata={"description": (
        "whsec_<base64>: signs every request as Standard Webhooks does (webhook-id, webhook-timestamp, "
        "webhook-signature: v1,<base64 HMAC-SHA256 of \"<id>.<timestamp>.<body>\">, keyed with the "
        "base64-decoded part after whsec_); shown only now, keep it")})


class WebhookListSchema(ResponseSchema):
    items = fields.List(fields.Nested(WebhookSchema))


class DeliverySchema(ResponseSchema):
    id = fields.String(metadata={"description": "the webhook-id header, the same on every attempt"})
    webhook_id = fields.Integer(attribute="subscription_id")
    event_id = fields.String()
    event_type = fields.String()
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime(allow_none=True, metadata={"description": "null once delivered or failed"})
    last_attempt_at = fields.DateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True, metadata={"description": "HTTP status of the last attempt"})
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)


DeliveryPageSchema = page_schema(DeliverySchema, "DeliveryPageSchema")


class DeliveryListQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))


# -- the agent workspace: edits, bulk edits, canned responses, macros (docs/workspace.md) ---------
EDITABLE_FIELDS = ("subject", "priority", "kind", "team", "tags", "custom_fields", "required_skills")
MAX_BULK = 500
LANGUAGES = ("zh-CN", "en")
PERSONAL, TEAM, EVERYONE = "personal", "team", "everyone"
VISIBILITIES = (PERSONAL, TEAM, EVERYONE)
MAX_MACRO_ACTIONS = 20
MACRO_ACTIONS = ("reply", "set_state", "add_tags", "remove_tags", "assign", "take", "set_priority")
# what each macro action needs (reply: a body or a canned response, checked on its own)
MACRO_ACTION_NEEDS = {"reply": (), "set_state": ("state",), "add_tags": ("tags",), "remove_tags": ("tags",),
                      "assign": (), "take": (), "set_priority": ("priority",)}
MACRO_ACTION_FIELDS = {"reply": ("body", "canned_response_id", "public"), "set_state": ("state",),
                       "add_tags": ("tags",), "remove_tags": ("tags",), "assign": ("assignee", "team"), "take": (),
                       "set_priority": ("priority",)}
PLACEHOLDERS_HELP = (
    "Jinja2 text (sandboxed): {{ customer.name }}, {{ ticket.id }}, {{ ticket.subject }}, {{ ticket.priority }}, "
    "{{ ticket.kind }}, {{ ticket.channel }}, {{ ticket.state }}, {{ ticket.team }}, {{ agent.username }}, "
    "{{ kb(12) }} (a knowledge-base article: its title and link; kb(12).url, kb(12).title); an unknown "
    "placeholder is a 400 naming it when saved")


def etag(ticket_id, version) -> str:
    """A ticket's ETag: its id and version (``TicketSchema.version``)."""
    return f'"{ticket_id}-{version}"'


def tag_list(**kwargs):
    return fields.List(fields.String(validate=validate.Length(1, 50)), validate=validate.Length(max=MAX_TAGS),
                       **kwargs)


def skill_list(**kwargs):
    return fields.List(fields.String(validate=validate.Length(1, 64)), validate=validate.Length(max=10), **kwargs)


class TicketEditSchema(StrictSchema):
    """A partial edit: only the fields given change, each a history entry (old -> new)."""
    subject = fields.String(validate=validate.Length(1, 200))
    priority = fields.String(validate=validate.OneOf(PRIORITIES), metadata={
        "description": "re-targets the running SLA clocks (docs/workspace.md)"})
    kind = fields.String(validate=validate.OneOf(KINDS), metadata={
        "description": "re-targets the running SLA clocks, as priority does"})
    team = fields.String(allow_none=True, validate=validate.Length(1, 64), metadata={
        "description": "a transfer: the owner keeps the ticket if in the new team, else it goes back to the new "
                       "team's queue and routing offers it"})
    tags = tag_list(metadata={"description": "the whole list, replacing the ticket's"})
    custom_fields = fields.Dict(
        keys=fields.String(validate=validate.Length(1, 64)),
        values=fields.Raw(allow_none=True, validate=lambda v: v is None or isinstance(v, (str, int, float, bool))),
        validate=validate.Length(max=50),
        metadata={"description": "merged into the ticket's: each key given is set, a key given null is removed"})
    required_skills = skill_list(metadata={
        "description": "routing gives a waiting ticket only to agents with them all"})

    @validates_schema
    def changes_something(self, data, **kwargs):
        if not data:
            raise ValidationError(f"nothing to change: give one or more of {', '.join(EDITABLE_FIELDS)}", "_schema")


class BulkChangesSchema(TicketEditSchema):
    """One change set for every ticket of a bulk edit: the edit's fields, and a state, an assignee and tags to
    add or remove."""
    state = fields.String(validate=validate.OneOf(STATES + ("reopened",)), metadata={
        "description": "as POST .../state: 409 for a ticket the move is not allowed from"})
    assignee = fields.String(validate=validate.Length(1, 64), metadata={
        "description": "as POST .../assignment (supervisors and admins; an agent may name herself)"})
    add_tags = tag_list()
    remove_tags = tag_list()

    @validates_schema
    def tags_one_way(self, data, **kwargs):
        if "tags" in data and ({"add_tags", "remove_tags"} & set(data)):
            raise ValidationError("give the whole list (tags) or what to add and remove, not both", "tags")


def check_each_once(ids):
    repeated = sorted({value for value in ids if ids.count(value) > 1})
    if repeated:
        raise ValidationError(f"names ticket(s) {', '.join(map(str, repeated))} more than once")


class BulkEditSchema(StrictSchema):
    ids = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1)), required=True, validate=[
        validate.Length(1, MAX_BULK, error=f"from 1 to {MAX_BULK} tickets at once"), check_each_once],
        metadata={"description": f"the tickets, at most {MAX_BULK}, each changed in a transaction of its own"})
    changes = fields.Nested(BulkChangesSchema, required=True)


BULK_OUTCOMES = ("ok", "forbidden", "not_found", "conflict", "invalid")


class BulkItemSchema(ResponseSchema):
    ticket_id = fields.Integer()
    status = fields.Integer(metadata={"description": "the status the ticket's own PATCH would have answered: 200, "
                                                     "403, 404 (also outside your scope), 409 or 422"})
    outcome = fields.String(validate=validate.OneOf(BULK_OUTCOMES))
    message = fields.String(allow_none=True)
    details = fields.Dict(allow_none=True, metadata={"description": "as in an error's details"})
    version = fields.Integer(allow_none=True, metadata={"description": "the ticket's version after the change"})


class BulkResultSchema(ResponseSchema):
    items = fields.List(fields.Nested(BulkItemSchema), metadata={"description": "one per ticket, in the order sent"})
    succeeded = fields.Integer()
    failed = fields.Integer()


def check_visibility(data):
    if data.get("visibility") == TEAM and not data.get("team"):
        raise ValidationError("required when visibility is team", "team")
    if data.get("visibility") in (PERSONAL, EVERYONE) and data.get("team"):
        raise ValidationError(f"only with visibility {TEAM}", "team")


class SharedWritingSchema(StrictSchema):
    """Who a canned response or a macro is for: its visibility, and the team when shared with one."""
    visibility = fields.String(load_default=PERSONAL, validate=validate.OneOf(VISIBILITIES), metadata={
        "description": "personal: yours alone; team: the team's members (supervisors and agents) use and edit it; "
                       "everyone: every agent uses it, supervisors and admins edit it"})
    team = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64))

    @validates_schema
    def team_if_shared_with_one(self, data, **kwargs):
        check_visibility(data)


class CannedResponseCreateSchema(SharedWritingSchema):
    title = fields.String(required=True, validate=validate.Length(1, 200))
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    body = fields.String(required=True, validate=validate.Length(1, 20000), metadata={"description": PLACEHOLDERS_HELP})


CannedResponseUpdateSchema = every_field_optional(
    CannedResponseCreateSchema, "CannedResponseUpdateSchema", "Only the fields given change (checked as a new one).")


class CannedResponseSchema(ResponseSchema):
    id = fields.Integer()
    title = fields.String()
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    body = fields.String()
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))
    owner = fields.String(allow_none=True, metadata={"description": "a personal one's"})
    team = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


CannedResponsePageSchema = page_schema(CannedResponseSchema, "CannedResponsePageSchema")


class LibraryQuerySchema(PageQuerySchema):
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))
    team = fields.String(validate=validate.Length(1, 64))


class CannedResponseQuerySchema(LibraryQuerySchema):
    language = fields.String(validate=validate.OneOf(LANGUAGES))


class RenderSchema(StrictSchema):
    ticket_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1), metadata={
        "description": "the ticket whose customer, subject and ids fill the placeholders"})


class RenderedSchema(ResponseSchema):
    canned_response_id = fields.Integer()
    ticket_id = fields.Integer()
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    body = fields.String(metadata={"description": "filled in; the customer masked where you may not see them"})


class MacroActionSchema(StrictSchema):
    """One action of a macro; ``action`` says which fields it takes."""
    action = fields.String(required=True, validate=validate.OneOf(MACRO_ACTIONS), metadata={"description": (
        "reply (body or canned_response_id; public false: an internal note), set_state, add_tags, remove_tags, "
        "assign (assignee and/or team), take (assign to whoever applies it), set_priority")})
    body = fields.String(validate=validate.Length(1, 20000), metadata={"description": PLACEHOLDERS_HELP})
    canned_response_id = fields.Integer(strict=True, validate=validate.Range(min=1))
    public = fields.Boolean(metadata={"description": "reply: true (default) the customer sees it, false a note"})
    state = fields.String(validate=validate.OneOf(STATES + ("reopened",)))
    tags = tag_list()
    assignee = fields.String(validate=validate.Length(1, 64))
    team = fields.String(validate=validate.Length(1, 64))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))

    @validates_schema
    def fields_of_its_action(self, data, **kwargs):
        action = data["action"]
        problems = {name: [f"required for {with_article(action)} action"] for name in MACRO_ACTION_NEEDS[action]
                    if name not in data}
        problems.update({name: [f"not taken by {with_article(action)} action"] for name in data
                         if name != "action" and name not in MACRO_ACTION_FIELDS[action]})
        if action == "reply" and ("body" in data) == ("canned_response_id" in data):
            problems["body"] = ["a reply takes a body or a canned_response_id (one of them)"]
        if action == "assign" and not {"assignee", "team"} & set(data):
            problems["assignee"] = ["an assign action names an assignee, a team, or both"]
        if problems:
            raise ValidationError(problems)


class MacroCreateSchema(SharedWritingSchema):
    title = fields.String(required=True, validate=validate.Length(1, 200))
    actions = fields.List(fields.Nested(MacroActionSchema), required=True,
                          validate=validate.Length(1, MAX_MACRO_ACTIONS), metadata={
                              "description": "applied in order, all or none, as one history entry"})


MacroUpdateSchema = every_field_optional(
    MacroCreateSchema, "MacroUpdateSchema", "Only the fields given change (checked as a new one).")


class MacroActionViewSchema(ResponseSchema):
    """A macro's action as answered: every field, null where the action takes none."""
    action = fields.String(validate=validate.OneOf(MACRO_ACTIONS))
    body = fields.String(allow_none=True)
    canned_response_id = fields.Integer(allow_none=True)
    public = fields.Boolean(allow_none=True)
    state = fields.String(allow_none=True)
    tags = fields.List(fields.String(), allow_none=True)
    assignee = fields.String(allow_none=True)
    team = fields.String(allow_none=True)
    priority = fields.String(allow_none=True)

    @pre_dump
    def every_field(self, action, **kwargs):
        return {name: action.get(name) for name in self.fields}


class MacroSchema(ResponseSchema):
    id = fields.Integer()
    title = fields.String()
    actions = fields.List(fields.Nested(MacroActionViewSchema))
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))
    owner = fields.String(allow_none=True)
    team = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


MacroPageSchema = page_schema(MacroSchema, "MacroPageSchema")


class MacroApplySchema(StrictSchema):
    macro_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


# -- event data (docs/events is generated from these) ---------------------------
class TicketFactsSchema(Schema):
    """What every ticket event carries: routing facts, never customer data (X6)."""
    ticket_id = required(fields.Integer(attribute="id"))
    state = required(fields.String(validate=validate.OneOf(STATES)))
    priority = required(fields.String(validate=validate.OneOf(PRIORITIES)))
    kind = required(fields.String(validate=validate.OneOf(KINDS)))
    channel = required(fields.String(validate=validate.OneOf(CHANNELS)))
    assignee = required(fields.String(allow_none=True, metadata={"description": "username of the owner"}))
    team = required(fields.String(allow_none=True))
    actor = required(fields.String(allow_none=True, metadata={
        "description": "who made the change: a username, or null for the platform itself"}))


class AttachmentFactsSchema(Schema):
    """An attachment as events carry it: a reference to the blob store, never the content."""
    attachment_id = required(fields.Integer(attribute="id"))
    sha256 = required(fields.String(metadata={"description": "the content's key in the blob store (BLOB_DIR)"}))
    filename = required(MaskedString(metadata={"description": "phone numbers and email addresses in it are masked; "
                                                              "the API has the name in full"}))
    content_type = required(fields.String())
    size = required(fields.Integer(metadata={"description": "bytes"}))


def attachment_facts():
    return fields.List(fields.Nested(AttachmentFactsSchema), metadata={
        "description": "references to the files (added in data version 1 as an optional field: absent in events "
                       "published before attachments existed, empty when there are none)"})


class TicketCreatedDataSchema(TicketFactsSchema):
    subject = required(MaskedString(metadata={"description": "phone numbers and email addresses in it are masked"}))
    tags = required(fields.List(fields.String()))
    created_at = required(fields.DateTime())
    attachments = attachment_facts()


class TicketAssignedDataSchema(TicketFactsSchema):
    """``actor`` gave the ticket from ``previous_assignee`` (team ``previous_team``) to ``assignee`` (``team``)."""
    previous_assignee = required(fields.String(allow_none=True))
    previous_team = fields.String(allow_none=True, metadata={"description": "the ticket's team before"})
    transfer_count = required(fields.Integer(metadata={"description": "transfers so far, this one included"}))


class TicketStatusChangedDataSchema(TicketFactsSchema):
    from_state = required(fields.String(validate=validate.OneOf(STATES)))


class TicketSettledDataSchema(TicketFactsSchema):
    """A ticket resolved or closed; ``opinion_alert_id`` says which public-opinion alert it was opened for."""
    opinion_alert_id = fields.Integer(allow_none=True, metadata={
        "description": "the opinion alert this ticket was opened for (monitoring notes the ending on it), "
                       "null for other tickets"})


class TicketResolvedDataSchema(TicketSettledDataSchema):
    """Data version 2: version 1 carried the customer's rating link token, which an event must not (X1); the
    customer's side asks for the link (POST /api/v1/tickets/{id}/rating-link)."""
    first_contact_resolution = required(fields.Boolean(metadata={"description": "T9: no reopen and no transfer"}))
    reopen_count = required(fields.Integer())
    transfer_count = required(fields.Integer())


class TicketReopenedDataSchema(TicketFactsSchema):
    reopen_count = required(fields.Integer())


class TicketRepliedDataSchema(TicketFactsSchema):
    message_id = required(fields.Integer())
    author = required(fields.String())
    attachments = attachment_facts()


class SearchMissedDataSchema(Schema):
    query = required(MaskedString(metadata={"description": "phone numbers and email addresses in it are masked"}))
    actor = required(fields.String(allow_none=True))


class SlaClockDataSchema(TicketFactsSchema):
    clock = required(fields.String(validate=validate.OneOf(CLOCKS)))
    due_at = required(fields.DateTime())
    target_seconds = required(fields.Integer())
    owner = fields.String(allow_none=True, metadata={
        "description": "who owned the ticket when the clock reached this point (its due time for a breach, its "
                       "warning time for a warning), null if nobody; `assignee` is the owner when published"})


class SlaClockStoppedDataSchema(TicketFactsSchema):
    clock = required(fields.String(validate=validate.OneOf(CLOCKS)))
    target_seconds = required(fields.Integer(metadata={"description": "the policy's target, business seconds"}))
    business_seconds = required(fields.Float(metadata={
        "description": "business time the clock ran on the policy's calendar, waiting on the customer excluded"}))
    met = required(fields.Boolean(metadata={"description": "stopped by its due time: `outcome` is met"}))
    outcome = fields.String(validate=validate.OneOf(CLOCK_OUTCOMES), metadata={
        "description": "met, breached, or cancelled: the ticket was resolved or closed before the reply a "
                       "first_response or update clock waited for, and it was not due yet; a cancelled "
                       "first_response is no first response and is outside SLA compliance"})
    cause = fields.String(validate=validate.OneOf(CLOCK_STOP_CAUSES), metadata={
        "description": "what stopped it: a public `reply` (`actor` sent it), or the ticket `resolved` or `closed` "
                       "(`actor` did it); a first response is a first_response clock stopped by a reply"})
    started_at = required(fields.DateTime())
    stopped_at = required(fields.DateTime())


class TicketEscalatedDataSchema(TicketFactsSchema):
    reason = required(MaskedString(metadata={"description": "phone numbers and email addresses in it are masked"}))
    escalation_level = required(fields.Integer())
    supervisors = required(fields.List(fields.String(), metadata={
        "description": "whom it is escalated to: the team's supervisors, or all when the ticket has no team"}))


class ComplaintRecordedDataSchema(TicketFactsSchema):
    category = required(fields.String())
    severity = required(fields.String(validate=validate.OneOf(SEVERITIES)))


class ComplaintVerdictDataSchema(TicketFactsSchema):
    satisfied = required(fields.Boolean())
    unsatisfied_verdicts = required(fields.Integer())


class TicketRatedDataSchema(TicketFactsSchema):
    score = required(fields.Integer(validate=validate.OneOf(RATING_SCALE)))
    top_box = required(fields.Boolean(metadata={"description": "score 4 or 5"}))
    resolution = required(fields.Integer(metadata={"description": "which resolution of the ticket was rated"}))


class CallbackDataSchema(TicketFactsSchema):
    callback_id = required(fields.Integer())
    scheduled_for = required(fields.DateTime())
    callback_assignee = required(fields.String())
    outcome = required(fields.String(allow_none=True))


class SuggestionDataSchema(TicketFactsSchema):
    department = required(fields.String())
    adopted = required(fields.Boolean(allow_none=True))


class TicketMergedDataSchema(TicketFactsSchema):
    merged_into = required(fields.Integer())


class TicketPreviousSchema(Schema):
    """What the fields an edit changed were before it (only those it changed)."""
    subject = MaskedString(metadata={"description": "phone numbers and email addresses in it are masked"})
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    kind = fields.String(validate=validate.OneOf(KINDS))
    tags = fields.List(fields.String())
    required_skills = fields.List(fields.String())


class TicketUpdatedDataSchema(TicketFactsSchema):
    """A ticket's own fields were edited (``PATCH /api/v1/tickets/{id}``, a bulk edit, a macro). A change of
    team is ``ticket.assigned`` or ``ticket.transferred``, a change of state ``ticket.status_changed``."""
    changed = required(fields.List(fields.String(validate=validate.OneOf(EDITABLE_FIELDS)), metadata={
        "description": "the fields this edit changed"}))
    previous = required(fields.Nested(TicketPreviousSchema, metadata={
        "description": "the values before, of the changed fields among subject, priority, kind, tags and "
                       "required_skills"}))
    subject = required(MaskedString(metadata={"description": "now; phone numbers and email addresses masked"}))
    tags = required(fields.List(fields.String()))
    required_skills = required(fields.List(fields.String()))
    custom_field_keys = required(fields.List(fields.String(), metadata={
        "description": "the custom fields the edit set or removed (their values stay in the API: they may be "
                       "personal data)"}))
    macro_id = fields.Integer(allow_none=True, metadata={"description": "the macro that made the edit, if one did"})


# -- customers and organisations (docs/customers.md) ----------------------------------
EMAIL_CONTACT, PHONE_CONTACT, SOCIAL_CONTACT = "email", "phone", "social"
CONTACT_KINDS = (EMAIL_CONTACT, PHONE_CONTACT, SOCIAL_CONTACT)
MAX_CONTACTS = 50
ERASURE_REASONS = ("request", "retention")
DOMAIN_PATTERN = r"^@?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\.?$"


class ContactSchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(CONTACT_KINDS))
    value = fields.String(required=True, validate=validate.Length(1, 200), metadata={
        "description": "an email address, a phone number (E.164 or national: the desk's country code is assumed), "
                       "or a social handle as platform:handle (weibo:@li_lei)"})


class ContactViewSchema(ResponseSchema):
    kind = fields.String(validate=validate.OneOf(CONTACT_KINDS))
    value = fields.String(metadata={"description": "as given; masked where the caller sees the customer masked"})
    normalised = fields.String(allow_none=True, metadata={
        "description": "how it compares (email case-folded, phone +E.164, handle case-folded); null when masked"})


class CustomerCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(1, 200))
    language = fields.String(load_default=None, allow_none=True, validate=validate.Length(2, 16), metadata={
        "description": "BCP 47, e.g. zh-CN, en: the language mail to them is written in"})
    tier = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 32), metadata={
        "description": "e.g. vip; null: the organisation's tier, else standard"})
    organisation_id = fields.Integer(load_default=None, allow_none=True, strict=True,
                                     validate=validate.Range(min=1), metadata={
                                         "description": "null: placed by an email domain an organisation lists"})
    contacts = fields.List(fields.Nested(ContactSchema), load_default=list, validate=validate.Length(max=MAX_CONTACTS),
                           metadata={"description": "each unique among all customers (409 names the one holding it)"})


CustomerUpdateSchema = every_field_optional(
    CustomerCreateSchema, "CustomerUpdateSchema",
    "An edit: each field given replaces the customer's; contacts replaces the whole list. Tickets keep the name "
    "and contact they were opened with.")


class CustomerRecordSchema(ResponseSchema):
    id = fields.Integer()
    name = fields.String(metadata={"description": "masked (王*) where the caller sees the customer masked"})
    language = fields.String(allow_none=True)
    tier = fields.String(allow_none=True, metadata={"description": "their own; null: the organisation's"})
    effective_tier = fields.String(metadata={"description": "their own, else the organisation's, else standard"})
    organisation_id = fields.Integer(allow_none=True)
    contacts = fields.List(fields.Nested(ContactViewSchema))
    masked = fields.Boolean(metadata={
        "description": "true: name and contacts masked, as to an agent who owns none of the customer's tickets (X6)"})
    merged_into_id = fields.Integer(allow_none=True, metadata={
        "description": "merged into this customer: GET answers 301 to it"})
    erased_at = fields.DateTime(allow_none=True, metadata={"description": "erased: nothing personal is left"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class CustomerListQuerySchema(PageQuerySchema):
    contact = fields.String(validate=validate.Length(1, 200), metadata={
        "description": "any contact, however written: +86 138 0000 5678 finds 13800005678, Li@Example.com "
                       "li@example.com"})
    name = fields.String(validate=validate.Length(1, 200), metadata={"description": "part of the name, any case"})
    organisation_id = fields.Integer(validate=validate.Range(min=1))


CustomerPageSchema = page_schema(CustomerRecordSchema, "CustomerPageSchema")


class CustomerTicketsQuerySchema(PageQuerySchema):
    state = fields.String(validate=validate.OneOf(STATES))


class CustomerMergeSchema(StrictSchema):
    into = fields.Integer(required=True, strict=True, validate=validate.Range(min=1), metadata={
        "description": "the customer that stays: this one's contacts and tickets move to it"})


class ErasureRequestSchema(StrictSchema):
    confirm = fields.Boolean(required=True, validate=validate.Equal(True, error="must be true: erasure cannot be "
                                                                                "undone"), metadata={
        "description": "true: erase the customer's personal data everywhere; it cannot be undone"})


class ErasureSchema(ResponseSchema):
    """One erasure, as audited: whose, why, by whom and how much; never what."""
    id = fields.Integer()
    customer_id = fields.Integer(allow_none=True)
    reason = fields.String(validate=validate.OneOf(ERASURE_REASONS), metadata={
        "description": "request: the customer asked (an admin erased them); retention: their tickets were closed "
                       "longer ago than TICKETING_RETENTION_MONTHS"})
    customer_erased = fields.Boolean(metadata={
        "description": "the customer record was erased too (retention: once none of their tickets is left)"})
    actor = fields.String(allow_none=True, metadata={"description": "null: the retention sweep"})
    request_id = fields.String(allow_none=True)
    at = fields.DateTime()
    tickets = fields.Integer()
    messages = fields.Integer(metadata={"description": "customer messages replaced by the removal marker"})
    attachments = fields.Integer(metadata={"description": "files of those messages removed"})
    contacts = fields.Integer()
    ticket_ids = fields.List(fields.Integer())


class ErasureQuerySchema(PageQuerySchema):
    customer_id = fields.Integer(validate=validate.Range(min=1))
    reason = fields.String(validate=validate.OneOf(ERASURE_REASONS))


ErasurePageSchema = page_schema(ErasureSchema, "ErasurePageSchema")


class OrganisationCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(1, 200))
    domains = fields.List(fields.String(validate=[validate.Length(3, 253), validate.Regexp(
        DOMAIN_PATTERN, flags=re.IGNORECASE, error="a mail domain, e.g. example.com")]), load_default=list,
        validate=validate.Length(max=100), metadata={
            "description": "mail domains: a new customer with an address there joins the organisation; each domain "
                           "is one organisation's (409)"})
    tier = fields.String(load_default="standard", validate=validate.Length(1, 32), metadata={
        "description": "its customers' tier unless they have their own"})


OrganisationUpdateSchema = every_field_optional(
    OrganisationCreateSchema, "OrganisationUpdateSchema",
    "An edit: each field given replaces the organisation's; domains replaces the whole list.")


class OrganisationSchema(ResponseSchema):
    id = fields.Integer()
    name = fields.String()
    domains = fields.List(fields.String())
    tier = fields.String()
    customers = fields.Integer(metadata={"description": "customers in it"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class OrganisationListQuerySchema(PageQuerySchema):
    name = fields.String(validate=validate.Length(1, 200), metadata={"description": "part of the name, any case"})
    domain = fields.String(validate=validate.Length(1, 253))


OrganisationPageSchema = page_schema(OrganisationSchema, "OrganisationPageSchema")


class CustomerMergedDataSchema(Schema):
    """Ids only: no customer data travels in events (X6)."""
    customer_id = required(fields.Integer(metadata={"description": "the customer merged away"}))
    merged_into = required(fields.Integer(metadata={"description": "the customer that stays"}))
    ticket_ids = required(fields.List(fields.Integer(), metadata={"description": "tickets that moved to it"}))
    actor = required(fields.String(allow_none=True))


class CustomerErasedDataSchema(Schema):
    """Ids only, never the data: every service holding personal data of these tickets or of this
    customer erases its own copy (channels: the mails in and out of the tickets, and of their addresses)."""
    customer_id = required(fields.Integer(allow_none=True, metadata={
        "description": "whose data; null for tickets of no customer record"}))
    ticket_ids = required(fields.List(fields.Integer(), metadata={
        "description": "tickets whose personal data was erased (at most 1000 per event; a customer with more is "
                       "erased in several)"}))
    reason = required(fields.String(validate=validate.OneOf(ERASURE_REASONS)))
    customer_erased = required(fields.Boolean(metadata={"description": "the customer record itself was erased"}))
    actor = required(fields.String(allow_none=True, metadata={"description": "null: the retention sweep"}))


# -- the agent workspace: views, presence, mentions, followers, links (docs/workspace.md) ----------
VISIBILITIES = ("personal", "team", "everyone")
# relative values a view's query may hold, resolved each time it runs (docs/workspace.md, "Views")
ME, NOBODY, MY_TEAMS, OPEN = "@me", "@none", "@my_teams", "@open"
RELATIVE_TIME_PATTERN = r"^now(?:([+-])(\d{1,4})([mhd]))?$"
# a view's query: the list's filters (its paging is the runner's, its order the view's sort)
VIEW_QUERY_FIELDS = tuple(name for name in TicketListQuerySchema._declared_fields
                          if name not in ("page", "per_page", "cursor", "sort"))
VIEW_COLUMNS = tuple(TicketSummarySchema._declared_fields)
DEFAULT_COLUMNS = ("id", "subject", "state", "priority", "assignee", "team", "updated_at")
VIEW_COUNT_CAP = 10_000
PRESENCE_ACTIVITIES = ("viewing", "replying")
PRESENCE_SECONDS = 60
LINK_KINDS = ("parent", "child", "related")


def is_relative_time(value) -> bool:
    return isinstance(value, str) and re.match(RELATIVE_TIME_PATTERN, value) is not None


class ViewCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(1, 100))
    query = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict, metadata={
        "description": "the filters of GET /api/v1/tickets (not page or per_page), with relative values: assignee "
                       "'@me' or '@none', team '@my_teams', state '@open', due_before 'now', 'now+1h', "
                       "'now+30m', 'now-2d'", "example": {"assignee": "@me", "state": "@open"}})
    sort = fields.String(load_default="-id", validate=validate.OneOf(SEARCH_SORTS), metadata={
        "description": "the ticket list's sort: a column, '-' first for descending (newest first as tie-break), or "
                       "relevance for a view with q"})
    columns = fields.List(fields.String(validate=validate.OneOf(VIEW_COLUMNS)), load_default=lambda: list(
        DEFAULT_COLUMNS), validate=validate.Length(1, len(VIEW_COLUMNS)), metadata={
        "description": "fields of a listed ticket, in order, for the console to show"})
    visibility = fields.String(load_default="personal", validate=validate.OneOf(VISIBILITIES), metadata={
        "description": "personal: yours alone; team: the team's members (a supervisor of the team or an admin "
                       "saves one); everyone: every ticket reader (admins save one)"})
    team = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64), metadata={
        "description": "the team of a team view"})


ViewUpdateSchema = every_field_optional(ViewCreateSchema, "ViewUpdateSchema", "A view's fields to change.")


class ViewCountSchema(ResponseSchema):
    count = fields.Integer(metadata={"description": f"tickets it lists now, counted up to {VIEW_COUNT_CAP}"})
    capped = fields.Boolean(metadata={"description": f"true: more than {VIEW_COUNT_CAP}; count says {VIEW_COUNT_CAP}"})


class ViewSchema(ResponseSchema):
    id = fields.String(metadata={"description": "a built-in's key (mine, team_queue, unassigned, breaching_soon, "
                                                "waiting_on_customer) or a saved view's number"})
    builtin = fields.Boolean()
    name = fields.String()
    query = fields.Dict(metadata={"description": "as saved, relative values unresolved"})
    sort = fields.String()
    columns = fields.List(fields.String())
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))
    team = fields.String(allow_none=True)
    owner = fields.String(allow_none=True, metadata={"description": "null for a built-in"})
    created_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)
    count = fields.Nested(ViewCountSchema, allow_none=True, metadata={
        "description": "in the list of views; null in a single view's answer"})


class ViewListSchema(ResponseSchema):
    items = fields.List(fields.Nested(ViewSchema))


class ViewTicketsQuerySchema(PageQuerySchema):
    """A page of a view's tickets."""


class ViewTicketPageSchema(TicketPageSchema):
    """A page of the ticket list, as GET /api/v1/tickets answers it, with the view it ran."""
    view = fields.Nested(ViewSchema)


class PresenceUpdateSchema(StrictSchema):
    activity = fields.String(required=True, validate=validate.OneOf(PRESENCE_ACTIVITIES), metadata={
        "description": f"what you do on the ticket; send it again at least every {PRESENCE_SECONDS} s to stay listed"})


class PresenceSchema(ResponseSchema):
    username = fields.String()
    activity = fields.String(validate=validate.OneOf(PRESENCE_ACTIVITIES))
    since = fields.DateTime(metadata={"description": "when this activity began"})
    expires_at = fields.DateTime(metadata={"description": "listed until then unless another heartbeat comes"})


class PresenceListSchema(ResponseSchema):
    items = fields.List(fields.Nested(PresenceSchema), metadata={"description": "others on the ticket, not you"})
    expires_in = fields.Integer(metadata={"description": "seconds a heartbeat keeps you listed"})


class MentionsSchema(ResponseSchema):
    notified = fields.List(fields.String(), metadata={"description": "mentioned, may read the ticket: told"})
    cannot_read = fields.List(fields.String(), metadata={
        "description": "mentioned staff who may not read the ticket: not told"})
    unknown = fields.List(fields.String(), metadata={"description": "@names that are no active account: ignored"})


class MessageCreatedSchema(MessageSchema):
    mentions = fields.Nested(MentionsSchema, metadata={
        "description": "the @usernames of an internal note, and who was told (empty lists for other messages)"})


class FollowSchema(StrictSchema):
    username = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64), metadata={
        "description": "who follows; yours by default (a supervisor or admin may name staff who can read it)"})


class UnfollowQuerySchema(StrictSchema):
    username = fields.String(validate=validate.Length(1, 64), metadata={"description": "yours by default"})


class FollowerSchema(ResponseSchema):
    username = fields.String()
    added_by = fields.String(allow_none=True)
    added_at = fields.DateTime()


class FollowerListSchema(ResponseSchema):
    items = fields.List(fields.Nested(FollowerSchema))


class LinkCreateSchema(StrictSchema):
    ticket_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1), metadata={
        "description": "the other ticket"})
    kind = fields.String(required=True, validate=validate.OneOf(LINK_KINDS), metadata={
        "description": "what the other ticket is to this one: its parent, a child, or related"})


class LinkSchema(ResponseSchema):
    ticket_id = fields.Integer(metadata={"description": "the linked ticket"})
    kind = fields.String(validate=validate.OneOf(LINK_KINDS), metadata={"description": "what it is to this ticket"})
    subject = fields.String()
    state = fields.String(validate=validate.OneOf(STATES))
    created_by = fields.String(allow_none=True)
    created_at = fields.DateTime()


class LinkListSchema(ResponseSchema):
    items = fields.List(fields.Nested(LinkSchema), metadata={"description": "links to tickets you may read"})


class TicketMentionedDataSchema(TicketFactsSchema):
    """An internal note mentioned staff; never the note's text."""
    message_id = required(fields.Integer(metadata={"description": "the note"}))
    mentioned = required(fields.List(fields.String(), metadata={
        "description": "usernames told: mentioned, active, and able to read the ticket"}))


class TicketLinkedDataSchema(TicketFactsSchema):
    """``ticket_id`` was linked to (or unlinked from) ``linked_ticket_id``."""
    linked_ticket_id = required(fields.Integer())
    link = required(fields.String(validate=validate.OneOf(LINK_KINDS), metadata={
        "description": "what linked_ticket_id is (was) to ticket_id"}))
