from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from plumbing.db import TYPE_ANNOTATIONS, UTCDateTime
from plumbing.outbox import messaging_tables


class Base(DeclarativeBase):
    type_annotation_map = TYPE_ANNOTATIONS


class Account(Base):
    """A staff or integration account; the gateway is where identity lives."""
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    roles: Mapped[list] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    teams: Mapped[list] = mapped_column(JSON, default=list)
    skills: Mapped[list] = mapped_column(JSON, default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=10)  # open tickets routing may give them at once
    on_duty: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # a token is honoured while it names this number; revoking them (new roles, deactivation, a new
    # password, signing out) moves it on
    token_generation: Mapped[int] = mapped_column(Integer, default=0)


class LoginFailure(Base):
    """A refused sign-in, or one whose password is being checked, counted against
    its username and its client address while it is in the rate limit's window;
    in the database so that every gateway replica counts the same attempts."""
    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80))  # "username:<username>" or "address:<client IP address>"
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    pending: Mapped[bool] = mapped_column(Boolean, default=False)  # its password is being checked

    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"), Index("ix_login_failures_at", "at"))


outbox, inbox = messaging_tables(Base.metadata)
