"""Appraisal's own tables: the facts it received, what it derives from them,
and the templates, cycles, ratings, results, appeals and audit trail."""
from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from appraisal.contract import CUSTOMER
from plumbing.db import TYPE_ANNOTATIONS, UTCDateTime
from plumbing.outbox import messaging_tables


class Base(DeclarativeBase):
    type_annotation_map = TYPE_ANNOTATIONS


class Fact(Base):
    """Every event appraisal consumed, as it came: the source every figure is
    recomputed from (replay). The event id as key makes handling idempotent."""
    __tablename__ = "facts"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(128))
    sequence: Mapped[int]
    time: Mapped[datetime] = mapped_column(UTCDateTime())
    ticket_id: Mapped[int | None] = mapped_column(index=True)
    agent: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSON)
    stored_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None: kept before arrivals were noted

    __table_args__ = (Index("ix_facts_type_time", "type", "time"), Index("ix_facts_stored_at", "stored_at"))


class TicketRecord(Base):
    """A ticket as appraisal sees it now (facts.rules.TicketRecord), rebuilt from its facts."""
    __tablename__ = "ticket_records"

    ticket_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    agent: Mapped[str | None] = mapped_column(String(64), index=True)
    team: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str | None] = mapped_column(String(32))
    priority: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(32))
    last_sequence: Mapped[int]


class Measure(Base):
    """One contribution of a fact to a KPI (facts.rules.Measure), attributed to the agent responsible when it
    happened: derived from the facts (a ticket's rebuilt with it, an exam's kept by its event id)."""
    __tablename__ = "measures"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(index=True)
    event_id: Mapped[str | None] = mapped_column(String(255), unique=True)  # an exam's fact
    kind: Mapped[str] = mapped_column(String(32))
    agent: Mapped[str | None] = mapped_column(String(64))
    queue: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    day: Mapped[date] = mapped_column(Date)  # the UTC day of ``at``, for counts per day
    value: Mapped[float | None] = mapped_column(Float)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_measures_kind_at", "kind", "at"), Index("ix_measures_agent_at", "agent", "at"),
                      Index("ix_measures_queue_at", "queue", "at"))


class Membership(Base):
    """An agent in a team from ``valid_from`` (None: from the beginning) until ``valid_to`` (None: still),
    derived from the gateway's staff account snapshots (facts)."""
    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent: Mapped[str] = mapped_column(String(64), index=True)
    team: Mapped[str] = mapped_column(String(64), index=True)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime())


class KpiDefinition(Base):
    __tablename__ = "kpi_definitions"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))
    measure: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(16))
    target: Mapped[float] = mapped_column(Float)
    floor: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # no new template names it


class Template(Base):
    __tablename__ = "templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    period_type: Mapped[str] = mapped_column(String(16))
    items: Mapped[list] = mapped_column(JSON)
    reviewer_weights: Mapped[dict] = mapped_column(JSON)
    bands: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # no new cycle of it


class Cycle(Base):
    __tablename__ = "cycles"

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("templates.id", name="fk_cycles_template"))
    period_type: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16))
    appeal_days: Mapped[int]
    decision_days: Mapped[int]
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # first compute: figures frozen as of then
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    appeal_deadline: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # outcomes closing could not apply, for the committee: [{agent, course_id, reason, at}]; the database's
    # default only, so an insert written for an older revision (the migration tests) names no such column
    outcome_failures: Mapped[list] = mapped_column(JSON, server_default="[]")
    # the template and KPI definitions as they were when the cycle was planned (None: planned before
    # snapshots were kept, scored with them as they are): {items, reviewer_weights, bands, definitions}
    rule: Mapped[dict | None] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("template_id", "period_start", name="uq_cycles_template_period"),)


# what makes a rating one of a kind, each a partial unique index: a reviewer's of an agent in a cycle
# as a role; a customer's (relayed by an integration, which relays many customers) per ticket
STAFF_RATING = ("cycle_id", "agent", "reviewer_role", "reviewer"), text(f"reviewer_role <> '{CUSTOMER}'")
CUSTOMER_RATING = ("cycle_id", "agent", "ticket_id"), text(f"reviewer_role = '{CUSTOMER}'")


def rating_key(reviewer_role):
    """(columns, condition) of the partial unique index a rating given as ``reviewer_role`` falls under."""
    return CUSTOMER_RATING if reviewer_role == CUSTOMER else STAFF_RATING


def unique_where(name, key):
    columns, condition = key
    return Index(name, *columns, unique=True, postgresql_where=condition, sqlite_where=condition)


class Rating(Base):
    """One reviewer's scores (0-100) of one agent's rated items in one cycle (A2), one per
    ``rating_key``: a new one replaces the old."""
    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id", name="fk_ratings_cycle"), index=True)
    agent: Mapped[str] = mapped_column(String(64))
    reviewer: Mapped[str] = mapped_column(String(64))
    reviewer_role: Mapped[str] = mapped_column(String(16))
    scores: Mapped[dict] = mapped_column(JSON)
    comment: Mapped[str] = mapped_column(Text, default="")
    ticket_id: Mapped[int | None]  # a customer's rating: the ticket rated
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (unique_where("uq_ratings_reviewer", STAFF_RATING),
                      unique_where("uq_ratings_customer_ticket", CUSTOMER_RATING))


class Result(Base):
    __tablename__ = "results"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id", name="fk_results_cycle"))
    agent: Mapped[str] = mapped_column(String(64))
    team: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[float | None] = mapped_column(Float)
    grade: Mapped[str | None] = mapped_column(String(32))
    kpis: Mapped[dict] = mapped_column(JSON)
    breakdown: Mapped[dict] = mapped_column(JSON)
    outcome: Mapped[dict] = mapped_column(JSON)
    adjusted: Mapped[bool]
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("cycle_id", "agent", name="uq_results_cycle_agent"),)


class Appeal(Base):
    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id", name="fk_appeals_cycle"), index=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("results.id", name="fk_appeals_result"))
    agent: Mapped[str] = mapped_column(String(64))
    items: Mapped[list] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decision_due: Mapped[date] = mapped_column(Date)
    investigator: Mapped[str | None] = mapped_column(String(64))
    decision: Mapped[str | None] = mapped_column(String(16))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    score_before: Mapped[float | None] = mapped_column(Float)
    score_after: Mapped[float | None] = mapped_column(Float)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """Who did what to a cycle, its results and appeals, in order (A5)."""
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int | None] = mapped_column(index=True)
    appeal_id: Mapped[int | None]
    actor: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


outbox, inbox = messaging_tables(Base.metadata)
