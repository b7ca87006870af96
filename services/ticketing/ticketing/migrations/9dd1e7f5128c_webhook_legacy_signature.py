"""webhooks made before Standard Webhooks signatures keep the old header

Revision ID: 9dd1e7f5128c
Revises: 3998692a1b5c
Create Date: 2026-12-07 14:00:00.000000

The webhooks already there get legacy_signature true: their receivers verify
X-CSOPS-Signature today. New ones get false (no server default after this).
Their owner is created_by, already stored.
"""
from alembic import op
import sqlalchemy as sa


revision = '9dd1e7f5128c'
down_revision = '3998692a1b5c'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('webhook_subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legacy_signature', sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table('webhook_subscriptions', schema=None) as batch_op:
        batch_op.alter_column('legacy_signature', server_default=None)


def downgrade():
    with op.batch_alter_table('webhook_subscriptions', schema=None) as batch_op:
        batch_op.drop_column('legacy_signature')
