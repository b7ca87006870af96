"""Channels' contract: its enumerations, the API's shapes (validated at the gateway and
again by the service, and the source of the OpenAPI document) and the data of the events
it publishes. It imports nothing of the service, so the gateway reads it without loading
the models."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from plumbing.schemas import (
    PageQuerySchema, ResponseSchema, StrictSchema, every_field_optional, page_schema, required,
)

# Ticketing's values a mailbox's new tickets take (ticketing's contract is not importable here)
TICKET_KINDS = ("inquiry", "complaint", "suggestion", "after_sales")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
LANGUAGES = ("zh-CN", "en")
# What became of an inbound mail: a new ticket, a message on its ticket, or nothing and why
INBOUND_OUTCOMES = ("opened", "replied", "bounce", "auto_reply", "bulk", "rate_limited", "rejected", "pending")
THREADED_BY = ("reply_address", "references", "subject_token")
DIRECTIONS = ("in", "out")
# How a mailbox's mail comes in now: held in IMAP IDLE by a replica, polled, or neither (raw-MIME only)
FETCH_MODES = ("idle", "polling", "none")

SECRET_NAME = r"^[A-Z][A-Z0-9_]{0,99}$"  # an environment variable's name
MAX_RAW_BYTES = 30 * 1024 * 1024  # a raw mail: 20 attachments of 25 MiB travel by IMAP, not through here


class MailboxCreateSchema(StrictSchema):
    """A support address. With ``imap_host`` set the poller fetches its mail by IMAP; without,
    its mail arrives only by the raw-MIME endpoint (an MTA pipe or a provider's relay)."""
    address = fields.Email(required=True, validate=validate.Length(3, 254))
    name = fields.String(load_default="", validate=validate.Length(max=100),
                         metadata={"description": "the display name replies are sent under"})
    team = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64),
                         metadata={"description": "the team a new mail's ticket goes to"})
    kind = fields.String(load_default="inquiry", validate=validate.OneOf(TICKET_KINDS))
    priority = fields.String(load_default="normal", validate=validate.OneOf(TICKET_PRIORITIES))
    language = fields.String(load_default="zh-CN", validate=validate.OneOf(LANGUAGES),
                             metadata={"description": "of mail to a customer whose language is not known"})
    acknowledge = fields.Boolean(load_default=True,
                                 metadata={"description": "answer a new ticket's mail with an acknowledgement"})
    active = fields.Boolean(load_default=True)
    imap_host = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 253))
    imap_port = fields.Integer(load_default=993, strict=True, validate=validate.Range(1, 65535))
    imap_tls = fields.Boolean(load_default=True, metadata={"description": "IMAP over TLS (port 993)"})
    imap_user = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 254))
    imap_password_secret = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(SECRET_NAME, error="an environment variable's name"),
        metadata={"description": "the name of the environment variable (or secret) holding the IMAP password; "
                                 "the password itself is never stored or shown"})
    imap_folder = fields.String(load_default="INBOX", validate=validate.Length(1, 200))

    @validates_schema
    def imap_settings_together(self, data, partial=False, **kwargs):
        if partial or not data.get("imap_host"):
            return
        missing = [name for name in ("imap_user", "imap_password_secret") if not data.get(name)]
        if missing:
            raise ValidationError({name: ["required when imap_host is set"] for name in missing})


MailboxUpdateSchema = every_field_optional(
    MailboxCreateSchema, "MailboxUpdateSchema",
    "An edit: each field given replaces the mailbox's. A change of IMAP server, user or folder starts its UIDs over.")


class MailboxSchema(ResponseSchema):
    id = fields.Integer()
    address = fields.String()
    name = fields.String()
    team = fields.String(allow_none=True)
    kind = fields.String()
    priority = fields.String()
    language = fields.String()
    acknowledge = fields.Boolean()
    active = fields.Boolean()
    imap_host = fields.String(allow_none=True)
    imap_port = fields.Integer()
    imap_tls = fields.Boolean()
    imap_user = fields.String(allow_none=True)
    imap_password_secret = fields.String(allow_none=True)
    imap_folder = fields.String()
    uidvalidity = fields.Integer(allow_none=True, metadata={"description": "the IMAP folder's, as last polled"})
    last_uid = fields.Integer(metadata={"description": "the highest IMAP UID fetched"})
    last_polled_at = fields.DateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    fetch_mode = fields.String(validate=validate.OneOf(FETCH_MODES), metadata={
        "description": "idle: a replica holds the folder in IMAP IDLE and new mail is fetched as it comes; "
                       "polling: fetched every CHANNELS_POLL_SECONDS (the server has no IDLE, IDLE is off or "
                       "its connection failed); none: inactive or no IMAP server"})
    idle_supported = fields.Boolean(allow_none=True, metadata={
        "description": "the IMAP server offered IDLE when last asked (null: not asked yet)"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


MailboxListSchema = ResponseSchema.from_dict({"items": fields.List(fields.Nested(MailboxSchema))},
                                             name="MailboxListSchema")


class InboundQuerySchema(PageQuerySchema):
    outcome = fields.String(validate=validate.OneOf(INBOUND_OUTCOMES))
    ticket_id = fields.Integer(validate=validate.Range(min=1))


class InboundMailSchema(ResponseSchema):
    """An inbound mail as logged (its raw bytes are kept, not shown)."""
    id = fields.Integer()
    mailbox_id = fields.Integer()
    message_id = fields.String()
    sender = fields.String()
    subject = fields.String()
    text = fields.String(metadata={"description": "the text stored on the ticket: quoted history and signature "
                                                 "stripped"})
    outcome = fields.String(validate=validate.OneOf(INBOUND_OUTCOMES))
    reason = fields.String()
    ticket_id = fields.Integer(allow_none=True)
    threaded_by = fields.String(allow_none=True, validate=validate.OneOf(THREADED_BY))
    duplicate = fields.Boolean(metadata={"description": "this Message-ID had come before: nothing new was done"})
    size = fields.Integer()
    received_at = fields.DateTime()


InboundMailPageSchema = page_schema(InboundMailSchema, "InboundMailPageSchema")


# -- the data of the events channels publishes (events.py) ----------------------------------------
class MailReceivedDataSchema(Schema):
    mail_id = required(fields.Integer())
    mailbox_id = required(fields.Integer())
    message_id = required(fields.String(metadata={"description": "the mail's Message-ID, without <>"}))
    ticket_id = required(fields.Integer())
    opened = required(fields.Boolean(metadata={"description": "the mail opened the ticket (else it joined it)"}))
    acknowledge = required(fields.Boolean(metadata={"description": "the mailbox acknowledges new tickets"}))
    language = required(fields.String(metadata={"description": "the mailbox's language"}))
    customer_language = required(fields.String(allow_none=True, metadata={
        "description": "zh-CN or en as the mail showed it (Content-Language, else its text); null: unknown"}))


class BounceReceivedDataSchema(Schema):
    bounce_id = required(fields.Integer())
    mail_id = required(fields.Integer(metadata={"description": "the inbound mail that carried the report"}))
    original_message_id = required(fields.String(allow_none=True, metadata={
        "description": "the Message-ID (without <>) of our mail that bounced, when the report names it"}))
    recipient = required(fields.String(allow_none=True))
    status = required(fields.String(allow_none=True, metadata={"description": "the DSN status, e.g. 5.1.1"}))
    diagnostic = required(fields.String())
    ticket_id = required(fields.Integer(allow_none=True, metadata={"description": "the ticket of the bounced mail"}))


# -- mail out: deliveries, notification settings, the on-call list, template previews -------------
DELIVERY_KINDS = ("acknowledgement", "reply", "complaint_result", "suggestion_decision", "survey",
                  "assignment", "sla_warning", "sla_breach", "opinion_alert", "mention", "following")
STAFF_NOTICE_KINDS = ("assignment", "sla_warning", "sla_breach", "opinion_alert", "mention", "following")
DELIVERY_STATUSES = ("queued", "sent", "failed")
USERNAME = validate.Length(1, 64)


class MailDeliverySchema(ResponseSchema):
    """A mail we sent or are sending about a ticket."""
    id = fields.Integer()
    ticket_id = fields.Integer(allow_none=True)
    kind = fields.String(validate=validate.OneOf(DELIVERY_KINDS))
    recipient = fields.String(metadata={"description": "the staff member's username, or the customer's address "
                                                       "masked (the ticket shows it in full to whoever may see it)"})
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    message_id = fields.String(metadata={"description": "the same on every attempt"})
    in_reply_to = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime(allow_none=True, metadata={"description": "null once sent or failed"})
    last_error = fields.String(allow_none=True, metadata={"description": "why the last attempt failed, or the bounce"})
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    failed_at = fields.DateTime(allow_none=True)
    bounced_at = fields.DateTime(allow_none=True)


MailDeliveryListSchema = ResponseSchema.from_dict({"items": fields.List(fields.Nested(MailDeliverySchema))},
                                                  name="MailDeliveryListSchema")


class NoticeKindsSchema(StrictSchema):
    assignment = fields.Boolean(metadata={"description": "a ticket given to me"})
    sla_warning = fields.Boolean(metadata={"description": "a ticket I own or supervise nears its SLA due time"})
    sla_breach = fields.Boolean(metadata={"description": "a ticket I own or supervise passed its SLA due time"})
    opinion_alert = fields.Boolean(metadata={"description": "opinion alerts of levels II and I, when on call"})
    mention = fields.Boolean(metadata={"description": "an internal note mentioned me (@username)"})
    following = fields.Boolean(metadata={
        "description": "a ticket I follow got a public reply, a state milestone or a new owner"})


class NotificationPreferenceUpdateSchema(StrictSchema):
    """My notification settings: each field given replaces mine."""
    email = fields.Email(allow_none=True, validate=validate.Length(3, 254), metadata={
        "description": "where my notifications go; null: none are sent"})
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    kinds = fields.Nested(NoticeKindsSchema, metadata={"description": "each kind on (true) or off (false)"})

    @validates_schema
    def not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("name at least one field to change")


class NoticeKindsStateSchema(ResponseSchema):
    assignment = fields.Boolean()
    sla_warning = fields.Boolean()
    sla_breach = fields.Boolean()
    opinion_alert = fields.Boolean()
    mention = fields.Boolean()
    following = fields.Boolean()


class NotificationPreferenceSchema(ResponseSchema):
    username = fields.String()
    email = fields.String(allow_none=True)
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    kinds = fields.Nested(NoticeKindsStateSchema)
    updated_at = fields.DateTime(allow_none=True, metadata={"description": "null: never set (all kinds on, no address)"})


class OnCallUpdateSchema(StrictSchema):
    """The whole on-call list for opinion alerts of levels II and I (M6)."""
    usernames = fields.List(fields.String(validate=USERNAME), required=True, validate=validate.Length(max=200))


class OnCallSchema(ResponseSchema):
    usernames = fields.List(fields.String())


class TemplatePreviewQuerySchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(DELIVERY_KINDS), metadata={
        "description": "the mail: a customer's (acknowledgement ... survey) or a staff notification"})
    language = fields.String(load_default="zh-CN", validate=validate.OneOf(LANGUAGES))


class TemplatePreviewSchema(ResponseSchema):
    kind = fields.String(validate=validate.OneOf(DELIVERY_KINDS))
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    subject = fields.String()
    text = fields.String()
    html = fields.String()
