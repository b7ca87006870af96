"""The IMAP poller: each active mailbox with an IMAP server, its new mail by UID.

A nameko timer calls ``poll_mailboxes`` every CHANNELS_POLL_SECONDS (30 by default); IDLE is
not used yet (a timer's poll is what this version does; the folder is opened read-only, so
nothing is marked seen or moved). The place in the folder is the mailbox's ``uidvalidity``
and ``last_uid``, saved after each mail is taken: a restart fetches from the first mail not
yet taken, so nothing is lost, and a mail taken but not yet counted comes again and is
answered as a duplicate (its Message-ID), so nothing is repeated. A folder whose
UIDVALIDITY changed is read again from its start, its mail already taken being duplicates.
Replicas may poll the same mailbox: the Message-ID keeps each mail once. A mail another worker
is still taking (logged ``pending`` by it) ends the poll before its UID: were the place saved past
it and that worker killed, nobody would fetch it again and it would never become a ticket; the
next poll takes it (finishing what the other began, under the same idempotency key) or finds it done.
"""
import logging

from imapclient import IMAPClient
from sqlalchemy import select

from channels.inbound import handlers
from channels.mailboxes import rules as mailbox_rules
from channels.models import Mailbox
from plumbing.config import secret

log = logging.getLogger(__name__)

POLL_SECONDS = 30
FETCH_BATCH = 20
TIMEOUT_SECONDS = 30


def poll_mailboxes(uow, ticketing, settings, connect=IMAPClient):
    """Fetch every active IMAP mailbox's new mail; one failing mailbox does not stop the others."""
    with uow.transaction():
        ids = list(uow.session.scalars(select(Mailbox.id).where(Mailbox.active, Mailbox.imap_host.isnot(None))
                                       .order_by(Mailbox.id)))
    taken = 0
    for mailbox_id in ids:
        try:
            taken += poll_mailbox(uow, ticketing, settings, mailbox_id, connect)
        except Exception as exc:  # the server away, a wrong password: noted on the mailbox, tried again next time
            log.warning("mailbox %s: IMAP fetch failed: %r", mailbox_id, exc)
            with uow.transaction():
                mailbox = uow.session.get(Mailbox, mailbox_id)
                if mailbox is not None:
                    mailbox.last_error, mailbox.last_polled_at = f"{type(exc).__name__}: {exc}"[:2000], uow.now()
    return taken


def poll_mailbox(uow, ticketing, settings, mailbox_id, connect=IMAPClient):
    """The mailbox's mail after its ``last_uid``, taken one by one; the number taken."""
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
            for uid in batch:
                raw = fetched.get(uid, {}).get(b"BODY[]")
                if raw is not None:
                    taken += 1
                    if handlers.take_mail(uow, ticketing, settings, mailbox_id, raw,
                                          imap_uid=uid)["outcome"] == handlers.PENDING:
                        log.info("mailbox %s: UID %s is being taken by another worker: next poll", mailbox_id, uid)
                        return taken
                save_place(uow, mailbox_id, uidvalidity, uid)
        if not uids:
            save_place(uow, mailbox_id, uidvalidity, last_uid)
    return taken


def save_place(uow, mailbox_id, uidvalidity, uid):
    with uow.transaction():
        mailbox = uow.session.get(Mailbox, mailbox_id, with_for_update=True)
        mailbox.uidvalidity, mailbox.last_uid = uidvalidity, uid
        mailbox.last_polled_at, mailbox.last_error = uow.now(), None
