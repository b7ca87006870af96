"""ticket versions (ETag), canned responses and macros

Revision ID: e5b7c9d2a4f1
Revises: 136c032a98d5
Create Date: 2026-12-07 23:20:00.000000

Every ticket gets a version, one more with each entry of its history: an existing ticket starts at
the number of entries it has (its older entries keep a null version: they are before any ETag).
"""
from alembic import op
import sqlalchemy as sa


revision = 'e5b7c9d2a4f1'
down_revision = '136c032a98d5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('ticket_history', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=True))
    op.execute("UPDATE tickets SET version = (SELECT count(*) FROM ticket_history "
               "WHERE ticket_history.ticket_id = tickets.id)")

    for table in ('canned_responses', 'macros'):
        own = ([sa.Column('language', sa.String(length=8), nullable=False),
                sa.Column('body', sa.Text(), nullable=False)] if table == 'canned_responses'
               else [sa.Column('actions', sa.JSON(), nullable=False)])
        op.create_table(table,
            sa.Column('id', sa.Integer(), nullable=False),
            sa.Column('title', sa.String(length=200), nullable=False),
            *own,
            sa.Column('visibility', sa.String(length=16), nullable=False),
            sa.Column('owner', sa.String(length=64), nullable=True),
            sa.Column('team', sa.String(length=64), nullable=True),
            sa.Column('created_by', sa.String(length=64), nullable=True),
            sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
            sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint('id'))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{table}_owner'), ['owner'], unique=False)
            batch_op.create_index(batch_op.f(f'ix_{table}_team'), ['team'], unique=False)


def downgrade():
    for table in ('macros', 'canned_responses'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_team'))
            batch_op.drop_index(batch_op.f(f'ix_{table}_owner'))
        op.drop_table(table)
    with op.batch_alter_table('ticket_history', schema=None) as batch_op:
        batch_op.drop_column('version')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('version')
