from datetime import datetime

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from plumbing.db import UTCDateTime
from plumbing.outbox import messaging_tables


class Base(DeclarativeBase):
    pass


class Post(Base):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(2000))
    author_id: Mapped[str] = mapped_column(String(200))
    author_name: Mapped[str] = mapped_column(String(200))
    author_followers: Mapped[int]
    author_verified: Mapped[bool]
    author_kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reposts: Mapped[int]
    comments: Mapped[int]
    likes: Mapped[int]
    parent_external_id: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("platform", "external_id", name="uq_posts_platform_external_id"),
        Index("ix_posts_posted_at", "posted_at"),
        Index("ix_posts_platform_posted_at", "platform", "posted_at"),
    )


outbox, inbox = messaging_tables(Base.metadata)
