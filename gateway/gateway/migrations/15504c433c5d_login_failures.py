"""login failures

Revision ID: 15504c433c5d
Revises: 7d462b72aa59
Create Date: 2026-11-23 05:19:59.381046
"""
from alembic import op
import sqlalchemy as sa


revision = '15504c433c5d'
down_revision = '7d462b72aa59'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'login_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_login_failures_key_at', 'login_failures', ['key', 'at'])
    op.create_index('ix_login_failures_at', 'login_failures', ['at'])


def downgrade():
    op.drop_table('login_failures')
