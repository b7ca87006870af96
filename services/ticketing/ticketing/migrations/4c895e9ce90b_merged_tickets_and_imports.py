"""merged tickets and imports

Revision ID: 4c895e9ce90b
Revises: 64c10b5fc2c5
Create Date: 2026-11-23 00:40:28.129502
"""
from alembic import op
import sqlalchemy as sa


revision = '4c895e9ce90b'
down_revision = '64c10b5fc2c5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ticket_imports',
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('source', 'external_id'),
    sa.UniqueConstraint('ticket_id')
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_tickets_merged_into_id'), ['merged_into_id'], unique=False)
        batch_op.create_foreign_key('fk_tickets_merged_into_id', 'tickets', ['merged_into_id'], ['id'])



def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint('fk_tickets_merged_into_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_tickets_merged_into_id'))
        batch_op.drop_column('merged_into_id')

    op.drop_table('ticket_imports')
