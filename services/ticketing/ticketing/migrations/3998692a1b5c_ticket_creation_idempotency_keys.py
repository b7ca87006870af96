"""ticket creation idempotency keys

Revision ID: 3998692a1b5c
Revises: 3ec41c43db4b
Create Date: 2026-11-23 05:38:33.433100
"""
from alembic import op
import sqlalchemy as sa


revision = '3998692a1b5c'
down_revision = '3ec41c43db4b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'ticket_requests',
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('idempotency_key', sa.String(length=255), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name='fk_ticket_requests_ticket_id_tickets'),
        sa.PrimaryKeyConstraint('actor', 'idempotency_key'),
    )


def downgrade():
    op.drop_table('ticket_requests')
