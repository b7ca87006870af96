"""rating links stored in plain text leave the stored events and webhook bodies

Revision ID: 5b0c2e7d91aa
Revises: 9dd1e7f5128c
Create Date: 2026-12-07 14:40:00.000000

Until ticket.resolved v2 its data carried the one-time rating token, so the
outbox rows and the webhook deliveries of v1 events still hold live tokens
(valid 14 days): they are removed here; only the token's hash was ever needed.
"""
from alembic import op


revision = '5b0c2e7d91aa'
down_revision = '9dd1e7f5128c'
branch_labels = None
depends_on = None

# (table, its column holding a whole event envelope as JSON text)
ENVELOPES = (("outbox", "envelope"), ("webhook_deliveries", "body"))


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, column in ENVELOPES:
        without = (f"(({column})::jsonb #- '{{data,rating_token}}')::text" if postgres
                   else f"json_remove({column}, '$.data.rating_token')")
        op.execute(f"UPDATE {table} SET {column} = {without} "
                   f"WHERE event_type = 'ticket.resolved' AND {column} LIKE '%rating_token%'")


def downgrade():
    pass  # the tokens are gone for good
