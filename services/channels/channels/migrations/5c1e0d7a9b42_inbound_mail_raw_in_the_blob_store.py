"""inbound mails' raw bytes in the blob store: inbound_mails.raw_sha256

Revision ID: 5c1e0d7a9b42
Revises: d4b1e7a9c3f2
Create Date: 2026-12-07 23:40:00.000000

New rows keep the raw mail in the blob store (plumbing.blobs) and its sha256 here, not its bytes
in ``raw``. Rows logged before keep theirs in ``raw``, which stays and is read as before
(``inbound.handlers.open_raw`` reads either): nothing is moved, so this migration needs no access
to the blob store and is quick on a large log.
"""
from alembic import op
import sqlalchemy as sa


revision = '5c1e0d7a9b42'
down_revision = 'd4b1e7a9c3f2'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('inbound_mails', sa.Column('raw_sha256', sa.String(length=64), nullable=True))


def downgrade():
    op.drop_column('inbound_mails', 'raw_sha256')
