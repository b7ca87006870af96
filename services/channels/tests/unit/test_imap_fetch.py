"""The fetch of a mailbox, whoever starts it (the timer's poll, an IDLE watcher): one at a time under
the mailbox's fetch lease, its place never moved back by a fetch that overlapped a later one, a
mailbox held in IDLE polled only as the safety net; and the rules the IDLE watcher follows."""
from datetime import datetime, timedelta, timezone

import pytest

from channels.inbound import handlers as inbound
from channels.inbound import imap
from channels.mailboxes import handlers as mailboxes
from channels.mailboxes import rules
from channels.models import Mailbox

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", "postgres"])
def sqlite_url(request, tmp_path):
    """Each test on SQLite and on PostgreSQL (as deployed): the lease and the claim are conditional
    UPDATEs whose row counts decide who fetches."""
    if request.param == "postgres":
        return request.getfixturevalue("new_postgres_database")()
    return f"sqlite:///{tmp_path / 'service.db'}"


@pytest.fixture
def settings(tmp_path):
    return inbound.Settings({"CHANNELS_REPLY_SECRET": "s" * 32, "BLOB_DIR": str(tmp_path / "blobs")})


@pytest.fixture
def box(run, monkeypatch):
    monkeypatch.setenv("UNIT_IMAP_PASSWORD", "secret")
    return run(mailboxes.create_mailbox, {"address": "support@shop.example.com", "imap_host": "imap.example.com",
                                          "imap_user": "support", "imap_password_secret": "UNIT_IMAP_PASSWORD"})


class EmptyFolder:
    """An IMAP server whose folder has no mail; counts the fetches that connected to it."""

    def __init__(self):
        self.connections = 0

    def __call__(self, host, port, ssl, timeout):
        self.connections += 1
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
        return []


def change(run, mailbox_id, **values):
    def apply(uow):
        with uow.transaction():
            for name, value in values.items():
                setattr(uow.session.get(Mailbox, mailbox_id), name, value)
    run(apply)


def row(run, mailbox_id):
    return run(lambda uow: uow.session.get(Mailbox, mailbox_id))


def test_one_fetch_of_a_mailbox_at_a_time_under_its_lease(run, box, settings):
    token = run(imap.claim_fetch, box["id"], at=T0)
    assert token is not None
    assert run(imap.claim_fetch, box["id"], at=T0 + timedelta(seconds=5)) is None  # another fetch holds it
    server = EmptyFolder()
    assert run(imap.fetch_mailbox, None, settings, box["id"], server, at=T0 + timedelta(seconds=5)) is None
    assert server.connections == 0  # the holder fetches what is there
    # a holder that died: its lease runs out
    later = run(imap.claim_fetch, box["id"], at=T0 + imap.FETCH_LEASE + timedelta(seconds=1))
    assert later not in (None, token)
    run(imap.release_fetch, box["id"], token)  # the dead holder's release comes late: it frees nothing
    assert row(run, box["id"]).fetch_token == later
    run(imap.release_fetch, box["id"], later)
    assert run(imap.fetch_mailbox, None, settings, box["id"], server) == 0
    assert server.connections == 1
    assert (row(run, box["id"]).fetch_token, row(run, box["id"]).fetch_until) == (None, None)  # let go after


def test_an_inactive_mailbox_or_one_without_imap_is_not_fetched(run, box, settings):
    run(mailboxes.update_mailbox, box["id"], {"active": False})
    assert run(imap.claim_fetch, box["id"]) is None
    other = run(mailboxes.create_mailbox, {"address": "pipe@shop.example.com"})
    assert run(imap.claim_fetch, other["id"]) is None


def test_a_fetch_that_overlapped_a_later_one_does_not_move_its_place_back(run, box):
    run(imap.save_place, box["id"], 7, 12)
    run(imap.save_place, box["id"], 7, 9)  # the slower of two overlapping fetches
    assert row(run, box["id"]).last_uid == 12
    run(imap.save_place, box["id"], 8, 2)  # another UIDVALIDITY: the folder was made anew
    assert (row(run, box["id"]).uidvalidity, row(run, box["id"]).last_uid) == (8, 2)


def test_a_mailbox_held_in_idle_is_polled_only_as_the_safety_net(run, box, settings):
    server = EmptyFolder()
    change(run, box["id"], idle_by="replica-a", idle_until=T0 + timedelta(minutes=5),
           last_polled_at=T0 - timedelta(seconds=30))
    run(imap.poll_mailboxes, None, settings, server, 300, at=T0)
    assert server.connections == 0  # IDLE fetched it half a minute ago
    run(imap.poll_mailboxes, None, settings, server, 300, at=T0 + timedelta(seconds=280))
    assert server.connections == 1  # its last fetch 310 seconds old: polled
    change(run, box["id"], last_polled_at=T0)
    run(imap.poll_mailboxes, None, settings, server, 300, at=T0 + timedelta(minutes=6))
    assert server.connections == 2  # the claim ran out (the watcher died): polled at the usual rate
    change(run, box["id"], idle_by=None, idle_until=None, last_polled_at=T0)
    run(imap.poll_mailboxes, None, settings, server, 300, at=T0 + timedelta(seconds=1))
    assert server.connections == 3  # not held in IDLE: every poll


def test_the_mailbox_shows_whether_it_is_held_in_idle_or_polled(run, box):
    assert (box["fetch_mode"], box["idle_supported"]) == ("polling", None)
    change(run, box["id"], idle_by="replica-a", idle_until=datetime.now(timezone.utc) + timedelta(minutes=5),
           idle_supported=True)
    shown = run(mailboxes.get_mailbox, box["id"])
    assert (shown["fetch_mode"], shown["idle_supported"]) == ("idle", True)
    change(run, box["id"], idle_until=datetime.now(timezone.utc) - timedelta(seconds=1))
    assert run(mailboxes.get_mailbox, box["id"])["fetch_mode"] == "polling"  # the claim ran out
    run(mailboxes.update_mailbox, box["id"], {"active": False})
    assert run(mailboxes.get_mailbox, box["id"])["fetch_mode"] == "none"
    assert run(mailboxes.create_mailbox, {"address": "pipe@shop.example.com"})["fetch_mode"] == "none"


def test_idle_rules():
    assert rules.new_mail([(b"OK", b"Still here"), (3, b"EXISTS")])
    assert rules.new_mail([(1, b"RECENT")])
    assert not rules.new_mail([(b"OK", b"Still here"), (2, b"EXPUNGE"), (1, b"FETCH", (b"FLAGS", ()))])
    assert not rules.new_mail([])
    assert rules.watch_by_idle(True, (b"IMAP4REV1", b"IDLE", b"UIDPLUS"))
    assert rules.watch_by_idle(True, ("imap4rev1", "idle"))
    assert not rules.watch_by_idle(True, (b"IMAP4REV1", b"UIDPLUS"))
    assert not rules.watch_by_idle(False, (b"IDLE",))
    assert [rules.backoff_seconds(n, 5, 300) for n in (1, 2, 3, 6, 7, 20)] == [5, 10, 20, 160, 300, 300]
