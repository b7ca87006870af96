"""sla policies and clocks, escalation

Revision ID: 19843a9584d9
Revises: ac68e8cd5f5c
Create Date: 2026-11-23 00:30:22.275511
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op


revision = '19843a9584d9'
down_revision = 'ac68e8cd5f5c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sla_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('conditions', sa.JSON(), nullable=False),
    sa.Column('targets', sa.JSON(), nullable=False),
    sa.Column('calendar', sa.JSON(), nullable=False),
    sa.Column('warn_share', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('sla_clocks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('target_seconds', sa.Integer(), nullable=False),
    sa.Column('paused_seconds', sa.Float(), nullable=False),
    sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('warn_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('warned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('breached_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['policy_id'], ['sla_policies.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.create_index('ix_sla_clocks_sweep', ['stopped_at', 'paused_at', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sla_clocks_ticket_id'), ['ticket_id'], unique=False)

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('escalation_level', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True))

    # defaults until an admin sets the organisation's own (POST /api/v1/sla/policies)
    office_hours = {"timezone": "Asia/Shanghai", "holidays_country": "CN",
                    "windows": {day: ["09:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")}}
    seeded = datetime.now(timezone.utc)
    op.bulk_insert(sa.table('sla_policies', sa.column('name', sa.String), sa.column('position', sa.Integer),
                            sa.column('conditions', sa.JSON), sa.column('targets', sa.JSON),
                            sa.column('calendar', sa.JSON), sa.column('warn_share', sa.Float),
                            sa.column('updated_at', sa.DateTime(timezone=True))),
                   [dict(policy, calendar=office_hours, warn_share=0.8, updated_at=seeded) for policy in (
                       {"name": "urgent", "position": 10, "conditions": {"priority": ["urgent"]},
                        "targets": {"first_response": 30, "update": 60, "resolution": 240}},
                       {"name": "high", "position": 20, "conditions": {"priority": ["high"]},
                        "targets": {"first_response": 60, "update": 120, "resolution": 480}},
                       {"name": "default", "position": 1000, "conditions": {},
                        "targets": {"first_response": 240, "update": 480, "resolution": 1080}},
                   )])



def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('escalated_at')
        batch_op.drop_column('escalation_level')

    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sla_clocks_ticket_id'))
        batch_op.drop_index('ix_sla_clocks_sweep')

    op.drop_table('sla_clocks')
    op.drop_table('sla_policies')
