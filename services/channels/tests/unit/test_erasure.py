"""customer.erased in channels: the erased customer's mails in and out, of the tickets the event names
and of the addresses those tickets' mails show, lose their personal data; counts, outcomes, threading
and other customers' mail stay; a redelivered event changes nothing."""
import io
from datetime import datetime, timezone

from sqlalchemy import select

from channels.erasure.handlers import ERASED, customer_erased
from channels.mailboxes import handlers as mailboxes
from channels.models import Bounce, Delivery, InboundMail
from plumbing.blobs import BlobStore

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)


def seed(run, store):
    raw = b"From: li@example.net\r\nSubject: Refund\r\n\r\nCall me on 13800005678."
    stored = store.put(io.BytesIO(raw), 1 << 20)  # as the gateway's raw-mail route stores it

    def rows(uow):
        with uow.transaction():
            mailbox = uow.session.get(mailboxes.Mailbox, 1)
            mail = dict(mailbox_id=mailbox.id, threaded_by=None, imap_uid=None, received_at=NOW, reason="")
            uow.session.add_all([
                InboundMail(message_id="m1", sender="li@example.net", subject="Refund", text="Call me", raw=raw,
                            outcome="opened", ticket_id=5, size=len(raw), **mail),
                InboundMail(message_id="m2", sender="li@example.net", subject="Again", text="Hello?", raw=b"x",
                            outcome="rate_limited", ticket_id=None, size=1, **mail),
                InboundMail(message_id="m3", sender="other@example.net", subject="Mine", text="Not hers", raw=b"y",
                            outcome="opened", ticket_id=6, size=1, **mail)])
            delivery = dict(language="en", sender="support@shop.example.com", in_reply_to=None, reference_ids=None,
                            attempts=0, created_at=NOW, next_attempt_at=NOW)
            uow.session.add_all([
                Delivery(ticket_id=5, kind="reply", recipient="li@example.net", message_id="d1", dedupe_key="k1",
                         context={"body": "Dear Li"}, status="queued", **delivery),
                Delivery(ticket_id=5, kind="assignment", recipient="ann@staff.example.com", recipient_user="ann",
                         message_id="d2", dedupe_key="k2", context={"subject": "x"}, status="sent", **delivery),
                Delivery(ticket_id=6, kind="reply", recipient="other@example.net", message_id="d3", dedupe_key="k3",
                         context={"body": "Dear other"}, status="sent", **delivery)])
            uow.session.flush()
            uow.session.add(Bounce(inbound_mail_id=2, original_message_id="d1", recipient="li@example.net",
                                   diagnostic="550 li@example.net unknown", ticket_id=5, received_at=NOW))
    run(mailboxes.create_mailbox, {"address": "support@shop.example.com"})
    run(rows)
    return stored.sha256


def test_the_customers_mail_of_the_tickets_and_their_address_is_erased_once_and_the_rest_stays(run, tmp_path):
    store = BlobStore(tmp_path / "blobs")
    raw_blob = seed(run, store)
    event = {"id": "e-1", "type": "customer.erased", "data": {
        "customer_id": 3, "ticket_ids": [5], "reason": "request", "customer_erased": True, "actor": "admin"}}
    config = {"BLOB_DIR": str(tmp_path / "blobs")}

    assert run(customer_erased, event, config, at=NOW) == 3  # two mails in (one of no ticket: her address), one out
    with run.sessions() as session:
        mails = {m.message_id: m for m in session.scalars(select(InboundMail))}
        raws = {message_id: mail.raw for message_id, mail in mails.items()}
        deliveries = {d.message_id: d for d in session.scalars(select(Delivery))}
        [bounce] = session.scalars(select(Bounce)).all()
    for message_id in ("m1", "m2"):
        mail = mails[message_id]
        assert (mail.sender, mail.subject, mail.text, raws[message_id]) == (ERASED, "", "", b"")
    assert (mails["m1"].outcome, mails["m1"].ticket_id, mails["m1"].size) == ("opened", 5, len(b"From: li@example.net"
                                                                                             b"\r\nSubject: Refund\r\n"
                                                                                             b"\r\nCall me on "
                                                                                             b"13800005678."))
    assert (mails["m3"].sender, mails["m3"].text) == ("other@example.net", "Not hers")
    assert (deliveries["d1"].recipient, deliveries["d1"].context, deliveries["d1"].status) == (ERASED, {}, "failed")
    assert deliveries["d2"].recipient == "ann@staff.example.com"  # a staff member's notification is theirs
    assert deliveries["d3"].context == {"body": "Dear other"}
    assert (bounce.recipient, bounce.diagnostic) == (None, "")
    assert not store.exists(raw_blob)

    assert run(customer_erased, event, config, at=NOW) == 0  # delivered again: already handled
