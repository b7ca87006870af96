"""Mail out's handlers on a unit over SQLite, sending to a real SMTP server on loopback.

Ticketing is a stand-in here (``Ticketing``: the answers of its RPCs); the integration test
(tests/integration/test_outbound_mail.py) runs the real one over the broker."""
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from channels import models
from channels.outbound import addresses, handlers as outbound, rules
from plumbing.errors import Conflict, NotFound

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
SECRET = "reply-secret-for-tests"


class Ticketing:
    """What channels asks ticketing, answered from memory; ``calls`` records each question."""

    def __init__(self):
        self.calls = []
        self.tickets = {}
        self.messages = {}
        self.tokens = 0
        self.rated = set()
        self.notes = []

    def ticket(self, ticket_id, contact="kehu@example.net", subject="包裹破损", **extra):
        self.tickets[ticket_id] = dict(id=ticket_id, subject=subject, kind="complaint", priority="high",
                                       team="billing", assignee="ann", state="in_progress",
                                       customer={"name": "王先生", "contact": contact}, **extra)
        self.messages.setdefault(ticket_id, [])
        return self.tickets[ticket_id]

    def message(self, ticket_id, message_id, body, kind="reply", at=T0):
        self.messages[ticket_id].append({"id": message_id, "kind": kind, "body": body, "created_at": at.isoformat()})

    def get_ticket(self, ticket_id):
        self.calls.append(("get_ticket", ticket_id))
        if ticket_id not in self.tickets:
            raise NotFound(f"ticket {ticket_id} does not exist")
        return self.tickets[ticket_id]

    def ticket_summary(self, ticket_id):
        self.calls.append(("ticket_summary", ticket_id))
        return dict(self.tickets[ticket_id], customer={"name": "王*", "contact": "k***@example.net"})

    def list_messages(self, ticket_id, query=None):
        self.calls.append(("list_messages", ticket_id))
        return {"items": [m for m in self.messages[ticket_id] if m["kind"] != "note"]}

    def issue_rating_link(self, ticket_id):
        self.calls.append(("issue_rating_link", ticket_id))
        if ticket_id in self.rated:
            raise Conflict("the resolution is rated already")
        self.tokens += 1
        return {"ticket_id": ticket_id, "resolution": 1, "rating_token": f"token-{self.tokens}",
                "expires_at": (T0 + timedelta(days=7)).isoformat()}

    def add_message(self, ticket_id, data):
        self.calls.append(("add_message", ticket_id))
        self.notes.append((ticket_id, data))
        return {}


def event(type_, data, source="ticketing", at=T0):
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": source, "type": type_,
            "time": at.isoformat(), "data": data}


def ticket_event(type_, ticket_id, at=T0, **data):
    facts = dict(ticket_id=ticket_id, state="in_progress", priority="high", kind=data.pop("kind", "complaint"),
                 channel="email", assignee="ann", team="billing", actor="ann")
    return event(type_, dict(facts, **data), at=at)


@pytest.fixture
def run(run):
    """Every call at ``T0`` unless told another time."""
    def at_t0(handler, *args, at=T0, **kwargs):
        return run(handler, *args, at=at, **kwargs)
    return at_t0


@pytest.fixture
def ticketing():
    return Ticketing()


@pytest.fixture
def config(smtp_server):
    return dict(smtp_server.config(), CHANNELS_REPLY_SECRET=SECRET, CHANNELS_FROM_ADDRESS="",
                CHANNELS_RETRY_BASE_SECONDS=10, CHANNELS_RATING_URL="https://support.example.com/rate/{token}",
                CHANNELS_CONSOLE_URL="https://console.example.com")


@pytest.fixture
def mailbox(run):
    def create(uow):
        with uow.transaction():
            box = models.Mailbox(address="support@example.com", name="客服中心", kind="inquiry", priority="normal",
                                 language="zh-CN", acknowledge=True, active=True, imap_port=993, imap_tls=True,
                                 imap_folder="INBOX", last_uid=0, created_at=T0, updated_at=T0)
            uow.session.add(box)
        return box.id
    return run(create)


def rows(run, model, *where):
    key = model.__mapper__.primary_key[0]
    return run(lambda uow: uow.session.scalars(select(model).where(*where).order_by(key)).all())


def customer_wrote(run, ticket_id, message_id, mailbox_id, subject="包裹破损", text="我的包裹破损了，请尽快处理。"):
    """Mail in's part: the customer's mail, logged and in the ticket's thread."""
    def write(uow):
        with uow.transaction():
            mail = models.InboundMail(mailbox_id=mailbox_id, message_id=message_id, sender="kehu@example.net",
                                      subject=subject, text=text, outcome="opened", reason="", ticket_id=ticket_id,
                                      size=100, raw=b"", received_at=T0)
            uow.session.add(mail)
            uow.session.add(models.ThreadMessage(message_id=message_id, ticket_id=ticket_id, direction="in",
                                                 created_at=T0))
        return mail.id
    return run(write)


def mail_received(mail_id, mailbox_id, ticket_id, opened=True):
    return event("channels.mail_received", {"mail_id": mail_id, "mailbox_id": mailbox_id, "message_id": "x",
                                            "ticket_id": ticket_id, "opened": opened, "acknowledge": True,
                                            "language": "zh-CN"}, source="channels")


# -- to the customer ----------------------------------------------------------------------------
def test_a_public_reply_reaches_the_customer_threaded_under_their_mail(run, ticketing, config, mailbox, smtp_server):
    ticketing.ticket(42)
    mail_id = customer_wrote(run, 42, "c1@example.net", mailbox)
    run(outbound.mail_received, mail_received(mail_id, mailbox, 42, opened=False), ticketing, config)
    ticketing.message(42, 7, "您好，新的包裹已寄出。\n运单号 SF1234567890")
    replied = ticket_event("ticket.replied", 42, message_id=7, author="ann")

    run(outbound.reply, replied, ticketing, config)
    run(outbound.reply, replied, ticketing, config)  # the same event again: no second mail
    assert run(outbound.send_due, ticketing, config, at=T0) == 1

    [mail] = smtp_server.mails()
    [delivery] = rows(run, models.Delivery)
    assert delivery.status == rules.SENT and delivery.attempts == 1 and delivery.sent_at is not None
    assert mail["Message-ID"] == delivery.message_id
    assert mail["In-Reply-To"] == "<c1@example.net>"
    assert mail["References"] == "<ticket-42@example.com> <c1@example.net>"
    assert mail["Subject"] == "Re: [#42] 包裹破损" and mail["To"] == "kehu@example.net"
    assert "客服中心" in str(mail["From"]) and "support@example.com" in str(mail["From"])
    assert addresses.ticket_of(str(mail["Reply-To"]), SECRET) == 42
    assert mail["Content-Language"] == "zh-CN" and mail["Auto-Submitted"] == "no"
    assert "运单号 SF1234567890" in mail.get_body(("plain",)).get_content()
    # our Message-ID is in the ticket's thread: the customer's answer to it joins the ticket
    out = rows(run, models.ThreadMessage, models.ThreadMessage.direction == "out")
    assert [(row.message_id, row.ticket_id) for row in out] == [(delivery.message_id.strip("<>"), 42)]
    assert ("get_ticket", 42) in ticketing.calls  # the address only through ticketing (its audit records it)


def test_the_next_mail_answers_our_last_one_and_keeps_the_chain(run, ticketing, config, mailbox, smtp_server):
    ticketing.ticket(42)
    customer_wrote(run, 42, "c1@example.net", mailbox)
    ticketing.message(42, 7, "first answer")
    ticketing.message(42, 8, "second answer")
    run(outbound.reply, ticket_event("ticket.replied", 42, message_id=7, author="ann"), ticketing, config)
    run(outbound.reply, ticket_event("ticket.replied", 42, message_id=8, author="ann"), ticketing, config)
    run(outbound.send_due, ticketing, config, at=T0)
    first, second = smtp_server.mails()
    assert second["In-Reply-To"] == first["Message-ID"]
    assert second["References"] == f"<ticket-42@example.com> <c1@example.net> {first['Message-ID']}"


def test_a_reply_with_files_carries_them_and_waits_for_one_not_in_the_store(run, ticketing, config, smtp_server,
                                                                            tmp_path):
    from io import BytesIO

    from plumbing.blobs import BlobStore

    store = BlobStore(tmp_path / "blobs")
    photo = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) + b"\xff\xd9"
    stored = store.put(BytesIO(photo), 1 << 20)
    config = dict(config, BLOB_DIR=str(store.root))
    ticketing.ticket(42)
    ticketing.message(42, 7, "照片见附件。")
    ticketing.messages[42][-1]["attachments"] = [
        {"id": 1, "filename": "包裹.jpg", "content_type": "image/jpeg", "size": len(photo), "sha256": stored.sha256,
         "url": "/api/v1/tickets/42/attachments/1"}]
    ticketing.message(42, 8, "还有一张。")
    ticketing.messages[42][-1]["attachments"] = [
        {"id": 2, "filename": "gone.png", "content_type": "image/png", "size": 10, "sha256": "0" * 64, "url": ""}]
    run(outbound.reply, ticket_event("ticket.replied", 42, message_id=7), ticketing, config)
    run(outbound.reply, ticket_event("ticket.replied", 42, message_id=8), ticketing, config)
    run(outbound.send_due, ticketing, config, at=T0)

    [mail] = smtp_server.mails()
    assert mail.get_content_type() == "multipart/mixed"
    assert "照片见附件。" in mail.get_body(("plain",)).get_content()
    [photo_part] = list(mail.iter_attachments())
    assert (photo_part.get_content_type(), photo_part.get_filename(), photo_part.get_content()) == \
        ("image/jpeg", "包裹.jpg", photo)
    waiting = rows(run, models.Delivery)[1]  # its file is not in the store (yet): tried again later, not sent bare
    assert waiting.status == rules.QUEUED and "no blob" in waiting.last_error


def test_a_customer_without_a_mail_address_gets_no_mail(run, ticketing, config, smtp_server):
    ticketing.ticket(5, contact="+86 138 0013 8000")
    ticketing.message(5, 1, "answer")
    assert run(outbound.reply, ticket_event("ticket.replied", 5, message_id=1, author="ann"), ticketing, config) is None
    assert rows(run, models.Delivery) == []


def test_smtp_down_for_a_while_retries_and_sends_once_with_the_same_message_id(run, ticketing, config, smtp_server):
    ticketing.ticket(42)
    ticketing.message(42, 7, "answer")
    run(outbound.reply, ticket_event("ticket.replied", 42, message_id=7, author="ann"), ticketing, config)
    smtp_server.stop()
    run(outbound.send_due, ticketing, config, at=T0)
    [delivery] = rows(run, models.Delivery)
    assert (delivery.status, delivery.attempts) == (rules.QUEUED, 1)
    assert "Connection" in delivery.last_error
    assert delivery.next_attempt_at == T0 + timedelta(seconds=10)  # the back-off, base 10 s
    assert run(outbound.send_due, ticketing, config, at=T0 + timedelta(seconds=5)) == 0  # not due yet

    smtp_server.start()
    run(outbound.send_due, ticketing, config, at=T0 + timedelta(seconds=10))
    run(outbound.send_due, ticketing, config, at=T0 + timedelta(hours=1))  # nothing left to send
    [mail] = smtp_server.mails()
    [sent] = rows(run, models.Delivery)
    assert (sent.status, sent.attempts, sent.last_error) == (rules.SENT, 2, None)
    assert mail["Message-ID"] == delivery.message_id


def test_a_crash_after_sending_sends_again_under_the_same_message_id(run, ticketing, config, smtp_server):
    ticketing.ticket(42)
    ticketing.message(42, 7, "answer")
    run(outbound.reply, ticket_event("ticket.replied", 42, message_id=7, author="ann"), ticketing, config)
    [claimed] = run(outbound.claim_due, T0)  # leased, sent, and the process died before recording it
    from channels.outbound.sending import Mailer, SmtpSettings
    with Mailer(SmtpSettings.of(config)) as mailer:
        assert outbound.attempt(claimed, mailer, ticketing, config).sent
    assert run(outbound.send_due, ticketing, config, at=T0 + timedelta(seconds=5)) == 0  # leased still
    run(outbound.send_due, ticketing, config, at=T0 + outbound.LEASE)
    first, again = smtp_server.mails()
    assert first["Message-ID"] == again["Message-ID"] == claimed.message_id
    [delivery] = rows(run, models.Delivery)
    assert (delivery.status, delivery.attempts) == (rules.SENT, 2)


def test_a_killed_senders_lease_runs_out_within_three_smtp_timeouts(run, ticketing, config, smtp_server):
    """Found by tests/faults: a sender killed holding a batch left its mail for five minutes."""
    from channels.outbound.sending import SmtpSettings
    lease = outbound.lease_for(SmtpSettings.of(config))  # the SMTP timeout here is 2 s
    assert lease == timedelta(seconds=11) and outbound.lease_for(SmtpSettings()) < timedelta(minutes=1)
    ticketing.ticket(42)
    ticketing.message(42, 7, "answer")
    run(outbound.reply, ticket_event("ticket.replied", 42, message_id=7, author="ann"), ticketing, config)
    run(outbound.claim_due, T0, lease)  # and the process is killed
    assert run(outbound.send_due, ticketing, config, at=T0 + lease - timedelta(seconds=1)) == 0
    assert run(outbound.send_due, ticketing, config, at=T0 + lease) == 1
    [mail] = smtp_server.mails()
    [delivery] = rows(run, models.Delivery)
    assert (delivery.status, delivery.attempts, mail["Message-ID"]) == (rules.SENT, 2, delivery.message_id)


def test_a_batch_renews_the_lease_of_the_mail_it_has_not_sent_yet(run, ticketing, config, smtp_server):
    ticketing.ticket(42)
    ticketing.message(42, 7, "answer")
    ticketing.message(42, 8, "more")
    for message_id in (7, 8):
        run(outbound.reply, ticket_event("ticket.replied", 42, message_id=message_id, author="ann"), ticketing,
            config)
    lease = timedelta(seconds=11)
    first, second = run(outbound.claim_due, T0, lease)
    renewed_at = T0 + timedelta(seconds=6)  # half the lease gone while the first was sent
    assert run(outbound.renew_leases, [second], renewed_at, lease) == {second.id}
    # the first's lease ran out: another sender took it, so it is no longer this one's to renew
    [taken] = run(outbound.claim_due, T0 + lease, lease)
    assert taken.id == first.id
    assert run(outbound.renew_leases, [first], T0 + lease, lease) == set()
    assert run(outbound.claim_due, renewed_at + lease - timedelta(seconds=1), lease) == []  # the second still leased
    [again] = run(outbound.claim_due, renewed_at + lease, lease)
    assert again.id == second.id


def test_the_sender_renews_its_batchs_lease_as_it_goes(run, ticketing, config, smtp_server, monkeypatch):
    ticketing.ticket(42)
    for message_id in (7, 8, 9):
        ticketing.message(42, message_id, f"answer {message_id}")
        run(outbound.reply, ticket_event("ticket.replied", 42, message_id=message_id, author="ann"), ticketing,
            config)
    clock = iter([T0 + timedelta(seconds=step * 4) for step in range(100)])  # each mail takes 4 s
    renewed = []
    real_renew = outbound.renew_leases
    monkeypatch.setattr(outbound, "renew_leases",
                        lambda uow, deliveries, at, lease: renewed.append(([d.id for d in deliveries], at))
                        or real_renew(uow, deliveries, at, lease))
    run(lambda uow: (setattr(uow, "now", lambda: next(clock)), outbound.send_due(uow, ticketing, config))[1])
    assert [ids for ids, _ in renewed] and all(len(ids) < 3 for ids, _ in renewed)
    assert [delivery.status for delivery in rows(run, models.Delivery)] == [rules.SENT] * 3
    assert len(smtp_server.mails()) == 3


def refusing(times, monkeypatch):
    """``outbound.record_outcomes`` refused by the database ``times`` times, then recording."""
    from sqlalchemy.exc import OperationalError
    real, refused = outbound.record_outcomes, []

    def record(*args):
        if len(refused) < times:
            refused.append([delivery.id for delivery, _ in args[1]])
            raise OperationalError("UPDATE deliveries", {}, Exception("database is not accepting connections"))
        return real(*args)
    monkeypatch.setattr(outbound, "record_outcomes", record)
    monkeypatch.setattr(outbound, "RECORD_RETRY_SECONDS", 0.01)
    return refused


def test_a_database_refusing_the_record_of_a_sent_mail_is_asked_again(run, ticketing, config, smtp_server,
                                                                       monkeypatch):
    """Found by tests/faults: the record refused, the lease ran out and the mail went out twice."""
    ticketing.ticket(42)
    ticketing.message(42, 7, "answer")
    run(outbound.reply, ticket_event("ticket.replied", 42, message_id=7, author="ann"), ticketing, config)
    refused = refusing(3, monkeypatch)
    assert run(outbound.send_due, ticketing, config, at=T0) == 1
    [delivery] = rows(run, models.Delivery)
    assert len(refused) == 3 and (delivery.status, delivery.attempts) == (rules.SENT, 1)
    assert run(outbound.send_due, ticketing, config, at=T0 + timedelta(hours=1)) == 0
    assert [mail["Message-ID"] for mail in smtp_server.mails()] == [delivery.message_id]


def test_a_record_refused_until_the_lease_ends_is_given_up(run, ticketing, config, smtp_server, monkeypatch):
    from sqlalchemy.exc import OperationalError
    ticketing.ticket(42)
    ticketing.message(42, 7, "answer")
    run(outbound.reply, ticket_event("ticket.replied", 42, message_id=7, author="ann"), ticketing, config)
    refused = refusing(10**6, monkeypatch)
    [claimed] = run(outbound.claim_due, T0, timedelta(seconds=11))
    started = time.monotonic()
    with pytest.raises(OperationalError):
        run(outbound.record_within_lease, [(claimed, outbound.Outcome(True))], 10, time.monotonic() + 1.5)
    assert time.monotonic() - started < 1.5 and len(refused) > 1
    [delivery] = rows(run, models.Delivery)
    assert delivery.status == rules.QUEUED  # its lease runs out, and the mail goes again


def test_failure_after_the_last_retry_shows_failed_with_the_reason(run, ticketing, config, smtp_server):
    ticketing.ticket(42)
    ticketing.message(42, 7, "answer")
    run(outbound.reply, ticket_event("ticket.replied", 42, message_id=7, author="ann"), ticketing, config)
    smtp_server.stop()
    at = T0
    for _ in range(rules.MAX_ATTEMPTS):
        run(outbound.send_due, ticketing, config, at=at)
        at += timedelta(days=1)
    [delivery] = rows(run, models.Delivery)
    assert (delivery.status, delivery.attempts) == (rules.FAILED, rules.MAX_ATTEMPTS)
    assert "ConnectionRefusedError" in delivery.last_error and delivery.failed_at is not None
    assert delivery.next_attempt_at is None
    assert run(outbound.send_due, ticketing, config, at=at) == 0


def test_a_refused_recipient_fails_at_once(run, ticketing, config, smtp_server):
    ticketing.ticket(42, contact="reject-me@example.net")
    ticketing.message(42, 7, "answer")
    run(outbound.reply, ticket_event("ticket.replied", 42, message_id=7, author="ann"), ticketing, config)
    run(outbound.send_due, ticketing, config, at=T0)
    [delivery] = rows(run, models.Delivery)
    assert (delivery.status, delivery.attempts) == (rules.FAILED, 1)
    assert delivery.last_error.startswith("550")
    assert smtp_server.mails() == []


def test_the_survey_carries_the_latest_one_time_link(run, ticketing, config, smtp_server):
    ticketing.ticket(42)
    run(outbound.survey, ticket_event("ticket.resolved", 42, first_contact_resolution=True, reopen_count=0,
                                      transfer_count=0), ticketing, config)
    ticketing.issue_rating_link(42)  # the customer's side asked for one meanwhile: it ends at the mail's
    run(outbound.send_due, ticketing, config, at=T0)
    [mail] = smtp_server.mails()
    assert "https://support.example.com/rate/token-2" in mail.get_body(("plain",)).get_content()
    assert 'href="https://support.example.com/rate/token-2"' in mail.get_body(("html",)).get_content()
    assert mail["Auto-Submitted"] == "auto-generated"


def test_a_survey_for_a_rated_resolution_fails_without_retrying(run, ticketing, config, smtp_server):
    ticketing.ticket(42)
    ticketing.rated.add(42)
    run(outbound.survey, ticket_event("ticket.resolved", 42), ticketing, config)
    run(outbound.send_due, ticketing, config, at=T0)
    [delivery] = rows(run, models.Delivery)
    assert delivery.status == rules.FAILED and "rated already" in delivery.last_error


@pytest.mark.parametrize("reply_first", [True, False])
def test_a_suggestion_decision_is_one_mail_whichever_event_comes_first(run, ticketing, config, smtp_server,
                                                                      reply_first):
    ticketing.ticket(9, subject="晚间配送")
    ticketing.message(9, 2, "We passed it to logistics.", at=T0 - timedelta(hours=1))
    # ticketing records the event, then writes the reply, in one transaction: a moment after the event's time
    ticketing.message(9, 3, "Thank you for your suggestion: it has been adopted. From May.",
                      at=T0 + timedelta(milliseconds=3))
    replied = ticket_event("ticket.replied", 9, message_id=3, author="ann", kind="suggestion",
                           at=T0 + timedelta(milliseconds=3))
    decided = ticket_event("suggestion.decided", 9, department="logistics", adopted=True, kind="suggestion")
    handlers = [(outbound.reply, replied), (outbound.suggestion_decision, decided)]
    for handler, given in handlers if reply_first else handlers[::-1]:
        run(handler, given, ticketing, config)
        run(outbound.send_due, ticketing, config, at=T0)  # the sender's tick between the two: the reply is held
    [mail] = smtp_server.mails()
    assert "已被采纳" in mail["Subject"] and "From May." in mail.get_body(("plain",)).get_content()


def test_the_complaint_result_says_reopened_on_an_unsatisfied_verdict(run, ticketing, config, smtp_server):
    ticketing.ticket(42)
    run(outbound.complaint_result, ticket_event("complaint.verdict_given", 42, satisfied=False,
                                                unsatisfied_verdicts=1), ticketing, config)
    run(outbound.send_due, ticketing, config, at=T0)
    [mail] = smtp_server.mails()
    assert "已重新处理" in mail["Subject"]


def test_an_english_mail_is_acknowledged_in_english_and_answered_in_english(run, ticketing, config, mailbox,
                                                                          smtp_server):
    ticketing.ticket(43, subject="Damaged parcel")
    mail_id = customer_wrote(run, 43, "c2@example.net", mailbox, subject="Damaged parcel",
                             text="Hello, my parcel arrived crushed. Please send a new one.")
    run(outbound.mail_received, mail_received(mail_id, mailbox, 43), ticketing, config)
    ticketing.message(43, 1, "We sent a new one.")
    run(outbound.reply, ticket_event("ticket.replied", 43, message_id=1, author="ann"), ticketing, config)
    run(outbound.send_due, ticketing, config, at=T0)
    acknowledgement, answer = smtp_server.mails()
    assert acknowledgement["Subject"] == "[#43] We received your message: Damaged parcel"
    assert acknowledgement["Auto-Submitted"] == "auto-replied"
    assert acknowledgement["In-Reply-To"] == "<c2@example.net>"
    assert answer["Content-Language"] == "en" and "Customer Service" in answer.get_body(("plain",)).get_content()


def test_the_language_mail_in_read_wins_over_the_mails_words(run, ticketing, config, mailbox, smtp_server):
    ticketing.ticket(45)
    mail_id = customer_wrote(run, 45, "c4@example.net", mailbox, text="请尽快处理")
    received = mail_received(mail_id, mailbox, 45)
    received["data"] = dict(received["data"], customer_language="en")  # its Content-Language said so
    run(outbound.mail_received, received, ticketing, config)
    run(outbound.send_due, ticketing, config)
    [acknowledgement] = smtp_server.mails()
    assert acknowledgement["Content-Language"] == "en"


def test_a_mailbox_that_does_not_acknowledge_sends_none(run, ticketing, config, mailbox, smtp_server):
    ticketing.ticket(44)
    mail_id = customer_wrote(run, 44, "c3@example.net", mailbox)
    received = dict(mail_received(mail_id, mailbox, 44))
    received["data"] = dict(received["data"], acknowledge=False)
    run(outbound.mail_received, received, ticketing, config)
    assert rows(run, models.Delivery) == [] and ("get_ticket", 44) not in ticketing.calls
    [thread] = rows(run, models.TicketThread)
    assert (thread.ticket_id, thread.mailbox_id, thread.language) == (44, mailbox, "zh-CN")


def test_a_bounce_fails_its_delivery_and_is_noted_on_the_ticket_once(run, ticketing, config, smtp_server):
    ticketing.ticket(42)
    ticketing.message(42, 7, "answer")
    run(outbound.reply, ticket_event("ticket.replied", 42, message_id=7, author="ann"), ticketing, config)
    run(outbound.send_due, ticketing, config, at=T0)
    [delivery] = rows(run, models.Delivery)
    bounce = event("channels.bounce_received", {
        "bounce_id": 1, "mail_id": 2, "original_message_id": delivery.message_id.strip("<>"),
        "recipient": "kehu@example.net", "status": "5.1.1", "diagnostic": "user unknown", "ticket_id": 42},
        source="channels")
    assert run(outbound.bounce_received, bounce) == delivery.id
    run(outbound.send_due, ticketing, config, at=T0 + timedelta(minutes=1))
    run(outbound.send_due, ticketing, config, at=T0 + timedelta(minutes=2))
    [bounced] = rows(run, models.Delivery)
    assert bounced.status == rules.FAILED and bounced.last_error == "bounced: 5.1.1 user unknown"
    [(ticket_id, note)] = ticketing.notes
    assert ticket_id == 42 and note["kind"] == "note" and "5.1.1 user unknown" in note["body"]
    assert "kehu@example.net" not in note["body"]
    listed = run(outbound.list_deliveries, 42)["items"]
    assert listed[0]["recipient"] != "kehu@example.net" and listed[0]["bounced_at"] is not None


# -- to staff -----------------------------------------------------------------------------------
def prefer(run, username, **data):
    from plumbing.unit_of_work import Unit  # noqa: F401 - the caller is who sets their own

    def set_(uow):
        uow.caller.actor = username
        return outbound.set_preferences(uow, data)
    return run(set_)


def test_the_new_owner_hears_of_an_assignment_unless_switched_off(run, ticketing, config, smtp_server):
    ticketing.ticket(42)
    prefer(run, "bob", email="bob@staff.example.com", language="en")
    prefer(run, "amy", email="amy@staff.example.com", kinds={"assignment": False})
    run(outbound.assignment, ticket_event("ticket.assigned", 42, assignee="bob", actor="sue",
                                          previous_assignee=None, transfer_count=0), ticketing, config)
    run(outbound.assignment, ticket_event("ticket.transferred", 42, assignee="amy", actor="sue",
                                          previous_assignee="bob", transfer_count=1), ticketing, config)
    run(outbound.assignment, ticket_event("ticket.assigned", 42, assignee="bob", actor="bob",
                                          previous_assignee=None, transfer_count=0), ticketing, config)
    run(outbound.send_due, ticketing, config, at=T0)
    [mail] = smtp_server.mails()
    assert mail["To"] == "bob@staff.example.com" and mail["Subject"] == "[#42] Assigned to you: 包裹破损"
    assert "https://console.example.com/tickets/42" in mail.get_body(("plain",)).get_content()
    assert ("get_ticket", 42) not in ticketing.calls  # a notice reads no customer data


def test_sla_notices_reach_the_owner_and_the_teams_supervisors(run, ticketing, config, smtp_server):
    ticketing.ticket(42)
    for username, roles, teams in (("sue", ["supervisor"], ["billing"]), ("sam", ["supervisor"], ["tech"]),
                                   ("ann", ["agent"], ["billing"])):
        run(outbound.learn_staff, event("staff.account_created", dict(username=username, roles=roles, teams=teams,
                                                                      skills=[], capacity=5, on_duty=True,
                                                                      active=True), source="gateway"))
        prefer(run, username, email=f"{username}@staff.example.com")
    prefer(run, "ann", kinds={"sla_warning": False})
    due = (T0 + timedelta(hours=1)).isoformat()
    run(outbound.sla_warning, ticket_event("sla.warning", 42, clock="first_response", due_at=due,
                                           target_seconds=3600, owner="ann"), ticketing, config)
    run(outbound.sla_breach, ticket_event("sla.breached", 42, clock="first_response", due_at=due,
                                          target_seconds=3600, owner="ann"), ticketing, config)
    run(outbound.send_due, ticketing, config, at=T0)
    sent = sorted((str(mail["To"]), str(mail["Subject"])) for mail in smtp_server.mails())
    assert sent == sorted([("ann@staff.example.com", "[#42] SLA 已超时：包裹破损"),
                           ("sue@staff.example.com", "[#42] SLA 已超时：包裹破损"),
                           ("sue@staff.example.com", "[#42] SLA 即将超时：包裹破损")])


def test_opinion_alerts_of_level_two_and_one_reach_the_on_call_list(run, ticketing, config, smtp_server):
    def as_admin(uow):
        uow.caller.actor = "admin"
        return outbound.set_on_call(uow, {"usernames": ["otto", "olga", "otto"]})
    assert run(as_admin) == {"usernames": ["olga", "otto"]}
    prefer(run, "otto", email="otto@staff.example.com")
    prefer(run, "nina", email="nina@staff.example.com")  # not on call
    alert = {"alert_id": 7, "key": "cluster/1", "kind": "cluster", "level": "III", "summary": "外卖包装破损",
             "topics": ["外卖"], "cluster_size": 12, "opens_ticket": False}
    run(outbound.opinion_alert, event("opinion.alert_raised", alert, source="monitoring"), config)
    run(outbound.opinion_alert, event("opinion.alert_updated", dict(alert, level="II", change="escalated",
                                                                    from_level="III"), source="monitoring"), config)
    run(outbound.send_due, ticketing, config, at=T0)
    [mail] = smtp_server.mails()  # olga gave no address; level III is not mailed
    assert mail["To"] == "otto@staff.example.com" and mail["Subject"] == "[舆情 II 级] 预警升级：外卖包装破损"


def test_notification_settings_are_the_callers_own(run):
    def get(uow):
        uow.caller.actor = "nobody-yet"
        return outbound.get_preferences(uow)
    assert run(get) == {"username": "nobody-yet", "email": None, "language": "zh-CN", "updated_at": None,
                        "kinds": dict.fromkeys(rules.STAFF_KINDS, True)}
    saved = prefer(run, "bob", email="bob@staff.example.com", kinds={"sla_breach": False})
    assert saved["kinds"]["sla_breach"] is False and saved["kinds"]["assignment"] is True
    from plumbing.errors import InvalidInput
    with pytest.raises(InvalidInput) as refused:
        prefer(run, "bob", email="not an address")
    assert "email" in refused.value.details


def test_the_preview_renders_a_template_with_sample_data():
    preview = outbound.preview_template({"kind": "survey", "language": "en"})
    assert preview["subject"] == "[#42] How did we do?" and "rate/abc123" in preview["html"]
    assert outbound.preview_template({"kind": "sla_breach"})["language"] == "zh-CN"
    from plumbing.errors import InvalidInput
    with pytest.raises(InvalidInput) as refused:
        outbound.preview_template({"kind": "newsletter"})
    assert "kind" in refused.value.details


def test_a_tick_sends_every_due_mail_batch_after_batch(run, ticketing, config, smtp_server, monkeypatch):
    monkeypatch.setattr(outbound, "BATCH", 3)
    ticketing.ticket(42)
    for message_id in range(1, 8):
        ticketing.message(42, message_id, f"answer {message_id}")
        run(outbound.reply, ticket_event("ticket.replied", 42, message_id=message_id, author="ann"), ticketing, config)
    assert run(outbound.send_due, ticketing, config) == 7
    assert len(smtp_server.mails()) == 7
    assert {row.status for row in rows(run, models.Delivery)} == {rules.SENT}


def test_an_unreachable_server_is_tried_once_per_pass_and_every_due_mail_keeps_the_reason(
        run, ticketing, config, smtp_server, monkeypatch):
    from channels.outbound.sending import Mailer
    connects = []
    real_connect = Mailer.connect
    monkeypatch.setattr(Mailer, "connect", lambda self: connects.append(1) or real_connect(self))
    ticketing.ticket(42)
    for message_id in (1, 2, 3):
        ticketing.message(42, message_id, f"answer {message_id}")
        run(outbound.reply, ticket_event("ticket.replied", 42, message_id=message_id, author="ann"), ticketing, config)
    smtp_server.stop()
    assert run(outbound.send_due, ticketing, config) == 3
    assert len(connects) == 1  # not once per mail: a server that times out would hold the pass for each
    assert {(row.status, row.attempts) for row in rows(run, models.Delivery)} == {(rules.QUEUED, 1)}
    assert all("ConnectionRefusedError" in row.last_error for row in rows(run, models.Delivery))


def test_a_batch_goes_over_several_connections_kept_open_and_each_mail_once(run, ticketing, config, smtp_server,
                                                                          monkeypatch):
    from channels.outbound.sending import Mailer
    connects = []
    real_connect = Mailer.connect
    monkeypatch.setattr(Mailer, "connect", lambda self: connects.append(1) or real_connect(self))
    monkeypatch.setattr(outbound, "BATCH", 4)
    ticketing.ticket(42)
    for message_id in range(1, 11):
        ticketing.message(42, message_id, f"answer {message_id}")
        run(outbound.reply, ticket_event("ticket.replied", 42, message_id=message_id, author="ann"), ticketing, config)
    assert run(outbound.send_due, ticketing, dict(config, CHANNELS_SMTP_CONNECTIONS=3)) == 10
    assert len(connects) == 3  # three connections for the pass, kept from batch to batch
    mails = smtp_server.mails()
    deliveries = rows(run, models.Delivery)
    assert sorted(mail["Message-ID"] for mail in mails) == sorted(row.message_id for row in deliveries)
    assert {(row.status, row.attempts) for row in deliveries} == {(rules.SENT, 1)}


def test_a_batchs_outcomes_leave_alone_a_delivery_leased_again_since(run, ticketing, config, smtp_server):
    ticketing.ticket(42)
    for message_id in (1, 2):
        ticketing.message(42, message_id, f"answer {message_id}")
        run(outbound.reply, ticket_event("ticket.replied", 42, message_id=message_id, author="ann"), ticketing, config)
    first, _ = run(outbound.claim_due, T0)
    _, second = run(outbound.claim_due, T0 + outbound.LEASE)  # the leases ran out: both leased again
    assert second.attempts == 2
    # a slow pass records its first lease of one beside the current lease of the other
    run(outbound.record_outcomes, [(first, outbound.Outcome(True)), (second, outbound.Outcome(True))], 10)
    stale, recorded = rows(run, models.Delivery)
    assert (stale.status, stale.attempts) == (rules.QUEUED, 2)  # the new lease's to record
    assert (recorded.status, recorded.sent_at is not None) == (rules.SENT, True)


def test_connections_past_the_servers_limit_leave_their_mails_to_the_others(run, ticketing, config, smtp_server,
                                                                             monkeypatch):
    import smtplib

    from channels.outbound.sending import Mailer
    opened = []
    real_connect = Mailer.connect

    def connect(self):  # a provider that takes two connections at a time
        opened.append(self)
        if len(opened) > 2:
            raise smtplib.SMTPConnectError(554, b"too many connections from your address")
        return real_connect(self)
    monkeypatch.setattr(Mailer, "connect", connect)
    monkeypatch.setattr(outbound, "BATCH", 4)
    ticketing.ticket(42)
    for message_id in range(1, 11):
        ticketing.message(42, message_id, f"answer {message_id}")
        run(outbound.reply, ticket_event("ticket.replied", 42, message_id=message_id, author="ann"), ticketing, config)
    assert run(outbound.send_due, ticketing, dict(config, CHANNELS_SMTP_CONNECTIONS=4)) == 10  # one pass
    # a refused one is tried once in the pass (not again at each batch) and charged to no mail
    assert len(opened) > 2 and len({id(mailer) for mailer in opened}) == len(opened)
    deliveries = rows(run, models.Delivery)
    assert {(row.status, row.attempts, row.last_error) for row in deliveries} == {(rules.SENT, 1, None)}
    assert sorted(mail["Message-ID"] for mail in smtp_server.mails()) == sorted(row.message_id for row in deliveries)


def test_a_batch_past_half_its_lease_records_what_went_and_skips_a_mail_another_sender_took(
        run, ticketing, config, smtp_server, monkeypatch):
    from sqlalchemy import update
    ticketing.ticket(42)
    for message_id in range(1, 6):
        ticketing.message(42, message_id, f"answer {message_id}")
        run(outbound.reply, ticket_event("ticket.replied", 42, message_id=message_id, author="ann"), ticketing, config)
    first, *_, last = rows(run, models.Delivery)
    clock = iter([T0 + timedelta(seconds=step * 4) for step in range(1000)])  # the lease here is 11 s
    records = []
    real_record, real_attempt = outbound.record_outcomes, outbound.attempt
    monkeypatch.setattr(outbound, "record_outcomes", lambda uow, attempts, base: records.append(
        sorted(delivery.id for delivery, _ in attempts)) or real_record(uow, attempts, base))

    def attempt(delivery, mailer, ticketing, config):
        if delivery.id == first.id:  # meanwhile the last one's lease ran out and another sender took it
            def taken(uow):
                with uow.transaction():
                    uow.session.execute(update(models.Delivery).where(models.Delivery.id == last.id)
                                        .values(attempts=models.Delivery.attempts + 1))
            run(taken)
        return real_attempt(delivery, mailer, ticketing, config)
    monkeypatch.setattr(outbound, "attempt", attempt)
    run(lambda uow: (setattr(uow, "now", lambda: next(clock)),
                     outbound.send_due(uow, ticketing, dict(config, CHANNELS_SMTP_CONNECTIONS=2)))[1])
    assert records[0] == [first.id] and len(records) > 1  # the first recorded when the lease was renewed
    deliveries = rows(run, models.Delivery)
    assert [(row.status, row.attempts) for row in deliveries] == [(rules.SENT, 1)] * 4 + [(rules.QUEUED, 2)]
    assert sorted(mail["Message-ID"] for mail in smtp_server.mails()) == sorted(
        row.message_id for row in deliveries[:4])  # not the one the other sender has


def test_mentioned_staff_hear_of_the_note_without_its_text_unless_switched_off(run, ticketing, config, smtp_server):
    ticketing.ticket(42)
    prefer(run, "sue", email="sue@staff.example.com", language="en")
    prefer(run, "bob", email="bob@staff.example.com", kinds={"mention": False})
    run(outbound.mentioned, ticket_event("ticket.mentioned", 42, message_id=7, mentioned=["sue", "bob", "ann"]),
        ticketing, config)
    run(outbound.send_due, ticketing, config, at=T0)
    [mail] = smtp_server.mails()  # bob switched mentions off; ann wrote the note
    assert mail["To"] == "sue@staff.example.com" and mail["Subject"] == "[#42] ann mentioned you: 包裹破损"
    assert "https://console.example.com/tickets/42" in mail.get_body(("plain",)).get_content()
    assert ("get_ticket", 42) not in ticketing.calls


@pytest.mark.parametrize("before, after, told", [
    ("in_progress", "waiting_customer", True), ("in_progress", "resolved", True), ("resolved", "closed", True),
    ("resolved", "in_progress", True), ("closed", "new", True),   # reopened
    ("new", "assigned", False), ("assigned", "in_progress", False), ("waiting_customer", "in_progress", False),
])
def test_followers_hear_of_state_milestones_only(before, after, told):
    assert rules.followed_state_change(before, after) is told


def test_followers_hear_of_replies_and_new_owners_but_not_of_their_own_doing(run, ticketing, config, smtp_server):
    ticketing.ticket(42)
    ticketing.followers = {42: ["sue", "bob", "ann"]}
    ticketing.notified_followers = lambda ticket_id: ticketing.calls.append(
        ("notified_followers", ticket_id)) or ticketing.followers[ticket_id]
    for name in ("sue", "bob", "ann"):
        prefer(run, name, email=f"{name}@staff.example.com", language="en")
    prefer(run, "bob", kinds={"following": False})
    run(outbound.follower_news, ticket_event("ticket.replied", 42, message_id=3), ticketing, config, "reply")
    run(outbound.follower_news, ticket_event("ticket.status_changed", 42, state="in_progress", from_state="assigned"),
        ticketing, config, "state")
    run(outbound.follower_news, ticket_event("ticket.status_changed", 42, state="resolved", from_state="in_progress"),
        ticketing, config, "state")
    run(outbound.follower_news, ticket_event("ticket.transferred", 42, assignee="sue", actor="tim",
                                             previous_assignee="ann", transfer_count=1), ticketing, config,
        "assignment")
    run(outbound.send_due, ticketing, config, at=T0)
    assert sorted((mail["To"], mail["Subject"]) for mail in smtp_server.mails()) == [
        ("ann@staff.example.com", "[#42] New owner: 包裹破损"),  # ann did not make this change: tim did
        ("sue@staff.example.com", "[#42] New reply: 包裹破损"),
        ("sue@staff.example.com", "[#42] Now resolved: 包裹破损")]  # sue, the new owner, has the assignment's mail
    assert ticketing.calls.count(("notified_followers", 42)) == 3  # not for the move a reply made
