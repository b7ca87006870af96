"""one rating per reviewer, agent, cycle and role; a customer's names its ticket

Revision ID: d940f228cbd9
Revises: d865a95e44f4
Create Date: 2026-12-07 13:38:12.619048
"""
from alembic import op
import sqlalchemy as sa


revision = 'd940f228cbd9'
down_revision = 'd865a95e44f4'
branch_labels = None
depends_on = None

# the ratings a newer one of the same reviewer, agent, cycle and role replaces (the newest by time, then id);
# customers' ratings stay: relayed by one integration for many customers, they had no ticket to tell them apart
REPLACED = """
DELETE FROM ratings WHERE reviewer_role <> 'customer' AND EXISTS (
    SELECT 1 FROM ratings AS newer
    WHERE newer.cycle_id = ratings.cycle_id AND newer.agent = ratings.agent
      AND newer.reviewer_role = ratings.reviewer_role AND newer.reviewer = ratings.reviewer
      AND (newer.created_at > ratings.created_at OR (newer.created_at = ratings.created_at AND newer.id > ratings.id)))
"""


def upgrade():
    op.execute(REPLACED)
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ticket_id', sa.Integer(), nullable=True))
        batch_op.create_index('uq_ratings_customer_ticket', ['cycle_id', 'agent', 'ticket_id'], unique=True, postgresql_where=sa.text("reviewer_role = 'customer'"), sqlite_where=sa.text("reviewer_role = 'customer'"))
        batch_op.create_index('uq_ratings_reviewer', ['cycle_id', 'agent', 'reviewer_role', 'reviewer'], unique=True, postgresql_where=sa.text("reviewer_role <> 'customer'"), sqlite_where=sa.text("reviewer_role <> 'customer'"))


def downgrade():
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.drop_index('uq_ratings_reviewer', postgresql_where=sa.text("reviewer_role <> 'customer'"), sqlite_where=sa.text("reviewer_role <> 'customer'"))
        batch_op.drop_index('uq_ratings_customer_ticket', postgresql_where=sa.text("reviewer_role = 'customer'"), sqlite_where=sa.text("reviewer_role = 'customer'"))
        batch_op.drop_column('ticket_id')
