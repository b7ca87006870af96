"""mailboxes: the fetch lease and the IMAP IDLE watch

Revision ID: d4b1e7a9c3f2
Revises: a820f4257ae6
Create Date: 2026-12-07 23:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'd4b1e7a9c3f2'
down_revision = 'a820f4257ae6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('mailboxes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fetch_token', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('fetch_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('idle_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('idle_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('idle_supported', sa.Boolean(), nullable=True))


def downgrade():
    with op.batch_alter_table('mailboxes', schema=None) as batch_op:
        batch_op.drop_column('idle_supported')
        batch_op.drop_column('idle_until')
        batch_op.drop_column('idle_by')
        batch_op.drop_column('fetch_until')
        batch_op.drop_column('fetch_token')
