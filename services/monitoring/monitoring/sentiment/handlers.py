"""Sentiment: texts analysed on request, the review queue and the desk's labels, installed model
versions and rollback, and the model slot as the service's dependency."""
from nameko.extensions import DependencyProvider

from monitoring.contract import (
    AnalyseSchema, AnalysisResultSchema, CorrectionSchema, PostPageSchema, ReviewQueueQuerySchema,
    SentimentModelListSchema, SentimentModelSchema,
)
from monitoring.ingest import handlers as ingest
from monitoring.models import Post, SentimentCorrection
from monitoring.sentiment import rules as sentiment
from monitoring.sentiment import versions
from plumbing.db import get_or_not_found
from plumbing.errors import Conflict
from plumbing.errors import load_or_invalid as load
from plumbing.paging import fetch_page
from plumbing.schemas import shared


class SentimentAnalyser(DependencyProvider):
    """The model slot, loaded once per service process: the active version from the database."""

    def setup(self):
        self.slot = versions.ModelSlot(sentiment.SentimentModel.load())

    def get_dependency(self, worker_ctx):
        return self.slot


def analyse(uow, slot, data):
    """Sentiment and crisis signals of texts, in order, by the active model; stores nothing."""
    texts = load(AnalyseSchema, data)["texts"]
    model = slot.current(uow.session)
    results = [dict(sentiment=verdict.sentiment, score=verdict.score, confidence=verdict.confidence,
                    language=verdict.language, crisis_terms=signals, crisis=bool(signals), model_version=model.version)
               for verdict, signals in ((verdict, sentiment.crisis_signals(text, verdict))
                                        for text, verdict in zip(texts, model.analyse(texts)))]
    return shared(AnalysisResultSchema).dump({"results": results})


def correct_sentiment(uow, post_id, data):
    """An agent's verdict (a correction, or the label of a queued post): shown from now on, and
    learnt by the next ``monitoring.sentiment.train``."""
    wanted = load(CorrectionSchema, data)["sentiment"]
    with uow.transaction():
        post = get_or_not_found(uow.session, Post, post_id, lock=True)
        uow.session.add(SentimentCorrection(post_id=post.id, text=post.text, sentiment=wanted,
                                            model_sentiment=post.sentiment, agent=uow.actor, corrected_at=uow.now()))
        post.corrected_sentiment = wanted
        post.updated_at = uow.now()
    return ingest.get_post(uow, post_id)


def review_queue(uow, query=None):
    """Analysed posts no one has labelled whose model confidence is below ``below``, least sure first."""
    criteria = load(ReviewQueueQuerySchema, query or {})
    asked, below = dict(criteria), criteria.pop("below")
    page = fetch_page(uow.session, Post, criteria, [Post.sentiment_confidence, Post.id],
                      [Post.sentiment_confidence < below, Post.corrected_sentiment.is_(None)], query=asked)
    page["items"] = ingest.with_topics(uow, page["items"])
    return shared(PostPageSchema).dump(page)


def list_models(uow):
    """Every installed version, newest first (the shipped one, version 1, is recorded on first sight)."""
    with uow.transaction():
        versions.ensure_shipped(uow.session, uow.now())
        return shared(SentimentModelListSchema).dump({"items": versions.versions(uow.session)})


def roll_back_model(uow):
    """Make the version installed before the active one active again (409 when there is none)."""
    with uow.transaction():
        active = versions.active_version(uow.session)
        earlier = [row for row in versions.versions(uow.session) if active and row.version < active.version]
        if not earlier:
            raise Conflict("no earlier sentiment model version to roll back to")
        versions.activate(uow.session, earlier[0], uow.now(), uow.actor)
        return shared(SentimentModelSchema).dump(earlier[0])
