"""Mail in's handlers on SQLite, calling ticketing's own handlers on a database of its own:
a new mail opens a ticket, a reply joins it (and reopens it), the same mail twice is one,
loops open nothing, a bounce is recorded and published, the sender limit, a crash between
the two steps neither loses nor doubles, attachments go to the blob store."""
import base64
import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from channels import models
from channels.inbound import handlers as inbound
from channels.inbound import rules
from channels.mailboxes import handlers as mailboxes
from plumbing.errors import NotFound, Unavailable

MAIL = Path(__file__).parent.parent / "mail"
SECRET = "test-reply-secret-of-at-least-32-bytes!"


def mail(sender="wang.fang@example.net", subject="Parcel damaged", body="The cup is broken.", message_id="m1@x",
         to="support@shop.example.com", extra=""):
    return (f"From: Wang Fang <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n{extra}"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


@pytest.fixture
def settings(tmp_path):
    return inbound.Settings({"CHANNELS_REPLY_SECRET": SECRET, "SENDER_LIMIT_PER_HOUR": 5,
                             "BLOB_DIR": str(tmp_path / "blobs")})


@pytest.fixture
def mailbox(run):
    return run(mailboxes.create_mailbox, {"address": "support@shop.example.com", "team": "billing",
                                          "kind": "complaint", "priority": "high"})


@pytest.fixture
def take(run, ticketing, settings, mailbox):
    def take(raw, calls=None):
        return run(inbound.take_mail, calls or ticketing, settings, mailbox["id"], raw)
    return take


def outbox(run):
    with run.sessions() as session:
        return [json.loads(envelope) for envelope in session.scalars(
            select(models.outbox.c.envelope).order_by(models.outbox.c.created_at))]


def test_a_new_mail_opens_a_ticket_from_its_mailbox_and_the_same_mail_again_is_one(take, ticketing, run):
    first = take((MAIL / "multipart_alternative.eml").read_bytes())
    assert (first["outcome"], first["duplicate"], first["threaded_by"]) == ("opened", False, None)
    ticket = ticketing.get_ticket(first["ticket_id"])
    assert (ticket["subject"], ticket["channel"], ticket["kind"], ticket["priority"], ticket["team"]) == \
        ("包裹破损，要求退款", "email", "complaint", "high", "billing")
    assert ticket["customer"]["contact"] == "wang.fang@example.net" and ticket["customer"]["name"] == "王芳"
    assert ticket["description"].startswith("您好：") and ticket["description"].endswith("王芳")
    again = take((MAIL / "multipart_alternative.eml").read_bytes())
    assert (again["id"], again["duplicate"]) == (first["id"], True)
    assert ticketing.calls == ["create_tickets", "get_ticket"]
    [event] = outbox(run)
    assert (event["type"], event["subject"]) == ("channels.mail_received", f"mail/{first['id']}")
    assert event["data"] == {"mail_id": first["id"], "mailbox_id": first["mailbox_id"],
                             "message_id": "CAF=first-mail-001@mail.example.net", "ticket_id": first["ticket_id"],
                             "opened": True, "acknowledge": True, "language": "zh-CN", "customer_language": "zh-CN"}


def test_a_reply_joins_its_ticket_by_references_with_the_quote_stripped_and_reopens_it(take, ticketing):
    first = take(mail())
    ticketing.set_state(first["ticket_id"], "resolved")
    reply = take(mail(subject="Re: Parcel damaged", message_id="m2@x", extra="In-Reply-To: <m1@x>\r\n",
                      body="Still broken.\r\n\r\nOn Mon, Dec 7, 2026 at 10:02 AM Support <s@x> wrote:\r\n> old"))
    assert (reply["outcome"], reply["ticket_id"], reply["threaded_by"]) == ("replied", first["ticket_id"], "references")
    messages = ticketing.list_messages(first["ticket_id"])["items"]
    assert [(m["kind"], m["body"]) for m in messages][-1] == ("customer", "Still broken.")
    assert ticketing.get_ticket(first["ticket_id"])["state"] == "new"  # reopened, nobody owns it


def test_a_reply_to_a_signed_reply_address_joins_its_ticket(take, ticketing):
    first = take(mail())
    address = f"support+t{first['ticket_id']}.{rules.reply_mac(first['ticket_id'], SECRET)}@shop.example.com"
    reply = take(mail(subject="no token, no headers", message_id="m2@x", to=address))
    assert (reply["outcome"], reply["ticket_id"], reply["threaded_by"]) == \
        ("replied", first["ticket_id"], "reply_address")
    forged = take(mail(message_id="m3@x", to=f"support+t{first['ticket_id']}.0000000000000000@shop.example.com"))
    assert forged["outcome"] == "opened" and forged["ticket_id"] != first["ticket_id"]


def test_the_same_subject_alone_opens_another_ticket_and_a_token_of_no_ticket_opens_one(take):
    first = take(mail())
    same_subject = take(mail(message_id="m2@x"))
    assert same_subject["outcome"] == "opened" and same_subject["ticket_id"] != first["ticket_id"]
    token = take(mail(subject=f"Re: [#{first['ticket_id']}] Parcel damaged", message_id="m3@x"))
    assert (token["ticket_id"], token["threaded_by"]) == (first["ticket_id"], "subject_token")
    stranger = take(mail(sender="stranger@example.org", subject=f"[#{first['ticket_id']}] hello", message_id="m5@x"))
    assert stranger["outcome"] == "opened" and stranger["ticket_id"] != first["ticket_id"]
    nowhere = take(mail(subject="Re: [#99999] Parcel", message_id="m4@x"))
    assert nowhere["outcome"] == "opened" and nowhere["ticket_id"] not in (first["ticket_id"], 99999)


def test_auto_replies_and_bulk_mail_open_nothing(take, ticketing):
    for name, outcome in (("auto_reply.eml", "auto_reply"), ("bulk.eml", "bulk")):
        taken = take((MAIL / name).read_bytes())
        assert (taken["outcome"], taken["ticket_id"]) == (outcome, None)
    assert ticketing.calls == []


def test_a_bounce_is_recorded_against_the_mail_of_ours_it_names_and_published(take, ticketing, run):
    with run.sessions() as session, session.begin():
        from plumbing.unit_of_work import Unit
        inbound.remember_message_id(Unit.on_session(session), "<t99.deadbeef@shop.example.com>", 99, "out")
    taken = take((MAIL / "dsn_bounce.eml").read_bytes())
    assert (taken["outcome"], taken["ticket_id"]) == ("bounce", 99)
    assert ticketing.calls == []
    with run.sessions() as session:
        bounce = session.scalars(select(models.Bounce)).one()
    assert (bounce.original_message_id, bounce.recipient, bounce.status, bounce.ticket_id) == \
        ("t99.deadbeef@shop.example.com", "nobody@gone.example", "5.1.1", 99)
    [event] = outbox(run)
    assert event["type"] == "channels.bounce_received"
    assert event["data"]["original_message_id"] == "t99.deadbeef@shop.example.com"
    assert event["data"]["ticket_id"] == 99


def test_one_sender_s_mail_beyond_the_hourly_limit_opens_nothing(take, ticketing):
    outcomes = [take(mail(message_id=f"m{n}@x"))["outcome"] for n in range(7)]
    assert outcomes == ["opened"] * 5 + ["rate_limited"] * 2
    assert take(mail(sender="someone.else@example.net", message_id="other@x"))["outcome"] == "opened"


class CrashAfter:
    """Ticketing that does the call, then the worker dies before it hears back."""

    def __init__(self, ticketing, method):
        self.ticketing, self.method = ticketing, method

    def __getattr__(self, name):
        real = getattr(self.ticketing, name)
        if name != self.method:
            return real

        def crash(*args):
            real(*args)
            raise Unavailable("the worker died")
        return crash


def test_a_crash_after_ticketing_acted_neither_loses_nor_doubles(take, ticketing):
    with pytest.raises(Unavailable):
        take(mail(), calls=CrashAfter(ticketing, "create_tickets"))
    opened = take(mail())  # fetched again: the ticket the first try opened, no second one
    assert opened["outcome"] == "opened"
    with pytest.raises(Unavailable):
        take(mail(message_id="m2@x", extra="In-Reply-To: <m1@x>\r\n", body="More."),
             calls=CrashAfter(ticketing, "add_message"))
    replied = take(mail(message_id="m2@x", extra="In-Reply-To: <m1@x>\r\n", body="More."))
    assert (replied["outcome"], replied["ticket_id"]) == ("replied", opened["ticket_id"])
    bodies = [m["body"] for m in ticketing.list_messages(opened["ticket_id"])["items"] if m["kind"] == "customer"]
    assert bodies.count("More.") == 1
    with pytest.raises(NotFound):
        ticketing.get_ticket(opened["ticket_id"] + 1)


def test_attachments_go_to_the_blob_store_and_reach_the_ticket_by_reference(take, ticketing, settings):
    taken = take((MAIL / "with_attachment.eml").read_bytes())
    [attachment] = ticketing.get_ticket(taken["ticket_id"])["attachments"]
    assert (attachment["filename"], attachment["content_type"], attachment["size"]) == ("破损照片.png", "image/png", 70)
    assert settings.blobs.exists(attachment["sha256"])


def test_the_log_lists_what_came_and_what_became_of_it(take, run):
    take(mail())
    take((MAIL / "bulk.eml").read_bytes())
    page = run(inbound.list_inbound, {"outcome": "bulk"})
    assert page["total"] == 1 and page["items"][0]["sender"] == "deals@marketing.example"


class FakeImap:
    """An IMAP server's answers to the poller: a folder of ``mails`` ({uid: raw})."""

    def __init__(self, mails):
        self.mails = mails

    def __call__(self, host, port, ssl, timeout):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        pass

    def login(self, user, password):
        pass

    def select_folder(self, folder, readonly):
        return {b"UIDVALIDITY": 7}

    def search(self, criteria):
        first = int(criteria[1].split(":")[0])
        return [uid for uid in self.mails if uid >= first]

    def fetch(self, uids, parts):
        return {uid: {b"BODY[]": self.mails[uid]} for uid in uids}


def test_a_mail_another_worker_is_taking_stops_the_poll_before_its_uid(run, ticketing, settings, monkeypatch):
    """Found checking the faults run: a poller that met a mail another replica had logged (pending)
    saved its UID; that replica killed, the mail never became a ticket."""
    from channels.inbound import imap
    monkeypatch.setenv("FAULTS_TEST_IMAP_PASSWORD", "secret")
    box = run(mailboxes.create_mailbox, {"address": "support@shop.example.com", "imap_host": "imap.example.com",
                                         "imap_user": "support", "imap_password_secret": "FAULTS_TEST_IMAP_PASSWORD"})
    server = FakeImap({1: mail(message_id="one@x", sender="a@example.net"),
                       2: mail(message_id="two@x", sender="b@example.net"),
                       3: mail(message_id="three@x", sender="c@example.net")})
    real_log_mail = inbound.log_mail

    def logged_meanwhile_by_another(uow, mailbox, parsed, raw, imap_uid, settings):
        if parsed.message_id == "two@x":  # the other replica logs it first, and is killed before its ticket
            with run.sessions() as session, session.begin():
                session.add(models.InboundMail(
                    mailbox_id=mailbox.id, message_id="two@x", sender="b@example.net", subject="Parcel damaged",
                    text="The cup is broken.", outcome=inbound.PENDING, reason="", imap_uid=imap_uid, size=raw.size,
                    raw_sha256=raw.sha256, received_at=uow.now()))
        return real_log_mail(uow, mailbox, parsed, raw, imap_uid, settings)
    monkeypatch.setattr(inbound, "log_mail", logged_meanwhile_by_another)

    assert run(imap.poll_mailbox, ticketing, settings, box["id"], server) == 2
    assert run(mailboxes.get_mailbox, box["id"])["last_uid"] == 1  # not past the mail still pending
    monkeypatch.setattr(inbound, "log_mail", real_log_mail)
    assert run(imap.poll_mailbox, ticketing, settings, box["id"], server) == 2  # two@x finished, three@x
    assert run(mailboxes.get_mailbox, box["id"])["last_uid"] == 3
    taken = {row.message_id: row for row in run(lambda uow: uow.session.scalars(select(models.InboundMail)).all())}
    assert {key: row.outcome for key, row in taken.items()} == {"one@x": "opened", "two@x": "opened",
                                                                "three@x": "opened"}
    assert len({row.ticket_id for row in taken.values()}) == 3


def test_every_mail_taken_counts_once_by_its_outcome_and_the_dashboard_reads_that_counter(take):
    from prometheus_client import REGISTRY

    from channels.contract import INBOUND_OUTCOMES

    def count(outcome):
        return REGISTRY.get_sample_value("csops_channels_mails_received_total", {"outcome": outcome})
    assert all(count(outcome) is not None for outcome in INBOUND_OUTCOMES)  # every series there before any mail
    before = {outcome: count(outcome) for outcome in INBOUND_OUTCOMES}
    take(mail(message_id="count-1@x"))
    take(mail(message_id="count-1@x"))  # the same mail again: counted once
    take(mail(message_id="count-2@x", subject="Re: Parcel damaged", extra="In-Reply-To: <count-1@x>\r\n"))
    take((MAIL / "auto_reply.eml").read_bytes())
    counted = {outcome: count(outcome) - before[outcome] for outcome in INBOUND_OUTCOMES}
    assert {outcome: added for outcome, added in counted.items() if added} == {"opened": 1, "replied": 1, "auto_reply": 1}
    board = json.loads((Path(__file__).parents[4] / "deploy/grafana/dashboards/service-health.json").read_text())
    [panel] = [panel for panel in board["panels"] if panel["title"] == "Mail in: received by outcome"]
    assert "sum by (outcome) (rate(csops_channels_mails_received_total" in panel["targets"][0]["expr"]


def test_the_raw_mail_is_kept_in_the_blob_store_and_a_row_logged_before_reads_from_its_own_column(
        take, run, settings, mailbox):
    raw = mail(message_id="kept@x")
    taken = take(raw)
    row = run(lambda uow: uow.session.get(models.InboundMail, taken["id"]))
    assert (row.raw_sha256, row.size) == (hashlib.sha256(raw).hexdigest(), len(raw))
    assert run(lambda uow: uow.session.get(models.InboundMail, taken["id"]).raw) is None  # no bytes in the row
    with inbound.open_raw(settings, row) as stored:
        assert stored.read() == raw
    with run.sessions() as session, session.begin():  # as a row was logged before the migration
        session.add(models.InboundMail(mailbox_id=mailbox["id"], message_id="old@x", sender="a@example.net",
                                       subject="s", text="t", outcome="opened", reason="", size=3, raw=b"old",
                                       received_at=datetime(2026, 12, 1, tzinfo=timezone.utc)))

    def read_old(uow):
        old = uow.session.scalar(select(models.InboundMail).where(models.InboundMail.message_id == "old@x"))
        with inbound.open_raw(settings, old) as stored:
            return stored.read()
    assert run(read_old) == b"old"


def test_an_inline_image_becomes_an_attachment_the_ticket_s_html_shows(take, ticketing):
    taken = take((MAIL / "inline_image.eml").read_bytes())
    ticket = ticketing.get_ticket(taken["ticket_id"])
    [image] = ticket["attachments"]
    assert (image["filename"], image["content_type"]) == ("image001.png", "image/png")
    assert f'<img width="8" height="8" src="{image["url"]}" alt="torn label">' in ticket["description_html"]
    assert "cid:" not in ticket["description_html"] and "track.mailer.example" not in ticket["description_html"]


def test_a_large_attachment_is_decoded_into_the_blob_store_and_reaches_the_ticket(take, ticketing, settings):
    photo = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 1024
    raw = (b"From: Dana Lee <dana@customer.example.org>\r\nTo: support@shop.example.com\r\nSubject: Photo\r\n"
           b"Message-ID: <large@x>\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
           b"Content-Type: text/plain\r\n\r\nThe photo.\r\n--b\r\nContent-Type: image/png; name=\"p.png\"\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(photo) + b"--b--\r\n")
    taken = take(raw)
    [attachment] = ticketing.get_ticket(taken["ticket_id"])["attachments"]
    assert (attachment["filename"], attachment["size"], attachment["sha256"]) == \
        ("p.png", len(photo), hashlib.sha256(photo).hexdigest())
    with settings.blobs.open(attachment["sha256"]) as stored:
        assert stored.read() == photo
