"""The sign-in rate limit (X6): failed attempts per username and per client
address within a sliding window.

Each failure is counted against both, as rows in the gateway's database, so
every replica counts the same attempts. Once a username or an address has
used up its failures, an attempt is refused (429) without checking the
password, until the oldest of those failures leaves the window. A successful
sign-in forgets the username's failures; the address's stay, so one good
account does not reset a guesser's budget.
"""
import math
from dataclasses import dataclass
from datetime import timedelta

from prometheus_client import Counter
from sqlalchemy import delete, select

from gateway.models import LoginFailure

LOGINS_REFUSED = Counter("csops_gateway_logins_refused_total",
                         "Sign-ins refused: wrong_credentials (counted) or rate_limited.", ["reason"])


@dataclass(frozen=True)
class Limits:
    per_username: int  # 0: no limit
    per_address: int
    window: timedelta


def retry_after(session, limits, username, address, now) -> int | None:
    """Whole seconds until an attempt may be made, or None when one may be made now."""
    waits = []
    for key, limit in counted(limits, username, address):
        recent = session.scalars(
            select(LoginFailure.at).where(LoginFailure.key == key, LoginFailure.at > now - limits.window)
            .order_by(LoginFailure.at.desc()).limit(limit)).all()
        if len(recent) == limit:  # the oldest of these leaving the window frees one attempt
            waits.append(recent[-1] + limits.window - now)
    return max(1, math.ceil(max(waits).total_seconds())) if waits else None


def record_failure(session, limits, username, address, now):
    session.add_all(LoginFailure(key=key, at=now) for key, _ in counted(limits, username, address))
    session.execute(delete(LoginFailure).where(LoginFailure.at <= now - limits.window))  # no longer counted


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
