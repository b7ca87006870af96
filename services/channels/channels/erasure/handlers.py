"""customer.erased: channels erases its own copies of the customer's personal data.

Ticketing erases a customer (on request, or its retention sweep erases old tickets) and names
the tickets, never the data. Channels finds the addresses in its own rows of those tickets (the
senders of the mails that came in, the customer recipients of the mails that went out) and
erases, for those tickets and those addresses:
- inbound mails: sender, subject, text, reason and the raw original emptied; the Message-ID,
  the outcome, the ticket, the size and the times stay (threading, dedupe and counts need no
  one's data), and a raw original the gateway put in the blob store is deleted from it;
- deliveries to the customer: recipient replaced, the template's variables and the last error
  dropped; status, attempts and times stay;
- bounces: recipient and diagnostic dropped.
Staff notifications (a delivery with ``recipient_user``) are a staff member's, not touched.
Idempotent: the inbox skips a redelivered event, and erasing again changes nothing.
"""
import hashlib
import logging

from marshmallow import fields
from sqlalchemy import or_, select

from channels import metrics
from channels.models import Bounce, Delivery, InboundMail
from channels.outbound import rules as outbound_rules
from plumbing.blobs import BlobStore
from plumbing.errors import load_event_data
from plumbing.schemas import TolerantSchema

log = logging.getLogger(__name__)

ERASED = "[erased]"


class CustomerErasedEvent(TolerantSchema):
    customer_id = fields.Integer(allow_none=True, load_default=None)
    ticket_ids = fields.List(fields.Integer(), required=True)
    reason = fields.String(load_default="request")


def customer_erased(uow, event, config):
    data = load_event_data(CustomerErasedEvent, event)
    ticket_ids = data["ticket_ids"]
    with uow.transaction():
        if not uow.first_time(event) or not ticket_ids:
            return 0
        session = uow.session
        addresses = set(session.scalars(select(InboundMail.sender).where(InboundMail.ticket_id.in_(ticket_ids))))
        addresses |= set(session.scalars(select(Delivery.recipient).where(
            Delivery.ticket_id.in_(ticket_ids), Delivery.recipient_user.is_(None))))
        addresses.discard(ERASED)
        raws = []
        mails = session.scalars(select(InboundMail).where(or_(
            InboundMail.ticket_id.in_(ticket_ids), InboundMail.sender.in_(sorted(addresses))))).all()
        for mail in mails:
            if mail.raw:
                raws.append(hashlib.sha256(mail.raw).hexdigest())
            mail.sender, mail.subject, mail.text, mail.reason, mail.raw = ERASED, "", "", "", b""
        deliveries = session.scalars(select(Delivery).where(Delivery.recipient_user.is_(None), or_(
            Delivery.ticket_id.in_(ticket_ids), Delivery.recipient.in_(sorted(addresses))))).all()
        for delivery in deliveries:
            delivery.recipient, delivery.context, delivery.last_error = ERASED, {}, None
            if delivery.status == outbound_rules.QUEUED:  # no address to send it to any more
                delivery.status, delivery.failed_at, delivery.next_attempt_at = outbound_rules.FAILED, uow.now(), None
                delivery.last_error = "the customer was erased"
        for bounce in session.scalars(select(Bounce).where(or_(
                Bounce.ticket_id.in_(ticket_ids), Bounce.recipient.in_(sorted(addresses))))):
            bounce.recipient, bounce.diagnostic = None, ""
        uow.after_commit(delete_raw_files, config, raws)
        uow.after_commit(metrics.MAILS_ERASED.inc, len(mails) + len(deliveries))
    log.info("customer %s erased (%s): %s mails in and %s out of %s tickets", data["customer_id"], data["reason"],
             len(mails), len(deliveries), len(ticket_ids))
    return len(mails) + len(deliveries)


def delete_raw_files(config, hashes):
    store = BlobStore.from_config(config)
    for sha256 in hashes:
        store.delete(sha256)
