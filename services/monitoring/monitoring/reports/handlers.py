"""Reports (M7): the rows of a period read in a few queries, built into the report by ``rules``."""
import eventlet
from eventlet import tpool
from nameko.extensions import DependencyProvider
from sqlalchemy import func, select

from monitoring.contract import ReportQuerySchema, ReportSchema
from monitoring.models import Alert, Cluster, Post, PostTopic, WatchRule
from monitoring.reports import rules as reports
from plumbing.errors import load_or_invalid as load
from plumbing.schemas import shared


class TermSegmenter(DependencyProvider):
    """jieba's dictionary, loaded in a native thread once the service has started: about 0.3 s to import
    and 1.3 s to load on an idle core (several under load), ~80 MB. Neither start-up nor, mostly, the
    first report waits for it; a report asked sooner waits for the same load (``reports.segmenter``)."""

    def start(self):
        self.loading = eventlet.spawn(tpool.execute, reports.segmenter)


def report(uow, query):
    criteria = load(ReportQuerySchema, query)
    return shared(ReportSchema).dump(report_data(uow, criteria))


def report_file(uow, query, file_format):
    """The trend as ``csv`` text or a ``png`` chart (base64), for a supervisor to forward."""
    data = report_data(uow, load(ReportQuerySchema, query))
    return reports.as_csv(data) if file_format == "csv" else reports.as_png_base64(data)


def report_data(uow, criteria):
    since, until = criteria["since"], criteria["until"]
    in_range = (Post.posted_at >= since) & (Post.posted_at < until)
    rows = uow.session.execute(
        select(Post.id, Post.posted_at, Post.platform, Post.on_topic, Post.text, Post.cluster_id,
               func.coalesce(Post.corrected_sentiment, Post.sentiment).label("sentiment")).where(in_range)).all()
    topics = uow.session.execute(
        select(WatchRule.name, func.count()).join(PostTopic, PostTopic.rule_id == WatchRule.id)
        .join(Post, Post.id == PostTopic.post_id).where(in_range).group_by(WatchRule.name)).all()
    raised = uow.session.scalars(select(Alert).where(Alert.raised_at >= since, Alert.raised_at < until)).all()
    if not reports.SEGMENTER:  # still loading (TermSegmenter), or no service around: off the event loop
        tpool.execute(reports.segmenter)
    clusters = {cluster.id: cluster for cluster in uow.session.scalars(
        select(Cluster).where(Cluster.id.in_({row.cluster_id for row in rows if row.cluster_id})))}
    return reports.build(criteria, rows, topics, clusters, raised)
