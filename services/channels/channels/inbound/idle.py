"""IMAP IDLE (RFC 2177): new mail fetched as it comes, where the server offers IDLE.

``MailboxWatchers`` is a nameko entrypoint (``@watch_mailboxes``) on the service's
``fetch_mailbox(mailbox_id)``, which runs ``imap.fetch_mailbox``: the very fetch the timer's poll
runs, so the UID/UIDVALIDITY place, the Message-ID dedupe and the fetch lease hold whoever fetches.

- A reconciler (a managed green thread) reads the active IMAP mailboxes every
  CHANNELS_IDLE_RECONCILE_SECONDS (30 by default) and keeps one watcher per mailbox: a mailbox
  created or activated gets one, one deleted, deactivated or given another server, user, password
  secret or folder has its watcher stopped (and a new one started on the new settings).
- A watcher (a managed green thread) takes the mailbox's IDLE claim (``idle_by`` until
  ``idle_until``, a conditional UPDATE, for CLAIM_SECONDS and renewed every CHECK_SECONDS: one
  replica holds a folder in IDLE; the others stand by and take over once the claim is let go, or
  runs out where its holder was killed). It logs in, checks the IDLE capability (saved as
  ``idle_supported``), opens the folder read-only, fetches what came before, and issues IDLE. An
  EXISTS or RECENT ends the IDLE and runs ``fetch_mailbox`` in a worker; after
  CHANNELS_IDLE_SECONDS (240 by default, well within RFC 2177's 29 minutes) the IDLE is ended,
  the claim renewed, the folder selected again (a folder deleted and made anew, of which IDLE
  says nothing, or mail not told of shows in its UIDVALIDITY or UIDNEXT: then it is fetched) and
  the IDLE issued again.
- A server without IDLE, or CHANNELS_IDLE=off: the claim is let go and the mailbox is polled by the
  timer (its capability is asked again hourly). A connection that fails: the claim is let go (the
  timer polls the mailbox every CHANNELS_POLL_SECONDS meanwhile) and the watcher connects again
  after a back-off doubling from 5 seconds to 5 minutes.

The timer's poll stays the safety net: a mailbox held in IDLE is polled too, every
CHANNELS_IDLE_POLL_SECONDS (300 by default); a watcher that died never stops mail, it only makes
it wait for the poll. ``GET /mailboxes/{id}`` shows ``fetch_mode`` (``idle``/``polling``) and
``idle_supported``; ``csops_channels_imap_idle_mailboxes`` counts the folders this replica holds in
IDLE.
"""
import logging
import os
import socket
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from functools import partial

import eventlet
from eventlet.event import Event
from imapclient import IMAPClient
from nameko.extensions import Entrypoint
from prometheus_client import Counter, Gauge
from sqlalchemy import or_, select, update

from channels.inbound import imap
from channels.mailboxes import rules
from channels.models import Mailbox
from plumbing.config import secret
from plumbing.db import database_of
from plumbing.unit_of_work import utc_now

log = logging.getLogger(__name__)

IDLE_SECONDS = 240             # an IDLE is ended and issued again this often (RFC 2177: within 29 minutes)
RECONCILE_SECONDS = 30         # the watchers follow the mailboxes' settings this soon
CLAIM_SECONDS = 45             # a claim lasts this, renewed every CHECK_SECONDS: a replica killed is taken
                               # over (and its mailbox polled at the usual rate) this soon
RECHECK_SECONDS = 3600         # a server without IDLE is asked again this often
BACKOFF_BASE_SECONDS = 5
BACKOFF_CAP_SECONDS = 300
BUSY_RETRY_SECONDS = 1         # the fetch lease another's: asked again this soon ...
CHECK_SECONDS = 15             # the longest single wait for the server's word in IDLE; the claim renewed after it

IDLE_MAILBOXES = Gauge("csops_channels_imap_idle_mailboxes",
                       "IMAP folders this replica holds in IDLE (their new mail fetched as it comes).")
IDLE_FAILURES = Counter("csops_channels_imap_idle_failures_total",
                        "IDLE connections that failed (the mailbox is polled until the watcher connects again).")


class Target:
    """What a watcher connects to: a change of any of it restarts the watcher."""

    def __init__(self, mailbox):
        self.key = (mailbox.imap_host, mailbox.imap_port, mailbox.imap_tls, mailbox.imap_user,
                    mailbox.imap_password_secret, mailbox.imap_folder)
        self.host, self.port, self.tls, self.user, self.password_secret, self.folder = self.key

    def __eq__(self, other):
        return isinstance(other, Target) and self.key == other.key

    def __hash__(self):
        return hash(self.key)


class ConnectionLost(ConnectionError):
    """The server closed the IDLE connection."""


def folder_place(selected):
    """A selected folder's UIDVALIDITY and UIDNEXT: another of either means mail to fetch."""
    return selected.get(b"UIDVALIDITY"), selected.get(b"UIDNEXT")


def configured(config, key, default):
    return config.get(key) or os.environ.get(key) or default


class MailboxWatchers(Entrypoint):
    """Holds each active IMAP mailbox's folder in IDLE and fetches its mail as it comes (module doc)."""

    connect = IMAPClient

    def setup(self):
        config = self.container.config
        self.enabled = str(configured(config, "CHANNELS_IDLE", "on")).lower() not in ("off", "false", "0", "no")
        self.idle_seconds = float(configured(config, "CHANNELS_IDLE_SECONDS", IDLE_SECONDS))
        self.reconcile_seconds = float(configured(config, "CHANNELS_IDLE_RECONCILE_SECONDS", RECONCILE_SECONDS))
        self.replica = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:100]
        self.watchers = {}  # mailbox id -> (Target, GreenThread)
        self.reconciler = None

    def start(self):
        self.sessions = database_of(self.container).session_factory
        self.reconciler = self.container.spawn_managed_thread(self.reconcile_forever,
                                                             identifier="channels.idle.reconcile")

    def stop(self):
        if self.reconciler is not None:
            self.reconciler.kill()
            self.reconciler = None
        for mailbox_id in list(self.watchers):
            self.stop_watcher(mailbox_id)
        try:  # the standby replicas take over at once, not when the claims run out
            self.release_claims()
        except Exception:
            log.warning("the IDLE claims of %s were not let go: they run out by themselves", self.replica,
                        exc_info=True)

    kill = stop

    # -- the set of watchers ---------------------------------------------------------------------------
    def reconcile_forever(self):
        while True:
            try:
                self.reconcile()
            except Exception:  # the database away: the watchers go on, tried again next time
                log.exception("IDLE watchers not reconciled")
            eventlet.sleep(self.reconcile_seconds)

    def reconcile(self):
        """One watcher per active IMAP mailbox, on its current settings."""
        targets = self.targets() if self.enabled else {}
        for mailbox_id, (target, thread) in list(self.watchers.items()):
            if targets.get(mailbox_id) != target or thread.dead:
                self.stop_watcher(mailbox_id)
        for mailbox_id, target in targets.items():
            if mailbox_id not in self.watchers:
                thread = self.container.spawn_managed_thread(partial(self.watch, mailbox_id, target),
                                                             identifier=f"channels.idle.mailbox.{mailbox_id}")
                self.watchers[mailbox_id] = (target, thread)

    def targets(self):
        with self.sessions() as session:
            return {mailbox.id: Target(mailbox) for mailbox in session.scalars(
                select(Mailbox).where(Mailbox.active, Mailbox.imap_host.isnot(None)))}

    def stop_watcher(self, mailbox_id):
        _target, thread = self.watchers.pop(mailbox_id)
        log.info("mailbox %s: no longer watched by IDLE here", mailbox_id)
        thread.kill()  # its ``finally`` lets the claim go; a fetch it started finishes in its worker

    # -- one mailbox -----------------------------------------------------------------------------------
    def watch(self, mailbox_id, target):
        try:
            self.watch_forever(mailbox_id, target)
        finally:  # stopped (the mailbox changed, the service stops): standby replicas take over at once
            try:
                self.release_claims(mailbox_id)
            except Exception:  # never out of the thread (nameko would kill the service): the claim runs out
                log.warning("mailbox %s: the IDLE claim was not let go", mailbox_id, exc_info=True)

    def watch_forever(self, mailbox_id, target):
        failures = 0
        while True:
            try:
                if not self.claim(mailbox_id):  # another replica holds it in IDLE: stand by
                    eventlet.sleep(self.reconcile_seconds)
                    continue
                supported = self.hold(mailbox_id, target)
                failures = 0
                if not supported:
                    eventlet.sleep(RECHECK_SECONDS)
            except Exception as exc:  # the server away, a wrong password: polled meanwhile
                failures += 1
                IDLE_FAILURES.inc()
                wait = rules.backoff_seconds(failures, BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS)
                log.warning("mailbox %s: IDLE failed (%r): polled, connecting again in %ss", mailbox_id, exc, wait)
                try:
                    self.release_claims(mailbox_id)
                except Exception:  # the database away too: the claim runs out by itself
                    log.debug("mailbox %s: the IDLE claim was not let go", mailbox_id, exc_info=True)
                eventlet.sleep(wait)

    def hold(self, mailbox_id, target):
        """The folder in IDLE until the claim is lost (True) or the server has no IDLE (False)."""
        with self.connection(target) as client:
            client.login(target.user, secret(target.password_secret) or "")
            supported = rules.watch_by_idle(True, client.capabilities())
            self.note_support(mailbox_id, supported)
            if not supported:
                log.info("mailbox %s: the server offers no IDLE: polled every CHANNELS_POLL_SECONDS", mailbox_id)
                self.release_claims(mailbox_id)
                return False
            place = folder_place(client.select_folder(target.folder, readonly=True))
            IDLE_MAILBOXES.inc()
            try:
                self.fetch(mailbox_id)  # what came before the IDLE
                while True:
                    client.idle()
                    news = self.wait_for_mail(client, mailbox_id)
                    client.idle_done()
                    if news is None or not self.claim(mailbox_id):
                        log.info("mailbox %s: another replica holds it in IDLE now", mailbox_id)
                        return True
                    # selected again: a folder deleted and made anew (which IDLE does not tell of) is
                    # the new one, and mail the server did not tell of shows in its UIDNEXT
                    now = folder_place(client.select_folder(target.folder, readonly=True))
                    if news or now != place:
                        self.fetch(mailbox_id)
                    place = now
            finally:
                IDLE_MAILBOXES.dec()

    @contextmanager
    def connection(self, target):
        """A client logged out at the end; cut off where the watcher is stopped or fails (in IDLE
        the server would not answer a LOGOUT, and a stopped watcher must not wait for it)."""
        client = self.connect(target.host, port=target.port, ssl=target.tls, timeout=imap.TIMEOUT_SECONDS)
        try:
            yield client
        except BaseException:
            try:
                client.shutdown()
            except Exception:
                pass
            raise
        try:
            client.logout()
        except Exception:
            log.debug("IMAP logout failed", exc_info=True)

    def wait_for_mail(self, client, mailbox_id):
        """Whether mail came in IDLE, within ``idle_seconds`` (None: the claim was lost meanwhile);
        the claim renewed every CHECK_SECONDS."""
        deadline = time.monotonic() + self.idle_seconds
        early = 0
        while (left := deadline - time.monotonic()) > 0:
            wait = min(left, CHECK_SECONDS)
            began = time.monotonic()
            responses = client.idle_check(timeout=wait)
            if rules.new_mail(responses):
                return True
            if not responses and time.monotonic() - began < wait / 2:  # readable, yet no line: closed
                early += 1
                if early >= 3:
                    raise ConnectionLost("the server closed the IDLE connection")
            else:
                early = 0
            if not self.claim(mailbox_id):
                return None
        return False

    def fetch(self, mailbox_id):
        """``fetch_mailbox`` in a worker of the service, waited for; the fetch lease another's (a
        poll that may have searched the folder before this mail came), asked again until it is free
        (for at most the lease's length)."""
        deadline = time.monotonic() + imap.FETCH_LEASE.total_seconds()
        while True:
            done = Event()
            self.container.spawn_worker(self, (mailbox_id,), {}, handle_result=partial(self.fetched, done))
            taken = done.wait()
            if taken is not None or time.monotonic() >= deadline:
                return taken
            eventlet.sleep(BUSY_RETRY_SECONDS)

    @staticmethod
    def fetched(done, worker_ctx, result, exc_info):
        if exc_info is not None:
            log.warning("mailbox %s: the fetch after IDLE failed: %r", worker_ctx.args, exc_info[1])
        done.send(result if exc_info is None else 0)
        return result, exc_info

    # -- the claim: one replica holds a folder in IDLE -------------------------------------------------
    def claim(self, mailbox_id):
        """Take (or renew) the mailbox's IDLE claim: True unless another replica holds it."""
        now = utc_now()
        with self.sessions() as session, session.begin():
            return bool(session.execute(update(Mailbox).where(
                Mailbox.id == mailbox_id, or_(Mailbox.idle_by.is_(None), Mailbox.idle_by == self.replica,
                                              Mailbox.idle_until.is_(None), Mailbox.idle_until <= now))
                .values(idle_by=self.replica,
                        idle_until=now + timedelta(seconds=CLAIM_SECONDS))
                .execution_options(synchronize_session=False)).rowcount)

    def release_claims(self, mailbox_id=None):
        where = [Mailbox.idle_by == self.replica] + ([Mailbox.id == mailbox_id] if mailbox_id is not None else [])
        with self.sessions() as session, session.begin():
            session.execute(update(Mailbox).where(*where).values(idle_by=None, idle_until=None)
                            .execution_options(synchronize_session=False))

    def note_support(self, mailbox_id, supported):
        with self.sessions() as session, session.begin():
            session.execute(update(Mailbox).where(Mailbox.id == mailbox_id).values(idle_supported=supported)
                            .execution_options(synchronize_session=False))


watch_mailboxes = MailboxWatchers.decorator
