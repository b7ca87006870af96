"""The IMAP poller against a real Dovecot, with ticketing running on the same broker: a new mail
opens a ticket, a reply joins it, after a restart of channels the poller goes on from the first
mail it had not taken (its UIDs), repeating nothing, and a folder made anew (another UIDVALIDITY)
is read from its start, its mail already taken being duplicates."""
import re

import eventlet
import pytest
from sqlalchemy.orm import sessionmaker

from channels import models
from channels.service import ChannelsService
from plumbing.db import make_engine
from plumbing.testing import call, wait_for
from ticketing.service import TicketingService

PASSWORD = "imap-password-of-the-test"
FOLDER = "Support"


def mail(message_id, body, subject="Parcel damaged", extra=""):
    return (f"From: Wang Fang <wang.fang@example.net>\r\nTo: support@shop.example.com\r\nSubject: {subject}\r\n"
            f"Message-ID: <{message_id}>\r\n{extra}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


@pytest.fixture
def platform(dovecot, container_factory, service_config, migrated, tmp_path, monkeypatch):
    """Ticketing, and a ``start_channels()`` that starts channels (again) on its one database."""
    monkeypatch.setenv("SUPPORT_IMAP_PASSWORD", PASSWORD)
    monkeypatch.setenv("BLOB_DIR", str(tmp_path / "blobs"))
    ticketing_url = migrated("ticketing", f"sqlite:///{tmp_path / 'ticketing.db'}")
    container_factory(TicketingService, dict(service_config, DATABASE_URL=ticketing_url)).start()
    channels_url = migrated("channels", f"sqlite:///{tmp_path / 'channels.db'}")

    def start_channels():
        container = container_factory(ChannelsService, dict(service_config, DATABASE_URL=channels_url,
                                                            CHANNELS_POLL_SECONDS=0.1, RPC_TIMEOUT_SECONDS=5,
                                                            CHANNELS_IDLE="off"))  # IDLE: test_imap_idle.py
        container.start()
        return container
    start_channels.url = channels_url
    return start_channels


def fetched_bodies(dovecot):
    """Mails the IMAP clients fetched whole, from Dovecot's log of each session (body_count=N)."""
    return sum(int(count) for count in re.findall(r"body_count=(\d+)", dovecot.log(whole=True)))


def inbound(container):
    return call(container, "list_inbound", {"per_page": 100})["items"]


def test_new_mail_opens_a_ticket_a_reply_joins_it_and_a_restart_repeats_nothing(dovecot, platform):
    dovecot.user("support", PASSWORD)
    with dovecot.client("support", PASSWORD) as client:
        client.create_folder(FOLDER)
    channels = platform()
    call(channels, "create_mailbox", {
        "address": "support@shop.example.com", "team": "billing", "imap_host": dovecot.host, "imap_port": dovecot.port,
        "imap_tls": False, "imap_user": "support", "imap_password_secret": "SUPPORT_IMAP_PASSWORD",
        "imap_folder": FOLDER})
    dovecot.append("support", PASSWORD, mail("first@example.net", "The cup arrived broken."), FOLDER)
    [first] = wait_for(lambda: [m for m in inbound(channels) if m["outcome"] == "opened"], message="the first mail")
    dovecot.append("support", PASSWORD, mail(
        "second@example.net", "Any news?\r\n\r\nOn Mon, Dec 7, 2026, Wang Fang <wang.fang@example.net> wrote:\r\n> old",
        subject="Re: Parcel damaged", extra="In-Reply-To: <first@example.net>\r\n"), FOLDER)
    [reply] = wait_for(lambda: [m for m in inbound(channels) if m["outcome"] == "replied"], message="the reply")
    assert (reply["ticket_id"], reply["threaded_by"], reply["text"]) == (first["ticket_id"], "references", "Any news?")

    channels.stop()
    dovecot.append("support", PASSWORD, mail("third@example.net", "Another parcel, another problem."), FOLDER)
    channels = platform()
    wait_for(lambda: len(inbound(channels)) == 3, message="the mail that came while channels was down")
    assert sorted(m["message_id"] for m in inbound(channels)) == \
        ["first@example.net", "second@example.net", "third@example.net"]
    eventlet.sleep(0.5)  # a few more polls
    assert fetched_bodies(dovecot) == 3  # each mail fetched once: after the restart from UID 3, not from the start
    engine = make_engine(platform.url)
    with sessionmaker(engine)() as session:
        mailbox = session.get(models.Mailbox, 1)
        assert (mailbox.last_uid, mailbox.last_error) == (3, None)
    engine.dispose()
    tickets = {m["ticket_id"] for m in inbound(channels)}
    assert len(tickets) == 2 and first["ticket_id"] in tickets

    # the folder made anew (restored from a backup, say): its UIDs start over under another UIDVALIDITY
    with dovecot.client("support", PASSWORD) as client:
        client.delete_folder(FOLDER)
        client.create_folder(FOLDER)
    for message_id in ("first@example.net", "second@example.net", "fourth@example.net"):
        dovecot.append("support", PASSWORD, mail(message_id, "Restored."), FOLDER)
    wait_for(lambda: len(inbound(channels)) == 4, message="the new mail of the folder made anew")
    assert {m["message_id"]: m["outcome"] for m in inbound(channels)}["fourth@example.net"] == "opened"
    assert len({m["ticket_id"] for m in inbound(channels)}) == 3  # the restored two opened nothing again
