from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column

from plumbing.db import TYPE_ANNOTATIONS, UTCDateTime
from plumbing.outbox import messaging_tables


class Base(DeclarativeBase):
    type_annotation_map = TYPE_ANNOTATIONS


class Mailbox(Base):
    """A support address: where its mail comes from (IMAP, or the raw-MIME endpoint an MTA
    pipes to) and what a new mail to it becomes (a ticket of ``kind`` and ``priority`` for
    ``team``). ``uidvalidity`` and ``last_uid`` are the poller's place in the IMAP folder."""
    __tablename__ = "mailboxes"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    team: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(16))
    acknowledge: Mapped[bool] = mapped_column(Boolean)
    active: Mapped[bool] = mapped_column(Boolean)
    imap_host: Mapped[str | None] = mapped_column(String(253))
    imap_port: Mapped[int] = mapped_column(Integer)
    imap_tls: Mapped[bool] = mapped_column(Boolean)
    imap_user: Mapped[str | None] = mapped_column(String(254))
    imap_password_secret: Mapped[str | None] = mapped_column(String(100))
    imap_folder: Mapped[str] = mapped_column(String(200))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    # the fetch lease (inbound/imap.py): one fetch of the folder at a time, whoever starts it
    fetch_token: Mapped[str | None] = mapped_column(String(32))
    fetch_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # the IDLE watch (inbound/idle.py): the replica holding the folder in IMAP IDLE, until when
    # (renewed while it holds it), and whether the server offered IDLE when last asked
    idle_by: Mapped[str | None] = mapped_column(String(100))
    idle_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    idle_supported: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @property
    def fetch_mode(self):
        """How its mail comes in now (contract.FETCH_MODES): ``idle`` while a replica holds the folder
        in IMAP IDLE, ``polling`` for another IMAP mailbox, ``none`` for one that is inactive or has no
        IMAP server (its mail comes by the raw-MIME endpoint)."""
        from plumbing.unit_of_work import utc_now
        if not (self.active and self.imap_host):
            return "none"
        return "idle" if self.idle_until is not None and self.idle_until > utc_now() else "polling"


class InboundMail(Base):
    """Every mail that reached a mailbox, once per Message-ID (one synthesised from the raw
    bytes' hash when it has none), with its raw bytes as they came (in the blob store under
    ``raw_sha256``; rows logged before that hold them in ``raw``: ``inbound.handlers.open_raw``
    reads both) and what became of it: ``outcome`` is one of contract.INBOUND_OUTCOMES."""
    __tablename__ = "inbound_mails"

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", name="fk_inbound_mails_mailbox"), index=True)
    message_id: Mapped[str] = mapped_column(String(500), unique=True)
    sender: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    ticket_id: Mapped[int | None] = mapped_column(index=True)
    threaded_by: Mapped[str | None] = mapped_column(String(16))
    imap_uid: Mapped[int | None] = mapped_column(BigInteger)
    size: Mapped[int] = mapped_column(Integer)
    raw_sha256: Mapped[str | None] = mapped_column(String(64))  # the raw mail in the blob store
    raw: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))  # rows logged before it moved there
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_inbound_mails_sender_received_at", "sender", "received_at"),
    )


class ThreadMessage(Base):
    """A Message-ID we sent (``out``) or received (``in``) and the ticket it belongs to:
    a reply's In-Reply-To or References found here joins that ticket."""
    __tablename__ = "thread_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(500), unique=True)
    ticket_id: Mapped[int] = mapped_column(index=True)
    direction: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Bounce(Base):
    """A delivery status notification: which of our messages (``original_message_id``)
    failed to reach ``recipient``, and why."""
    __tablename__ = "bounces"

    id: Mapped[int] = mapped_column(primary_key=True)
    inbound_mail_id: Mapped[int] = mapped_column(ForeignKey("inbound_mails.id", name="fk_bounces_inbound_mail"),
                                                 index=True)
    original_message_id: Mapped[str | None] = mapped_column(String(500), index=True)
    recipient: Mapped[str | None] = mapped_column(String(254))
    action: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str | None] = mapped_column(String(32))
    diagnostic: Mapped[str] = mapped_column(Text, default="")
    ticket_id: Mapped[int | None]
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TicketThread(Base):
    """What mail out needs of a ticket that came by mail: the mailbox it came to (our From and
    the default language) and the customer's language as their mail showed it."""
    __tablename__ = "ticket_threads"

    ticket_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id", name="fk_ticket_threads_mailbox"))
    language: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Delivery(Base):
    """One mail to one recipient (outbound/rules.py): its Message-ID and threading headers fixed when
    it was made, the template's variables, and where sending it stands (``status`` queued, sent or
    failed, with ``attempts``, the next one's time and the last error). ``dedupe_key`` makes the same
    mail twice one row; ``recipient_user`` is the staff member a notification is for (null: the
    customer)."""
    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(254))
    recipient_user: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str] = mapped_column(String(254))
    sender_name: Mapped[str] = mapped_column(String(100), default="")
    reply_to: Mapped[str | None] = mapped_column(String(254))
    message_id: Mapped[str] = mapped_column(String(500), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(500))
    reference_ids: Mapped[str | None] = mapped_column(Text)  # the References header
    context: Mapped[dict] = mapped_column(JSON)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    noted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_deliveries_due", "status", "next_attempt_at"),
    )


class NotificationPreference(Base):
    """A staff member's own notification settings: their address, language, and each kind on or off."""
    __tablename__ = "notification_preferences"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(16))
    assignment: Mapped[bool] = mapped_column(Boolean, default=True)
    sla_warning: Mapped[bool] = mapped_column(Boolean, default=True)
    sla_breach: Mapped[bool] = mapped_column(Boolean, default=True)
    opinion_alert: Mapped[bool] = mapped_column(Boolean, default=True)
    mention: Mapped[bool] = mapped_column(Boolean, default=True)
    following: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OnCallMember(Base):
    """Who hears of opinion alerts of levels II and I (M6)."""
    __tablename__ = "opinion_on_call"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
    added_by: Mapped[str | None] = mapped_column(String(64))


class StaffMember(Base):
    """The gateway's accounts as its staff.account_* events tell them: whose team a supervisor is."""
    __tablename__ = "staff_members"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    roles: Mapped[list] = mapped_column(JSON)
    teams: Mapped[list] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean)


outbox, inbox = messaging_tables(Base.metadata)
