"""Knowledge-base use cases (T8).

Articles are indexed into ``kb_terms`` on write; a search ranks candidates
with ``rules.rank`` and records itself, and one that finds nothing is a
gap (``kb.search_missed``) so the base can be improved.
"""
from dataclasses import replace

from sqlalchemy import delete, distinct, func, select

from plumbing.db import get_or_not_found
from plumbing.errors import load_or_invalid as load
from plumbing.schemas import shared
from ticketing import events
from ticketing.contract import (
    ArticleCreateSchema, ArticleSchema, ArticleSearchQuerySchema, ArticleSearchResultSchema, GapListSchema,
    GapQuerySchema,
)
from ticketing.knowledge import rules
from ticketing.models import KbArticle, KbSearch, KbTerm
from ticketing.tickets.rules import normalise_tags
from ticketing.webhooks import handlers as webhooks


def create_article(uow, data):
    fields = load(ArticleCreateSchema, data)
    fields["tags"] = normalise_tags(fields["tags"])
    written = uow.now()
    article = KbArticle(**fields, hits=0, author=uow.actor, created_at=written, updated_at=written)
    with uow.transaction():
        uow.session.add(article)
        uow.session.flush()
        index(uow, article)
    return shared(ArticleSchema).dump(article)


def update_article(uow, article_id, data):
    fields = load(ArticleCreateSchema, data)
    fields["tags"] = normalise_tags(fields["tags"])
    with uow.transaction():
        article = get_or_not_found(uow.session, KbArticle, article_id)
        for name, value in fields.items():
            setattr(article, name, value)
        article.updated_at = uow.now()
        uow.session.execute(delete(KbTerm).where(KbTerm.article_id == article.id))
        index(uow, article)
    return shared(ArticleSchema).dump(article)


def get_article(uow, article_id):
    """Opening an article counts a hit."""
    with uow.transaction():
        article = get_or_not_found(uow.session, KbArticle, article_id)
        article.hits += 1
    return shared(ArticleSchema).dump(article)


def search_articles(uow, query):
    criteria = load(ArticleSearchQuerySchema, query)
    text = criteria["q"]
    with uow.transaction():
        ranked = rank(uow, text, criteria.get("category"), criteria["limit"])
        found = {a.id: a for a in uow.session.scalars(select(KbArticle).where(KbArticle.id.in_(
            [article_id for article_id, _ in ranked])))}
        uow.session.add(KbSearch(query=text, results=len(ranked), actor=uow.actor, searched_at=uow.now()))
        gap = rules.is_gap(ranked)
        if gap:
            webhooks.record_event(uow, events.KB_SEARCH_MISSED, events.KB_SEARCH_MISSED.subject_type, "gap",
                                  {"query": text, "actor": uow.actor})
    items = [{"id": article_id, "title": found[article_id].title, "category": found[article_id].category,
              "score": score, "snippet": rules.snippet(found[article_id].body, text)}
             for article_id, score in ranked]
    return shared(ArticleSearchResultSchema).dump({"items": items, "gap": gap})


def knowledge_gaps(uow, query):
    """The searches that found nothing, most asked first."""
    criteria = load(GapQuerySchema, query or {})
    statement = select(KbSearch.query, func.count().label("searches"),
                       func.max(KbSearch.searched_at).label("last_searched_at")).where(KbSearch.results == 0)
    if "since" in criteria:
        statement = statement.where(KbSearch.searched_at >= criteria["since"])
    rows = uow.session.execute(statement.group_by(KbSearch.query)
                               .order_by(func.count().desc(), KbSearch.query).limit(criteria["limit"])).all()
    return shared(GapListSchema).dump({"items": [row._asdict() for row in rows]})


# -- the index ---------------------------------------------------------------------------------
def index(uow, article):
    indexed = rules.index_article(article.id, article.title, article.body, article.tags)
    article.body_length = indexed.length
    uow.session.add_all(KbTerm(term=term, article_id=article_id, field=field, count=count)
                        for term, article_id, field, count in rules.index_rows(indexed))


def rank(uow, text, category, limit):
    query_terms = sorted(set(rules.terms(text)))
    if not query_terms:
        return []
    session = uow.session
    # only the query's terms of each candidate (the score reads no other), with its stored body length
    statement = select(KbTerm.term, KbTerm.article_id, KbTerm.field, KbTerm.count, KbArticle.body_length).join(
        KbArticle, KbArticle.id == KbTerm.article_id).where(KbTerm.term.in_(query_terms))
    if category:
        statement = statement.where(KbArticle.category == category)
    rows = session.execute(statement).all()
    lengths = {row.article_id: row.body_length for row in rows}
    frequency = dict(session.execute(
        select(KbTerm.term, func.count(distinct(KbTerm.article_id)))
        .where(KbTerm.term.in_(query_terms)).group_by(KbTerm.term)).all())
    total, average = session.execute(select(func.count(), func.avg(KbArticle.body_length))).one()
    articles = [replace(article, length=lengths[article.article_id])
                for article in rules.articles_from_rows(tuple(row)[:4] for row in rows)]
    return rules.rank(text, articles, total, frequency, limit, average_length=float(average or 0) or None)
