"""mailboxes, inbound mail, thread message ids, bounces, outbox and inbox

Revision ID: 197ddbaeff11
Revises: 
Create Date: 2026-12-07 19:03:13.306065
"""
from alembic import op
import sqlalchemy as sa

from plumbing.migration_ops import create_messaging_tables_v1, drop_messaging_tables_v1


revision = '197ddbaeff11'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    create_messaging_tables_v1()
    op.create_table('mailboxes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('team', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('acknowledge', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('imap_host', sa.String(length=253), nullable=True),
    sa.Column('imap_port', sa.Integer(), nullable=False),
    sa.Column('imap_tls', sa.Boolean(), nullable=False),
    sa.Column('imap_user', sa.String(length=254), nullable=True),
    sa.Column('imap_password_secret', sa.String(length=100), nullable=True),
    sa.Column('imap_folder', sa.String(length=200), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=True),
    sa.Column('last_uid', sa.BigInteger(), nullable=False),
    sa.Column('last_polled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('address')
    )
    op.create_table('thread_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=500), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('thread_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_thread_messages_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('inbound_mails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=500), nullable=False),
    sa.Column('sender', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('threaded_by', sa.String(length=16), nullable=True),
    sa.Column('imap_uid', sa.BigInteger(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mailbox_id'], ['mailboxes.id'], name='fk_inbound_mails_mailbox'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('inbound_mails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_mails_mailbox_id'), ['mailbox_id'], unique=False)
        batch_op.create_index('ix_inbound_mails_sender_received_at', ['sender', 'received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_mails_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('bounces',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inbound_mail_id', sa.Integer(), nullable=False),
    sa.Column('original_message_id', sa.String(length=500), nullable=True),
    sa.Column('recipient', sa.String(length=254), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=True),
    sa.Column('diagnostic', sa.Text(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inbound_mail_id'], ['inbound_mails.id'], name='fk_bounces_inbound_mail'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('bounces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bounces_inbound_mail_id'), ['inbound_mail_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bounces_original_message_id'), ['original_message_id'], unique=False)



def downgrade():
    with op.batch_alter_table('bounces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bounces_original_message_id'))
        batch_op.drop_index(batch_op.f('ix_bounces_inbound_mail_id'))

    op.drop_table('bounces')
    with op.batch_alter_table('inbound_mails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_mails_ticket_id'))
        batch_op.drop_index('ix_inbound_mails_sender_received_at')
        batch_op.drop_index(batch_op.f('ix_inbound_mails_mailbox_id'))

    op.drop_table('inbound_mails')
    with op.batch_alter_table('thread_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_thread_messages_ticket_id'))

    op.drop_table('thread_messages')
    op.drop_table('mailboxes')
    drop_messaging_tables_v1()
