"""knowledge base

Revision ID: ac68e8cd5f5c
Revises: a01149a5cacd
Create Date: 2026-11-23 00:27:52.290440
"""
from alembic import op
import sqlalchemy as sa


revision = 'ac68e8cd5f5c'
down_revision = 'a01149a5cacd'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('kb_articles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('body_length', sa.Integer(), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('kb_articles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_articles_category'), ['category'], unique=False)

    op.create_table('kb_searches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('query', sa.String(length=200), nullable=False),
    sa.Column('results', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=True),
    sa.Column('searched_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('kb_searches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_searches_searched_at'), ['searched_at'], unique=False)

    op.create_table('kb_terms',
    sa.Column('term', sa.String(length=100), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=8), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], ),
    sa.PrimaryKeyConstraint('term', 'article_id', 'field')
    )
    with op.batch_alter_table('kb_terms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_terms_article_id'), ['article_id'], unique=False)



def downgrade():
    with op.batch_alter_table('kb_terms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_terms_article_id'))

    op.drop_table('kb_terms')
    with op.batch_alter_table('kb_searches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_searches_searched_at'))

    op.drop_table('kb_searches')
    with op.batch_alter_table('kb_articles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_articles_category'))

    op.drop_table('kb_articles')
