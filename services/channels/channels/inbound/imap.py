"""The IMAP poller: each active mailbox with an IMAP server, its new mail by UID.

A nameko timer calls ``poll_mailboxes`` every CHANNELS_POLL_SECONDS (30 by default); the folder
is opened read-only, so nothing is marked seen or moved. The place in the folder is the mailbox's ``uidvalidity``
and ``last_uid``, saved after each mail is taken: a restart fetches from the first mail not
yet taken, so nothing is lost, and a mail taken but not yet counted comes again and is
answered as a duplicate (its Message-ID), so nothing is repeated. A folder whose
UIDVALIDITY changed is read again from its start, its mail already taken being duplicates.
Replicas may poll the same mailbox: the Message-ID keeps each mail once. A mail another worker
is still taking (logged ``pending`` by it) ends the poll before its UID: were the place saved past
it and that worker killed, nobody would fetch it again and it would never become a ticket; the
next poll takes it (finishing what the other began, under the same idempotency key) or finds it done.

Where the server has IDLE, ``idle.py`` holds the folder in IDLE and, as mail comes, runs
``fetch_mailbox`` at once; the timer then polls that mailbox only every CHANNELS_IDLE_POLL_SECONDS
(300 by default) as a safety net. Whoever starts it (the timer of any replica, a watcher), one fetch
of a mailbox runs at a time: ``fetch_mailbox`` takes the mailbox's fetch lease (``fetch_token``
until ``fetch_until``, a conditional UPDATE, renewed as each mail is taken) or, the lease being
another's, fetches nothing (``None``: the holder fetches what is there). A lease whose holder died
runs out after FETCH_LEASE; fetches overlapping after all are what the Message-ID already makes safe.
"""
import logging
import uuid
from datetime import timedelta

from imapclient import IMAPClient
from sqlalchemy import or_, select, update

from channels.inbound import handlers
from channels.mailboxes import rules as mailbox_rules
from channels.models import Mailbox
from plumbing.config import secret

log = logging.getLogger(__name__)

POLL_SECONDS = 30
IDLE_POLL_SECONDS = 300  # a mailbox held in IDLE is polled too, this seldom: the safety net
FETCH_BATCH = 20
TIMEOUT_SECONDS = 30
# renewed as each mail is taken and each batch fetched (each step bounded by the IMAP and RPC timeouts): a
# fetch killed holds the mailbox this long at most; a step slower than it lets another fetch overlap, which
# the Message-ID makes safe
FETCH_LEASE = timedelta(seconds=30)


def poll_mailboxes(uow, ticketing, settings, connect=IMAPClient, idle_poll_seconds=IDLE_POLL_SECONDS):
    """Fetch every active IMAP mailbox's new mail; one failing mailbox does not stop the others.
    A mailbox a replica holds in IDLE is left out unless its last fetch is ``idle_poll_seconds`` old."""
    with uow.transaction():
        now = uow.now()
        ids = list(uow.session.scalars(select(Mailbox.id).where(
            Mailbox.active, Mailbox.imap_host.isnot(None),
            or_(Mailbox.idle_until.is_(None), Mailbox.idle_until <= now, Mailbox.last_polled_at.is_(None),
                Mailbox.last_polled_at <= now - timedelta(seconds=float(idle_poll_seconds))))
            .order_by(Mailbox.id)))
    taken = 0
    for mailbox_id in ids:
        taken += fetch_mailbox(uow, ticketing, settings, mailbox_id, connect) or 0
    return taken


def fetch_mailbox(uow, ticketing, settings, mailbox_id, connect=IMAPClient):
    """The mailbox's new mail under its fetch lease: the number taken, or None where another holds
    the lease (or the mailbox is gone or inactive). A failure (the server away, a wrong password) is
    noted on the mailbox and the mail is tried again next time."""
    token = claim_fetch(uow, mailbox_id)
    if token is None:
        return None
    try:
        return poll_mailbox(uow, ticketing, settings, mailbox_id, connect, token)
    except Exception as exc:
        log.warning("mailbox %s: IMAP fetch failed: %r", mailbox_id, exc)
        with uow.transaction():
            mailbox = uow.session.get(Mailbox, mailbox_id)
            if mailbox is not None:
                mailbox.last_error, mailbox.last_polled_at = f"{type(exc).__name__}: {exc}"[:2000], uow.now()
        return 0
    finally:
        try:
            release_fetch(uow, mailbox_id, token)
        except Exception:  # the database away: the lease runs out by itself (FETCH_LEASE)
            log.warning("mailbox %s: the fetch lease was not let go", mailbox_id, exc_info=True)


def claim_fetch(uow, mailbox_id):
    """The mailbox's fetch lease, taken by one conditional UPDATE (atomic on every database): a
    token, or None where another fetch holds it (or the mailbox is not to be fetched)."""
    token = uuid.uuid4().hex
    with uow.transaction():
        now = uow.now()
        claimed = uow.session.execute(update(Mailbox).where(
            Mailbox.id == mailbox_id, Mailbox.active, Mailbox.imap_host.isnot(None),
            or_(Mailbox.fetch_until.is_(None), Mailbox.fetch_until <= now))
            .values(fetch_token=token, fetch_until=now + FETCH_LEASE)
            .execution_options(synchronize_session=False)).rowcount
    return token if claimed else None


def renew_fetch(uow, mailbox_id, token):
    with uow.transaction():
        uow.session.execute(update(Mailbox).where(Mailbox.id == mailbox_id, Mailbox.fetch_token == token)
                            .values(fetch_until=uow.now() + FETCH_LEASE)
                            .execution_options(synchronize_session=False))


def release_fetch(uow, mailbox_id, token):
    with uow.transaction():
        uow.session.execute(update(Mailbox).where(Mailbox.id == mailbox_id, Mailbox.fetch_token == token)
                            .values(fetch_token=None, fetch_until=None)
                            .execution_options(synchronize_session=False))


def poll_mailbox(uow, ticketing, settings, mailbox_id, connect=IMAPClient, token=None):
    """The mailbox's mail after its ``last_uid``, taken one by one; the number taken. ``token``:
    the fetch lease this fetch holds (``fetch_mailbox``), renewed as it goes."""
    with uow.transaction():
        mailbox = uow.session.get(Mailbox, mailbox_id)
        host, port, tls, user, folder = (mailbox.imap_host, mailbox.imap_port, mailbox.imap_tls, mailbox.imap_user,
                                         mailbox.imap_folder)
        password, stored_validity, last_uid = secret(mailbox.imap_password_secret) or "", mailbox.uidvalidity, \
            mailbox.last_uid
    taken = 0
    with connect(host, port=port, ssl=tls, timeout=TIMEOUT_SECONDS) as client:
        client.login(user, password)
        selected = client.select_folder(folder, readonly=True)
        uidvalidity = int(selected[b"UIDVALIDITY"])
        if mailbox_rules.folder_reset(stored_validity, uidvalidity):
            log.warning("mailbox %s: UIDVALIDITY of %s changed (%s -> %s): reading it from the start",
                        mailbox_id, folder, stored_validity, uidvalidity)
            last_uid = 0
        uids = sorted(uid for uid in client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)
        for start in range(0, len(uids), FETCH_BATCH):
            batch = uids[start:start + FETCH_BATCH]
            fetched = client.fetch(batch, ["BODY.PEEK[]"])
            if token is not None:
                renew_fetch(uow, mailbox_id, token)
            for uid in batch:
                raw = fetched.get(uid, {}).get(b"BODY[]")
                if raw is not None:
                    taken += 1
                    if handlers.take_mail(uow, ticketing, settings, mailbox_id, raw,
                                          imap_uid=uid)["outcome"] == handlers.PENDING:
                        log.info("mailbox %s: UID %s is being taken by another worker: next poll", mailbox_id, uid)
                        return taken
                save_place(uow, mailbox_id, uidvalidity, uid, token)
        if not uids:
            save_place(uow, mailbox_id, uidvalidity, last_uid, token)
    return taken


def save_place(uow, mailbox_id, uidvalidity, uid, token=None):
    """The place after ``uid`` (never back within the same UIDVALIDITY: a fetch that overlapped a
    later one does not undo its place), the fetch lease renewed."""
    with uow.transaction():
        mailbox = uow.session.get(Mailbox, mailbox_id, with_for_update=True)
        if mailbox.uidvalidity != uidvalidity or uid > mailbox.last_uid:
            mailbox.uidvalidity, mailbox.last_uid = uidvalidity, uid
        mailbox.last_polled_at, mailbox.last_error = uow.now(), None
        if token is not None and mailbox.fetch_token == token:
            mailbox.fetch_until = uow.now() + FETCH_LEASE
