"""rating links stored in plain text leave the facts of ticket.resolved

Revision ID: 8e4f1c2a6b3d
Revises: d940f228cbd9
Create Date: 2026-12-07 14:40:00.000000

ticket.resolved v1 carried the customer's one-time rating token in its data,
which appraisal keeps as it came: removed here (appraisal never read it).
"""
from alembic import op


revision = '8e4f1c2a6b3d'
down_revision = 'd940f228cbd9'
branch_labels = None
depends_on = None


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    without = "((data)::jsonb - 'rating_token')::json" if postgres else "json_remove(data, '$.rating_token')"
    op.execute(f"UPDATE facts SET data = {without} "
               "WHERE type = 'ticket.resolved' AND CAST(data AS TEXT) LIKE '%rating_token%'")


def downgrade():
    pass  # the tokens are gone for good
