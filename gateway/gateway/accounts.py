"""The account store: create, authenticate and check accounts."""
import logging
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from gateway import auth
from gateway.models import Account
from plumbing.errors import Conflict

log = logging.getLogger(__name__)


class AccountStore:
    def __init__(self, session_factory):
        self.session_factory = session_factory

    def create(self, username, password, roles) -> Account:
        now = datetime.now(timezone.utc)
        account = Account(username=username, password_hash=auth.hash_password(password), roles=sorted(set(roles)),
                          active=True, created_at=now, tokens_valid_after=now.replace(microsecond=0))
        try:
            with self.session_factory() as session, session.begin():
                session.add(account)
        except IntegrityError:
            raise Conflict(f"account {username!r} already exists", {"username": ["already taken"]}) from None
        return account

    def list(self) -> list[Account]:
        with self.session_factory() as session:
            return list(session.scalars(select(Account).order_by(Account.username)))

    def authenticate(self, username, password) -> Account | None:
        with self.session_factory() as session:
            account = session.scalars(select(Account).where(Account.username == username)).first()
        if account is None or not account.active or not auth.verify_password(account.password_hash, password):
            return None
        return account

    def accepts(self, principal: auth.Principal) -> bool:
        """A token is honoured only while its account is active and it was
        issued after the account's last revocation."""
        with self.session_factory() as session:
            account = session.scalars(select(Account).where(Account.username == principal.username)).first()
        return bool(account and account.active and principal.issued_at >= account.tokens_valid_after)

    def bootstrap_admin(self, username, password) -> bool:
        """Create the first admin when the store is empty; True if it did."""
        with self.session_factory() as session:
            if session.execute(select(func.count()).select_from(Account)).scalar_one():
                return False
        self.create(username, password, ["admin"])
        return True
