"""The migration that makes a rating one per reviewer, agent, cycle and role keeps
the newest of the duplicates already stored, on SQLite and PostgreSQL."""
from datetime import date, datetime, timedelta, timezone

from alembic import command
from sqlalchemy import insert, select

from appraisal.models import Cycle, Rating, Template
from plumbing.db import make_engine
from plumbing.migrate import alembic_config, upgrade

BEFORE_UNIQUE_RATINGS = "d865a95e44f4"
T0 = datetime(2026, 3, 5, 9, tzinfo=timezone.utc)


def test_duplicate_ratings_stored_before_keep_only_the_newest(database_url):
    engine = make_engine(database_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config("appraisal", connection), BEFORE_UNIQUE_RATINGS)
        connection.execute(insert(Template.__table__).values(
            id=1, name="t", role="agent", period_type="monthly", items=[], reviewer_weights={}, bands=[],
            created_at=T0))
        connection.execute(insert(Cycle.__table__).values(
            id=1, template_id=1, period_type="monthly", period_start=date(2026, 3, 1), period_end=date(2026, 3, 31),
            state="collecting", appeal_days=5, decision_days=10, created_at=T0))
        rows = [("dee", "eve", "peer", 0, 3), ("dee", "eve", "peer", 10, 1), ("dee", "eve", "peer", 20, 2),
                ("dee", "eve", "supervisor", 30, 0), ("bob", "eve", "peer", 40, 0), ("dee", "ann", "peer", 50, 0),
                ("dee", "shop", "customer", 60, 0), ("dee", "shop", "customer", 70, 1)]
        connection.execute(insert(Rating.__table__), [
            {"cycle_id": 1, "agent": agent, "reviewer": reviewer, "reviewer_role": role, "scores": {"courtesy": score},
             "comment": "", "created_at": T0 + timedelta(minutes=minutes)}
            for agent, reviewer, role, score, minutes in rows])
    upgrade("appraisal", database_url)
    with engine.connect() as connection:
        kept = connection.execute(select(Rating.agent, Rating.reviewer, Rating.reviewer_role, Rating.scores)
                                  .order_by(Rating.id)).all()
    engine.dispose()
    # eve's three peer ratings of dee: the newest (3 minutes) stays; customer ratings have no reviewer of
    # their own (the integration relays many customers), so they all stay
    assert [(agent, reviewer, role, scores["courtesy"]) for agent, reviewer, role, scores in kept] == [
        ("dee", "eve", "peer", 0), ("dee", "eve", "supervisor", 30), ("bob", "eve", "peer", 40),
        ("dee", "ann", "peer", 50), ("dee", "shop", "customer", 60), ("dee", "shop", "customer", 70)]
