"""Sentiment: texts analysed on request, agents' corrections of a post's sentiment, and the
shipped model as the service's dependency."""
from nameko.extensions import DependencyProvider

from monitoring.contract import AnalyseSchema, AnalysisResultSchema, CorrectionSchema
from monitoring.ingest import handlers as ingest
from monitoring.models import Post, SentimentCorrection
from monitoring.sentiment import rules as sentiment
from plumbing.db import get_or_not_found
from plumbing.errors import load_or_invalid as load
from plumbing.schemas import shared


class SentimentAnalyser(DependencyProvider):
    """The shipped model, loaded once per service process."""

    def setup(self):
        self.model = sentiment.SentimentModel.load()

    def get_dependency(self, worker_ctx):
        return self.model


def analyse(model, data):
    """Sentiment and crisis terms of texts, in order; stores nothing."""
    texts = load(AnalyseSchema, data)["texts"]
    results = [dict(sentiment=verdict.sentiment, score=verdict.score, language=verdict.language,
                    crisis_terms=terms, crisis=bool(terms))
               for verdict, terms in zip(model.analyse(texts), map(sentiment.crisis_terms, texts))]
    return shared(AnalysisResultSchema).dump({"results": results})


def correct_sentiment(uow, post_id, data):
    """An agent's verdict: shown from now on, and learnt by the next ``monitoring.sentiment.train``."""
    wanted = load(CorrectionSchema, data)["sentiment"]
    with uow.transaction():
        post = get_or_not_found(uow.session, Post, post_id, lock=True)
        uow.session.add(SentimentCorrection(post_id=post.id, text=post.text, sentiment=wanted,
                                            model_sentiment=post.sentiment, agent=uow.actor, corrected_at=uow.now()))
        post.corrected_sentiment = wanted
        post.updated_at = uow.now()
    return ingest.get_post(uow, post_id)
