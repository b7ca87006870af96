"""SLA policy versions, enabled policies, typed calendars

Revision ID: c7e2a4d1f0b3
Revises: 5b0c2e7d91aa
Create Date: 2026-12-07 16:10:00.000000

What a policy decides (conditions, targets, calendar, warn share) moves to
``sla_policy_versions``: every existing policy becomes its version 1 and every
existing clock runs on version 1. Calendars take the typed shape: a country's
holidays become a ``country_holidays`` entry and extra working days carry their
own windows, both those of the weekday they used to borrow
(``working_day_template``), so every due time stays where it was.
"""

import sqlalchemy as sa
from alembic import op


revision = 'c7e2a4d1f0b3'
down_revision = '5b0c2e7d91aa'
branch_labels = None
depends_on = None

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
VERSIONED = ('conditions', 'targets', 'calendar', 'warn_share')

policies = sa.table('sla_policies', sa.column('id', sa.Integer), sa.column('conditions', sa.JSON),
                    sa.column('targets', sa.JSON), sa.column('calendar', sa.JSON), sa.column('warn_share', sa.Float),
                    sa.column('updated_at', sa.DateTime(timezone=True)))
versions = sa.table('sla_policy_versions', sa.column('policy_id', sa.Integer), sa.column('version', sa.Integer),
                    sa.column('conditions', sa.JSON), sa.column('targets', sa.JSON), sa.column('calendar', sa.JSON),
                    sa.column('warn_share', sa.Float), sa.column('created_at', sa.DateTime(timezone=True)),
                    sa.column('created_by', sa.String))


def typed_calendar(old):
    """The calendar of before, typed: the same open hours."""
    windows = {DAYS[(DAYS + FULL_DAYS).index(name.strip().lower()) % 7]: list(specs or [])
               for name, specs in old["windows"].items()}
    windows = {day: windows.get(day, []) for day in DAYS}
    template = old.get("working_day_template", 0)
    borrowed = windows[DAYS[(DAYS + FULL_DAYS).index(template.strip().lower()) % 7] if isinstance(template, str)
                       else DAYS[template]]
    country = old.get("holidays_country")
    return {"timezone": old["timezone"].strip(), "windows": windows,
            "country_holidays": ([{"country": country.strip().upper(), "subdivision": None,
                                   "make_up_day_windows": borrowed}] if country else []),
            "holidays": sorted(old.get("holidays") or []),
            "working_days": [{"date": day, "windows": borrowed} for day in sorted(old.get("working_days") or [])]}


def untyped_calendar(new):
    """Back to the calendar of before: make-up and extra working days take Monday's windows again."""
    countries = new.get("country_holidays") or []
    return {"timezone": new["timezone"], "windows": new["windows"], "holidays": new.get("holidays") or [],
            "working_days": [day["date"] for day in new.get("working_days") or []],
            **({"holidays_country": countries[0]["country"]} if countries else {})}


def upgrade():
    op.create_table('sla_policy_versions',
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('conditions', sa.JSON(), nullable=False),
    sa.Column('targets', sa.JSON(), nullable=False),
    sa.Column('calendar', sa.JSON(), nullable=False),
    sa.Column('warn_share', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['policy_id'], ['sla_policies.id'], ),
    sa.PrimaryKeyConstraint('policy_id', 'version')
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(policies)).all()
    if rows:
        op.bulk_insert(versions, [
            {"policy_id": row.id, "version": 1, "created_at": row.updated_at, "created_by": None,
             "conditions": {name: values for name, values in (row.conditions or {}).items() if values},
             "targets": row.targets, "calendar": typed_calendar(row.calendar), "warn_share": row.warn_share}
            for row in rows])

    # plain ALTER TABLE, no batch: SQLite would copy sla_policies, which the clocks and versions refer to
    op.add_column('sla_policies', sa.Column('enabled', sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column('sla_policies', sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
    for column in VERSIONED:
        op.drop_column('sla_policies', column)
    op.add_column('sla_clocks', sa.Column('policy_version', sa.Integer(), nullable=False, server_default='1'))


def downgrade():
    op.drop_column('sla_clocks', 'policy_version')
    # nullable as they come back: making them NOT NULL would copy the table on SQLite (see upgrade)
    for column in (sa.Column('conditions', sa.JSON()), sa.Column('targets', sa.JSON()),
                   sa.Column('calendar', sa.JSON()), sa.Column('warn_share', sa.Float())):
        op.add_column('sla_policies', column)
    connection = op.get_bind()
    current = sa.table('sla_policies', sa.column('id', sa.Integer), sa.column('version', sa.Integer))
    for row in connection.execute(sa.select(versions).join(current, sa.and_(
            current.c.id == versions.c.policy_id, current.c.version == versions.c.version))).all():
        connection.execute(policies.update().where(policies.c.id == row.policy_id).values(
            conditions=row.conditions, targets=row.targets, calendar=untyped_calendar(row.calendar),
            warn_share=row.warn_share))
    op.drop_column('sla_policies', 'version')
    op.drop_column('sla_policies', 'enabled')
    op.drop_table('sla_policy_versions')
