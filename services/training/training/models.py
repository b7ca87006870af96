from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from plumbing.db import TYPE_ANNOTATIONS, UTCDateTime
from plumbing.outbox import messaging_tables


class Base(DeclarativeBase):
    type_annotation_map = TYPE_ANNOTATIONS


class Course(Base):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    duration_hours: Mapped[float] = mapped_column(Float)
    target_role: Mapped[str] = mapped_column(String(64))
    certification_validity_days: Mapped[int | None]
    sessions_per_month: Mapped[int | None]
    certification: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_courses_kind_mode", "kind", "mode"),
    )


class CourseModule(Base):
    """One step of a course, in ``position`` order; an exam module holds its
    exam's settings (parts, weights, draws, pass mark, limits) as written.
    Edited once the course is started, a module is retired (``retired_at``)
    and a new version takes its place (``replaces_module_id``): attempts keep
    the version they were taken on."""
    __tablename__ = "course_modules"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", name="fk_course_modules_course"), index=True)
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    exam: Mapped[dict | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    replaces_module_id: Mapped[int | None]
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class QuestionCategory(Base):
    __tablename__ = "question_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")


class Question(Base):
    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("question_categories.id", name="fk_questions_category"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    prompt: Mapped[str] = mapped_column(Text)
    options: Mapped[list] = mapped_column(JSON, default=list)
    correct: Mapped[list | bool | None] = mapped_column(JSON)
    marks: Mapped[float] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Enrolment(Base):
    """An agent on a course. A new cycle starts when they are enrolled again
    after completing it or after a final failure; attempts and overrides
    belong to one cycle."""
    __tablename__ = "enrolments"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", name="fk_enrolments_course"))
    agent: Mapped[str] = mapped_column(String(64), index=True)
    cycle: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    enrolled_by: Mapped[str | None] = mapped_column(String(64))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completion_percent: Mapped[float] = mapped_column(Float, default=0.0)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("course_id", "agent", name="uq_enrolments_course_agent"),
    )


class ModuleProgress(Base):
    """How far an enrolment is through one module in its current cycle:
    progress of content, attendance of a session, 100 for a passed exam."""
    __tablename__ = "module_progress"

    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolments.id", name="fk_module_progress_enrolment"), primary_key=True)
    module_id: Mapped[int] = mapped_column(
        ForeignKey("course_modules.id", name="fk_module_progress_module"), primary_key=True)
    percent: Mapped[float] = mapped_column(Float)
    attended: Mapped[bool | None] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AttemptOverride(Base):
    """Extra attempts for one agent at one exam, in one cycle only."""
    __tablename__ = "attempt_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolments.id", name="fk_attempt_overrides_enrolment"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("course_modules.id", name="fk_attempt_overrides_module"))
    cycle: Mapped[int]
    extra_attempts: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    granted_by: Mapped[str | None] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Attempt(Base):
    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", name="fk_attempts_enrolment"))
    module_id: Mapped[int] = mapped_column(ForeignKey("course_modules.id", name="fk_attempts_module"))
    cycle: Mapped[int]
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(24))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    auto_submitted: Mapped[bool] = mapped_column(Boolean, default=False)
    part_percents: Mapped[dict] = mapped_column(JSON, default=dict)
    grade: Mapped[float | None] = mapped_column(Float)
    graded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    assessed_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("enrolment_id", "module_id", "cycle", "number", name="uq_attempts_number"),
        Index("ix_attempts_running", "status", "deadline"),
    )


class AttemptQuestion(Base):
    """A drawn question frozen as the agent saw it, with its key and marks,
    so grading and any re-grade read exactly this and never the live bank."""
    __tablename__ = "attempt_questions"

    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempts.id", name="fk_attempt_questions_attempt"), primary_key=True)
    question_id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int]
    category_id: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    prompt: Mapped[str] = mapped_column(Text)
    options: Mapped[list] = mapped_column(JSON, default=list)
    correct: Mapped[list | bool | None] = mapped_column(JSON)
    marks: Mapped[float] = mapped_column(Float)
    answer: Mapped[list | bool | int | str | None] = mapped_column(JSON)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    awarded: Mapped[float | None] = mapped_column(Float)


class Certification(Base):
    """One per agent and certification name: passing again renews it."""
    __tablename__ = "certifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", name="fk_certifications_course"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("agent", "name", name="uq_certifications_agent_name"),
        Index("ix_certifications_expiry", "expired_at", "valid_until"),
    )


class CareerLevel(Base):
    """The certifications a career level requires (R5)."""
    __tablename__ = "career_levels"

    level: Mapped[str] = mapped_column(String(16), primary_key=True)
    certifications: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


outbox, inbox = messaging_tables(Base.metadata)
