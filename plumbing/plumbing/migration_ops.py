"""Migration steps for plumbing's own tables (outbox, inbox).

Each function is frozen at the version a service's migration was written
against; a later change to the tables gets a new function and a new
migration in every service, never an edit here.
"""
import sqlalchemy as sa
from alembic import op


def create_messaging_tables_v1():
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("consumer", sa.String(length=255), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "consumer"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("aggregate_type", sa.String(length=64), nullable=False),
        sa.Column("aggregate_id", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=128), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("aggregate_type", "aggregate_id", "sequence", name="uq_outbox_aggregate_sequence"),
    )
    op.create_index("ix_outbox_pending", "outbox", ["published_at", "created_at"], unique=False)


def drop_messaging_tables_v1():
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("inbox")
