"""a reply clock stopped without its reply is cancelled

Revision ID: c1a7e2d4b9f0
Revises: c7e2a4d1f0b3
Create Date: 2026-12-07 16:30:00.000000

A first-response (or update) clock stopped because the ticket was resolved or
closed before any public reply is cancelled: no first response, outside SLA
compliance (docs/sla.md). The clocks already stopped keep false: what was
published about them then stays as it was.
"""
from alembic import op
import sqlalchemy as sa


revision = 'c1a7e2d4b9f0'
down_revision = 'c7e2a4d1f0b3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.alter_column('cancelled', server_default=None)


def downgrade():
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.drop_column('cancelled')
