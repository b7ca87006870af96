from datetime import datetime

from sqlalchemy import (
    JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from plumbing.db import TYPE_ANNOTATIONS, UTCDateTime
from plumbing.outbox import messaging_tables


class Base(DeclarativeBase):
    type_annotation_map = TYPE_ANNOTATIONS


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
    # analysis; on-topic posts only (a post matching no watch rule is stored, not analysed)
    on_topic: Mapped[bool] = mapped_column(Boolean, server_default=false())
    detected_language: Mapped[str | None] = mapped_column(String(16))
    sentiment: Mapped[str | None] = mapped_column(String(16))
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    sentiment_confidence: Mapped[float | None] = mapped_column(Float)  # low: queued for review
    sentiment_model_version: Mapped[int | None] = mapped_column(Integer)
    corrected_sentiment: Mapped[str | None] = mapped_column(String(16))
    crisis_terms: Mapped[list | None] = mapped_column(JSON)
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("clusters.id", name="fk_posts_cluster_id_clusters"))
    severity: Mapped[float | None] = mapped_column(Float)
    level: Mapped[str | None] = mapped_column(String(4))

    __table_args__ = (
        UniqueConstraint("platform", "external_id", name="uq_posts_platform_external_id"),
        Index("ix_posts_posted_at", "posted_at"),
        Index("ix_posts_platform_posted_at", "platform", "posted_at"),
        Index("ix_posts_cluster_id", "cluster_id"),
        Index("ix_posts_sentiment_confidence", "sentiment_confidence"),
    )


class WatchRule(Base):
    __tablename__ = "watch_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    query: Mapped[str] = mapped_column(Text)
    platforms: Mapped[list] = mapped_column(JSON)
    author_kinds: Mapped[list] = mapped_column(JSON)
    verified_only: Mapped[bool]
    min_followers: Mapped[int]
    active: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PostTopic(Base):
    __tablename__ = "post_topics"

    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", name="fk_post_topics_post_id_posts"),
                                         primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("watch_rules.id", name="fk_post_topics_rule_id_watch_rules"),
                                         primary_key=True)

    __table_args__ = (Index("ix_post_topics_rule_id", "rule_id"),)


class Cluster(Base):
    """Near-duplicate on-topic posts; ``size`` is their spread."""
    __tablename__ = "clusters"

    id: Mapped[int] = mapped_column(primary_key=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary)  # MinHash of its first post
    lead_post_id: Mapped[int | None] = mapped_column(Integer)  # the member whose severity is highest
    size: Mapped[int]
    negative: Mapped[int]
    peak_severity: Mapped[float]  # of its gravest member, before spread
    severity: Mapped[float]       # peak plus the spread of the whole cluster
    level: Mapped[str | None] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ClusterBand(Base):
    """The LSH index: one row per band key seen, pointing at its cluster. Derived from the clusters'
    signatures and written only for clusters of the same transaction, like an index it has no
    foreign key: checking one per row doubled the cost of writing the eleven rows a post brings."""
    __tablename__ = "cluster_bands"

    band_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    cluster_id: Mapped[int]


class TopicBucket(Base):
    """Mentions of a topic per time bucket, the input of spike detection."""
    __tablename__ = "topic_buckets"

    rule_id: Mapped[int] = mapped_column(ForeignKey("watch_rules.id", name="fk_topic_buckets_rule_id_watch_rules"),
                                         primary_key=True)
    bucket_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    total: Mapped[int]
    negative: Mapped[int]


class Spike(Base):
    __tablename__ = "spikes"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("watch_rules.id", name="fk_spikes_rule_id_watch_rules"))
    bucket_start: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(16))
    observed: Mapped[float]
    expected: Mapped[float]
    p_value: Mapped[float | None]
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", name="fk_spikes_alert_id_alerts"))
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("rule_id", "bucket_start", "reason", name="uq_spikes_rule_bucket_reason"),)


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(4))
    severity: Mapped[float]
    summary: Mapped[str] = mapped_column(Text)
    topics: Mapped[list] = mapped_column(JSON)
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("clusters.id", name="fk_alerts_cluster_id_clusters"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", name="fk_alerts_post_id_posts"))
    crisis_terms: Mapped[list] = mapped_column(JSON)
    opens_ticket: Mapped[bool]
    state: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str | None] = mapped_column(String(64))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    responding_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_alerts_state_raised_at", "state", "raised_at"),)


class AlertEntry(Base):
    """What happened to an alert: state changes, actions, notes, escalations (append-only)."""
    __tablename__ = "alert_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", name="fk_alert_entries_alert_id_alerts"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    action: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[dict] = mapped_column(JSON)

    __table_args__ = (Index("ix_alert_entries_alert_id", "alert_id"),)


class SentimentCorrection(Base):
    """An agent's verdict on a post's sentiment; ``monitoring.sentiment.train`` learns from them."""
    __tablename__ = "sentiment_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", name="fk_sentiment_corrections_post_id_posts"))
    text: Mapped[str] = mapped_column(Text)
    sentiment: Mapped[str] = mapped_column(String(16))
    model_sentiment: Mapped[str | None] = mapped_column(String(16))
    agent: Mapped[str | None] = mapped_column(String(64))
    corrected_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SentimentModelVersion(Base):
    """An installed sentiment model: its head (``rules.Head.to_bytes``) and its figures; one is active."""
    __tablename__ = "sentiment_models"

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    head: Mapped[bytes] = mapped_column(LargeBinary)
    figures: Mapped[dict] = mapped_column(JSON)  # dev-split figures measured when it was installed
    trained_on: Mapped[dict] = mapped_column(JSON)  # rows per source
    active: Mapped[bool] = mapped_column(Boolean, server_default=false())
    installed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    activated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    activated_by: Mapped[str | None] = mapped_column(String(64))


outbox, inbox = messaging_tables(Base.metadata)
