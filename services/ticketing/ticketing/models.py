"""Ticketing's tables, all in its one database (migrations/ builds them)."""
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column, relationship

from plumbing.db import TYPE_ANNOTATIONS, UTCDateTime
from plumbing.outbox import messaging_tables


class Base(DeclarativeBase):
    type_annotation_map = TYPE_ANNOTATIONS


OPEN = "state IN ('new', 'assigned', 'in_progress', 'waiting_customer')"  # tickets.rules.OPEN_STATES
RUNNING = "stopped_at IS NULL"
BREACHED = "breached_at IS NOT NULL"
ESCALATED = "escalation_level > 0"


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # a mail's HTML, sanitised by channels, its cid: images pointed at the attachments; not loaded with lists
    description_html: Mapped[str | None] = deferred(mapped_column(Text))
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(24))
    customer_name: Mapped[str] = mapped_column(String(200))
    customer_contact: Mapped[str] = mapped_column(String(200))
    customer_tier: Mapped[str] = mapped_column(String(32), default="standard")
    assignee: Mapped[str | None] = mapped_column(String(64))
    team: Mapped[str | None] = mapped_column(String(64))
    tags: Mapped[list] = mapped_column(JSON, default=list)
    required_skills: Mapped[list] = mapped_column(JSON, default=list)
    custom_fields: Mapped[dict] = mapped_column(JSON, default=dict)
    transfer_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    # one more with every entry of its history (``tickets.steps.journal``): the ETag, and what a stale
    # If-Match is told changed since (the entries with a higher ``ticket_history.version``)
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # customers (ticketing.customers): the person the ticket is for; customer_name and customer_contact stay
    # what the ticket was opened with. erased_at: its personal data was erased (on request or by retention)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", name="fk_tickets_customer_id_customers"), index=True)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_tickets_state_priority", "state", "priority"),
        Index("ix_tickets_assignee", "assignee"),
        Index("ix_tickets_team", "team"),
        # routing's load of each agent reads the open tickets only (4.7 % of a desk's tickets)
        Index("ix_tickets_open_assignee", "assignee", postgresql_where=text(OPEN), sqlite_where=text(OPEN)),
        # the open tickets (4.7 %) newest first: where the list's due_before starts
        Index("ix_tickets_open_id", "id", postgresql_where=text(OPEN), sqlite_where=text(OPEN)),
        # the escalated (3 %), newest first: the list's escalated=true
        Index("ix_tickets_escalated_id", "id", postgresql_where=text(ESCALATED), sqlite_where=text(ESCALATED)),
        Index("ix_tickets_created_at", "created_at"),   # lists sorted by a time walk these
        Index("ix_tickets_updated_at", "updated_at"),
        Index("ix_tickets_retention", "erased_at", "closed_at"),  # the retention sweep's closed, unerased tickets
    )


class TicketImport(Base):
    """Where an imported ticket came from, so importing it again skips it."""
    __tablename__ = "ticket_imports"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)


class TicketRequest(Base):
    """The Idempotency-Key of a ticket creation: the same caller sending the same
    key again gets the ticket it opened, whether or not the first answer reached them."""
    __tablename__ = "ticket_requests"

    actor: Mapped[str] = mapped_column(String(64), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # of the ticket asked for: a key reused for another is refused
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", name="fk_ticket_requests_ticket_id_tickets"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TicketTag(Base):
    """Tags again, one row each, so a list can filter on a tag with an index."""
    __tablename__ = "ticket_tags"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(50), primary_key=True)

    # a tag's tickets in the list's order (newest first), read from the index alone
    __table_args__ = (Index("ix_ticket_tags_tag_ticket_id", "tag", "ticket_id"),)


class TicketMessage(Base):
    """A public reply, an internal note or a customer message (T2)."""
    __tablename__ = "ticket_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    author: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)  # a customer's mail as sanitised HTML (its cid: images resolved)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # loaded with the messages, in one more query for a whole conversation
    attachments: Mapped[list["Attachment"]] = relationship(order_by="Attachment.id", lazy="selectin")


class Attachment(Base):
    """A file on a message, or on a ticket as it was opened (``message_id`` null). The content is in
    the blob store under ``sha256`` (plumbing.blobs), shared by the gateway and channels; this is
    the reference and what the sender called it. One blob may back many attachments."""
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_messages.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TicketHistory(Base):
    """Append-only: who changed what, when. Nothing deletes rows; only an erasure rewrites the values
    an edit recorded (``customers.erasure``)."""
    __tablename__ = "ticket_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    version: Mapped[int | None] = mapped_column(Integer)  # the ticket's version this entry made it (null: before versions)


class CustomerDataAccess(Base):
    """Append-only audit of customer data (X6): who stored a ticket's (or a customer record's)
    customer details or was shown them in full, and when (the real time, also for imports)."""
    __tablename__ = "customer_data_access"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(index=True)  # a customer record's access (no FK: audit outlives)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str | None] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(16))
    request_id: Mapped[str | None] = mapped_column(String(128))


outbox, inbox = messaging_tables(Base.metadata)

# The full-text indexes (ticketing.search.handlers): a tsvector table under a GIN index on
# PostgreSQL, FTS5 tables on SQLite; built by their migration, not mapped here, since each
# engine's is another kind of table. SQLite's FTS5 keeps shadow tables named after them.
SEARCH_TABLES = ("ticket_search", "kb_search", "kb_search_terms")
FTS5_SHADOWS = ("data", "idx", "content", "docsize", "config")


def is_search_table(name):
    """True for a search index's table or one of FTS5's shadow tables of it (schema comparisons skip them)."""
    return name in SEARCH_TABLES or any(name == f"{table}_{shadow}" for table in SEARCH_TABLES
                                        for shadow in FTS5_SHADOWS)


# -- customers and organisations (ticketing.customers) ------------------------------------
class Organisation(Base):
    """A company customers belong to: its mail domains place a new customer in it, its tier is
    theirs unless they have one of their own."""
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    tier: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    domains: Mapped[list["OrganisationDomain"]] = relationship(
        order_by="OrganisationDomain.domain", lazy="selectin", cascade="all, delete-orphan")


class OrganisationDomain(Base):
    """A mail domain (lower case) and the one organisation it places customers in."""
    __tablename__ = "organisation_domains"

    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", name="fk_organisation_domains_organisation_id_organisations"), index=True)


class Customer(Base):
    """A person tickets are for, found by any of their contacts. ``merged_into_id``: merged into
    another (its contacts and tickets moved there); ``erased_at``: erased, nothing personal left."""
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(16))
    tier: Mapped[str | None] = mapped_column(String(32))  # null: the organisation's, else standard
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", name="fk_customers_organisation_id_organisations"), index=True)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", name="fk_customers_merged_into_id_customers"), index=True)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    contacts: Mapped[list["CustomerContact"]] = relationship(
        order_by="CustomerContact.id", lazy="selectin", cascade="all, delete-orphan")


class CustomerContact(Base):
    """An email address, phone number or social handle of one customer: ``normalised``
    (``customers.rules.normalise``) is unique per kind, so a contact finds one customer."""
    __tablename__ = "customer_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", name="fk_customer_contacts_customer_id_customers"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(200))
    normalised: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        UniqueConstraint("kind", "normalised", name="uq_customer_contacts_kind_normalised"),
    )


class CustomerHistory(Base):
    """Append-only: what happened to a customer record (created, updated, merged, erased), by
    whom; ``changes`` names fields and ids, never their personal values."""
    __tablename__ = "customer_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    changes: Mapped[dict] = mapped_column(JSON, default=dict)


class CustomerErasure(Base):
    """Audit of each erasure of personal data, on request or by retention: who, when, whose and
    how much (counts and ticket ids), never what was erased."""
    __tablename__ = "customer_erasures"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(index=True)
    reason: Mapped[str] = mapped_column(String(16))  # request, retention
    customer_erased: Mapped[bool] = mapped_column(Boolean)
    actor: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    tickets: Mapped[int] = mapped_column(Integer)
    messages: Mapped[int] = mapped_column(Integer)
    attachments: Mapped[int] = mapped_column(Integer)
    contacts: Mapped[int] = mapped_column(Integer)
    ticket_ids: Mapped[list] = mapped_column(JSON)


class KbArticle(Base):
    """A knowledge-base article agents search while answering (T8)."""
    __tablename__ = "kb_articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(64), index=True)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    body_length: Mapped[int] = mapped_column(Integer, default=0)  # body terms, for BM25 length normalisation
    # its index is kb_search (SEARCH_TABLES below)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    author: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class KbSearch(Base):
    """Every search, so usage and what found nothing (gaps) can be reported."""
    __tablename__ = "kb_searches"

    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(String(200))
    results: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str | None] = mapped_column(String(64))
    searched_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class SlaPolicy(Base):
    """Chosen by condition, lowest position first, among the enabled ones; conditions {} is a default (T4).
    Tickets run on one of its versions: ``version`` is the current one."""
    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    position: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SlaPolicyVersion(Base):
    """What a policy decides, as it was at one version: never changed, so a ticket's clocks keep
    running as they started when the policy is edited."""
    __tablename__ = "sla_policy_versions"

    policy_id: Mapped[int] = mapped_column(ForeignKey("sla_policies.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    conditions: Mapped[dict] = mapped_column(JSON)   # SlaConditionsSchema
    targets: Mapped[dict] = mapped_column(JSON)      # clock -> minutes
    calendar: Mapped[dict] = mapped_column(JSON)     # SlaCalendarSchema, BusinessCalendar.from_config input
    warn_share: Mapped[float] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str | None] = mapped_column(String(64))


class SlaClock(Base):
    """One clock of one ticket; ``due_at``/``warn_at`` are kept current for the sweep, and stay
    where they are once the clock has counted up to them (``sla/rules.py``)."""
    __tablename__ = "sla_clocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("sla_policies.id"))
    policy_version: Mapped[int] = mapped_column(Integer)  # the ticket's: every clock of a ticket has the same
    name: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    target_seconds: Mapped[int] = mapped_column(Integer)
    paused_seconds: Mapped[float] = mapped_column(default=0.0)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    warn_at: Mapped[datetime] = mapped_column(UTCDateTime())
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)  # stopped without the reply it waited for

    __table_args__ = (
        Index("ix_sla_clocks_sweep", "stopped_at", "paused_at", "due_at"),
        # the list's filters start from the few clocks still running, or from the breached ones
        Index("ix_sla_clocks_running_due_at", "due_at", "ticket_id", "paused_at",  # read from the index alone
              postgresql_where=text(RUNNING), sqlite_where=text(RUNNING)),
        Index("ix_sla_clocks_breached_ticket_id", "ticket_id",
              postgresql_where=text(BREACHED), sqlite_where=text(BREACHED)),
    )


class Complaint(Base):
    """The complaint record of a complaint ticket (T5)."""
    __tablename__ = "complaints"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    issue: Mapped[str] = mapped_column(Text)
    demand: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    category: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    recorded_by: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    result: Mapped[str | None] = mapped_column(Text)
    result_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unsatisfied_verdicts: Mapped[int] = mapped_column(Integer, default=0)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ComplaintStep(Base):
    """Coordination with a department, a reported result or a verdict, in order."""
    __tablename__ = "complaint_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("complaints.ticket_id"), index=True)
    step: Mapped[str] = mapped_column(String(16))          # coordinated, result, verdict
    department: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    satisfied: Mapped[bool | None] = mapped_column()
    actor: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Rating(Base):
    """One customer rating per resolution, through a link token (T6)."""
    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    resolution: Mapped[int] = mapped_column(Integer)   # 1 for the first resolution, 2 after one reopen, ...
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Callback(Base):
    """A follow-up call, scheduled and then recorded with its outcome (T6)."""
    __tablename__ = "callbacks"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    assignee: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Suggestion(Base):
    """A suggestion ticket's path to a department and back (T7)."""
    __tablename__ = "suggestions"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    department: Mapped[str] = mapped_column(String(64))
    forwarded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    forwarded_by: Mapped[str | None] = mapped_column(String(64))
    adopted: Mapped[bool | None] = mapped_column()
    decision: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Agent(Base):
    """Who may be given tickets, learned from the gateway's staff.* events (T3)."""
    __tablename__ = "agents"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    roles: Mapped[list] = mapped_column(JSON, default=list)
    teams: Mapped[list] = mapped_column(JSON, default=list)
    skills: Mapped[list] = mapped_column(JSON, default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=10)
    on_duty: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    staff_sequence: Mapped[int] = mapped_column(Integer, default=0)  # newest staff event applied: older ones lose


class AgentCertification(Base):
    """Certifications from training.* events; a valid one that clears for duty lets routing use the agent (R4)."""
    __tablename__ = "agent_certifications"

    agent: Mapped[str] = mapped_column(String(64), primary_key=True)
    certification: Mapped[str] = mapped_column(String(128), primary_key=True)
    clears_for_duty: Mapped[bool] = mapped_column(default=True)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OpinionAlertTicket(Base):
    """The ticket opened for a public-opinion alert's key (M6): one per key, so a wave
    of reposts, the alert's later updates and a redelivered event all find it."""
    __tablename__ = "opinion_alert_tickets"

    alert_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    alert_id: Mapped[int] = mapped_column(Integer)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", name="fk_opinion_alert_tickets_ticket_id_tickets"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebhookSubscription(Base):
    """An outside system's URL and the event types it wants, signed with ``secret`` (X2)."""
    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))   # needed in clear to sign; never shown after creation
    event_types: Mapped[list] = mapped_column(JSON)    # exact types or patterns (contract.matches)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    # made before Standard Webhooks signatures: its requests carry the old X-CSOPS-Signature too
    legacy_signature: Mapped[bool] = mapped_column(Boolean, default=False)
    # the account that made it, its owner: only it and admins see it (None: made by a tool, admins only)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebhookDelivery(Base):
    """One event for one subscription, and how its attempts went: created once (unique
    subscription and event id, so an event RabbitMQ redelivers adds nothing), attempted
    until it is ``delivered`` or, after ``webhooks.rules.MAX_ATTEMPTS``, ``failed``. Its id
    is the ``webhook-id`` header, the same on every attempt; ``body`` holds the exact
    bytes that are signed and sent."""
    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)   # uuid4, the delivery id
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)                 # the CloudEvents envelope exactly as sent
    status: Mapped[str] = mapped_column(String(16))         # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # when the next attempt is due; while one is in flight, when its lease ends;
    # null once delivered or failed
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        # also the index of a subscription's delivery log
        UniqueConstraint("subscription_id", "event_id", name="uq_webhook_deliveries_subscription_event"),
    )


class CannedResponse(Base):
    """A text module agents answer with: placeholders filled for a ticket (``macros.rules``). Personal
    (``owner``'s), one team's, or everyone's (``visibility``)."""
    __tablename__ = "canned_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(16))     # personal, team, everyone
    owner: Mapped[str | None] = mapped_column(String(64), index=True)   # personal ones
    team: Mapped[str | None] = mapped_column(String(64), index=True)    # team ones
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TicketView(Base):
    """A saved ticket list (docs/workspace.md, "Views"): the list query it runs, as GET /api/v1/tickets
    takes it, relative values unresolved (``views.rules``), its sort and columns; ``visibility``
    personal (its owner's), team (``team``'s members') or everyone."""
    __tablename__ = "ticket_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    owner: Mapped[str] = mapped_column(String(64), index=True)
    visibility: Mapped[str] = mapped_column(String(16))     # personal, team, everyone
    team: Mapped[str | None] = mapped_column(String(64), index=True)  # a team view's team
    query: Mapped[dict] = mapped_column(JSON, default=dict)
    sort: Mapped[str] = mapped_column(String(32))
    columns: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Macro(Base):
    """Several changes to a ticket applied at once, in one transaction and one history entry
    (``macros.handlers.apply_macro``); visible as canned responses are."""
    __tablename__ = "macros"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    actions: Mapped[list] = mapped_column(JSON)              # contract.MacroActionSchema each
    visibility: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str | None] = mapped_column(String(64), index=True)
    team: Mapped[str | None] = mapped_column(String(64), index=True)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TicketPresence(Base):
    """Who is viewing or replying to a ticket now: a heartbeat's row, gone once ``expires_at``
    passed (pruned as heartbeats come), so every gateway and ticketing replica sees the same."""
    __tablename__ = "ticket_presence"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    activity: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class TicketFollower(Base):
    """Staff who hear of a ticket's replies, state milestones and assignment (channels mails them)."""
    __tablename__ = "ticket_followers"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    added_by: Mapped[str | None] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TicketLink(Base):
    """Two linked tickets: ``parent`` (from is the parent of to: a child has one parent) or
    ``related`` (symmetric, stored once with from < to)."""
    __tablename__ = "ticket_links"

    from_ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    to_ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
