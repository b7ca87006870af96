"""daily ticket counts, outbox and inbox

Revision ID: cd2731021937
Revises: 
Create Date: 2026-11-23 00:06:31.392997
"""
from alembic import op
import sqlalchemy as sa

from plumbing.migration_ops import create_messaging_tables_v1, drop_messaging_tables_v1


revision = 'cd2731021937'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    create_messaging_tables_v1()
    op.create_table('daily_ticket_counts',
    sa.Column('agent', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('tickets', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('agent', 'day')
    )


def downgrade():
    op.drop_table('daily_ticket_counts')
    drop_messaging_tables_v1()
