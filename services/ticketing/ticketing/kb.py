"""Knowledge-base entrypoints of the ticketing service (T8).

Articles are indexed into ``kb_terms`` on write; a search ranks candidates
with ``knowledge.rank`` and records itself, and one that finds nothing is a
gap (``kb.search_missed``) so the base can be improved.
"""
from datetime import datetime, timezone

from sqlalchemy import delete, distinct, func, select

from plumbing.db import get_or_not_found
from plumbing.errors import load_or_invalid as load
from plumbing.schemas import shared
from plumbing.rpc import rpc
from ticketing import events, knowledge, tickets
from ticketing.models import KbArticle, KbSearch, KbTerm
from ticketing.contract import (
    ArticleCreateSchema, ArticleSchema, ArticleSearchQuerySchema, ArticleSearchResultSchema, GapListSchema,
    GapQuerySchema,
)


class KnowledgeBase:
    """Mixed into TicketingService: needs its ``db``, ``context`` and ``record_event``."""

    @rpc
    def create_article(self, data):
        fields = load(ArticleCreateSchema, data)
        fields["tags"] = tickets.normalise_tags(fields["tags"])
        written = datetime.now(timezone.utc)
        article = KbArticle(**fields, hits=0, author=self.context.actor, created_at=written, updated_at=written)
        with self.db.begin():
            self.db.add(article)
            self.db.flush()
            self.index(article)
        return shared(ArticleSchema).dump(article)

    @rpc
    def update_article(self, article_id, data):
        fields = load(ArticleCreateSchema, data)
        fields["tags"] = tickets.normalise_tags(fields["tags"])
        with self.db.begin():
            article = get_or_not_found(self.db, KbArticle, article_id)
            for name, value in fields.items():
                setattr(article, name, value)
            article.updated_at = datetime.now(timezone.utc)
            self.db.execute(delete(KbTerm).where(KbTerm.article_id == article.id))
            self.index(article)
        return shared(ArticleSchema).dump(article)

    @rpc
    def get_article(self, article_id):
        """Opening an article counts a hit."""
        with self.db.begin():
            article = get_or_not_found(self.db, KbArticle, article_id)
            article.hits += 1
        return shared(ArticleSchema).dump(article)

    @rpc
    def search_articles(self, query):
        criteria = load(ArticleSearchQuerySchema, query)
        text = criteria["q"]
        with self.db.begin():
            ranked = self.rank(text, criteria.get("category"), criteria["limit"])
            found = {a.id: a for a in self.db.scalars(select(KbArticle).where(KbArticle.id.in_(
                [article_id for article_id, _ in ranked])))}
            self.db.add(KbSearch(query=text, results=len(ranked), actor=self.context.actor,
                                 searched_at=datetime.now(timezone.utc)))
            gap = knowledge.is_gap(ranked)
            if gap:
                self.record_event(events.KB_SEARCH_MISSED, events.KB_SEARCH_MISSED.subject_type, "gap",
                                  {"query": text, "actor": self.context.actor})
        items = [{"id": article_id, "title": found[article_id].title, "category": found[article_id].category,
                  "score": score, "snippet": knowledge.snippet(found[article_id].body, text)}
                 for article_id, score in ranked]
        return shared(ArticleSearchResultSchema).dump({"items": items, "gap": gap})

    @rpc
    def knowledge_gaps(self, query=None):
        """The searches that found nothing, most asked first."""
        criteria = load(GapQuerySchema, query or {})
        statement = select(KbSearch.query, func.count().label("searches"),
                           func.max(KbSearch.searched_at).label("last_searched_at")).where(KbSearch.results == 0)
        if "since" in criteria:
            statement = statement.where(KbSearch.searched_at >= criteria["since"])
        rows = self.db.execute(statement.group_by(KbSearch.query)
                               .order_by(func.count().desc(), KbSearch.query).limit(criteria["limit"])).all()
        return shared(GapListSchema).dump({"items": [row._asdict() for row in rows]})

    # -- index -------------------------------------------------------------------
    def index(self, article):
        indexed = knowledge.index_article(article.id, article.title, article.body, article.tags)
        article.body_length = indexed.length
        self.db.add_all(KbTerm(term=term, article_id=article_id, field=field, count=count)
                        for term, article_id, field, count in knowledge.index_rows(indexed))

    def rank(self, text, category, limit):
        query_terms = sorted(set(knowledge.terms(text)))
        if not query_terms:
            return []
        candidates = select(KbTerm.article_id).distinct().where(KbTerm.term.in_(query_terms))
        if category:
            candidates = candidates.join(KbArticle, KbArticle.id == KbTerm.article_id).where(
                KbArticle.category == category)
        rows = self.db.execute(select(KbTerm.term, KbTerm.article_id, KbTerm.field, KbTerm.count).where(
            KbTerm.article_id.in_(candidates))).all()
        frequency = dict(self.db.execute(
            select(KbTerm.term, func.count(distinct(KbTerm.article_id)))
            .where(KbTerm.term.in_(query_terms)).group_by(KbTerm.term)).all())
        total, average = self.db.execute(select(func.count(), func.avg(KbArticle.body_length))).one()
        return knowledge.rank(text, knowledge.articles_from_rows(tuple(row) for row in rows), total, frequency,
                              limit, average_length=float(average or 0) or None)
