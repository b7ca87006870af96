"""agents, certifications, required skills

Revision ID: 07d3f7514de7
Revises: 4f669ba8127c
Create Date: 2026-11-23 00:54:24.920716
"""
from alembic import op
import sqlalchemy as sa


revision = '07d3f7514de7'
down_revision = '4f669ba8127c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('agent_certifications',
    sa.Column('agent', sa.String(length=64), nullable=False),
    sa.Column('certification', sa.String(length=128), nullable=False),
    sa.Column('clears_for_duty', sa.Boolean(), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('agent', 'certification')
    )
    op.create_table('agents',
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('teams', sa.JSON(), nullable=False),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('on_duty', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('last_assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('staff_sequence', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('username')
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('required_skills', sa.JSON(), nullable=False, server_default='[]'))



def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('required_skills')

    op.drop_table('agents')
    op.drop_table('agent_certifications')
