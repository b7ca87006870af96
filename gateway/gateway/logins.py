"""The sign-in rate limit (X6): failed attempts per username and per client
address within a sliding window.

Each attempt is counted against both, as rows in the gateway's database, so
every replica counts the same attempts; and it is counted BEFORE its password
is checked (a pending row), in one transaction that first takes a lock per key
(on PostgreSQL a transaction-scoped advisory lock; SQLite lets one writer in at
a time), so attempts made at once, on any replica, are counted one after the
other: no more than the limit of them get to the password. Once checked, a
failure stays counted and a success withdraws its rows and forgets the
username's failures (the address's stay, so one good account does not reset a
guesser's budget). An attempt that finds the limit filled only by checks in
progress waits for them (they take a fraction of a second), so people signing
in at once are not refused; past the limit it is refused (429) without being
counted, so a locked-out username does not use up its address's budget and
lock out that address's other usernames.
"""
import hashlib
import math
from dataclasses import dataclass
from datetime import timedelta

from prometheus_client import Counter
from sqlalchemy import delete, func, select, update

from gateway.models import LoginFailure
from plumbing.db import is_postgres

BUSY = 0  # ``retry_after`` when the limit is filled only by attempts being checked: ask again shortly
BUSY_WAIT_SECONDS = 5  # how long an attempt waits for checks in progress before it is refused
PENDING_SECONDS = 30  # a check takes far less: a pending row this old is a gateway that died checking

LOGINS_REFUSED = Counter("csops_gateway_logins_refused_total",
                         "Sign-ins refused: wrong_credentials (counted) or rate_limited.", ["reason"])


@dataclass(frozen=True)
class Limits:
    per_username: int  # 0: no limit
    per_address: int
    window: timedelta


def begin(session, limits, username, address, now) -> tuple[int | None, list[int]]:
    """Count an attempt, in its own transaction, before its password is checked: (None, the ids of
    its rows), or (``retry_after``, []) when a limit is used up."""
    keys = counted(limits, username, address)
    lock(session, username, address)
    sweep(session, now - limits.window)
    wait = retry_after(session, limits, keys, now)
    if wait is not None:
        return wait, []
    rows = [LoginFailure(key=key, at=now, pending=True) for key, _ in keys]
    session.add_all(rows)
    session.flush()
    return None, [row.id for row in rows]


def retry_after(session, limits, keys, now) -> int | None:
    """None when an attempt may be checked; ``BUSY`` when a limit is filled only because attempts
    are being checked; else whole seconds until the oldest counted failure leaves the window."""
    waits = []
    for key, limit in keys:
        recent = session.execute(
            select(LoginFailure.at, LoginFailure.pending)
            .where(LoginFailure.key == key, LoginFailure.at > now - limits.window)
            .order_by(LoginFailure.at.desc()).limit(limit)).all()
        if len(recent) < limit:
            continue
        if any(pending and at > now - timedelta(seconds=PENDING_SECONDS) for at, pending in recent):
            waits.append(timedelta(0))  # one of those checks ends soon, as a success or a failure
        else:  # the oldest of these leaving the window frees one attempt
            waits.append(recent[-1].at + limits.window - now)
    if not waits:
        return None
    wait = max(waits)
    return BUSY if wait == timedelta(0) else max(1, math.ceil(wait.total_seconds()))


def sweep(session, cutoff):
    """Forget attempts no longer counted; rows another attempt is sweeping are skipped, not waited for."""
    expired = select(LoginFailure.id).where(LoginFailure.at <= cutoff).with_for_update(skip_locked=True)
    session.execute(delete(LoginFailure).where(LoginFailure.id.in_(expired)))


def failed(session, username, address, attempt):
    lock(session, username, address)
    session.execute(update(LoginFailure).where(LoginFailure.id.in_(attempt)).values(pending=False))


def succeeded(session, username, address, attempt):
    """A successful attempt is no failure, and the username's earlier failures are forgotten."""
    lock(session, username, address)
    session.execute(delete(LoginFailure).where(LoginFailure.id.in_(attempt)))
    session.execute(delete(LoginFailure).where(LoginFailure.key == username_key(username)))


def lock(session, username, address):
    """Every write to a username's or an address's rows first takes their keys' locks, in one order:
    sign-ins at once are counted one after the other, and two successes deleting the same rows
    cannot deadlock (PostgreSQL: transaction-scoped advisory locks; SQLite has one writer anyway)."""
    if is_postgres(session):
        for key in sorted({username_key(username), f"address:{address}"}):
            session.execute(select(func.pg_advisory_xact_lock(lock_id(key))))


def counted(limits, username, address):
    """(key, limit) of each limit in force for this attempt."""
    keys = [(username_key(username), limits.per_username)]
    if address:
        keys.append((f"address:{address}", limits.per_address))
    return [(key, limit) for key, limit in keys if limit]


def username_key(username):
    return f"username:{username}"


def lock_id(key) -> int:
    """The key as a PostgreSQL advisory lock id (a signed 64-bit number)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)
