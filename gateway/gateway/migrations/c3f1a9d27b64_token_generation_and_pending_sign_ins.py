"""token generation and pending sign-ins

Revision ID: c3f1a9d27b64
Revises: 15504c433c5d
Create Date: 2026-12-07 14:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'c3f1a9d27b64'
down_revision = '15504c433c5d'
branch_labels = None
depends_on = None


def upgrade():
    # a token names the generation it was issued in; revoking moves the account to the next one
    # (tokens issued before this revision carry none: generation 0, honoured until they expire)
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_generation', sa.Integer(), nullable=False, server_default='0'))
        batch_op.drop_column('tokens_valid_after')
    # a sign-in counted while its password is checked
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_column('pending')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tokens_valid_after', sa.DateTime(timezone=True), nullable=False,
                                      server_default=sa.func.current_timestamp()))
        batch_op.drop_column('token_generation')
