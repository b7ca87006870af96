"""a mail's HTML on the ticket (description_html) and on a customer message (html)

Revision ID: e3b5a0c4d2f1
Revises: e5b7c9d2a4f1
Create Date: 2026-12-07 23:45:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'e3b5a0c4d2f1'
down_revision = 'e5b7c9d2a4f1'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('tickets', sa.Column('description_html', sa.Text(), nullable=True))
    op.add_column('ticket_messages', sa.Column('html', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('ticket_messages') as batch:
        batch.drop_column('html')
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('description_html')
