"""Mail in: a raw mail taken once, placed, and handed to ticketing.

``take_mail`` works in two transactions with the ticketing call between them, so a crash
anywhere loses nothing and doubles nothing:
1. the mail is logged under its Message-ID (unique: the same mail again, from IMAP after a
   restart or from the MTA pipe twice, is answered as a duplicate) with what becomes of it;
   a mail that opens or joins a ticket is logged ``pending``;
2. ticketing is called: a new ticket through ``create_tickets`` with an idempotency key made
   from the Message-ID (taken again, the same ticket answers), a reply through
   ``add_message`` (taken again after a crash, the ticket's messages are read first: the
   same text from the customer since the mail came is not added twice);
3. the log says ``opened`` or ``replied`` with the ticket, the Message-ID joins
   ``thread_messages`` and ``channels.mail_received`` goes into the outbox.
A pending mail is finished by the next ``take_mail`` of it (the poller fetches it again,
its place in the folder being saved only after it).
"""
import io
import logging
import os
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from channels import events, metrics
from channels.contract import InboundMailPageSchema, InboundMailSchema, InboundQuerySchema
from channels.inbound import mime, quotes, rules
from channels.models import Bounce, InboundMail, Mailbox, ThreadMessage
from plumbing import blobs
from plumbing.config import secret, setting
from plumbing.db import get_or_not_found, upsert_insert
from plumbing.errors import Conflict, Forbidden, InvalidInput, NotFound, load_or_invalid as load
from plumbing.paging import fetch_page
from plumbing.schemas import shared

log = logging.getLogger(__name__)

PENDING = "pending"
ACTOR = "channels"
MAX_ATTACHMENTS = 20
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
MAX_RAW_BYTES = 1024 * 1024 * 1024  # a mail the poller fetched: stored whatever it weighs, up to this
REPLY_SECRET = "CHANNELS_REPLY_SECRET"


class Settings:
    """Mail in's settings from the service's config, else the environment."""

    def __init__(self, config):
        self.reply_secret = config.get(REPLY_SECRET) or secret(REPLY_SECRET)
        self.sender_limit = int(setting(config, "channels", "SENDER_LIMIT_PER_HOUR",
                                        rules.DEFAULT_SENDER_LIMIT_PER_HOUR))
        self.blobs = blobs.BlobStore.from_config(config)


# -- taking a mail ----------------------------------------------------------------------------
def take_mail(uow, ticketing, settings, mailbox_id, raw: bytes, imap_uid=None):
    """One raw mail (the poller's bytes) into the blob store, then taken from there (``take_stored``)."""
    ref = settings.blobs.put(io.BytesIO(raw), MAX_RAW_BYTES)
    return take_stored(uow, ticketing, settings, mailbox_id, ref.sha256, imap_uid)


def take_stored(uow, ticketing, settings, mailbox_id, sha256, imap_uid=None):
    """One raw mail in the blob store (``sha256``) into the log and, unless it is a loop or over the
    limit, into a ticket. The mail is read from its file, never held whole: its large files go to
    the blob store as they are decoded (``mime.parse_file``)."""
    with settings.blobs.open(sha256) as stored:
        size = os.fstat(stored.fileno()).st_size
        parsed = mime.parse_file(stored, sha256, settings.blobs, MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS)
    raw = blobs.BlobRef(sha256=sha256, size=size, content_type="message/rfc822")
    try:
        with uow.transaction():
            mailbox = get_or_not_found(uow.session, Mailbox, mailbox_id)
            row = uow.session.scalar(select(InboundMail).where(InboundMail.message_id == parsed.message_id))
            if row is not None and row.outcome != PENDING:
                return answer(row, duplicate=True)
            resumed = row is not None
            if row is None:
                row = log_mail(uow, mailbox, parsed, raw, imap_uid, settings)
            mailbox_address, defaults = mailbox.address, ticket_defaults(mailbox)
    except IntegrityError:  # the same mail logged meanwhile by another worker
        with uow.transaction():
            row = uow.session.scalar(select(InboundMail).where(InboundMail.message_id == parsed.message_id))
            return answer(row, duplicate=True)
    if row.outcome != PENDING:
        uow.after_commit(metrics.received, row.outcome)
        return answer(row)
    files = stored_attachments(settings, parsed)
    try:
        ticket_id, opened = hand_to_ticketing(uow, ticketing, row, parsed, defaults, files, resumed)
    except InvalidInput as exc:  # a mail ticketing can never take: logged as such, not tried for ever
        log.warning("mail %s: ticketing refused it: %s %s", row.id, exc, exc.details)
        with uow.transaction():
            row = get_or_not_found(uow.session, InboundMail, row.id, lock=True)
            row.outcome, row.reason = "rejected", f"ticketing refused it: {exc.details or exc}"[:2000]
            uow.after_commit(metrics.received, row.outcome)
        return answer(row)
    outcome = "opened" if opened else "replied"
    with uow.transaction():
        # one statement settles it, and only if nobody did meanwhile (another worker finishing it too)
        settled = uow.session.execute(
            update(InboundMail).where(InboundMail.id == row.id, InboundMail.outcome == PENDING)
            .values(outcome=outcome, ticket_id=ticket_id, **({"threaded_by": None} if opened else {}))
            .returning(InboundMail.id).execution_options(synchronize_session=False)).first()
        if settled is not None:
            remember_message_id(uow, row.message_id, ticket_id, "in", new=True)
            uow.new_aggregate(events.AGGREGATE, row.id)  # a pending mail has published nothing yet
            uow.record(events.MAIL_RECEIVED, events.AGGREGATE, row.id, {
                "mail_id": row.id, "mailbox_id": row.mailbox_id, "message_id": row.message_id,
                "ticket_id": ticket_id, "opened": opened, "acknowledge": defaults["acknowledge"],
                "language": defaults["language"],
                "customer_language": rules.customer_language(parsed.content_language, row.text)})
            uow.after_commit(metrics.received, outcome)
        if settled is None:  # finished meanwhile by another worker: as it says
            row = uow.session.get(InboundMail, row.id, populate_existing=True)
            return answer(row)
    log.info("mail %s to %s %s ticket %s", row.id, mailbox_address, outcome, ticket_id)
    return answer(row, outcome=outcome, ticket_id=ticket_id, threaded_by=None if opened else row.threaded_by)


def log_mail(uow, mailbox, parsed, raw, imap_uid, settings):
    """The mail's row (and a bounce's), with its outcome settled, or ``pending`` where ticketing
    is to be called. ``raw`` is the raw mail's BlobRef: the row keeps its hash, not its bytes."""
    now = uow.now()
    text = quotes.reply_text(parsed.text)
    row = InboundMail(mailbox_id=mailbox.id, message_id=parsed.message_id, sender=parsed.sender[:254],
                      subject=parsed.subject, text=text, reason="", ticket_id=None, threaded_by=None,
                      imap_uid=imap_uid, size=raw.size, raw_sha256=raw.sha256, received_at=now)
    loop = rules.automated(parsed.headers, parsed.sender, mailbox.address, parsed.report is not None)
    if loop is not None:
        row.outcome, row.reason = loop
    elif rules.over_limit(sent_lately(uow, parsed.sender, now), settings.sender_limit):
        row.outcome = "rate_limited"
        row.reason = f"more than {settings.sender_limit} mails from this sender in an hour"
    else:
        row.outcome = PENDING
        placed = rules.place(parsed.recipients, rules.referenced_ids(parsed.in_reply_to, parsed.references),
                             known_tickets(uow, parsed), mailbox.address.rpartition("@")[2], parsed.subject,
                             settings.reply_secret)
        if placed is not None:
            row.ticket_id, row.threaded_by = placed.ticket_id, placed.threaded_by
    uow.session.add(row)
    uow.session.flush()
    if row.outcome == "bounce":
        log_bounce(uow, row, parsed.report)
    return row


def open_raw(settings, row):
    """The raw mail of a logged row as a binary file (the caller closes it): from the blob store,
    or, for a row logged before the raw mail moved there, from the row's own ``raw`` column."""
    if row.raw_sha256:
        return settings.blobs.open(row.raw_sha256)
    return io.BytesIO(row.raw or b"")


def sent_lately(uow, sender, now):
    """Mails from ``sender`` in the last hour that opened or joined a ticket (or are about to)."""
    if not sender:
        return 0
    return uow.session.scalar(select(func.count(InboundMail.id)).where(
        InboundMail.sender == sender, InboundMail.received_at > now - timedelta(hours=1),
        InboundMail.outcome.in_(("opened", "replied", PENDING))))


def known_tickets(uow, parsed):
    referenced = rules.referenced_ids(parsed.in_reply_to, parsed.references)
    if not referenced:
        return {}
    return dict(uow.session.execute(select(ThreadMessage.message_id, ThreadMessage.ticket_id).where(
        ThreadMessage.message_id.in_(referenced[:100]))).all())


def log_bounce(uow, row, report):
    ticket_id = None
    if report.original_message_id:
        ticket_id = uow.session.scalar(select(ThreadMessage.ticket_id).where(
            ThreadMessage.message_id == report.original_message_id))
    bounce = Bounce(inbound_mail_id=row.id, original_message_id=report.original_message_id,
                    recipient=(report.recipient or "")[:254] or None, action=report.action, status=report.status,
                    diagnostic=report.diagnostic, ticket_id=ticket_id, received_at=row.received_at)
    uow.session.add(bounce)
    uow.session.flush()
    row.ticket_id = ticket_id
    uow.new_aggregate(events.AGGREGATE, row.id)  # the mail was logged in this transaction
    uow.record(events.BOUNCE_RECEIVED, events.AGGREGATE, row.id, {
        "bounce_id": bounce.id, "mail_id": row.id, "original_message_id": bounce.original_message_id,
        "recipient": bounce.recipient, "status": bounce.status, "diagnostic": bounce.diagnostic,
        "ticket_id": ticket_id})


def remember_message_id(uow, message_id, ticket_id, direction, new=False):
    """A Message-ID of a mail about ``ticket_id``, sent (``out``) or received (``in``): a reply
    naming it in In-Reply-To or References joins that ticket. Mail out calls it for each mail
    it sends, in the transaction that makes the delivery. <> and whitespace are dropped.
    ``new``: one INSERT that does nothing if the id is known (the caller adds no other row of it
    in this transaction)."""
    message_id = mime.normal_message_id(message_id)
    if new:
        uow.session.execute(upsert_insert(uow.session)(ThreadMessage).values(
            message_id=message_id, ticket_id=ticket_id, direction=direction, created_at=uow.now())
            .on_conflict_do_nothing(index_elements=["message_id"]))
        return
    exists = uow.session.scalar(select(ThreadMessage.id).where(ThreadMessage.message_id == message_id))
    if exists is None:
        uow.session.add(ThreadMessage(message_id=message_id, ticket_id=ticket_id, direction=direction,
                                      created_at=uow.now()))


def ticket_defaults(mailbox):
    return {"team": mailbox.team, "kind": mailbox.kind, "priority": mailbox.priority,
            "acknowledge": mailbox.acknowledge, "language": mailbox.language}


def stored_attachments(settings, parsed):
    """The mail's files in the blob store, as ticketing's references: at most MAX_ATTACHMENTS,
    each at most MAX_ATTACHMENT_BYTES (the rest are left in the raw mail, and the log says so).
    A large file is there already (``mime.parse_file`` decoded it into the store); a small one is
    put now. An inline part's Content-ID goes with it: ticketing points the HTML's ``cid:`` at it."""
    files = []
    for part in parsed.attachments:
        if len(files) == MAX_ATTACHMENTS:
            log.warning("mail %s has more than %s files: the rest stay in its raw mail", parsed.message_id,
                        MAX_ATTACHMENTS)
            break
        if part.dropped:
            log.warning("a file of mail %s stays in its raw mail: %s", parsed.message_id, part.dropped)
            continue
        try:
            ref = part.ref or settings.blobs.put(io.BytesIO(part.data), MAX_ATTACHMENT_BYTES)
        except blobs.TooLarge:
            log.warning("a file of mail %s is larger than %s MiB: it stays in the raw mail", parsed.message_id,
                        MAX_ATTACHMENT_BYTES // 2**20)
            continue
        files.append({"sha256": ref.sha256, "filename": part.filename, "content_type": ref.content_type,
                      "size": ref.size, **({"content_id": part.content_id} if part.content_id else {})})
    return files


def hand_to_ticketing(uow, ticketing, row, parsed, defaults, files, resumed):
    """(ticket id, opened): the reply added to its ticket, or a new ticket opened."""
    body, html = rules.message_body(row.text), rules.message_html(parsed.html)
    if row.ticket_id is not None:
        try:
            if row.threaded_by == "subject_token":
                check_token_sender(ticketing, row)
            if not (resumed and already_added(ticketing, row, body)):
                ticketing.add_message(row.ticket_id, {"kind": "customer", "body": body, "attachments": files,
                                                      "html": html})
            return row.ticket_id, False
        except (NotFound, Forbidden, Conflict) as exc:
            # a token for a ticket that is gone (or was never ours to name): a new ticket instead
            log.info("mail %s names ticket %s, which takes no message (%s): it opens a ticket", row.id,
                     row.ticket_id, exc)
    ticket = {"subject": rules.ticket_subject(row.subject), "description": body, "channel": "email",
              "kind": defaults["kind"], "priority": defaults["priority"], "team": defaults["team"],
              "customer": {"name": rules.customer_name(parsed.sender_name, row.sender), "contact": row.sender},
              "attachments": files, "description_html": html}
    [result] = ticketing.create_tickets([{"ticket": ticket, "actor": ACTOR, "request_id": uow.request_id,
                                          "idempotency_key": rules.idempotency_key(row.message_id),
                                          "brief": True}])  # the id is all mail in needs
    if "error" in result:
        raise result["error"] if isinstance(result["error"], Exception) else InvalidInput(
            "ticketing refused the ticket", {"ticket": [str(result["error"])]})
    return result["ticket"]["id"], True


def check_token_sender(ticketing, row):
    """A subject token is anyone's to write: it joins a ticket only from the ticket's own customer
    (ticketing's customer-data audit records the read); from anyone else the mail opens a ticket."""
    contact = ticketing.get_ticket(row.ticket_id)["customer"]["contact"]
    if contact.strip().lower() != row.sender:
        raise Forbidden(f"the subject names ticket {row.ticket_id}, whose customer is not the sender",
                        {"subject": ["names another customer's ticket"]})


def already_added(ticketing, row, body):
    """Whether the customer's message of a mail taken before a crash is on its ticket already."""
    messages = ticketing.list_messages(row.ticket_id, {"include_notes": False})["items"]
    return any(message["kind"] == "customer" and message["body"] == body and
               message["created_at"] >= row.received_at.isoformat() for message in messages)


def answer(row, duplicate=False, **settled):
    return shared(InboundMailSchema).dump(dict(column_dict(row), duplicate=duplicate, **settled))


def column_dict(row):
    return {name: getattr(row, name) for name in (
        "id", "mailbox_id", "message_id", "sender", "subject", "text", "outcome", "reason", "ticket_id",
        "threaded_by", "size", "received_at")}


# -- reading the log ----------------------------------------------------------------------------
def list_inbound(uow, query):
    criteria = load(InboundQuerySchema, query or {})
    page = fetch_page(uow.session, InboundMail, criteria, [InboundMail.id.desc()])
    page["items"] = [dict(column_dict(row), duplicate=False) for row in page["items"]]
    return shared(InboundMailPageSchema).dump(page)


def take_raw(uow, ticketing, settings, mailbox_id, data):
    """The raw-MIME endpoint's RPC: the mail is in the blob store (the gateway put it there;
    large payloads never travel by AMQP), named by its sha256, and is read from there."""
    sha256 = (data or {}).get("sha256")
    if not blobs.is_sha256(sha256):
        raise InvalidInput("the raw mail's sha256 is wrong", {"sha256": ["64 lower-case hex digits"]})
    if not settings.blobs.exists(sha256):
        raise InvalidInput("no such raw mail in the blob store", {"sha256": ["not in the blob store"]})
    with uow.transaction():
        get_or_not_found(uow.session, Mailbox, mailbox_id)
    return take_stored(uow, ticketing, settings, mailbox_id, sha256)
