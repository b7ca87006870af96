"""The account store: staff and integration accounts, their roles and the
profile routing uses (teams, skills, capacity, on duty).

Password hashing is CPU work: callers run it off the event loop
(``eventlet.tpool``); everything here is database work on the caller's
session, so a change and its ``staff.*`` event commit together.
"""
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from gateway import auth
from gateway.models import Account
from plumbing.errors import Conflict, NotFound


def now():
    return datetime.now(timezone.utc)


def find(session, username) -> Account | None:
    return session.scalars(select(Account).where(Account.username == username)).first()


def get(session, username) -> Account:
    account = find(session, username)
    if account is None:
        raise NotFound(f"account {username!r} does not exist")
    return account


def ordered(session) -> list[Account]:
    """Every account, by username."""
    return list(session.scalars(select(Account).order_by(Account.username)))


def active_agents(session) -> list[Account]:
    return [account for account in session.scalars(select(Account).where(Account.active.is_(True)))
            if "agent" in account.roles]


def create(session, username, password_hash, roles, teams=(), skills=(), capacity=10) -> Account:
    if find(session, username) is not None:
        raise Conflict(f"account {username!r} already exists", {"username": ["already taken"]})
    created = now()
    account = Account(username=username, password_hash=password_hash, roles=sorted(set(roles)),
                      teams=sorted(set(teams)), skills=sorted(set(skills)), capacity=capacity, on_duty=False,
                      active=True, created_at=created, tokens_valid_after=created.replace(microsecond=0))
    session.add(account)
    session.flush()
    return account


def update(account, changes) -> dict:
    """Apply profile changes; returns what changed. Deactivating revokes every token."""
    changed = {}
    for name, value in changes.items():
        if name in ("roles", "teams", "skills"):
            value = sorted(set(value))
        if getattr(account, name) != value:
            changed[name] = [getattr(account, name), value]
            setattr(account, name, value)
    if changed.get("active") == [True, False]:
        revoke_tokens(account)
    return changed


def revoke_tokens(account):
    """Tokens carry whole-second issue times: anything issued up to now stops working."""
    account.tokens_valid_after = now().replace(microsecond=0) + timedelta(seconds=1)
    account.on_duty = False


class AccountStore:
    """What the gateway needs outside a worker's transaction.

    Each request checks its token's account; the answer is kept for
    ``CHECK_TTL_SECONDS`` (a database query per request was the gateway's
    largest cost). This process forgets an account as soon as it changes it;
    another gateway replica honours a revoked token at most that long.
    """
    CHECK_TTL_SECONDS = 2.0

    def __init__(self, session_factory):
        self.session_factory = session_factory
        self.checked = {}  # username -> (active, tokens_valid_after, checked at, teams)

    def accepts(self, principal: auth.Principal) -> bool:
        """A token is honoured only while its account is active and it was
        issued after the account's last revocation."""
        active, valid_after, _, _ = self.checked_account(principal.username)
        return active and principal.issued_at >= valid_after

    def teams_of(self, username) -> list:
        """The account's teams as last checked: the scope of what a supervisor or agent may see."""
        return list(self.checked_account(username)[3])

    def checked_account(self, username):
        cached = self.checked.get(username)
        if cached is None or time.monotonic() - cached[2] > self.CHECK_TTL_SECONDS:
            with self.session_factory() as session:
                account = find(session, username)
            cached = (bool(account and account.active), account.tokens_valid_after if account else None,
                      time.monotonic(), tuple(account.teams or ()) if account else ())
            self.checked[username] = cached
        return cached

    def forget(self, username):
        self.checked.pop(username, None)

    def bootstrap_admin(self, username, password) -> bool:
        """Create the first admin when the store is empty; True if it did."""
        with self.session_factory() as session, session.begin():
            if session.execute(select(func.count()).select_from(Account)).scalar_one():
                return False
            create(session, username, auth.hash_password(password), ["admin"])
        return True
