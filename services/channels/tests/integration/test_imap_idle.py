"""IMAP IDLE against a real Dovecot, with ticketing running on the same broker. The timer's poll is
set to an hour, so it cannot be what fetches: a mail appended becomes a ticket within seconds, a
restart of channels while it idles loses and repeats nothing, mailboxes created, deactivated or
given another folder at run time are watched (or not) at once, a folder made anew under IDLE is
read again, two replicas hold a folder in IDLE one at a time, and a server that does not
advertise IDLE is polled."""
import re
import time

import eventlet
import pytest
from sqlalchemy.orm import sessionmaker

from channels import models
from channels.inbound import idle
from channels.service import ChannelsService
from plumbing.db import make_engine
from plumbing.testing import call, wait_for
from ticketing.service import TicketingService

PASSWORD = "imap-password-of-the-test"
ADDRESS = "support@shop.example.com"
HOUR = 3600


def mail(message_id, body="The cup arrived broken.", subject="Parcel damaged"):
    return (f"From: Wang Fang <wang.fang@example.net>\r\nTo: {ADDRESS}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{message_id}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


@pytest.fixture
def platform(container_factory, service_config, migrated, tmp_path, monkeypatch):
    """Ticketing, and ``start_channels(**config)``: channels (again) on its one database, polling hourly."""
    monkeypatch.setenv("SUPPORT_IMAP_PASSWORD", PASSWORD)
    monkeypatch.setenv("BLOB_DIR", str(tmp_path / "blobs"))
    ticketing_url = migrated("ticketing", f"sqlite:///{tmp_path / 'ticketing.db'}")
    container_factory(TicketingService, dict(service_config, DATABASE_URL=ticketing_url)).start()
    channels_url = migrated("channels", f"sqlite:///{tmp_path / 'channels.db'}")

    def start_channels(**config):
        settings = dict(service_config, DATABASE_URL=channels_url, RPC_TIMEOUT_SECONDS=5,
                        CHANNELS_POLL_SECONDS=HOUR, CHANNELS_IDLE_RECONCILE_SECONDS=0.2, CHANNELS_IDLE_SECONDS=1)
        container = container_factory(ChannelsService, dict(settings, **config))
        container.start()
        return container
    start_channels.url = channels_url
    return start_channels


def imap_mailbox(server, address=ADDRESS, folder="INBOX", **fields):
    return {"address": address, "team": "billing", "imap_host": server.host, "imap_port": server.port,
            "imap_tls": False, "imap_user": "support", "imap_password_secret": "SUPPORT_IMAP_PASSWORD",
            "imap_folder": folder, **fields}


def inbound(container):
    return call(container, "list_inbound", {"per_page": 100})["items"]


def taken(container, message_id, timeout=5):
    """The logged mail of ``message_id``, waited for at most ``timeout`` seconds; with the time it took."""
    began = time.monotonic()
    [row] = wait_for(lambda: [m for m in inbound(container) if m["message_id"] == message_id and
                              m["outcome"] != "pending"], timeout=timeout, message=f"mail {message_id}")
    return row, time.monotonic() - began


def fetched_bodies(server):
    """Mails the IMAP clients fetched whole, from Dovecot's log of each session (body_count=N)."""
    return sum(int(count) for count in re.findall(r"body_count=(\d+)", server.log(whole=True)))


def mailbox_row(url, mailbox_id=1):
    engine = make_engine(url)
    try:
        with sessionmaker(engine)() as session:
            return session.get(models.Mailbox, mailbox_id)
    finally:
        engine.dispose()


def idling(container, mailbox_id=1):
    mailbox = call(container, "get_mailbox", mailbox_id)
    return (mailbox["fetch_mode"], mailbox["idle_supported"]) == ("idle", True)


def test_mail_becomes_a_ticket_within_seconds_and_a_restart_while_idling_loses_and_repeats_nothing(
        dovecot, platform):
    dovecot.user("support", PASSWORD)
    channels = platform()
    call(channels, "create_mailbox", imap_mailbox(dovecot))
    wait_for(lambda: idling(channels), timeout=5, message="the mailbox held in IDLE")
    assert call(channels, "get_mailbox", 1)["idle_supported"] is True
    wait_for(lambda: idle.IDLE_MAILBOXES._value.get() >= 1, timeout=5, message="the IDLE gauge")

    dovecot.append("support", PASSWORD, mail("first@example.net"))
    first, seconds = taken(channels, "first@example.net")
    assert first["outcome"] == "opened" and seconds < 5  # the poll is hourly: IDLE fetched it
    eventlet.sleep(2.5)  # IDLE ended and issued again twice (every second here): nothing fetched again
    dovecot.append("support", PASSWORD, mail("second@example.net", "Still broken."))
    assert taken(channels, "second@example.net")[0]["outcome"] == "opened"

    channels.stop()  # while it idles
    assert mailbox_row(platform.url).idle_by is None  # let go at once: a standby replica would take over
    dovecot.append("support", PASSWORD, mail("third@example.net", "A third parcel."))
    channels = platform()
    assert taken(channels, "third@example.net")[0]["outcome"] == "opened"  # came while down: fetched at start
    dovecot.append("support", PASSWORD, mail("fourth@example.net", "A fourth parcel."))
    taken(channels, "fourth@example.net")
    eventlet.sleep(1.5)
    assert sorted(m["message_id"] for m in inbound(channels)) == \
        ["first@example.net", "fourth@example.net", "second@example.net", "third@example.net"]
    assert fetched_bodies(dovecot) == 4  # each mail fetched once
    row = mailbox_row(platform.url)
    assert (row.last_uid, row.last_error, row.fetch_token) == (4, None, None)


def test_mailboxes_changed_at_run_time_are_watched_or_left_and_a_folder_made_anew_is_read_again(dovecot, platform):
    dovecot.user("support", PASSWORD)
    with dovecot.client("support", PASSWORD) as client:
        client.create_folder("Sales")
    channels = platform()
    call(channels, "create_mailbox", imap_mailbox(dovecot))
    wait_for(lambda: idling(channels), timeout=5, message="mailbox 1 held in IDLE")
    call(channels, "create_mailbox", imap_mailbox(dovecot, "sales@shop.example.com", "Sales"))  # at run time
    wait_for(lambda: idling(channels, 2), timeout=5, message="mailbox 2 held in IDLE")
    dovecot.append("support", PASSWORD, mail("sales@example.net"), "Sales")
    assert taken(channels, "sales@example.net")[0]["mailbox_id"] == 2

    call(channels, "update_mailbox", 2, {"active": False})
    wait_for(lambda: mailbox_row(platform.url, 2).idle_by is None, timeout=5, message="mailbox 2 let go")
    assert call(channels, "get_mailbox", 2)["fetch_mode"] == "none"
    dovecot.append("support", PASSWORD, mail("while-inactive@example.net"), "Sales")
    eventlet.sleep(1)
    assert "while-inactive@example.net" not in {m["message_id"] for m in inbound(channels)}

    call(channels, "update_mailbox", 1, {"imap_folder": "Sales"})  # another folder: its UIDs start over
    assert taken(channels, "while-inactive@example.net")[0]["mailbox_id"] == 1

    # the folder made anew (restored from a backup, say), of which IDLE tells nothing: selected again
    # as the IDLE is issued again, its new UIDVALIDITY has it read from the start
    with dovecot.client("support", PASSWORD) as client:
        client.delete_folder("Sales")
        client.create_folder("Sales")
    for message_id in ("sales@example.net", "restored@example.net"):
        dovecot.append("support", PASSWORD, mail(message_id, "Restored."), "Sales")
    assert taken(channels, "restored@example.net")[0]["outcome"] == "opened"
    assert [m["message_id"] for m in inbound(channels)].count("sales@example.net") == 1


def test_two_replicas_hold_a_folder_in_idle_one_at_a_time_and_take_each_mail_once(dovecot, platform):
    dovecot.user("support", PASSWORD)
    first, second = platform(), platform()
    call(first, "create_mailbox", imap_mailbox(dovecot))
    holder = wait_for(lambda: mailbox_row(platform.url).idle_by, timeout=5, message="a replica holding it")
    for number in range(3):
        dovecot.append("support", PASSWORD, mail(f"mail-{number}@example.net"))
    for number in range(3):
        taken(first, f"mail-{number}@example.net")
    eventlet.sleep(1.5)
    assert mailbox_row(platform.url).idle_by == holder  # the other stood by
    assert len(inbound(first)) == 3 and fetched_bodies(dovecot) == 3

    # the holder stops: the other takes over (at once: the claim is let go) and fetches the next mail
    watchers = {container: next(e for e in container.entrypoints if isinstance(e, idle.MailboxWatchers))
                for container in (first, second)}
    [(stopping, _)] = [(c, w) for c, w in watchers.items() if w.replica == holder]
    [other] = [c for c in (first, second) if c is not stopping]
    stopping.stop()
    wait_for(lambda: mailbox_row(platform.url).idle_by == watchers[other].replica, timeout=5,
             message="the other replica holding it")
    dovecot.append("support", PASSWORD, mail("after-takeover@example.net"))
    assert taken(other, "after-takeover@example.net")[0]["outcome"] == "opened"
    assert fetched_bodies(dovecot) == 4


def test_a_server_without_idle_is_polled(dovecot_without_idle, platform):
    server = dovecot_without_idle
    server.user("support", PASSWORD)
    channels = platform(CHANNELS_POLL_SECONDS=0.2)
    call(channels, "create_mailbox", imap_mailbox(server))
    wait_for(lambda: call(channels, "get_mailbox", 1)["idle_supported"] is False, timeout=5,
             message="the server's capability asked")
    server.append("support", PASSWORD, mail("polled@example.net"))
    assert taken(channels, "polled@example.net")[0]["outcome"] == "opened"
    mailbox = call(channels, "get_mailbox", 1)
    assert (mailbox["fetch_mode"], mailbox["last_uid"]) == ("polling", 1)
    assert mailbox_row(platform.url).idle_by is None


def test_an_idle_connection_that_fails_leaves_the_mailbox_to_the_poll_until_it_is_back(dovecot, platform):
    dovecot.user("support", PASSWORD)
    channels = platform(CHANNELS_POLL_SECONDS=0.3)
    call(channels, "create_mailbox", imap_mailbox(dovecot))
    wait_for(lambda: idling(channels), timeout=5, message="the mailbox held in IDLE")
    failures = idle.IDLE_FAILURES._value.get()
    dovecot.stop()  # the IDLE connection cut: the claim let go, the mailbox polled (and failing) meanwhile
    wait_for(lambda: call(channels, "get_mailbox", 1)["fetch_mode"] == "polling", timeout=5, message="polling")
    assert idle.IDLE_FAILURES._value.get() > failures
    dovecot.start()
    dovecot.append("support", PASSWORD, mail("while-polled@example.net"))
    assert taken(channels, "while-polled@example.net")[0]["outcome"] == "opened"
    wait_for(lambda: idling(channels), timeout=15, message="IDLE again after the back-off (5 s)")
    dovecot.append("support", PASSWORD, mail("idle-again@example.net"))
    assert taken(channels, "idle-again@example.net")[0]["outcome"] == "opened"
    assert fetched_bodies(dovecot) == 2
