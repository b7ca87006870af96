"""The account store: staff and integration accounts, their roles and the
profile routing uses (teams, skills, capacity, on duty).

Password hashing is CPU work: callers run it off the event loop
(``eventlet.tpool``); everything here is database work on the caller's
session, so a change and its ``staff.*`` event commit together.
"""
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import bindparam, create_engine, func, select
from sqlalchemy.exc import DBAPIError

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


def existing(session, usernames) -> set[str]:
    """Which of ``usernames`` are accounts, active or not."""
    return set(session.scalars(select(Account.username).where(Account.username.in_(sorted(set(usernames))))))


def ordered(session) -> list[Account]:
    """Every account, by username."""
    return list(session.scalars(select(Account).order_by(Account.username)))


def active_agents(session) -> list[Account]:
    return [account for account in session.scalars(select(Account).where(Account.active.is_(True)))
            if "agent" in account.roles]


def create(session, username, password_hash, roles, teams=(), skills=(), capacity=10) -> Account:
    if find(session, username) is not None:
        raise Conflict(f"account {username!r} already exists", {"username": ["already taken"]})
    account = Account(username=username, password_hash=password_hash, roles=sorted(set(roles)),
                      teams=sorted(set(teams)), skills=sorted(set(skills)), capacity=capacity, on_duty=False,
                      active=True, created_at=now(), token_generation=0)
    session.add(account)
    session.flush()
    return account


def update(account, changes) -> dict:
    """Apply profile changes; returns what changed. New roles or a deactivation revoke every
    token (a token carries the roles it was issued with)."""
    changed = {}
    for name, value in changes.items():
        if name in ("roles", "teams", "skills"):
            value = sorted(set(value))
        if getattr(account, name) != value:
            changed[name] = [getattr(account, name), value]
            setattr(account, name, value)
    if changed.get("active") == [True, False]:
        account.on_duty = False
    if "roles" in changed or changed.get("active") == [True, False]:
        revoke_tokens(account)
    return changed


def set_password(account, password_hash):
    """A new password: every token issued with the old one stops working."""
    account.password_hash = password_hash
    revoke_tokens(account)


def revoke_tokens(account):
    """Every token issued so far stops working, on every replica at its next request (see AccountStore).
    Counted up by the database: two revocations at once are two, so a token issued between them
    does not survive the second."""
    account.token_generation = Account.token_generation + 1


@dataclass(frozen=True)
class Standing:
    """What a request needs of its caller's account beyond the token."""
    teams: tuple


class AccountStore:
    """What the gateway needs outside a worker's transaction.

    Every request checks its token against its account's row: one SELECT of three columns by the
    unique username. A revocation commits before it is answered, so from then on every replica
    refuses the revoked tokens: nothing is cached, nothing needs telling. On PostgreSQL the check
    has a pool of its own, in autocommit and without a pre-ping: one round trip per request, not
    four (ping, BEGIN, SELECT, ROLLBACK); docs/operations.md has the figures.
    """
    def __init__(self, session_factory):
        self.session_factory = session_factory
        engine = session_factory.kw["bind"]
        self.engine = (create_engine(engine.url, isolation_level="AUTOCOMMIT", pool_size=5, max_overflow=10)
                       if engine.dialect.name == "postgresql" else engine)
        self.query = select(Account.active, Account.token_generation, Account.teams).where(
            Account.username == bindparam("username"))

    def accepts(self, principal: auth.Principal) -> Standing | None:
        """The account's standing while the token is honoured: its account is active and still in
        the token's generation. None otherwise."""
        row = self.checked_row(principal.username)
        if row is None or not row.active or row.token_generation != principal.generation:
            return None
        return Standing(tuple(row.teams or ()))

    def checked_row(self, username, retries=1):
        try:
            with self.engine.connect() as connection:
                return connection.execute(self.query, {"username": username}).first()
        except DBAPIError as error:  # without a pre-ping, a connection the server dropped is found here
            if error.connection_invalidated and retries:
                return self.checked_row(username, retries - 1)
            raise

    def close(self):
        if self.engine is not self.session_factory.kw["bind"]:
            self.engine.dispose()

    def bootstrap_admin(self, username, password) -> bool:
        """Create the first admin when the store is empty; True if it did."""
        with self.session_factory() as session, session.begin():
            if session.execute(select(func.count()).select_from(Account)).scalar_one():
                return False
            create(session, username, auth.hash_password(password), ["admin"])
        return True
