"""courses, outbox and inbox

Revision ID: 78e541e15dce
Revises: 
Create Date: 2026-11-23 00:06:57.636015
"""
from alembic import op
import sqlalchemy as sa

from plumbing.migration_ops import create_messaging_tables_v1, drop_messaging_tables_v1


revision = '78e541e15dce'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    create_messaging_tables_v1()
    op.create_table('courses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('duration_hours', sa.Float(), nullable=False),
    sa.Column('target_role', sa.String(length=64), nullable=False),
    sa.Column('certification_validity_days', sa.Integer(), nullable=True),
    sa.Column('sessions_per_month', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.create_index('ix_courses_kind_mode', ['kind', 'mode'], unique=False)



def downgrade():
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_index('ix_courses_kind_mode')

    op.drop_table('courses')
    drop_messaging_tables_v1()
