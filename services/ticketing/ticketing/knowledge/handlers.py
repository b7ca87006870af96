"""Knowledge-base use cases (T8).

Articles are indexed on write into the search index (``ticketing.search``,
the tickets' engine); a search takes the index's candidates, ranks them with
``rules.rank`` and records itself, and one that finds nothing is a
gap (``kb.search_missed``) so the base can be improved.
"""
import math
from collections import Counter

from sqlalchemy import func, select

from plumbing.db import get_or_not_found
from plumbing.errors import load_or_invalid as load
from plumbing.schemas import shared
from ticketing import events
from ticketing.contract import (
    ArticleCreateSchema, ArticleSchema, ArticleSearchQuerySchema, ArticleSearchResultSchema, GapListSchema,
    GapQuerySchema,
)
from ticketing.knowledge import rules
from ticketing.models import KbArticle, KbSearch
from ticketing.search import handlers as search
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
    """The article in the search index (``ticketing.search``), replacing what it was."""
    article.body_length = rules.index_article(article.id, article.title, article.body, article.tags).length
    search.ARTICLES.put(uow.session, article.id, search.article_terms(article.title, article.body, article.tags))


def rank(uow, text, category, limit):
    """The index finds the candidates holding enough of the query's terms and their counts of
    those terms only; ``rules.rank`` orders them (BM25F)."""
    wanted = list(dict.fromkeys(rules.terms(text)))
    if not wanted:
        return []
    session = uow.session
    need = math.ceil(rules.MIN_MATCH_SHARE * len(wanted))
    ids = search.article_candidates(session, wanted, need, category)
    if not ids:
        return []
    fields = {article_id: {name: Counter() for name in rules.FIELDS} for article_id in ids}
    for term, article_id, field, count in search.article_counts(session, ids, wanted):
        fields[article_id][field][term] += count
    lengths = dict(session.execute(select(KbArticle.id, KbArticle.body_length).where(KbArticle.id.in_(ids))).all())
    articles = [rules.IndexedArticle(article_id, f["title"], f["body"], frozenset(f["tag"]), lengths[article_id])
                for article_id, f in fields.items()]
    total, average = session.execute(select(func.count(), func.avg(KbArticle.body_length))).one()
    return rules.rank(text, articles, total, search.article_frequency(session, wanted), limit,
                      average_length=float(average or 0) or None)
