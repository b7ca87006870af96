"""Alerts resolved or answered straight from open were stamped acknowledged at that moment; once
migrated only the alerts someone acknowledged keep acknowledged_at (SQLite and PostgreSQL: the
entries' JSON is read in SQL)."""
from datetime import datetime, timedelta, timezone

from alembic import command
from sqlalchemy import insert, select

from monitoring import models
from plumbing.db import make_engine
from plumbing.migrate import alembic_config, upgrade

BEFORE = "757b02c70862"
T0 = datetime(2026, 11, 2, 9, tzinfo=timezone.utc)


def test_only_alerts_someone_acknowledged_keep_acknowledged_at(database_url):
    engine = make_engine(database_url)
    paths = {1: [("open", "acknowledged"), ("acknowledged", "resolved")],  # acknowledged, then resolved
             2: [("open", "resolved")],                                   # a false alarm, resolved at once
             3: [("open", "responding"), ("responding", "resolved")]}     # answered at once
    with engine.begin() as connection:
        command.upgrade(alembic_config("monitoring", connection), BEFORE)
        for alert_id, moves in paths.items():
            connection.execute(insert(models.Alert.__table__).values(
                id=alert_id, key=f"cluster/{alert_id}", kind="cluster", level="II", severity=60.0, summary="-",
                topics=[], crisis_terms=[], opens_ticket=True, state="resolved", raised_at=T0,
                acknowledged_at=T0 + timedelta(minutes=10), resolved_at=T0 + timedelta(minutes=20), updated_at=T0))
            connection.execute(insert(models.AlertEntry.__table__), [
                dict(alert_id=alert_id, at=T0, actor="ann", kind="state", changes={"state": list(move)})
                for move in moves] + [dict(alert_id=alert_id, at=T0, actor="ann", kind="note", note="acknowledged",
                                           changes={})])
    upgrade("monitoring", database_url)
    with engine.connect() as connection:
        stamped = dict(connection.execute(select(models.Alert.id, models.Alert.acknowledged_at)).all())
        resolved = set(connection.execute(select(models.Alert.resolved_at)).scalars())
    engine.dispose()
    assert {alert_id for alert_id, at in stamped.items() if at is not None} == {1}
    assert len(resolved) == 1 and None not in resolved
