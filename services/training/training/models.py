from datetime import datetime

from sqlalchemy import Float, Index, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from plumbing.db import UTCDateTime
from plumbing.outbox import messaging_tables


class Base(DeclarativeBase):
    pass


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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_courses_kind_mode", "kind", "mode"),
    )


outbox, inbox = messaging_tables(Base.metadata)
