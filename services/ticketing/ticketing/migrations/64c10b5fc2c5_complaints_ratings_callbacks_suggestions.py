"""complaints, ratings, callbacks, suggestions

Revision ID: 64c10b5fc2c5
Revises: 19843a9584d9
Create Date: 2026-11-23 00:37:50.882998
"""
from alembic import op
import sqlalchemy as sa


revision = '64c10b5fc2c5'
down_revision = '19843a9584d9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('callbacks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('scheduled_for', sa.DateTime(timezone=True), nullable=False),
    sa.Column('assignee', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('outcome_note', sa.Text(), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('callbacks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callbacks_scheduled_for'), ['scheduled_for'], unique=False)
        batch_op.create_index(batch_op.f('ix_callbacks_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('complaints',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('issue', sa.Text(), nullable=False),
    sa.Column('demand', sa.Text(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('result_reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unsatisfied_verdicts', sa.Integer(), nullable=False),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('ticket_id')
    )
    op.create_table('ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('resolution', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ratings_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('suggestions',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('department', sa.String(length=64), nullable=False),
    sa.Column('forwarded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('forwarded_by', sa.String(length=64), nullable=True),
    sa.Column('adopted', sa.Boolean(), nullable=True),
    sa.Column('decision', sa.Text(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('ticket_id')
    )
    op.create_table('complaint_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=16), nullable=False),
    sa.Column('department', sa.String(length=64), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('satisfied', sa.Boolean(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['complaints.ticket_id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('complaint_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_steps_ticket_id'), ['ticket_id'], unique=False)



def downgrade():
    with op.batch_alter_table('complaint_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_steps_ticket_id'))

    op.drop_table('complaint_steps')
    op.drop_table('suggestions')
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ratings_ticket_id'))

    op.drop_table('ratings')
    op.drop_table('complaints')
    with op.batch_alter_table('callbacks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callbacks_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_callbacks_scheduled_for'))

    op.drop_table('callbacks')
