"""full-text search index of tickets and the knowledge base

Revision ID: 5e8a1c3f9b27
Revises: e5b1c9a4d2f7
Create Date: 2026-12-07 23:40:00

PostgreSQL: ``ticket_search`` and ``kb_search`` hold a ``tsvector`` per ticket (article) under a
GIN index; SQLite: FTS5 tables (and ``kb_search_terms``, an fts5vocab view of the articles' terms).
Both are filled from the existing rows in batches, with progress printed; the GIN indexes are
built after the backfill (faster than keeping them current row by row). ``kb_terms``, the
knowledge base's earlier index, goes. Lists sorted by time get indexes on ``created_at`` and
``updated_at``.

The documents are made by ``ticketing.search.rules`` as it is when the migration runs.
"""
import sys
import time

import sqlalchemy as sa
from alembic import op

revision = '5e8a1c3f9b27'
down_revision = 'e5b1c9a4d2f7'
branch_labels = None
depends_on = None

BATCH = 2000
FTS5_OPTIONS = "tokenize = 'unicode61 remove_diacritics 0'"


def upgrade():
    connection = op.get_bind()
    postgres = connection.dialect.name == "postgresql"
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_tickets_updated_at', ['updated_at'], unique=False)
    if postgres:
        op.execute("CREATE TABLE ticket_search (ticket_id INTEGER PRIMARY KEY REFERENCES tickets (id), "
                   "document TSVECTOR NOT NULL)")
        op.execute("CREATE TABLE kb_search (article_id INTEGER PRIMARY KEY REFERENCES kb_articles (id), "
                   "document TSVECTOR NOT NULL)")
        # a rare word's estimate is half the least frequent word the statistics keep: with the default
        # target (100: 1,000 words) a word in 60 of 1M tickets was estimated at 1,867 and a sort by
        # created_at walked the whole index looking for it (6 s); at 1000 it is 362, and the GIN is used
        op.execute("ALTER TABLE ticket_search ALTER COLUMN document SET STATISTICS 1000")
    else:
        op.execute(f"CREATE VIRTUAL TABLE ticket_search USING fts5(subject, description, messages, {FTS5_OPTIONS})")
        op.execute(f"CREATE VIRTUAL TABLE kb_search USING fts5(title, tags, body, {FTS5_OPTIONS})")
        op.execute("CREATE VIRTUAL TABLE kb_search_terms USING fts5vocab(kb_search, 'instance')")
    backfill(connection)
    if postgres:
        started = time.monotonic()
        op.execute("CREATE INDEX ix_ticket_search_document ON ticket_search USING gin (document)")
        op.execute("CREATE INDEX ix_kb_search_document ON kb_search USING gin (document)")
        say(f"search index: GIN indexes built in {time.monotonic() - started:.1f}s")
    with op.batch_alter_table('kb_terms', schema=None) as batch_op:
        batch_op.drop_index('ix_kb_terms_article_id')
    op.drop_table('kb_terms')


def say(line):
    print(line, file=sys.stderr, flush=True)


def backfill(connection):
    from ticketing.search import handlers as search  # the documents as the service makes them

    session = sa.orm.Session(bind=connection)
    tickets = sa.table("tickets", sa.column("id"), sa.column("subject"), sa.column("description"),
                       sa.column("merged_into_id"))
    messages = sa.table("ticket_messages", sa.column("id"), sa.column("ticket_id"), sa.column("body"))
    total = connection.execute(sa.select(sa.func.count()).select_from(tickets)).scalar_one()
    done, last, started = 0, 0, time.monotonic()
    while True:
        rows = connection.execute(sa.select(tickets.c.id, tickets.c.subject, tickets.c.description,
                                            tickets.c.merged_into_id)
                                  .where(tickets.c.id > last).order_by(tickets.c.id).limit(BATCH)).all()
        if not rows:
            break
        ids = [row.id for row in rows]
        sources = connection.execute(sa.select(tickets.c.id, tickets.c.subject, tickets.c.description,
                                               tickets.c.merged_into_id).where(tickets.c.merged_into_id.in_(ids))).all()
        owner = {source.id: source.merged_into_id for source in sources}
        bodies = {ticket_id: [] for ticket_id in ids}
        for ticket_id, body in connection.execute(sa.select(messages.c.ticket_id, messages.c.body).where(
                messages.c.ticket_id.in_(ids + list(owner))).order_by(messages.c.id)):
            if ticket_id in bodies:
                bodies[ticket_id].append(body)
            if ticket_id in owner:  # a merged ticket's conversation shows on the one it went into
                bodies[owner[ticket_id]].append(body)
        for source in sources:
            bodies[source.merged_into_id] += [source.subject, source.description]
        search.TICKETS.put_many(session, [(row.id, search.ticket_terms(row.subject, row.description, bodies[row.id]))
                                          for row in rows])
        session.flush()
        done, last = done + len(rows), ids[-1]
        say(f"search index: {done}/{total} tickets ({time.monotonic() - started:.0f}s)")
    articles = sa.table("kb_articles", sa.column("id"), sa.column("title"), sa.column("body"), sa.column("tags"))
    for row in connection.execute(sa.select(articles.c.id, articles.c.title, articles.c.body,
                                            sa.type_coerce(articles.c.tags, sa.JSON))):
        search.ARTICLES.put(session, row.id, search.article_terms(row.title, row.body, row.tags or []))
        say(f"search index: article {row.id}")
    session.flush()


def downgrade():
    from ticketing.knowledge import rules  # the earlier index, rebuilt from the articles

    op.create_table('kb_terms',
                    sa.Column('term', sa.String(length=100), nullable=False),
                    sa.Column('article_id', sa.Integer(), nullable=False),
                    sa.Column('field', sa.String(length=8), nullable=False),
                    sa.Column('count', sa.Integer(), nullable=False),
                    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], ),
                    sa.PrimaryKeyConstraint('term', 'article_id', 'field'))
    with op.batch_alter_table('kb_terms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_terms_article_id'), ['article_id'], unique=False)
    connection = op.get_bind()
    articles = sa.table("kb_articles", sa.column("id"), sa.column("title"), sa.column("body"), sa.column("tags"))
    kb_terms = sa.table("kb_terms", sa.column("term"), sa.column("article_id"), sa.column("field"),
                        sa.column("count"))
    for row in connection.execute(sa.select(articles.c.id, articles.c.title, articles.c.body,
                                            sa.type_coerce(articles.c.tags, sa.JSON))).all():
        indexed = rules.index_article(row.id, row.title, row.body, row.tags)
        values = [dict(term=t, article_id=a, field=f, count=c) for t, a, f, c in rules.index_rows(indexed)]
        if values:
            connection.execute(kb_terms.insert(), values)
    if connection.dialect.name != "postgresql":
        op.execute("DROP TABLE kb_search_terms")
    op.execute("DROP TABLE kb_search")
    op.execute("DROP TABLE ticket_search")
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_updated_at')
        batch_op.drop_index('ix_tickets_created_at')
