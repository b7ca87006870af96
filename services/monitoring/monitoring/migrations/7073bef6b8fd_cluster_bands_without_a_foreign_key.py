"""cluster bands without a foreign key (an index derived from the clusters' signatures)

Revision ID: 7073bef6b8fd
Revises: 1fbb9c7bce44
Create Date: 2026-11-23 08:15:00.890090
"""
from alembic import op


revision = '7073bef6b8fd'
down_revision = '1fbb9c7bce44'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cluster_bands', schema=None) as batch_op:
        batch_op.drop_constraint('fk_cluster_bands_cluster_id_clusters', type_='foreignkey')


def downgrade():
    with op.batch_alter_table('cluster_bands', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_cluster_bands_cluster_id_clusters', 'clusters', ['cluster_id'], ['id'])
