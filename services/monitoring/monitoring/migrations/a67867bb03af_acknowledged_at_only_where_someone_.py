"""acknowledged_at only where someone acknowledged

Revision ID: a67867bb03af
Revises: 757b02c70862
Create Date: 2026-12-07 19:13:36.352022

Until now an alert resolved or answered straight from open was stamped
acknowledged at that moment, so the time-to-acknowledge figures counted
acknowledgements nobody made. An alert keeps acknowledged_at only if one of its
entries moved it to acknowledged (every state change has had its entry).
"""
from alembic import op


revision = 'a67867bb03af'
down_revision = '757b02c70862'
branch_labels = None
depends_on = None


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    entered = "(e.changes::jsonb -> 'state' ->> 1)" if postgres else "json_extract(e.changes, '$.state[1]')"
    op.execute("UPDATE alerts SET acknowledged_at = NULL WHERE acknowledged_at IS NOT NULL AND NOT EXISTS ("
               "SELECT 1 FROM alert_entries e WHERE e.alert_id = alerts.id AND e.kind = 'state' "
               f"AND {entered} = 'acknowledged')")


def downgrade():
    pass  # the stamps were wrong: nothing to put back
