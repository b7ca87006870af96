"""measures attributed per fact, team memberships over time, when each fact arrived

Revision ID: 5b7e0c9d2a41
Revises: 8e4f1c2a6b3d
Create Date: 2026-12-07 16:00:00.000000

The KPIs come from ``measures`` (one row per contribution of a fact, for the
agent responsible when it happened) instead of per-ticket columns of
``ticket_records``, which keep only who owns the ticket now. Both new tables
are derived from the facts: after upgrading, ``POST /api/v1/appraisal/replay``
fills them. Facts kept before this migration have no arrival time (never late).
"""
from alembic import op
import sqlalchemy as sa


revision = '5b7e0c9d2a41'
down_revision = '8e4f1c2a6b3d'
branch_labels = None
depends_on = None

DROPPED = ('first_response_seconds', 'resolution_seconds', 'resolved', 'ever_resolved', 'first_contact_resolution',
           'reopens', 'transfers', 'sla_subject', 'sla_met', 'csat_score')


def upgrade():
    op.create_table('measures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.String(length=255), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('agent', sa.String(length=64), nullable=True),
    sa.Column('queue', sa.String(length=64), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('arrived_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    with op.batch_alter_table('measures', schema=None) as batch_op:
        batch_op.create_index('ix_measures_kind_at', ['kind', 'at'], unique=False)
        batch_op.create_index('ix_measures_agent_at', ['agent', 'at'], unique=False)
        batch_op.create_index('ix_measures_queue_at', ['queue', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_measures_ticket_id'), ['ticket_id'], unique=False)
    op.create_table('memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent', sa.String(length=64), nullable=False),
    sa.Column('team', sa.String(length=64), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memberships_agent'), ['agent'], unique=False)
        batch_op.create_index(batch_op.f('ix_memberships_team'), ['team'], unique=False)
    with op.batch_alter_table('facts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stored_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_facts_stored_at', ['stored_at'], unique=False)
    with op.batch_alter_table('ticket_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_records_created_on'))
        batch_op.drop_column('created_on')
        for column in DROPPED:
            batch_op.drop_column(column)


def downgrade():
    with op.batch_alter_table('ticket_records', schema=None) as batch_op:
        for column in ('resolved', 'ever_resolved', 'first_contact_resolution', 'sla_subject', 'sla_met'):
            batch_op.add_column(sa.Column(column, sa.Boolean(), nullable=False, server_default=sa.false()))
        for column in ('reopens', 'transfers'):
            batch_op.add_column(sa.Column(column, sa.Integer(), nullable=False, server_default='0'))
        for column in ('first_response_seconds', 'resolution_seconds'):
            batch_op.add_column(sa.Column(column, sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('csat_score', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('created_on', sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f('ix_ticket_records_created_on'), ['created_on'], unique=False)
    with op.batch_alter_table('facts', schema=None) as batch_op:
        batch_op.drop_index('ix_facts_stored_at')
        batch_op.drop_column('stored_at')
    op.drop_table('memberships')
    op.drop_table('measures')
