"""The sign-in rate limit (X6): failed attempts per username and per client
address within a sliding window.

Each attempt is counted against both, as rows in the gateway's database, so
every replica counts the same attempts; and it is counted BEFORE its password
is checked, in one transaction that first takes a lock per key (on PostgreSQL
a transaction-scoped advisory lock; SQLite lets one writer in at a time), so
attempts made at once, on any replica, are counted one after the other: no
more than the limit of them get to the password. An attempt past a limit is
refused (429) without being counted, so a locked-out username does not use up
its address's budget and lock out that address's other usernames. A
successful sign-in withdraws its own rows and forgets the username's
failures; the address's stay, so one good account does not reset a guesser's
budget.
"""
import hashlib
import math
from dataclasses import dataclass
from datetime import timedelta

from prometheus_client import Counter
from sqlalchemy import delete, func, select

from gateway.models import LoginFailure
from plumbing.db import is_postgres

LOGINS_REFUSED = Counter("csops_gateway_logins_refused_total",
                         "Sign-ins refused: wrong_credentials (counted) or rate_limited.", ["reason"])


@dataclass(frozen=True)
class Limits:
    per_username: int  # 0: no limit
    per_address: int
    window: timedelta


def begin(session, limits, username, address, now) -> tuple[int | None, list[int]]:
    """Count an attempt, in its own transaction, before its password is checked: (None, the ids of
    its rows), or (whole seconds until an attempt may be made, []) when a limit is used up."""
    keys = counted(limits, username, address)
    if is_postgres(session):
        for key, _ in sorted(keys):  # one order everywhere: no deadlock
            session.execute(select(func.pg_advisory_xact_lock(lock_id(key))))
    sweep(session, now - limits.window)
    wait = retry_after(session, limits, keys, now)
    if wait:
        return wait, []
    rows = [LoginFailure(key=key, at=now) for key, _ in keys]
    session.add_all(rows)
    session.flush()
    return None, [row.id for row in rows]


def retry_after(session, limits, keys, now) -> int | None:
    """Whole seconds until the oldest counted attempt of a used-up limit leaves the window, or None."""
    waits = []
    for key, limit in keys:
        recent = session.scalars(
            select(LoginFailure.at).where(LoginFailure.key == key, LoginFailure.at > now - limits.window)
            .order_by(LoginFailure.at.desc()).limit(limit)).all()
        if len(recent) == limit:  # the oldest of these leaving the window frees one attempt
            waits.append(recent[-1] + limits.window - now)
    return max(1, math.ceil(max(waits).total_seconds())) if waits else None


def sweep(session, cutoff):
    """Forget attempts no longer counted; rows another attempt is sweeping are skipped, not waited for."""
    expired = select(LoginFailure.id).where(LoginFailure.at <= cutoff).with_for_update(skip_locked=True)
    session.execute(delete(LoginFailure).where(LoginFailure.id.in_(expired)))


def withdraw(session, attempt):
    """A successful attempt is no failure."""
    session.execute(delete(LoginFailure).where(LoginFailure.id.in_(attempt)))


def forget_failures(session, username):
    session.execute(delete(LoginFailure).where(LoginFailure.key == username_key(username)))


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
