"""opinion alert tickets

Revision ID: a6a86a1a8063
Revises: 07d3f7514de7
Create Date: 2026-11-23 02:48:03.189426
"""
from alembic import op
import sqlalchemy as sa


revision = 'a6a86a1a8063'
down_revision = '07d3f7514de7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('opinion_alert_tickets',
    sa.Column('alert_key', sa.String(length=100), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name='fk_opinion_alert_tickets_ticket_id_tickets'),
    sa.PrimaryKeyConstraint('alert_key')
    )


def downgrade():
    op.drop_table('opinion_alert_tickets')
