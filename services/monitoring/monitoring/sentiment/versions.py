"""Installed sentiment models: each a version with its head and figures, one of them active.

The package's own head is version 1 until a training run installs another
(``monitoring.sentiment.train``); an admin can roll back to the version before
the active one. Every monitoring process asks which version is active once per
call (one indexed row) and loads a head it has not seen, so an install or a
rollback reaches every process without a restart.
"""
import json
import threading

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitoring.models import SentimentModelVersion
from monitoring.sentiment.rules import HEAD_PATH, Head, SentimentModel

SHIPPED_VERSION = 1
SHIPPED_FIGURES_PATH = HEAD_PATH.with_suffix(".json")  # {"figures": ..., "trained_on": ...} of the shipped head


def shipped_record() -> dict:
    return json.loads(SHIPPED_FIGURES_PATH.read_text(encoding="utf-8"))


def active_version(session) -> SentimentModelVersion | None:
    return session.scalars(select(SentimentModelVersion).where(SentimentModelVersion.active)).first()


def versions(session) -> list[SentimentModelVersion]:
    return list(session.scalars(select(SentimentModelVersion).order_by(SentimentModelVersion.version.desc())))


def ensure_shipped(session, now):
    """Version 1 (the shipped head) as a row, so that what is installed next can be rolled back to it."""
    if session.get(SentimentModelVersion, SHIPPED_VERSION) is None:
        record = shipped_record()
        session.add(SentimentModelVersion(version=SHIPPED_VERSION, head=HEAD_PATH.read_bytes(),
                                          figures=record["figures"], trained_on=record["trained_on"],
                                          active=active_version(session) is None, installed_at=now, activated_at=now))
        session.flush()


def install(session, head: Head, figures: dict, trained_on: dict, now, actor=None) -> SentimentModelVersion:
    """A new version, active from now on."""
    ensure_shipped(session, now)
    number = max(row.version for row in versions(session)) + 1
    session.execute(update(SentimentModelVersion).values(active=False))
    row = SentimentModelVersion(version=number, head=head.to_bytes(), figures=figures, trained_on=trained_on,
                                active=True, installed_at=now, activated_at=now, activated_by=actor)
    session.add(row)
    session.flush()
    return row


def activate(session, row, now, actor):
    session.execute(update(SentimentModelVersion).values(active=False))
    row.active, row.activated_at, row.activated_by = True, now, actor
    session.flush()


def load_active(database_url) -> SentimentModel | None:
    """The active version of the database at ``database_url`` (CLI use), None when there is none."""
    from plumbing.config import database_url as service_database_url
    from plumbing.db import make_engine

    engine = make_engine(database_url or service_database_url("monitoring"))
    try:
        with Session(engine) as session:
            row = active_version(session)
            return SentimentModel(Head.from_bytes(row.head), row.version) if row else None
    finally:
        engine.dispose()


class ModelSlot:
    """The model a process analyses with: the active version, heads loaded once each."""

    def __init__(self, shipped: SentimentModel):
        self.shipped = shipped
        self.loaded = {shipped.version: shipped}
        self.lock = threading.Lock()

    def current(self, session) -> SentimentModel:
        number = session.scalar(select(SentimentModelVersion.version).where(SentimentModelVersion.active))
        if number is None:
            return self.shipped
        if number not in self.loaded:
            with self.lock:
                if number not in self.loaded:
                    head = session.scalar(select(SentimentModelVersion.head)
                                          .where(SentimentModelVersion.version == number))
                    self.loaded[number] = SentimentModel(Head.from_bytes(head), number)
        return self.loaded[number]
