"""the agent workspace: saved views, presence, followers, linked tickets

Revision ID: e5b1c9a4d2f7
Revises: e21c0a5d7b42
Create Date: 2026-12-07 23:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'e5b1c9a4d2f7'
down_revision = 'e21c0a5d7b42'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ticket_views',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('visibility', sa.String(length=16), nullable=False),
    sa.Column('team', sa.String(length=64), nullable=True),
    sa.Column('query', sa.JSON(), nullable=False),
    sa.Column('sort', sa.String(length=32), nullable=False),
    sa.Column('columns', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ticket_views', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_views_owner'), ['owner'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_views_team'), ['team'], unique=False)

    op.create_table('ticket_presence',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('activity', sa.String(length=16), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('ticket_id', 'username')
    )
    with op.batch_alter_table('ticket_presence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_presence_expires_at'), ['expires_at'], unique=False)

    op.create_table('ticket_followers',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('added_by', sa.String(length=64), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('ticket_id', 'username')
    )
    with op.batch_alter_table('ticket_followers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_followers_username'), ['username'], unique=False)

    op.create_table('ticket_links',
    sa.Column('from_ticket_id', sa.Integer(), nullable=False),
    sa.Column('to_ticket_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['from_ticket_id'], ['tickets.id'], ),
    sa.ForeignKeyConstraint(['to_ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('from_ticket_id', 'to_ticket_id')
    )
    with op.batch_alter_table('ticket_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_links_to_ticket_id'), ['to_ticket_id'], unique=False)


def downgrade():
    with op.batch_alter_table('ticket_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_links_to_ticket_id'))
    op.drop_table('ticket_links')
    with op.batch_alter_table('ticket_followers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_followers_username'))
    op.drop_table('ticket_followers')
    with op.batch_alter_table('ticket_presence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_presence_expires_at'))
    op.drop_table('ticket_presence')
    with op.batch_alter_table('ticket_views', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_views_team'))
        batch_op.drop_index(batch_op.f('ix_ticket_views_owner'))
    op.drop_table('ticket_views')
