"""The search index's migration fills it from the tickets, messages, merges and articles already
there, on SQLite and PostgreSQL, and its downgrade gives the knowledge base its kb_terms back."""
from datetime import datetime, timezone

from alembic import command
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from plumbing.db import make_engine
from plumbing.migrate import alembic_config, upgrade
from plumbing.unit_of_work import Unit
from ticketing import models
from ticketing.knowledge import handlers as knowledge
from ticketing.tickets import handlers as tickets

BEFORE = "e5b1c9a4d2f7"  # the revision before the search index
T0 = datetime(2026, 11, 2, 9, tzinfo=timezone.utc)


def ticket(number, subject, merged_into=None):
    return dict(id=number, subject=subject, description=f"第{number}号", channel="email", kind="inquiry",
                priority="normal", state="new", customer_name="c", customer_contact="c@example.com",
                customer_tier="standard", tags=[], required_skills=[], custom_fields={}, transfer_count=0,
                reopen_count=0, created_at=T0, updated_at=T0, escalation_level=0, merged_into_id=merged_into)


def test_existing_rows_are_indexed_by_the_migration(database_url):
    engine = make_engine(database_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config("ticketing", connection), BEFORE)
        connection.execute(insert(models.Ticket.__table__), [
            ticket(1, "发票开错了"), ticket(2, "Parcel lost"), ticket(3, "重复的工单", merged_into=2)])
        connection.execute(insert(models.TicketMessage.__table__), [
            dict(id=1, ticket_id=1, kind="reply", author="alice", body="已经重新开具", created_at=T0),
            dict(id=2, ticket_id=3, kind="customer", author="c", body="my zeppelin never came", created_at=T0)])
        connection.execute(insert(models.KbArticle.__table__).values(
            id=1, title="如何开具发票", body="订单完成后申请电子发票。", category="billing", tags=["发票"], body_length=0,
            hits=0, created_at=T0, updated_at=T0))
        connection.execute(text("INSERT INTO kb_terms (term, article_id, field, count) VALUES ('发票', 1, 'title', 1)"))
    upgrade("ticketing", database_url)
    sessions = []

    def unit():
        sessions.append(Session(engine))
        return Unit.on_session(sessions[-1], service="ticketing", outbox=models.outbox, inbox=models.inbox,
                               actor="alice", roles=["admin"])

    def found(query):
        return sorted(t["id"] for t in tickets.list_tickets(unit(), {"q": query})["items"])
    assert found("发票") == [1]
    assert found("重新开具") == [1]
    assert found("zeppelin") == [2, 3]        # the merged ticket's message shows on the one it went into
    assert found("重复") == [2, 3]
    assert [a["id"] for a in knowledge.search_articles(unit(), {"q": "电子发票"})["items"]] == [1]
    for session in sessions:
        session.close()
    with engine.begin() as connection:
        command.downgrade(alembic_config("ticketing", connection), BEFORE)
        terms = connection.execute(text("SELECT term, field FROM kb_terms WHERE article_id = 1 AND term = '发票'"))
        assert sorted(terms.all()) == [("发票", "body"), ("发票", "tag"), ("发票", "title")]
    engine.dispose()
