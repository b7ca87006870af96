"""posts, outbox and inbox

Revision ID: ed6dda1afa74
Revises: 
Create Date: 2026-11-23 00:06:58.670810
"""
from alembic import op
import sqlalchemy as sa

from plumbing.migration_ops import create_messaging_tables_v1, drop_messaging_tables_v1


revision = 'ed6dda1afa74'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    create_messaging_tables_v1()
    op.create_table('posts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=True),
    sa.Column('author_id', sa.String(length=200), nullable=False),
    sa.Column('author_name', sa.String(length=200), nullable=False),
    sa.Column('author_followers', sa.Integer(), nullable=False),
    sa.Column('author_verified', sa.Boolean(), nullable=False),
    sa.Column('author_kind', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reposts', sa.Integer(), nullable=False),
    sa.Column('comments', sa.Integer(), nullable=False),
    sa.Column('likes', sa.Integer(), nullable=False),
    sa.Column('parent_external_id', sa.String(length=200), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('platform', 'external_id', name='uq_posts_platform_external_id')
    )
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.create_index('ix_posts_platform_posted_at', ['platform', 'posted_at'], unique=False)
        batch_op.create_index('ix_posts_posted_at', ['posted_at'], unique=False)



def downgrade():
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_index('ix_posts_posted_at')
        batch_op.drop_index('ix_posts_platform_posted_at')

    op.drop_table('posts')
    drop_messaging_tables_v1()
