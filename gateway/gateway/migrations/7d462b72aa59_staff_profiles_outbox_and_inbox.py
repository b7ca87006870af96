"""staff profiles, outbox and inbox

Revision ID: 7d462b72aa59
Revises: ab0f410d788d
Create Date: 2026-11-23 00:52:26.822511
"""
from alembic import op
import sqlalchemy as sa

from plumbing.migration_ops import create_messaging_tables_v1, drop_messaging_tables_v1


revision = '7d462b72aa59'
down_revision = 'ab0f410d788d'
branch_labels = None
depends_on = None


def upgrade():
    create_messaging_tables_v1()
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('teams', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('skills', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('capacity', sa.Integer(), nullable=False, server_default='10'))
        batch_op.add_column(sa.Column('on_duty', sa.Boolean(), nullable=False, server_default=sa.false()))



def downgrade():
    drop_messaging_tables_v1()
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('on_duty')
        batch_op.drop_column('capacity')
        batch_op.drop_column('skills')
        batch_op.drop_column('teams')

