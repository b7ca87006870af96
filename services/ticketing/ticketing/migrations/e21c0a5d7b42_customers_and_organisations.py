"""customers and organisations, erasure audit; existing tickets get customers from their contacts

Revision ID: e21c0a5d7b42
Revises: e5a1f0c3b7d2
Create Date: 2026-12-07 23:40:00.000000

Every existing ticket gets a customer record: tickets whose contact normalises to the same
email address, phone number or handle (``ticketing.customers.rules``, the desk's country code
from TICKETING_DEFAULT_COUNTRY_CODE, 86 by default) share one, named as the newest of them.
A contact that cannot be normalised leaves its ticket without a record (customer_id null).
"""
import os
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

from ticketing.customers import rules


revision = 'e21c0a5d7b42'
down_revision = 'e5a1f0c3b7d2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'organisations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('tier', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'organisation_domains',
        sa.Column('domain', sa.String(length=253), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name='fk_organisation_domains_organisation_id_organisations'),
        sa.PrimaryKeyConstraint('domain'),
    )
    op.create_index('ix_organisation_domains_organisation_id', 'organisation_domains', ['organisation_id'])
    op.create_table(
        'customers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=True),
        sa.Column('tier', sa.String(length=32), nullable=True),
        sa.Column('organisation_id', sa.Integer(), nullable=True),
        sa.Column('merged_into_id', sa.Integer(), nullable=True),
        sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name='fk_customers_organisation_id_organisations'),
        sa.ForeignKeyConstraint(['merged_into_id'], ['customers.id'], name='fk_customers_merged_into_id_customers'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_customers_organisation_id', 'customers', ['organisation_id'])
    op.create_index('ix_customers_merged_into_id', 'customers', ['merged_into_id'])
    op.create_table(
        'customer_contacts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('value', sa.String(length=200), nullable=False),
        sa.Column('normalised', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name='fk_customer_contacts_customer_id_customers'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('kind', 'normalised', name='uq_customer_contacts_kind_normalised'),
    )
    op.create_index('ix_customer_contacts_customer_id', 'customer_contacts', ['customer_id'])
    op.create_table(
        'customer_history',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=True),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_customer_history_customer_id', 'customer_history', ['customer_id'])
    op.create_table(
        'customer_erasures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.String(length=16), nullable=False),
        sa.Column('customer_erased', sa.Boolean(), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=True),
        sa.Column('request_id', sa.String(length=128), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('tickets', sa.Integer(), nullable=False),
        sa.Column('messages', sa.Integer(), nullable=False),
        sa.Column('attachments', sa.Integer(), nullable=False),
        sa.Column('contacts', sa.Integer(), nullable=False),
        sa.Column('ticket_ids', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_customer_erasures_customer_id', 'customer_erasures', ['customer_id'])
    op.create_index('ix_customer_erasures_at', 'customer_erasures', ['at'])
    # columns added in place: SQLite's batch mode would copy and drop tickets, which the rows of the tables
    # naming it forbid (foreign keys are enforced); SQLite takes a REFERENCES clause on a new nullable column
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE tickets ADD COLUMN customer_id INTEGER '
                   'CONSTRAINT fk_tickets_customer_id_customers REFERENCES customers (id)')
    else:
        op.add_column('tickets', sa.Column('customer_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_tickets_customer_id_customers', 'tickets', 'customers', ['customer_id'], ['id'])
    op.add_column('tickets', sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_tickets_customer_id', 'tickets', ['customer_id'], unique=False)
    op.create_index('ix_tickets_retention', 'tickets', ['erased_at', 'closed_at'], unique=False)
    with op.batch_alter_table('customer_data_access', schema=None) as batch_op:
        batch_op.alter_column('ticket_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('customer_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_customer_data_access_customer_id', ['customer_id'], unique=False)
    customers_for_existing_tickets()


def customers_for_existing_tickets():
    connection = op.get_bind()
    tickets = sa.table('tickets', sa.column('id', sa.Integer), sa.column('customer_name', sa.String),
                       sa.column('customer_contact', sa.String), sa.column('customer_id', sa.Integer))
    customers = sa.table('customers', sa.column('id', sa.Integer), sa.column('name', sa.String),
                         sa.column('created_at', sa.DateTime(timezone=True)),
                         sa.column('updated_at', sa.DateTime(timezone=True)))
    contacts = sa.table('customer_contacts', sa.column('customer_id', sa.Integer), sa.column('kind', sa.String),
                        sa.column('value', sa.String), sa.column('normalised', sa.String))
    code = os.environ.get('TICKETING_DEFAULT_COUNTRY_CODE', rules.DEFAULT_COUNTRY_CODE).lstrip('+')
    people = {}  # (kind, normalised) -> [newest name, contact as written, ticket ids]
    for ticket_id, name, contact in connection.execute(
            sa.select(tickets.c.id, tickets.c.customer_name, tickets.c.customer_contact).order_by(tickets.c.id)):
        kind = rules.classify(contact)
        try:
            key = (kind, rules.normalise(kind, contact, code))
        except rules.BadContact:
            continue
        person = people.setdefault(key, [name, contact.strip()[:200], []])
        person[0] = name
        person[2].append(ticket_id)
    now = datetime.now(timezone.utc)
    for (kind, normalised), (name, contact, ticket_ids) in people.items():
        customer_id = connection.execute(sa.insert(customers).values(name=name, created_at=now, updated_at=now)
                                         .returning(customers.c.id)).scalar_one()
        connection.execute(sa.insert(contacts).values(customer_id=customer_id, kind=kind, value=contact,
                                                      normalised=normalised))
        connection.execute(sa.update(tickets).where(tickets.c.id.in_(ticket_ids)).values(customer_id=customer_id))


def downgrade():
    op.execute(sa.text('DELETE FROM customer_data_access WHERE ticket_id IS NULL'))
    with op.batch_alter_table('customer_data_access', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_data_access_customer_id')
        batch_op.drop_column('customer_id')
        batch_op.alter_column('ticket_id', existing_type=sa.Integer(), nullable=False)
    op.drop_index('ix_tickets_retention', table_name='tickets')
    op.drop_index('ix_tickets_customer_id', table_name='tickets')
    if op.get_bind().dialect.name == 'sqlite':  # SQLite drops no column a constraint names: batch mode
        with op.batch_alter_table('tickets', schema=None) as batch_op:
            batch_op.drop_column('erased_at')
            batch_op.drop_column('customer_id')
    else:
        op.drop_constraint('fk_tickets_customer_id_customers', 'tickets', type_='foreignkey')
        op.drop_column('tickets', 'erased_at')
        op.drop_column('tickets', 'customer_id')
    op.drop_table('customer_erasures')
    op.drop_table('customer_history')
    op.drop_table('customer_contacts')
    op.drop_table('customers')
    op.drop_table('organisation_domains')
    op.drop_table('organisations')
