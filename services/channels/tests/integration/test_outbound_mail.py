"""Mail out end to end within the backend: ticketing and channels on a real broker, each on its own
SQLite database, mailing a real SMTP server on loopback (aiosmtpd). SQLite only: nothing here
depends on the database (the handler tests run the same rules on every path)."""
from sqlalchemy import create_engine, select

from channels import models
from channels.service import ChannelsService
from plumbing.testing import call, call_as, wait_for
from ticketing.service import TicketingService

TICKET = {"subject": "Re: 包裹破损", "channel": "email", "kind": "complaint", "priority": "high",
          "customer": {"name": "王先生", "contact": "kehu@example.net"}, "assignee": None}


def test_a_public_reply_reaches_the_customer_threaded_and_survives_the_smtp_server_going_away(
        container_factory, service_config, migrated, tmp_path, smtp_server):
    ticketing = container_factory(TicketingService, dict(
        service_config, DATABASE_URL=migrated("ticketing", f"sqlite:///{tmp_path / 'ticketing.db'}")))
    channels_url = migrated("channels", f"sqlite:///{tmp_path / 'channels.db'}")
    channels = container_factory(ChannelsService, dict(
        service_config, **smtp_server.config(), DATABASE_URL=channels_url, CHANNELS_SEND_SECONDS=0.2,
        CHANNELS_RETRY_BASE_SECONDS=0.5, CHANNELS_FROM_ADDRESS="support@example.com",
        CHANNELS_REPLY_SECRET="integration-secret"))
    channels.start()
    ticketing.start()

    ticket = call_as("admin", ticketing, "create_ticket", TICKET, roles=["admin"])
    smtp_server.stop()  # down for a while
    reply = call_as("admin", ticketing, "add_message", ticket["id"], {"kind": "reply", "body": "新的包裹已寄出。"},
                    roles=["admin"])

    engine = create_engine(channels_url)

    def delivery():
        with engine.connect() as connection:
            return connection.execute(select(models.Delivery.__table__)).first()
    wait_for(lambda: delivery() is not None and delivery().attempts >= 1 and delivery().last_error, timeout=20,
             message="a first attempt against the stopped SMTP server")
    assert delivery().status == "queued"
    smtp_server.start()
    wait_for(lambda: delivery().status == "sent", timeout=20, message="the retry to get through")

    [mail] = smtp_server.mails()
    sent = delivery()
    assert sent.attempts >= 2 and sent.last_error is None
    assert mail["Message-ID"] == sent.message_id
    assert mail["References"] == f"<ticket-{ticket['id']}@example.com>"
    assert mail["In-Reply-To"] == f"<ticket-{ticket['id']}@example.com>"
    assert mail["Subject"] == f"Re: [#{ticket['id']}] 包裹破损" and mail["To"] == "kehu@example.net"
    assert str(mail["Reply-To"]).startswith(f"support+t{ticket['id']}.")
    assert "新的包裹已寄出。" in mail.get_body(("plain",)).get_content()
    assert reply["id"] > 0
    # the customer's address came through ticketing, which recorded the read as channels'
    audit = call(ticketing, "customer_data_access", {"ticket_id": ticket["id"]})["items"]
    assert "channels" in {entry["actor"] for entry in audit}
    deliveries = call_as("admin", channels, "list_deliveries", ticket["id"], roles=["admin"])["items"]
    assert [(item["kind"], item["status"], item["recipient"] != "kehu@example.net") for item in deliveries] == [
        ("reply", "sent", True)]

    # a suggestion's decision: ticketing records suggestion.decided and writes the decision as a reply, in one
    # transaction; the customer gets one mail, the decision's
    suggestion = call_as("admin", ticketing, "create_ticket", dict(TICKET, kind="suggestion", subject="晚间配送"),
                         roles=["admin"])
    call_as("admin", ticketing, "forward_suggestion", suggestion["id"], {"department": "logistics"}, roles=["admin"])
    call_as("admin", ticketing, "decide_suggestion", suggestion["id"], {"adopted": True, "decision": "From May."},
            roles=["admin"])

    def handled_replies():
        with engine.connect() as connection:
            return connection.execute(select(models.inbox).where(
                models.inbox.c.consumer == "channels.on_ticket_replied")).all()
    wait_for(lambda: len(handled_replies()) == 2 and len(smtp_server.mails()) == 2, timeout=20,
             message="both replies handled and the decision mailed")
    decision = smtp_server.mails()[1]
    assert decision["Subject"] == f"[#{suggestion['id']}] 您的建议已被采纳：晚间配送"
    assert "From May." in decision.get_body(("plain",)).get_content()
    kinds = [item["kind"] for item in call_as("admin", channels, "list_deliveries", suggestion["id"],
                                              roles=["admin"])["items"]]
    assert kinds == ["suggestion_decision"]
    engine.dispose()


RAW = """From: =?utf-8?b?546L5YWI55Sf?= <kehu@example.net>
To: support@example.com
Subject: {subject}
Message-ID: <{message_id}>
{extra}Date: Mon, 07 Dec 2026 10:00:00 +0800
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

{body}
"""


def test_a_customers_mail_is_acknowledged_answered_and_their_answer_joins_the_ticket(
        container_factory, service_config, migrated, tmp_path, smtp_server):
    from io import BytesIO

    from plumbing.blobs import BlobStore

    blob_dir = tmp_path / "blobs"
    ticketing = container_factory(TicketingService, dict(
        service_config, DATABASE_URL=migrated("ticketing", f"sqlite:///{tmp_path / 'ticketing.db'}")))
    channels = container_factory(ChannelsService, dict(
        service_config, **smtp_server.config(), DATABASE_URL=migrated("channels", f"sqlite:///{tmp_path / 'c.db'}"),
        BLOB_DIR=str(blob_dir), CHANNELS_SEND_SECONDS=0.2, CHANNELS_REPLY_SECRET="integration-secret"))
    channels.start()
    ticketing.start()
    mailbox = call_as("admin", channels, "create_mailbox", {"address": "support@example.com", "name": "Support",
                                                           "language": "zh-CN", "acknowledge": True}, roles=["admin"])

    def mail_in(message_id, body, extra="", subject="包裹破损"):
        raw = RAW.format(subject=subject, message_id=message_id, extra=extra, body=body).encode()
        ref = BlobStore(blob_dir).put(BytesIO(raw), 1 << 20)
        return call_as("mta", channels, "take_raw_mail", mailbox["id"], {"sha256": ref.sha256}, roles=["integration"])

    opened = mail_in("c1@example.net", "我的包裹破损了，请尽快处理。")
    ticket_id = opened["ticket_id"]
    wait_for(lambda: len(smtp_server.mails()) == 1, timeout=20, message="the acknowledgement")
    [acknowledgement] = smtp_server.mails()
    assert acknowledgement["In-Reply-To"] == "<c1@example.net>"
    assert acknowledgement["Subject"] == f"[#{ticket_id}] 我们已收到您的来信：包裹破损"
    assert acknowledgement["Auto-Submitted"] == "auto-replied"

    call_as("admin", ticketing, "add_message", ticket_id, {"kind": "reply", "body": "新的包裹已寄出。"}, roles=["admin"])
    wait_for(lambda: len(smtp_server.mails()) == 2, timeout=20, message="the agent's reply")
    answer = smtp_server.mails()[1]
    assert answer["In-Reply-To"] == acknowledgement["Message-ID"]
    assert answer["References"] == (f"<ticket-{ticket_id}@example.com> <c1@example.net> "
                                    f"{acknowledgement['Message-ID']}")

    # the customer answers our reply from a client that keeps only the headers: it joins the ticket, and
    # opens nothing new (so no second acknowledgement)
    joined = mail_in("c2@example.net", "收到，谢谢。", subject="Re: 包裹破损",
                     extra=f"In-Reply-To: {answer['Message-ID']}\nReferences: {answer['References']} "
                           f"{answer['Message-ID']}\n")
    assert joined["ticket_id"] == ticket_id and joined["outcome"] == "replied"
    deliveries = call_as("admin", channels, "list_deliveries", ticket_id, roles=["admin"])["items"]
    assert sorted(item["kind"] for item in deliveries) == ["acknowledgement", "reply"]
