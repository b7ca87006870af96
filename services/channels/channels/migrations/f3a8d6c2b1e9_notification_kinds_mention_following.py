"""notification kinds: mention and following (the agent workspace)

Revision ID: f3a8d6c2b1e9
Revises: 5c1e0d7a9b42
Create Date: 2026-12-07 23:40:00.000000

On for everyone who has preferences already, as every kind is until switched off.
"""
from alembic import op
import sqlalchemy as sa


revision = 'f3a8d6c2b1e9'
down_revision = '5c1e0d7a9b42'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notification_preferences', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mention', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('following', sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade():
    with op.batch_alter_table('notification_preferences', schema=None) as batch_op:
        batch_op.drop_column('following')
        batch_op.drop_column('mention')
