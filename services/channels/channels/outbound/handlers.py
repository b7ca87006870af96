"""Mail out: events become deliveries; the sender sends them (what and how in ``rules.py``).

An event handler reads what the mail needs (the customer's address only through
ticketing, which records the read in its customer-data audit, X6) and writes
one ``deliveries`` row per recipient inside the transaction its inbox guards:
the event handled twice makes no second mail, and a crash before the commit
leaves the event to be handled again. The row fixes the mail's Message-ID and
threading headers. The sender (a timer) leases the due rows, sends them over a few
SMTP connections side by side (``CHANNELS_SMTP_CONNECTIONS``, kept open from batch to batch) and
records a batch's outcomes in one transaction: sent, or queued again with back-off, or failed
with the reason; a crash after the send and before the record leaves the lease to run out and
the mail to be sent again under the same Message-ID, which the customer's client shows once.
The lease is short (``lease_for``: three SMTP timeouts and five seconds, 35 s by default) and
renewed for every mail of the batch not recorded yet as the sender goes (``Batch``), so a killed
sender's mail waits seconds, not the whole batch's worst case. A database that refuses the
record of mails just sent is asked again until the lease is nearly out
(``record_within_lease``): the refusal alone does not send a mail twice. Bounces (found by
mail in) mark their delivery failed and leave a note on the ticket.
"""
import logging
import time
from datetime import datetime, timedelta, timezone

import eventlet.semaphore
from marshmallow import fields
from sqlalchemy import select, tuple_, update
from sqlalchemy.exc import OperationalError

from channels import metrics
from channels.contract import (
    MailDeliveryListSchema, NotificationPreferenceSchema, NotificationPreferenceUpdateSchema, OnCallSchema,
    OnCallUpdateSchema, TemplatePreviewQuerySchema, TemplatePreviewSchema,
)
from channels.inbound import rules as inbound_rules
from channels.models import Delivery, InboundMail, NotificationPreference, OnCallMember, StaffMember
from channels.outbound import rules, threads
from channels.outbound.sending import Mailers, SmtpSettings, option
from plumbing import blobs
from plumbing.errors import Conflict, InvalidInput, NotFound, load_event_data, load_or_invalid as load
from plumbing.privacy import mask_contact
from plumbing.schemas import TolerantSchema, shared

log = logging.getLogger(__name__)

SEND_SECONDS = 2         # the sender's tick
BATCH = 50               # deliveries leased at once
DRAIN_SECONDS = 20       # a tick sends batch after batch until none is due, for at most this long
LEASE = timedelta(seconds=35)  # lease_for the default SMTP timeout (10 s)
RECORD_RETRY_SECONDS = 0.5  # between two tries of an outcome's record the database refused
DECISION_WINDOW = timedelta(seconds=5)  # a suggestion's decision event and the reply ticketing writes with it
DEFAULT_CONSOLE_URL = "http://localhost:8000"
DEFAULT_RATING_URL = "http://localhost:8000/rate/{token}"
DEFAULT_SECRET = "change-me"


# -- other services' events, read tolerantly ----------------------------------------------
class TicketEvent(TolerantSchema):
    ticket_id = fields.Integer(required=True)
    kind = fields.String(load_default=None, allow_none=True)
    priority = fields.String(load_default=None, allow_none=True)
    channel = fields.String(load_default=None, allow_none=True)
    assignee = fields.String(load_default=None, allow_none=True)
    team = fields.String(load_default=None, allow_none=True)
    actor = fields.String(load_default=None, allow_none=True)


class RepliedEvent(TicketEvent):
    message_id = fields.Integer(required=True)


class VerdictEvent(TicketEvent):
    satisfied = fields.Boolean(required=True)
    unsatisfied_verdicts = fields.Integer(load_default=0)


class SuggestionEvent(TicketEvent):
    department = fields.String(load_default="")
    adopted = fields.Boolean(allow_none=True, load_default=None)


class StateEvent(TicketEvent):
    state = fields.String(load_default=None, allow_none=True)
    from_state = fields.String(load_default=None, allow_none=True)


class MentionedEvent(TicketEvent):
    mentioned = fields.List(fields.String(), load_default=list)


class SlaEvent(TicketEvent):
    clock = fields.String(required=True)
    due_at = fields.String(required=True)
    owner = fields.String(load_default=None, allow_none=True)


class AlertEvent(TolerantSchema):
    alert_id = fields.Integer(required=True)
    level = fields.String(required=True)
    summary = fields.String(load_default="")
    topics = fields.List(fields.String(), load_default=list)
    cluster_size = fields.Integer(load_default=None, allow_none=True)
    change = fields.String(load_default=None, allow_none=True)


class MailReceivedEvent(TolerantSchema):
    mail_id = fields.Integer(required=True)
    mailbox_id = fields.Integer(required=True)
    ticket_id = fields.Integer(required=True)
    opened = fields.Boolean(required=True)
    acknowledge = fields.Boolean(load_default=False)
    customer_language = fields.String(load_default=None, allow_none=True)


class BounceEvent(TolerantSchema):
    original_message_id = fields.String(allow_none=True, load_default=None)
    status = fields.String(allow_none=True, load_default=None)
    diagnostic = fields.String(load_default="")


class StaffEvent(TolerantSchema):
    username = fields.String(required=True)
    roles = fields.List(fields.String(), load_default=list)
    teams = fields.List(fields.String(), load_default=list)
    active = fields.Boolean(load_default=True)


# -- to the customer ----------------------------------------------------------------------
def mail_received(uow, event, ticketing, config):
    """channels.mail_received: remember the ticket's mailbox and the customer's language as the mail
    shows it; a mail that opened a ticket at a mailbox that acknowledges gets the acknowledgement."""
    data = load_event_data(shared(MailReceivedEvent), event)
    ticket_id = data["ticket_id"]
    ticket = ticketing.get_ticket(ticket_id) if data["opened"] and data["acknowledge"] else None
    with uow.transaction():
        if not uow.first_time(event):
            return None
        language = data["customer_language"]
        if language is None:  # an event from before mail in told it: read it off the logged mail
            mail = uow.session.get(InboundMail, data["mail_id"])
            language = inbound_rules.customer_language(None, f"{mail.subject}\n{mail.text}") if mail else None
        threads.remember(uow, ticket_id, data["mailbox_id"], language)
        if ticket is None:
            return None
        delivery = customer_delivery(uow, ticket, rules.ACKNOWLEDGEMENT, {}, f"acknowledgement:{ticket_id}", config)
        return delivery and delivery.id


def bounce_received(uow, event):
    """channels.bounce_received: the delivery it names failed; the sender notes it on the ticket."""
    data = load_event_data(shared(BounceEvent), event)
    with uow.transaction():
        if not uow.first_time(event) or not data["original_message_id"]:
            return None
        reason = " ".join(part for part in (data["status"], data["diagnostic"]) if part) or "no reason given"
        return record_bounce(uow, f"<{data['original_message_id'].strip('<>')}>", reason)


def reply(uow, event, ticketing, config):
    """ticket.replied: the agent's public reply, as they wrote it."""
    data = load_event_data(shared(RepliedEvent), event)
    message = reply_message(ticketing, data["ticket_id"], data["message_id"])
    if message is None:
        return None
    # a suggestion's reply may be its decision, whose own mail replaces this one: held a moment for it
    hold = DECISION_WINDOW if data["kind"] == "suggestion" else None
    return queue_customer_mail(uow, event, ticketing, config, rules.REPLY, data["ticket_id"],
                               {"body": message["body"], "author": data["actor"],
                                "attachments": attached(message)}, f"message:{data['message_id']}", hold=hold)


def complaint_result(uow, event, ticketing, config):
    """complaint.verdict_given: the complaint settled, or reopened until it is (T5)."""
    data = load_event_data(shared(VerdictEvent), event)
    return queue_customer_mail(uow, event, ticketing, config, rules.COMPLAINT_RESULT, data["ticket_id"],
                               {"satisfied": data["satisfied"], "unsatisfied_verdicts": data["unsatisfied_verdicts"]},
                               f"verdict:{event['id']}")


def suggestion_decision(uow, event, ticketing, config):
    """suggestion.decided: the decision (T7). Ticketing writes it as a public reply too; the mail
    of that reply becomes this one (the same key), so the customer gets one mail, not two."""
    data = load_event_data(shared(SuggestionEvent), event)
    message = decision_message(ticketing, data["ticket_id"], event["time"])
    key = f"message:{message['id']}" if message else f"suggestion:{event['id']}"
    context = {"adopted": bool(data["adopted"]), "department": data["department"],
               "body": message["body"] if message else ""}
    return queue_customer_mail(uow, event, ticketing, config, rules.SUGGESTION_DECISION, data["ticket_id"],
                               context, key, supersedes=rules.REPLY)


def survey(uow, event, ticketing, config):
    """ticket.resolved: the CSAT survey (T6); its one-time link is asked for when it is sent, so the
    mail carries the latest link (asking for one ends the one before)."""
    data = load_event_data(shared(TicketEvent), event)
    return queue_customer_mail(uow, event, ticketing, config, rules.SURVEY, data["ticket_id"], {},
                               f"survey:{event['id']}")


def queue_customer_mail(uow, event, ticketing, config, kind, ticket_id, context, key, supersedes=None, hold=None):
    ticket = ticketing.get_ticket(ticket_id)  # the customer in full: ticketing audits the read (X6)
    with uow.transaction():
        if not uow.first_time(event):
            return None
        delivery = customer_delivery(uow, ticket, kind, context, key, config, supersedes, hold)
        return delivery and delivery.id


def customer_delivery(uow, ticket, kind, context, key, config, supersedes=None, hold=None):
    """The mail to the ticket's customer, unless they have no mail address or it was made already
    (a mail of the ``supersedes`` kind not tried yet becomes this one)."""
    recipient = rules.email_address(ticket["customer"]["contact"])
    if recipient is None:
        return None
    existing = uow.session.scalars(select(Delivery).where(Delivery.dedupe_key == key).with_for_update()).first()
    if existing is not None:
        if supersedes and existing.kind == supersedes and existing.status == rules.QUEUED and not existing.attempts:
            existing.kind, existing.context = kind, dict(existing.context, **context)
            existing.next_attempt_at = uow.now()  # no longer held
        return existing
    thread = threads.thread_of(uow, ticket["id"], config)
    full_context = dict(context, ticket_id=ticket["id"], subject=rules.bare_subject(ticket["subject"]))
    delivery = new_delivery(uow, kind, recipient, thread, full_context, key, ticket_id=ticket["id"],
                            language=thread.language, hold=hold)
    threads.record_sent_id(uow, ticket["id"], delivery.message_id)
    return delivery


def reply_message(ticketing, ticket_id, message_id):
    messages = ticketing.list_messages(ticket_id, {"include_notes": False})["items"]
    found = [message for message in messages if message["id"] == message_id and message["kind"] == "reply"]
    return found[0] if found else None


def attached(message):
    """The files of a reply, by reference (the blob store's sha256): the mail carries them when sent."""
    return [{"sha256": item["sha256"], "filename": item["filename"], "content_type": item["content_type"]}
            for item in message.get("attachments") or []]


def decision_message(ticketing, ticket_id, event_time):
    """The public reply ticketing wrote with the decision: in the same transaction, just after it
    recorded the event, so the reply nearest the event's time within ``DECISION_WINDOW``."""
    at = parse_time(event_time)
    near = [(abs(parse_time(message["created_at"]) - at), message)
            for message in ticketing.list_messages(ticket_id, {"include_notes": False})["items"]
            if message["kind"] == "reply"]
    near = [(gap, message) for gap, message in near if gap <= DECISION_WINDOW]
    return min(near, key=lambda pair: pair[0])[1] if near else None


# -- to staff -------------------------------------------------------------------------------
def assignment(uow, event, ticketing, config):
    """ticket.assigned / ticket.transferred: the new owner hears of it, unless they took it themselves."""
    data = load_event_data(shared(TicketEvent), event)
    if not data["assignee"] or data["assignee"] == data["actor"]:
        return mark_seen(uow, event)
    ticket = ticketing.ticket_summary(data["ticket_id"])  # no customer details: none are needed
    context = ticket_notice(config, ticket, actor=data["actor"])
    return notify_staff(uow, event, rules.ASSIGNMENT, [data["assignee"]], context, data["ticket_id"], config)


def mentioned(uow, event, ticketing, config):
    """ticket.mentioned: the staff an internal note mentioned (ticketing named only those who may read it)."""
    data = load_event_data(shared(MentionedEvent), event)
    usernames = [name for name in data["mentioned"] if name != data["actor"]]
    if not usernames:
        return mark_seen(uow, event)
    context = ticket_notice(config, ticketing.ticket_summary(data["ticket_id"]), actor=data["actor"])
    return notify_staff(uow, event, rules.MENTION, usernames, context, data["ticket_id"], config)


def follower_news(uow, event, ticketing, config, change):
    """ticket.replied / status_changed / assigned / transferred: the ticket's followers who may still read
    it, except whoever made the change and (for an assignment) the new owner, who has the assignment's mail.
    A state change is news at its milestones only (``rules.followed_state_change``): the moves a reply or an
    assignment makes come with that mail already."""
    data = load_event_data(shared(StateEvent), event)
    if change == "state" and not rules.followed_state_change(data["from_state"], data["state"]):
        return mark_seen(uow, event)
    skipped = {data["actor"]} | ({data["assignee"]} if change == "assignment" else set())
    usernames = [name for name in ticketing.notified_followers(data["ticket_id"]) if name not in skipped]
    if not usernames:
        return mark_seen(uow, event)
    context = ticket_notice(config, ticketing.ticket_summary(data["ticket_id"]), actor=data["actor"], change=change,
                            state=data["state"], assignee=data["assignee"])
    return notify_staff(uow, event, rules.FOLLOWING, usernames, context, data["ticket_id"], config)


def sla_warning(uow, event, ticketing, config):
    return sla_notice(uow, event, ticketing, config, rules.SLA_WARNING)


def sla_breach(uow, event, ticketing, config):
    return sla_notice(uow, event, ticketing, config, rules.SLA_BREACH)


def sla_notice(uow, event, ticketing, config, kind):
    """sla.warning / sla.breached: the owner and the team's supervisors."""
    data = load_event_data(shared(SlaEvent), event)
    ticket = ticketing.ticket_summary(data["ticket_id"])
    owner = data["owner"] or data["assignee"]
    context = ticket_notice(config, ticket, clock=data["clock"], due_at=shown_time(data["due_at"]), owner=owner)
    with uow.transaction():
        supervisors = supervisors_of(uow, data["team"])
    return notify_staff(uow, event, kind, rules.sla_recipients(owner, supervisors), context, data["ticket_id"], config)


def opinion_alert(uow, event, config):
    """opinion.alert_raised / _updated: levels II and I, to the on-call list (M6)."""
    data = load_event_data(shared(AlertEvent), event)
    if not rules.alert_notice_due(data["level"], data["change"]):
        return mark_seen(uow, event)
    console = option(config, "CHANNELS_CONSOLE_URL", DEFAULT_CONSOLE_URL).rstrip("/")
    context = dict(data, change=data["change"] or "raised", alert_url=f"{console}/opinion/alerts/{data['alert_id']}")
    with uow.transaction():
        on_call = list(uow.session.scalars(select(OnCallMember.username).order_by(OnCallMember.username)))
    return notify_staff(uow, event, rules.OPINION_ALERT, on_call, context, None, config)


def learn_staff(uow, event):
    """staff.account_created / _updated: who supervises which team (their addresses are their own setting)."""
    data = load_event_data(shared(StaffEvent), event)
    with uow.transaction():
        if not uow.first_time(event):
            return
        member = uow.session.get(StaffMember, data["username"]) or StaffMember(username=data["username"])
        member.roles, member.teams, member.active = sorted(data["roles"]), sorted(data["teams"]), data["active"]
        uow.session.add(member)


def notify_staff(uow, event, kind, usernames, context, ticket_id, config):
    with uow.transaction():
        if not uow.first_time(event):
            return []
        wanted = {preference.username: preference for preference in uow.session.scalars(
            select(NotificationPreference).where(NotificationPreference.username.in_(usernames or [""])))}
        made = []
        for username in usernames:
            preference = wanted.get(username)
            if not rules.wants(preference_view(preference) if preference else None, kind):
                continue
            thread = threads.staff_thread(ticket_id, config)
            made.append(new_delivery(uow, kind, preference.email, thread, context, f"{event['id']}:{username}",
                                     ticket_id=ticket_id, language=preference.language,
                                     recipient_user=username).id)
        return made


def supervisors_of(uow, team):
    if not team:
        return []
    members = uow.session.scalars(select(StaffMember).where(StaffMember.active.is_(True)))
    return [member.username for member in members if "supervisor" in member.roles and team in member.teams]


def ticket_notice(config, ticket, **extra):
    console = option(config, "CHANNELS_CONSOLE_URL", DEFAULT_CONSOLE_URL).rstrip("/")
    return dict(ticket_id=ticket["id"], subject=ticket["subject"], kind=ticket["kind"], priority=ticket["priority"],
                team=ticket["team"], ticket_url=f"{console}/tickets/{ticket['id']}", **extra)


def mark_seen(uow, event):
    """An event that mails nobody, still noted in the inbox (a redelivery finds it handled)."""
    with uow.transaction():
        uow.first_time(event)


# -- the deliveries ------------------------------------------------------------------------
def new_delivery(uow, kind, recipient, thread, context, key, ticket_id=None, language=None, recipient_user=None,
                 hold=None):
    message_id = rules.new_message_id(ticket_id, rules.domain_of(thread.sender))
    in_reply_to, references = (rules.threading_headers(thread.root, thread.earlier, message_id)
                               if thread.root else (None, None))
    now = uow.now()
    delivery = Delivery(ticket_id=ticket_id, kind=kind, recipient=recipient, recipient_user=recipient_user,
                        language=rules.choose_language(language), sender=thread.sender, sender_name=thread.sender_name,
                        reply_to=thread.reply_to, message_id=message_id, in_reply_to=in_reply_to,
                        reference_ids=references, context=context, dedupe_key=key, status=rules.QUEUED, attempts=0,
                        next_attempt_at=now + hold if hold else now, created_at=now)
    uow.session.add(delivery)
    uow.session.flush()
    uow.after_commit(metrics.DELIVERIES_QUEUED.labels(kind).inc)
    return delivery


def send_due(uow, ticketing, config):
    """Lease the due deliveries a batch at a time, make and send their mails over the pass's
    connections side by side (``sending.Mailers``, ``CHANNELS_SMTP_CONNECTIONS``), record the
    batch's outcomes in one transaction, until none is due (or ``DRAIN_SECONDS`` passed: the next
    tick goes on); then note bounces on their tickets. Returns how many were attempted."""
    base = float(option(config, "CHANNELS_RETRY_BASE_SECONDS", rules.DEFAULT_RETRY_BASE_SECONDS))
    attempted, deadline = 0, time.monotonic() + DRAIN_SECONDS
    settings = SmtpSettings.of(config)
    lease = lease_for(settings)
    with Mailers(settings) as mailers:  # each connects at its first mail only, kept from batch to batch
        while True:
            batch = Batch(uow, claim_due(uow, uow.now(), lease), lease, base)
            mailers.send_all(lambda index, delivery, mailer: batch.attempt(index, mailer, ticketing, config),
                             batch.claimed)
            batch.finish()
            attempted += len(batch.claimed)
            if len(batch.claimed) < BATCH or time.monotonic() >= deadline or mailers.down:
                break
    note_bounces(uow, ticketing)
    return attempted


class Batch:
    """A leased batch while its mails go out over several connections (green threads): the unit of
    work is used by one of them at a time. A mail about to go out after half the lease has passed
    since the batch was leased or renewed first records the outcomes known so far and renews the
    lease of every mail not recorded yet (going out or still to go), so none runs out while the
    batch goes on; one whose lease another sender took meanwhile is not sent. ``finish`` records
    the rest in one transaction (``record_within_lease``)."""

    def __init__(self, uow, claimed, lease, base_seconds):
        self.uow, self.claimed, self.lease, self.base = uow, claimed, lease, base_seconds
        self.outcomes = [None] * len(claimed)  # None: not sent (yet)
        self.recorded, self.lost = set(), set()  # indexes of the mails recorded, and leased by another since
        self.leased_at, self.lease_ends = uow.now(), time.monotonic() + lease.total_seconds()
        self.lock = eventlet.semaphore.Semaphore()
        self.broken = None  # the database refused a record until the lease was nearly out: the pass stops

    def attempt(self, index, mailer, ticketing, config):
        with self.lock:
            if self.broken is not None:
                return None
            try:
                if self.uow.now() - self.leased_at >= self.lease / 2:
                    self.renew()
            except Exception as exc:  # the pass stops: raised by finish
                self.broken = exc
                return None
            if index in self.lost:
                return None
        try:
            outcome = attempt(self.claimed[index], mailer, ticketing, config)
        except Exception as exc:  # noqa: BLE001 - a mail that broke the making: recorded to try again
            outcome = exc
        self.outcomes[index] = outcome
        return outcome

    def renew(self):
        self.record_known()
        rest = [index for index in range(len(self.claimed)) if index not in self.recorded | self.lost]
        if not rest:
            return
        now = self.uow.now()
        kept = renew_leases(self.uow, [self.claimed[index] for index in rest], now, self.lease)
        self.leased_at, self.lease_ends = now, time.monotonic() + self.lease.total_seconds()
        self.lost |= {index for index in rest if self.claimed[index].id not in kept}

    def record_known(self):
        done = [index for index, outcome in enumerate(self.outcomes)
                if outcome is not None and index not in self.recorded | self.lost]
        if done:
            record_within_lease(self.uow, [(self.claimed[index], self.outcomes[index]) for index in done],
                                self.base, self.lease_ends)
            self.recorded.update(done)

    def finish(self):
        with self.lock:
            if self.broken is not None:
                raise self.broken
            self.record_known()


def lease_for(settings):
    """How long a leased delivery is the sender's: long enough for one mail (each of the SMTP
    exchange's waits may take the timeout) since the lease is renewed mail by mail; a sender
    killed holding it delays its mail by no more than this."""
    return timedelta(seconds=3 * settings.timeout + 5)


def claim_due(uow, at, lease=LEASE):
    """Count an attempt of the due deliveries and lease them, in a short transaction."""
    table = Delivery.__table__
    due = (table.c.status == rules.QUEUED, table.c.next_attempt_at <= at)
    with uow.transaction():
        ids = list(uow.session.scalars(select(table.c.id).where(*due).order_by(table.c.next_attempt_at)
                                       .limit(BATCH).with_for_update(skip_locked=True)))
        if not ids:
            return []
        # the conditions again: a concurrent tick on a database without row locks (SQLite) claims nothing twice
        rows = uow.session.execute(
            update(table).where(table.c.id.in_(ids), *due)
            .values(attempts=table.c.attempts + 1, next_attempt_at=at + lease, last_attempt_at=at)
            .returning(*table.c)).all()
    return sorted(rows, key=lambda row: row.id)


def renew_leases(uow, deliveries, at, lease=LEASE):
    """The ids of ``deliveries`` still leased by this sender (same attempt, still queued), their
    lease now running from ``at``; one whose lease ran out and was taken by another is not."""
    if not deliveries:
        return set()
    table = Delivery.__table__
    with uow.transaction():
        return set(uow.session.scalars(
            update(table).where(tuple_(table.c.id, table.c.attempts).in_(
                [(delivery.id, delivery.attempts) for delivery in deliveries]), table.c.status == rules.QUEUED)
            .values(next_attempt_at=at + lease).returning(table.c.id)))


class Outcome:
    def __init__(self, sent, permanent=False, reason=None):
        self.sent, self.permanent, self.reason = sent, permanent, reason


def attempt(delivery, mailer, ticketing, config) -> Outcome:
    return deliver(prepare(delivery, ticketing, config), mailer)


def prepare(delivery, ticketing, config):
    """(the message, its sender, its recipient), or the Outcome of a mail that could not be made."""
    try:
        context = dict(delivery.context)
        if delivery.kind == rules.SURVEY:
            context.update(rating_link(ticketing, delivery.ticket_id, config))
        rendered = rules.render(delivery.kind, delivery.language, context)
        files = attachment_files(context.get("attachments") or [], config)
    except PermanentProblem as exc:
        return Outcome(False, True, str(exc))
    except Exception as exc:  # noqa: BLE001 - ticketing away, say: another try later
        return Outcome(False, False, f"preparing the mail: {type(exc).__name__}: {exc}"[:500])
    envelope = rules.Envelope(sender=delivery.sender, sender_name=delivery.sender_name, recipient=delivery.recipient,
                              message_id=delivery.message_id, reply_to=delivery.reply_to,
                              in_reply_to=delivery.in_reply_to, references=delivery.reference_ids,
                              language=delivery.language, auto_submitted=rules.auto_submitted(delivery.kind))
    message = rules.build_message(envelope, rendered, datetime.now(timezone.utc), files)
    return message, delivery.sender, delivery.recipient


def deliver(made, mailer) -> Outcome:
    """Sends a mail ``prepare`` made (an Outcome already when it could not be made) over ``mailer``
    (one connection, used by one green thread at a time)."""
    if isinstance(made, Outcome):
        return made
    message, sender, recipient = made
    try:
        mailer.send(message, sender, recipient)
    except OSError as exc:  # smtplib's errors included
        permanent, reason = rules.smtp_failure(exc)
        return Outcome(False, permanent, reason)
    except Exception as exc:  # noqa: BLE001 - a message smtplib could not write, say: another try later
        return Outcome(False, False, f"sending: {type(exc).__name__}: {exc}"[:500])
    return Outcome(True)


def attachment_files(references, config):
    """(filename, content type, bytes) of each file a reply carries, read from the blob store (the
    volume the gateway writes uploads to); one missing there is a problem to try again later."""
    if not references:
        return []
    store = blobs.BlobStore.from_config(config)
    files = []
    for item in references:
        with store.open(item["sha256"]) as stream:
            files.append((item["filename"], item["content_type"], stream.read()))
    return files


class PermanentProblem(Exception):
    """The mail cannot be made, now or later (the ticket was rated already, say)."""


def rating_link(ticketing, ticket_id, config):
    try:
        link = ticketing.issue_rating_link(ticket_id)
    except Exception as exc:
        if isinstance(exc, (Conflict, NotFound)):  # rated, expired, or gone: no survey to send
            raise PermanentProblem(f"no rating link: {exc}") from None
        raise
    url = option(config, "CHANNELS_RATING_URL", DEFAULT_RATING_URL).format(token=link["rating_token"])
    return {"rating_url": url, "expires_at": shown_time(link["expires_at"])}


def record_within_lease(uow, attempts, base_seconds, lease_ends):
    """``record_outcomes`` of ``attempts`` ((delivery, outcome) pairs), asked again while the
    database refuses, until a second before the lease ends (``lease_ends`` on the monotonic clock);
    then the refusal is raised and the mails, their lease run out, are sent again. Found by
    tests/faults: PostgreSQL refusing connections for eight seconds had a mail just sent go out a
    second time."""
    while True:
        try:
            return record_outcomes(uow, attempts, base_seconds)
        except OperationalError as exc:
            if time.monotonic() + RECORD_RETRY_SECONDS >= lease_ends - 1:
                raise
            log.warning("deliveries %s: recording their outcomes failed, trying again: %s",
                        ", ".join(str(delivery.id) for delivery, _ in attempts[:5]), exc)
            time.sleep(RECORD_RETRY_SECONDS)


def record_outcome(uow, delivery, outcome, base_seconds):
    record_outcomes(uow, [(delivery, outcome)], base_seconds)


def record_outcomes(uow, attempts, base_seconds):
    """A batch's outcomes in one transaction (one commit, not one a mail): each only if nobody
    leased the delivery since (its lease ran out) and no bounce failed it. The sent ones in one
    statement (the same values for all, each row still only if it is ours)."""
    if not attempts:
        return
    table = Delivery.__table__
    now = uow.now()
    recorded, sent, unsent = [], [], []
    for delivery, outcome in attempts:
        if isinstance(outcome, Exception):  # send_all's answer when attempt itself broke
            outcome = Outcome(False, False, f"sending: {type(outcome).__name__}: {outcome}"[:500])
        (sent if outcome.sent else unsent).append((delivery, outcome))
    with uow.transaction():
        if sent:
            mine = set(uow.session.scalars(
                update(table).where(tuple_(table.c.id, table.c.attempts).in_(
                    [(delivery.id, delivery.attempts) for delivery, _ in sent]), table.c.status == rules.QUEUED)
                .values(status=rules.SENT, sent_at=now, next_attempt_at=None, last_error=None)
                .returning(table.c.id)))
            recorded += [(delivery, outcome, rules.SENT) for delivery, outcome in sent if delivery.id in mine]
        for delivery, outcome in unsent:
            mine = (table.c.id == delivery.id, table.c.attempts == delivery.attempts, table.c.status == rules.QUEUED)
            status, next_at = rules.after_failure(delivery.attempts, outcome.permanent, now, base_seconds)
            values = dict(status=status, next_attempt_at=next_at, last_error=outcome.reason,
                          failed_at=now if status == rules.FAILED else None)
            if uow.session.execute(update(table).where(*mine).values(**values)).rowcount:
                recorded.append((delivery, outcome, status))
    for delivery, outcome, status in recorded:
        if outcome.sent:
            metrics.MAILS_SENT.labels(delivery.kind).inc()
            metrics.DELIVERY_SECONDS.labels(delivery.kind).observe(
                max(0.0, (now - as_utc(delivery.created_at)).total_seconds()))
        elif status == rules.FAILED:
            metrics.MAILS_FAILED.labels(delivery.kind, "permanent" if outcome.permanent else "retries").inc()
            log.warning("delivery %s (%s) failed after %s attempts: %s", delivery.id, delivery.kind,
                        delivery.attempts, outcome.reason)


# -- bounces --------------------------------------------------------------------------------
def record_bounce(uow, original_message_id, reason):
    """A bounce mail in found names a Message-ID we sent: that delivery failed (inside the caller's
    transaction); the sender notes it on the ticket. Returns the delivery's id, or None if not ours."""
    delivery = uow.session.scalars(select(Delivery).where(Delivery.message_id == original_message_id)
                                   .with_for_update()).first()
    if delivery is None or delivery.bounced_at is not None:
        return delivery.id if delivery else None
    now = uow.now()
    delivery.status, delivery.bounced_at, delivery.failed_at = rules.FAILED, now, now
    delivery.next_attempt_at = None
    delivery.last_error = f"bounced: {reason}"[:500]
    uow.after_commit(metrics.MAILS_BOUNCED.labels(delivery.kind).inc)
    return delivery.id


def note_bounces(uow, ticketing):
    """Each bounced customer mail, once, as a note on its ticket (who could not be reached, not the address)."""
    with uow.transaction():
        bounced = uow.session.execute(select(Delivery.id, Delivery.ticket_id, Delivery.kind, Delivery.last_error)
                                      .where(Delivery.bounced_at.is_not(None), Delivery.noted_at.is_(None),
                                             Delivery.ticket_id.is_not(None), Delivery.recipient_user.is_(None))
                                      .limit(BATCH)).all()
    for row in bounced:
        body = rules.bounce_note(row.kind, row.last_error)
        try:
            ticketing.add_message(row.ticket_id, {"kind": "note", "body": body})
        except Exception as exc:  # noqa: BLE001 - a closed ticket takes no note; ticketing away: next tick
            if not isinstance(exc, (Conflict, NotFound)):
                log.warning("the bounce of delivery %s is not noted yet: %s", row.id, exc)
                continue
        with uow.transaction():
            uow.session.execute(update(Delivery).where(Delivery.id == row.id).values(noted_at=uow.now()))


# -- the API ------------------------------------------------------------------------------
def list_deliveries(uow, ticket_id):
    """A ticket's mails, newest first; the gateway has checked the caller may read the ticket.
    Customer addresses are masked (the ticket shows them to whoever may see them)."""
    rows = uow.session.scalars(select(Delivery).where(Delivery.ticket_id == ticket_id)
                               .order_by(Delivery.id.desc())).all()
    items = [dict(delivery_view(row)) for row in rows]
    return shared(MailDeliveryListSchema).dump({"items": items})


def delivery_view(row):
    recipient = row.recipient_user or mask_contact(row.recipient)
    return {column.key: getattr(row, column.key) for column in Delivery.__table__.columns} | {"recipient": recipient}


def get_preferences(uow):
    username = caller_name(uow)
    preference = uow.session.get(NotificationPreference, username)
    return shared(NotificationPreferenceSchema).dump(preference_view(preference, username))


def set_preferences(uow, data):
    fields_ = load(NotificationPreferenceUpdateSchema, data)
    username = caller_name(uow)
    with uow.transaction():
        preference = uow.session.get(NotificationPreference, username) or NotificationPreference(
            username=username, **preference_defaults())
        for key, value in fields_.items():
            if key == "kinds":
                for kind, on in value.items():
                    setattr(preference, kind, on)
            else:
                setattr(preference, key, value)
        preference.updated_at = uow.now()
        uow.session.add(preference)
        uow.session.flush()
        return shared(NotificationPreferenceSchema).dump(preference_view(preference, username))


def preference_defaults():
    return dict(email=None, language=rules.DEFAULT_LANGUAGE, **{kind: True for kind in rules.STAFF_KINDS})


def preference_view(preference, username=None):
    if preference is None:
        return dict(username=username, **{k: v for k, v in preference_defaults().items() if k not in rules.STAFF_KINDS},
                    kinds={kind: True for kind in rules.STAFF_KINDS}, updated_at=None)
    return {"username": preference.username, "email": preference.email, "language": preference.language,
            "kinds": {kind: bool(getattr(preference, kind)) for kind in rules.STAFF_KINDS},
            "updated_at": preference.updated_at}


def caller_name(uow):
    if not uow.caller.actor:
        raise InvalidInput("notification settings are a person's own", {"username": ["no caller"]})
    return uow.caller.actor


def get_on_call(uow):
    members = uow.session.scalars(select(OnCallMember).order_by(OnCallMember.username)).all()
    return shared(OnCallSchema).dump({"usernames": [member.username for member in members]})


def set_on_call(uow, data):
    """The on-call list for opinion alerts (M6), replaced whole."""
    usernames = sorted(set(load(OnCallUpdateSchema, data)["usernames"]))
    with uow.transaction():
        for member in uow.session.scalars(select(OnCallMember)).all():
            if member.username not in usernames:
                uow.session.delete(member)
            else:
                usernames.remove(member.username)
        for username in usernames:
            uow.session.add(OnCallMember(username=username, added_at=uow.now(), added_by=uow.caller.actor))
    return get_on_call(uow)


def preview_template(query):
    """A template rendered with sample data, for admins writing or checking one."""
    criteria = load(TemplatePreviewQuerySchema, query or {})
    kind, language = criteria["kind"], criteria["language"]
    rendered = rules.render(kind, language, rules.SAMPLES[kind])
    return shared(TemplatePreviewSchema).dump(dict(kind=kind, language=language, subject=rendered.subject,
                                                   text=rendered.text, html=rendered.html))


# -- small helpers --------------------------------------------------------------------------
def parse_time(value):
    return as_utc(value if isinstance(value, datetime) else datetime.fromisoformat(value))


def as_utc(value):
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def shown_time(value):
    """A time as a mail shows it: 2026-12-07 18:00 UTC."""
    try:
        return parse_time(value).strftime("%Y-%m-%d %H:%M UTC")
    except (TypeError, ValueError):
        return str(value)


