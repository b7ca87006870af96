"""watch rules, analysis, clusters, spikes, alerts, corrections

Revision ID: 1fbb9c7bce44
Revises: ed6dda1afa74
Create Date: 2026-11-23 02:46:58.032965
"""
from alembic import op
import sqlalchemy as sa


revision = '1fbb9c7bce44'
down_revision = 'ed6dda1afa74'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('clusters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.Column('lead_post_id', sa.Integer(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('negative', sa.Integer(), nullable=False),
    sa.Column('peak_severity', sa.Float(), nullable=False),
    sa.Column('severity', sa.Float(), nullable=False),
    sa.Column('level', sa.String(length=4), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('watch_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('query', sa.Text(), nullable=False),
    sa.Column('platforms', sa.JSON(), nullable=False),
    sa.Column('author_kinds', sa.JSON(), nullable=False),
    sa.Column('verified_only', sa.Boolean(), nullable=False),
    sa.Column('min_followers', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('cluster_bands',
    sa.Column('band_key', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name='fk_cluster_bands_cluster_id_clusters'),
    sa.PrimaryKeyConstraint('band_key')
    )
    op.create_table('topic_buckets',
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('bucket_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('negative', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['rule_id'], ['watch_rules.id'], name='fk_topic_buckets_rule_id_watch_rules'),
    sa.PrimaryKeyConstraint('rule_id', 'bucket_start')
    )
    op.create_table('alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('level', sa.String(length=4), nullable=False),
    sa.Column('severity', sa.Float(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('topics', sa.JSON(), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=True),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('crisis_terms', sa.JSON(), nullable=False),
    sa.Column('opens_ticket', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=True),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('responding_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name='fk_alerts_cluster_id_clusters'),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name='fk_alerts_post_id_posts'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_state_raised_at', ['state', 'raised_at'], unique=False)

    op.create_table('post_topics',
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name='fk_post_topics_post_id_posts'),
    sa.ForeignKeyConstraint(['rule_id'], ['watch_rules.id'], name='fk_post_topics_rule_id_watch_rules'),
    sa.PrimaryKeyConstraint('post_id', 'rule_id')
    )
    with op.batch_alter_table('post_topics', schema=None) as batch_op:
        batch_op.create_index('ix_post_topics_rule_id', ['rule_id'], unique=False)

    op.create_table('sentiment_corrections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sentiment', sa.String(length=16), nullable=False),
    sa.Column('model_sentiment', sa.String(length=16), nullable=True),
    sa.Column('agent', sa.String(length=64), nullable=True),
    sa.Column('corrected_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name='fk_sentiment_corrections_post_id_posts'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('alert_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name='fk_alert_entries_alert_id_alerts'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alert_entries', schema=None) as batch_op:
        batch_op.create_index('ix_alert_entries_alert_id', ['alert_id'], unique=False)

    op.create_table('spikes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('bucket_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('observed', sa.Float(), nullable=False),
    sa.Column('expected', sa.Float(), nullable=False),
    sa.Column('p_value', sa.Float(), nullable=True),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name='fk_spikes_alert_id_alerts'),
    sa.ForeignKeyConstraint(['rule_id'], ['watch_rules.id'], name='fk_spikes_rule_id_watch_rules'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rule_id', 'bucket_start', 'reason', name='uq_spikes_rule_bucket_reason')
    )
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('on_topic', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('detected_language', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('sentiment', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('sentiment_score', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('corrected_sentiment', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('crisis_terms', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('cluster_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('severity', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('level', sa.String(length=4), nullable=True))
        batch_op.create_index('ix_posts_cluster_id', ['cluster_id'], unique=False)
        batch_op.create_foreign_key('fk_posts_cluster_id_clusters', 'clusters', ['cluster_id'], ['id'])


def downgrade():
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_constraint('fk_posts_cluster_id_clusters', type_='foreignkey')
        batch_op.drop_index('ix_posts_cluster_id')
        batch_op.drop_column('level')
        batch_op.drop_column('severity')
        batch_op.drop_column('cluster_id')
        batch_op.drop_column('crisis_terms')
        batch_op.drop_column('corrected_sentiment')
        batch_op.drop_column('sentiment_score')
        batch_op.drop_column('sentiment')
        batch_op.drop_column('detected_language')
        batch_op.drop_column('on_topic')

    op.drop_table('spikes')
    with op.batch_alter_table('alert_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_entries_alert_id')

    op.drop_table('alert_entries')
    op.drop_table('sentiment_corrections')
    with op.batch_alter_table('post_topics', schema=None) as batch_op:
        batch_op.drop_index('ix_post_topics_rule_id')

    op.drop_table('post_topics')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_state_raised_at')

    op.drop_table('alerts')
    op.drop_table('topic_buckets')
    op.drop_table('cluster_bands')
    op.drop_table('watch_rules')
    op.drop_table('clusters')
