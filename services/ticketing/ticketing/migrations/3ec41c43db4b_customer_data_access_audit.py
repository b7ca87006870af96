"""customer data access audit

Revision ID: 3ec41c43db4b
Revises: a6a86a1a8063
Create Date: 2026-11-23 05:23:44.731583
"""
from alembic import op
import sqlalchemy as sa


revision = '3ec41c43db4b'
down_revision = 'a6a86a1a8063'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'customer_data_access',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=True),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('request_id', sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name='fk_customer_data_access_ticket_id_tickets'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_customer_data_access_actor', 'customer_data_access', ['actor'])
    op.create_index('ix_customer_data_access_ticket_id', 'customer_data_access', ['ticket_id'])


def downgrade():
    op.drop_table('customer_data_access')
