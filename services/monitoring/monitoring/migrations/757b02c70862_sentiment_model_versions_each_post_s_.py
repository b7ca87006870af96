"""sentiment model versions, each post's model version and confidence

Revision ID: 757b02c70862
Revises: 7073bef6b8fd
Create Date: 2026-12-07 16:06:50.785128
"""
from alembic import op
import sqlalchemy as sa


revision = '757b02c70862'
down_revision = '7073bef6b8fd'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sentiment_models',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('head', sa.LargeBinary(), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('trained_on', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('installed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activated_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('version')
    )
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sentiment_confidence', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('sentiment_model_version', sa.Integer(), nullable=True))
        batch_op.create_index('ix_posts_sentiment_confidence', ['sentiment_confidence'], unique=False)



def downgrade():
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_index('ix_posts_sentiment_confidence')
        batch_op.drop_column('sentiment_model_version')
        batch_op.drop_column('sentiment_confidence')

    op.drop_table('sentiment_models')
