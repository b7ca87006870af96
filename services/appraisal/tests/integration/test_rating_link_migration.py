"""Rating links that ticket.resolved v1 carried leave appraisal's facts once migrated, on
SQLite and PostgreSQL; the rest of each fact stays as it came."""
from datetime import datetime, timezone

from alembic import command
from sqlalchemy import insert, select

from appraisal.models import Fact
from plumbing.db import make_engine
from plumbing.migrate import alembic_config, upgrade

BEFORE = "d940f228cbd9"
T0 = datetime(2026, 11, 2, 9, tzinfo=timezone.utc)


def test_stored_rating_links_leave_the_facts(database_url):
    engine = make_engine(database_url)
    resolved = {"ticket_id": 7, "assignee": "ann", "rating_token": "live-token", "first_contact_resolution": True}
    rated = {"ticket_id": 7, "assignee": "ann", "score": 5, "comment": "rating_token is only a word here"}
    with engine.begin() as connection:
        command.upgrade(alembic_config("appraisal", connection), BEFORE)
        connection.execute(insert(Fact.__table__), [
            dict(event_id=kind, type=kind, sequence=n, time=T0, ticket_id=7, agent="ann", data=data)
            for n, (kind, data) in enumerate((("ticket.resolved", resolved), ("ticket.rated", rated)), start=1)])
    upgrade("appraisal", database_url)
    with engine.connect() as connection:
        kept = dict(connection.execute(select(Fact.type, Fact.data)).all())
    engine.dispose()
    assert kept == {"ticket.resolved": {"ticket_id": 7, "assignee": "ann", "first_contact_resolution": True},
                    "ticket.rated": rated}
