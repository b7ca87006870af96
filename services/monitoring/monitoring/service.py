"""Monitoring: what it answers over RPC. Rules live in the plain modules:
``rules.py`` (topics), ``sentiment.py``, ``dedupe.py``, ``severity.py``,
``spikes.py``, ``alerts.py``, ``reports.py``.

A batch of posts is stored, matched, analysed, clustered and scored in one
transaction that also records its events and raises or escalates alerts.
"""
import os
from datetime import datetime, timedelta, timezone

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from sqlalchemy import func, insert, select, tuple_

from monitoring import alerts, dedupe, events, metrics, models, posts, reports, rules, sentiment, severity, spikes
from monitoring.models import Alert, AlertEntry, Cluster, ClusterBand, Post, PostTopic, TopicBucket, WatchRule
from monitoring.contract import (
    AlertActionSchema, AlertDetailSchema, AlertListQuerySchema, AlertNoteSchema, AlertPageSchema, AlertStateSchema,
    AnalyseSchema, AnalysisResultSchema, CorrectionSchema, PostBatchResultSchema, PostBatchSchema, PostCreateSchema,
    PostIngestResultSchema, PostListQuerySchema, PostPageSchema, PostSchema, ReportQuerySchema, ReportSchema,
    WatchRuleCreateSchema, WatchRuleListSchema, WatchRuleSchema, WatchRuleUpdateSchema,
)
from plumbing.db import (
    get_or_not_found, insert_integer_columns, insert_rows, is_postgres, one_of, update_by_id, upsert_insert,
)
from plumbing.errors import Conflict, load_or_invalid as load
from plumbing.metrics import DatabaseGauges
from plumbing.outbox import Outbox
from plumbing.paging import fetch_page
from plumbing.schemas import shared
from plumbing.rpc import rpc
from plumbing.service import PlatformService

SENSITIVITY_SETTING = "MONITORING_SPIKE_SENSITIVITY"
SPIKE_ALERT_LEVEL = "III"
CLUSTER_INDEX_LOCK = 0x6D6F6E6974  # "monit": the PostgreSQL advisory lock of the cluster index
POST_CHANGES = ("id", *posts.COUNTS, "updated_at", "on_topic", "detected_language", "sentiment", "sentiment_score",
                "crisis_terms", "cluster_id", "severity", "level")  # what ingesting may change in a stored post
CLUSTER_CHANGES = ("id", "lead_post_id", "size", "negative", "peak_severity", "severity", "level", "updated_at")


class Record:
    """A post or cluster while a batch is ingested: its columns as plain attributes, changed in
    memory and written for the whole batch by one statement (``insert_rows``, ``update_by_id``);
    mapped objects would cost more per attribute than the pipeline's own work on them."""

    def __init__(self, columns, **more):
        self.__dict__.update(columns, **more)


def as_post_record(columns, **more):
    return Record(columns, topic_rules=[], counts_grew=False, **more)


class SentimentAnalyser(DependencyProvider):
    """The shipped model, loaded once per service process."""

    def setup(self):
        self.model = sentiment.SentimentModel.load()

    def get_dependency(self, worker_ctx):
        return self.model


class MonitoringService(PlatformService):
    name = "monitoring"

    events = Outbox(models.outbox)
    config = Config()
    model = SentimentAnalyser()
    open_alerts = DatabaseGauges(metrics.OpenAlerts)

    def now(self):
        return datetime.now(timezone.utc)

    # -- posts ---------------------------------------------------------------
    @rpc
    def ingest_post(self, data):
        with self.db.begin():
            [(post, created)] = self.ingest([load(PostCreateSchema, data)])
        return shared(PostIngestResultSchema).dump({"post": post, "created": created})

    @rpc
    def ingest_posts(self, data):
        batch = load(PostBatchSchema, data)["posts"]
        with self.db.begin():
            results = self.ingest(batch)
        created = sum(was_created for _, was_created in results)
        items = [Record(vars(post), created=was_created) for post, was_created in results]
        return shared(PostBatchResultSchema).dump({"created": created, "updated": len(results) - created,
                                                   "items": items})

    @rpc
    def get_post(self, post_id):
        return shared(PostSchema).dump(self.with_topics([get_or_not_found(self.db, Post, post_id)])[0])

    @rpc
    def list_posts(self, query=None):
        criteria = load(PostListQuerySchema, query or {})
        conditions = []
        if "sentiment" in criteria:
            wanted = criteria.pop("sentiment")
            conditions.append(func.coalesce(Post.corrected_sentiment, Post.sentiment) == wanted)
        page = fetch_page(self.db, Post, criteria, [Post.posted_at.desc(), Post.id.desc()], conditions)
        page["items"] = self.with_topics(page["items"])
        return shared(PostPageSchema).dump(page)

    @rpc
    def correct_sentiment(self, post_id, data):
        """An agent's verdict: shown from now on, and learnt by the next ``monitoring.train``."""
        wanted = load(CorrectionSchema, data)["sentiment"]
        with self.db.begin():
            post = get_or_not_found(self.db, Post, post_id, lock=True)
            self.db.add(models.SentimentCorrection(post_id=post.id, text=post.text, sentiment=wanted,
                                                   model_sentiment=post.sentiment, agent=self.context.actor,
                                                   corrected_at=self.now()))
            post.corrected_sentiment = wanted
            post.updated_at = self.now()
        return self.get_post(post_id)

    @rpc
    def analyse(self, data):
        """Sentiment and crisis terms of texts, in order; stores nothing."""
        texts = load(AnalyseSchema, data)["texts"]
        results = [dict(sentiment=verdict.sentiment, score=verdict.score, language=verdict.language,
                        crisis_terms=terms, crisis=bool(terms))
                   for verdict, terms in zip(self.model.analyse(texts), map(sentiment.crisis_terms, texts))]
        return shared(AnalysisResultSchema).dump({"results": results})

    # -- watch rules --------------------------------------------------------
    @rpc
    def create_rule(self, data):
        fields = load(WatchRuleCreateSchema, data)
        with self.db.begin():
            self.check_rule_name(fields["name"])
            rule = WatchRule(**fields, created_at=self.now(), updated_at=self.now())
            self.db.add(rule)
        return shared(WatchRuleSchema).dump(rule)

    @rpc
    def update_rule(self, rule_id, data):
        fields = load(WatchRuleUpdateSchema, data)
        with self.db.begin():
            rule = get_or_not_found(self.db, WatchRule, rule_id)
            if fields.get("name", rule.name) != rule.name:
                self.check_rule_name(fields["name"])
            for name, value in fields.items():
                setattr(rule, name, value)
            rule.updated_at = self.now()
        return shared(WatchRuleSchema).dump(rule)

    @rpc
    def list_rules(self):
        return shared(WatchRuleListSchema).dump({"items": self.db.scalars(select(WatchRule).order_by(WatchRule.id))})

    def check_rule_name(self, name):
        if self.db.scalar(select(WatchRule.id).where(WatchRule.name == name)) is not None:
            raise Conflict(f"a watch rule named {name!r} exists", {"name": ["already used"]})

    # -- alerts ---------------------------------------------------------------
    @rpc
    def list_alerts(self, query=None):
        criteria = load(AlertListQuerySchema, query or {})
        page = fetch_page(self.db, Alert, criteria, [Alert.raised_at.desc(), Alert.id.desc()])
        page["items"] = [self.alert_view(alert) for alert in page["items"]]
        return shared(AlertPageSchema).dump(page)

    @rpc
    def get_alert(self, alert_id):
        alert = get_or_not_found(self.db, Alert, alert_id)
        entries = self.db.scalars(select(AlertEntry).where(AlertEntry.alert_id == alert_id).order_by(AlertEntry.id))
        return shared(AlertDetailSchema).dump(dict(self.alert_view(alert), entries=list(entries)))

    @rpc
    def change_alert_state(self, alert_id, data):
        change = load(AlertStateSchema, data)
        with self.db.begin():
            alert = self.locked_alert(alert_id)
            self.move_alert(alert, change["state"], note=change["note"])
            if change["owner"] or (alert.owner is None and change["state"] == "acknowledged"):
                alert.owner = change["owner"] or self.context.actor
        return self.get_alert(alert_id)

    @rpc
    def add_alert_action(self, alert_id, data):
        action = load(AlertActionSchema, data)
        with self.db.begin():
            alert = self.locked_alert(alert_id)
            try:
                after = alerts.state_after_action(alert.state)
            except alerts.InvalidTransition as exc:
                raise Conflict(str(exc), {"state": [alert.state]}) from None
            if alert.owner is None:
                alert.owner = self.context.actor
            self.move_alert(alert, after, publish=False)
            self.journal(alert, "action", action=action["action"], note=action["note"])
            self.publish_update(alert, "action")
        return self.get_alert(alert_id)

    @rpc
    def add_alert_note(self, alert_id, data):
        note = load(AlertNoteSchema, data)["note"]
        with self.db.begin():
            alert = self.locked_alert(alert_id)
            self.journal(alert, "note", note=note)
            alert.updated_at = self.now()
            self.publish_update(alert, "note")
        return self.get_alert(alert_id)

    def locked_alert(self, alert_id):
        return get_or_not_found(self.db, Alert, alert_id, lock=True)

    def move_alert(self, alert, after, note=None, publish=True):
        before = alert.state
        if after == before:
            return
        try:
            alerts.check_transition(before, after)
        except alerts.InvalidTransition as exc:
            raise Conflict(str(exc), {"state": [str(exc)], "allowed": list(exc.allowed)}) from None
        now = self.now()
        alert.state, alert.updated_at = after, now
        if after in ("acknowledged", "responding", "resolved") and alert.acknowledged_at is None:
            alert.acknowledged_at = now  # responding or resolving at once acknowledges too
            self.on_success(metrics.TIME_TO_ACKNOWLEDGE.labels(alert.level).observe,
                            (now - alert.raised_at).total_seconds())
        if after in ("responding", "resolved") and alert.responding_at is None and after == "responding":
            alert.responding_at = now
        if after == "resolved":
            alert.resolved_at = now
            self.on_success(metrics.TIME_TO_RESOLVE.labels(alert.level).observe,
                            (now - alert.raised_at).total_seconds())
        self.journal(alert, "state", note=note, changes={"state": [before, after]})
        if publish:
            self.publish_update(alert, "state", from_state=before)

    def alert_view(self, alert, cluster_size=None):
        size = cluster_size
        if size is None and alert.cluster_id:
            size = self.db.get(Cluster, alert.cluster_id).size
        return {column.key: getattr(alert, column.key) for column in Alert.__table__.columns} | {"cluster_size": size}

    def journal(self, alert, kind, action=None, note=None, changes=None):
        self.db.add(AlertEntry(alert_id=alert.id, at=self.now(), actor=self.context.actor, kind=kind,
                               action=action, note=note, changes=changes or {}))

    # -- reports (M7) ---------------------------------------------------------
    @rpc
    def report(self, query):
        criteria = load(ReportQuerySchema, query)
        return shared(ReportSchema).dump(self.report_data(criteria))

    @rpc
    def report_file(self, query, file_format):
        """The trend as ``csv`` text or a ``png`` chart (base64), for a supervisor to forward."""
        data = self.report_data(load(ReportQuerySchema, query))
        return reports.as_csv(data) if file_format == "csv" else reports.as_png_base64(data)

    def report_data(self, criteria):
        since, until = criteria["since"], criteria["until"]
        in_range = (Post.posted_at >= since) & (Post.posted_at < until)
        rows = self.db.execute(
            select(Post.id, Post.posted_at, Post.platform, Post.on_topic, Post.text, Post.cluster_id,
                   func.coalesce(Post.corrected_sentiment, Post.sentiment).label("sentiment")).where(in_range)).all()
        topics = self.db.execute(
            select(WatchRule.name, func.count()).join(PostTopic, PostTopic.rule_id == WatchRule.id)
            .join(Post, Post.id == PostTopic.post_id).where(in_range).group_by(WatchRule.name)).all()
        raised = self.db.scalars(select(Alert).where(Alert.raised_at >= since, Alert.raised_at < until)).all()
        clusters = {cluster.id: cluster for cluster in self.db.scalars(
            select(Cluster).where(Cluster.id.in_({row.cluster_id for row in rows if row.cluster_id})))}
        return reports.build(criteria, rows, topics, clusters, raised)

    # -- the pipeline: store, match, analyse, cluster, score ------------------------------------------
    def ingest(self, batch):
        """[(post, created)] in the order of ``batch``, every effect written in the caller's transaction
        by a few set-based statements, however large the batch."""
        now = self.now()
        watch_rules = self.active_rules()
        stored = self.store(batch, now)
        created_ids = {post.id for post, created in stored if created}
        fresh = []
        for (post, created), fields in zip(stored, batch):
            if created:
                post.topic_rules = rules.matching_rules(watch_rules, fields)
                if post.topic_rules:
                    fresh.append(post)
            outcome = "updated" if not created else "off_topic" if not post.topic_rules else None
            if outcome:
                self.on_success(metrics.POSTS_INGESTED.labels(post.platform, outcome).inc)
        seen_again = {post.id: post for post, _ in stored if post.id not in created_ids}.values()
        self.with_topics(seen_again)
        grown = [post for post in seen_again if post.on_topic and post.counts_grew]
        insert_integer_columns(self.db, PostTopic.__table__, {
            "post_id": [post.id for post in fresh for _ in post.topic_rules],
            "rule_id": [rule.id for post in fresh for rule in post.topic_rules]})
        touched, cluster_sizes = self.analyse_and_cluster(fresh, grown, now)
        update_by_id(self.db, Post.__table__, [
            {name: getattr(post, name) for name in POST_CHANGES}
            for post in [*fresh, *(post for post in seen_again if post.counts_grew)]])
        buckets = self.count_in_buckets(fresh)
        for post in fresh:
            self.on_success(metrics.POSTS_INGESTED.labels(post.platform, post.sentiment).inc)
            if post.sentiment == "negative":
                self.events.new_aggregate(events.AGGREGATE, f"post-{post.id}")
                self.events.record(self.db, events.POST_ANALYSED, events.AGGREGATE, f"post-{post.id}",
                                   self.post_facts(post, cluster_sizes[post.id]))
        self.alert_on_clusters(touched, {post.id: post for post in [*fresh, *grown]}, now)
        self.detect_spikes(buckets, now)
        return stored

    def active_rules(self):
        return [rules.WatchRule(rule.id, rule.name, rules.parse(rule.query), tuple(rule.platforms),
                                tuple(rule.author_kinds), rule.verified_only, rule.min_followers)
                for rule in self.db.scalars(select(WatchRule).where(WatchRule.active).order_by(WatchRule.id))]

    def store(self, batch, now):
        """Insert the new posts and merge the counts of those stored before (never a duplicate):
        [(post, created)] in the order of ``batch``; a post sent twice in it is created once."""
        rows = {}
        for fields in batch:
            key = (fields["platform"], fields["external_id"])
            if key in rows:
                rows[key].update(posts.merge_counts(rows[key], fields))
            else:
                author = {f"author_{name}": value for name, value in fields["author"].items()}
                rows[key] = dict({name: value for name, value in fields.items() if name != "author"}, **author,
                                 received_at=now, updated_at=now, on_topic=False)
        # ON CONFLICT rather than select-then-insert: a concurrent ingest of the same post waits here
        # instead of failing on the unique key; rows in key order so two batches lock in the same order.
        posts_table = Post.__table__
        inserted = insert_rows(self.db, upsert_insert(self.db)(posts_table).on_conflict_do_nothing(
            index_elements=["platform", "external_id"]), [rows[key] for key in sorted(rows)],
            posts_table.c.platform, posts_table.c.external_id, posts_table.c.id)
        unset = dict.fromkeys(posts_table.c.keys())  # as stored: what was not sent is NULL
        created = {(platform, external_id): as_post_record(unset | rows[platform, external_id], id=post_id)
                   for platform, external_id, post_id in inserted}
        seen_before = [key for key in rows if key not in created]
        loaded = dict(created)
        for post in map(as_post_record, self.db.execute(
                select(posts_table).where(tuple_(posts_table.c.platform, posts_table.c.external_id).in_(seen_before))
                .order_by(posts_table.c.id).with_for_update()).mappings() if seen_before else ()):
            loaded[post.platform, post.external_id] = post
            stored = {name: getattr(post, name) for name in posts.COUNTS}
            merged = posts.merge_counts(stored, rows[post.platform, post.external_id])
            post.counts_grew = merged != stored
            if post.counts_grew:
                for name, value in merged.items():
                    setattr(post, name, value)
                post.updated_at = now
        results, firsts = [], set()
        for fields in batch:
            key = (fields["platform"], fields["external_id"])
            results.append((loaded[key], key in created and key not in firsts))
            firsts.add(key)
        return results

    def analyse_and_cluster(self, fresh, grown, now):
        """Sentiment, cluster and severity of the new on-topic posts, in order, and new severity of the
        re-seen ones whose engagement grew. Returns the clusters touched ({id: (cluster, crisis terms)})
        and each new post's cluster size when it joined."""
        if not (fresh or grown):
            return {}, {}
        for post, verdict in zip(fresh, self.model.analyse([post.text for post in fresh],
                                                           [post.language for post in fresh])):
            post.on_topic = True
            post.detected_language = verdict.language
            post.sentiment, post.sentiment_score = verdict.sentiment, verdict.score
            post.crisis_terms = sentiment.crisis_terms(post.text)
        alone = {post.id: self.score_alone(post, now) for post in [*fresh, *grown]}
        signatures = dedupe.signatures([post.text for post in fresh])
        keys = dedupe.band_keys(signatures)
        if fresh:  # all that needs no other batch's clusters is done: the lock is held until commit
            self.lock_cluster_index()
        known = dict(self.db.execute(select(ClusterBand.band_key, ClusterBand.cluster_id).where(
            one_of(self.db, ClusterBand.band_key, sorted({key for post_keys in keys for key in post_keys})))).all())
        table = Cluster.__table__
        wanted = sorted(set(known.values()) | {post.cluster_id for post in grown})
        clusters = {row["id"]: Record(row) for row in self.db.execute(
            select(table).where(one_of(self.db, table.c.id, wanted)).order_by(table.c.id).with_for_update()).mappings()}
        index = dedupe.ClusterIndex(bands=known, first_new_id=max(clusters, default=0) + 1, signatures={
            cluster_id: dedupe.unpack(cluster.signature) for cluster_id, cluster in clusters.items()})
        touched, joined, started = {}, [], {}
        for post, sig, post_keys in zip(fresh, signatures, keys):
            cluster_id = index.join(sig, post_keys)
            cluster = clusters.get(cluster_id)
            if cluster is None:
                cluster = clusters[cluster_id] = started[cluster_id] = Record(dict(
                    signature=dedupe.pack(sig), lead_post_id=post.id, size=1, negative=0, peak_severity=0.0,
                    severity=0.0, level=None, created_at=now, updated_at=now))
            else:
                cluster.size += 1
                cluster.updated_at = now
            if post.sentiment == "negative":
                cluster.negative += 1
            self.score(post, alone[post.id], cluster)
            touched[cluster_id] = (cluster, touched.get(cluster_id, (None, []))[1] + post.crisis_terms)
            joined.append((post, cluster, cluster.size))
        for post in grown:
            self.score(post, alone[post.id], clusters[post.cluster_id])
            touched.setdefault(post.cluster_id, (clusters[post.cluster_id], []))
        self.store_clusters(started.values(), [cluster for cluster_id, (cluster, _) in touched.items()
                                               if cluster_id not in started])
        for post, cluster, _ in joined:
            post.cluster_id = cluster.id
        new_bands = {key: clusters[cluster_id].id for key, cluster_id in index.bands.items() if key not in known}
        insert_integer_columns(self.db, ClusterBand.__table__, {  # new keys: none was known under the lock
            "band_key": list(new_bands), "cluster_id": list(new_bands.values())})
        return touched, {post.id: size for post, _, size in joined}

    def store_clusters(self, started, changed):
        """Insert the clusters this batch started (each gets its id) and write the changes of the others."""
        table = Cluster.__table__
        # a started cluster's lead is one of its own posts: a key to match the new ids with
        ids = dict(insert_rows(self.db, insert(table), [vars(cluster) for cluster in started],
                               table.c.lead_post_id, table.c.id))
        for cluster in started:
            cluster.id = ids[cluster.lead_post_id]
        update_by_id(self.db, table, [{name: getattr(cluster, name) for name in CLUSTER_CHANGES}
                                      for cluster in changed])

    def lock_cluster_index(self):
        """Batches cluster one at a time: two concurrent ones would each start a cluster for the same
        story. SQLite writers are serialised already; PostgreSQL takes a lock held until commit."""
        if is_postgres(self.db):
            self.db.execute(select(func.pg_advisory_xact_lock(CLUSTER_INDEX_LOCK)))

    def score_alone(self, post, now):
        """The post's severity before its cluster's spread (None when it is neither negative nor a crisis)."""
        label = post.corrected_sentiment or post.sentiment
        if label != "negative" and not post.crisis_terms:
            return None
        return severity.score(severity.Signals(
            negativity=max(0.0, -post.sentiment_score), followers=post.author_followers,
            engagement=post.reposts + post.comments + post.likes,
            hours_since_posted=max((now - post.posted_at).total_seconds() / 3600, 0.0),
            author_kind=post.author_kind, verified=post.author_verified, cluster_size=1,
            crisis=bool(post.crisis_terms)))

    def score(self, post, alone, cluster):
        """The post's severity with its cluster's spread; the cluster's from its gravest member."""
        if alone is None:
            post.severity, post.level = 0.0, None
            return
        thresholds = severity.thresholds_from(self.config)
        post.severity = severity.with_spread(alone, cluster.size)
        post.level = severity.level(post.severity, thresholds)
        if alone > cluster.peak_severity:
            cluster.peak_severity, cluster.lead_post_id = alone, post.id
        cluster.severity = severity.with_spread(cluster.peak_severity, cluster.size)
        cluster.level = severity.level(cluster.severity, thresholds)

    def count_in_buckets(self, fresh):
        """Mentions per topic and bucket, added to the stored counts by one upsert; returns the
        touched buckets as they are after it ({(rule id, bucket start): (total, negative)})."""
        counts = {}
        for post in fresh:
            start = spikes.bucket_start(post.posted_at)
            for rule in post.topic_rules:
                total, negative = counts.get((rule.id, start), (0, 0))
                counts[rule.id, start] = (total + 1, negative + (post.sentiment == "negative"))
        table = TopicBucket.__table__
        add = upsert_insert(self.db)(table)
        return {(rule_id, start): (total, negative) for rule_id, start, total, negative in insert_rows(
            self.db, add.on_conflict_do_update(
                index_elements=["rule_id", "bucket_start"],
                set_={"total": table.c.total + add.excluded.total, "negative": table.c.negative + add.excluded.negative}),
            [{"rule_id": rule_id, "bucket_start": start, "total": total, "negative": negative}
             for (rule_id, start), (total, negative) in counts.items()],
            table.c.rule_id, table.c.bucket_start, table.c.total, table.c.negative)}

    # -- alerts and spikes ----------------------------------------------------------------------------
    def alert_on_clusters(self, touched, batch_posts, now):
        """Raise or escalate the alert of each touched cluster ({id: (cluster, crisis terms)}), in order;
        ``batch_posts`` ({id: post}) spares reading a lead post of this batch back."""
        keyed = {alerts.cluster_key(cluster.id): (cluster, crisis_terms) for cluster, crisis_terms in touched.values()}
        raised = {alert.key: alert for alert in self.db.scalars(
            select(Alert).where(one_of(self.db, Alert.key, list(keyed))).order_by(Alert.id).with_for_update())}
        started = []
        for key, (cluster, crisis_terms) in keyed.items():
            alert = raised.get(key)
            if alert is not None:
                self.escalate(alert, cluster, crisis_terms, now)
            elif cluster.peak_severity and alerts.deserves_alert(cluster.level, bool(crisis_terms)):
                lead = batch_posts.get(cluster.lead_post_id) or self.with_topics(
                    [self.db.get(Post, cluster.lead_post_id)])[0]
                started.append((self.new_alert(
                    key, "cluster", cluster.level or "IV", cluster.severity, lead, cluster,
                    sorted(rule.name for rule in lead.topic_rules), sorted(set(crisis_terms)), now), lead, cluster))
        self.db.flush()  # the new alerts get their ids
        for alert, lead, cluster in started:
            self.announce(alert, lead, cluster.size)

    def escalate(self, alert, cluster, crisis_terms, now):
        alert.severity = max(alert.severity, cluster.severity)
        new_terms = sorted(set(crisis_terms) - set(alert.crisis_terms))
        escalated = severity.graver(cluster.level, alert.level) != alert.level
        if not (escalated or new_terms):
            return
        before = alert.level
        alert.level = severity.graver(cluster.level, alert.level)
        alert.crisis_terms = sorted(set(alert.crisis_terms) | set(new_terms))
        alert.opens_ticket = alert.opens_ticket or alerts.opens_ticket(alert.level, bool(alert.crisis_terms))
        alert.updated_at = now
        self.journal(alert, "escalated", changes={"level": [before, alert.level], "crisis_terms": new_terms})
        self.publish_update(alert, "escalated", from_level=before)

    def new_alert(self, key, kind, level, score, lead, cluster, topics, crisis_terms, now):
        """An alert added to the session; ``announce`` it once flushed."""
        summary = (lead.text if lead is not None else f"spike of negative posts on {', '.join(topics)}")[:500]
        alert = Alert(key=key, kind=kind, level=level, severity=score, summary=summary, topics=topics,
                      cluster_id=cluster.id if cluster else None, post_id=lead.id if lead else None,
                      crisis_terms=crisis_terms, opens_ticket=alerts.opens_ticket(level, bool(crisis_terms)),
                      state="open", raised_at=now, updated_at=now)
        self.db.add(alert)
        return alert

    def announce(self, alert, lead, cluster_size):
        """Journal and publish a new alert (flushed: it has its id)."""
        self.events.new_aggregate(events.AGGREGATE, f"alert-{alert.id}")
        self.journal(alert, "raised", changes={"level": [None, alert.level]})
        self.events.record(self.db, events.ALERT_RAISED, events.AGGREGATE, f"alert-{alert.id}",
                           self.alert_facts(alert, lead, cluster_size))
        self.on_success(metrics.ALERTS_RAISED.labels(alert.kind, alert.level).inc)

    def publish_update(self, alert, change, from_level=None, from_state=None):
        self.events.record(self.db, events.ALERT_UPDATED, events.AGGREGATE, f"alert-{alert.id}", dict(
            self.alert_facts(alert), change=change, actor=self.context.actor, from_level=from_level,
            from_state=from_state))

    def detect_spikes(self, buckets, now):
        """Test the buckets this batch counted in ({(rule id, start): (total, negative)}) against
        their history; a bucket below both floors of the sensitivity is not looked at."""
        sensitivity_name = self.config.get(SENSITIVITY_SETTING) or os.environ.get(SENSITIVITY_SETTING, "medium")
        sensitivity = spikes.PRESETS[sensitivity_name]
        touched = sorted(key for key, counts in buckets.items()
                         if spikes.could_spike(spikes.Bucket(key[1], *counts), sensitivity))
        if not touched:
            return
        starts = [start for _, start in touched]
        rule_ids = {rule_id for rule_id, _ in touched}
        counts = {(row.rule_id, row.bucket_start): row for row in self.db.execute(
            select(TopicBucket.rule_id, TopicBucket.bucket_start, TopicBucket.total, TopicBucket.negative)
            .where(TopicBucket.rule_id.in_(rule_ids), TopicBucket.bucket_start >= spikes.history_window(min(starts)),
                   TopicBucket.bucket_start < max(starts)))}
        recorded = set(self.db.execute(select(models.Spike.rule_id, models.Spike.bucket_start, models.Spike.reason)
                                       .where(models.Spike.rule_id.in_(rule_ids),
                                              models.Spike.bucket_start.in_(set(starts)))).tuples())
        for rule_id, start in touched:
            history = [spikes.Bucket(row.bucket_start, row.total, row.negative)
                       for (other_rule_id, other_start), row in counts.items()
                       if other_rule_id == rule_id and spikes.history_window(start) <= other_start < start]
            history_start = min((b.start for b in history), default=start)
            expected = spikes.baseline(history, start, history_start)
            for spike in spikes.detect(spikes.Bucket(start, *buckets[rule_id, start]), expected, sensitivity):
                if (rule_id, start, spike.reason) not in recorded:
                    self.record_spike(rule_id, start, spike, sensitivity_name, now)

    def record_spike(self, rule_id, start, spike, sensitivity_name, now):
        rule = self.db.get(WatchRule, rule_id)
        key = alerts.spike_key(rule_id, start.isoformat())
        # a wave already alerted on, or a bucket that spiked before for another reason: the
        # spike is news about that alert, not a second one
        alert = self.alert_covering(rule_id, start) or self.db.scalar(
            select(Alert).where(Alert.key == key).with_for_update())
        if alert is not None:
            self.journal(alert, "spike", changes={"reason": spike.reason, "observed": spike.observed,
                                                  "expected": spike.expected})
            alert.updated_at = now
            self.publish_update(alert, "spike")
        else:
            alert = self.new_alert(key, "spike", SPIKE_ALERT_LEVEL, 0.0, None, None, [rule.name], [], now)
            self.db.flush()
            self.announce(alert, None, None)
        row = models.Spike(rule_id=rule_id, bucket_start=start, reason=spike.reason, observed=spike.observed,
                           expected=spike.expected, p_value=spike.p_value, alert_id=alert.id, detected_at=now)
        self.db.add(row)
        self.db.flush()
        self.events.record(self.db, events.SPIKE_DETECTED, events.AGGREGATE, f"topic-{rule_id}", dict(
            topic_id=rule_id, topic=rule.name, bucket_start=start, bucket_minutes=spikes.BUCKET_MINUTES,
            reason=spike.reason, observed=spike.observed, expected=spike.expected, p_value=spike.p_value,
            sensitivity=sensitivity_name, alert_id=alert.id))
        self.on_success(metrics.SPIKES.labels(spike.reason).inc)

    def alert_covering(self, rule_id, start):
        """The unresolved alert of the cluster with most negative posts of this topic in this bucket."""
        end = start + timedelta(minutes=spikes.BUCKET_MINUTES)
        leading = self.db.execute(
            select(Post.cluster_id).join(PostTopic, PostTopic.post_id == Post.id)
            .where(PostTopic.rule_id == rule_id, Post.posted_at >= start, Post.posted_at < end,
                   Post.sentiment == "negative")
            .group_by(Post.cluster_id).order_by(func.count().desc(), Post.cluster_id).limit(1)).scalar()
        if leading is None:
            return None
        return self.db.scalar(select(Alert).where(Alert.key == alerts.cluster_key(leading),
                                                  Alert.state != "resolved").with_for_update())

    # -- views ------------------------------------------------------------------------------------
    def with_topics(self, rows):
        """Posts with ``topic_rules`` loaded, as PostSchema shows them."""
        ids = [post.id for post in rows]
        names = {}
        found = self.db.execute(select(PostTopic.post_id, WatchRule).join(
            WatchRule, WatchRule.id == PostTopic.rule_id).where(one_of(self.db, PostTopic.post_id, ids))) if ids else ()
        for post_id, rule in found:
            names.setdefault(post_id, []).append(rule)
        for post in rows:
            post.topic_rules = names.get(post.id, [])
        return rows

    def post_facts(self, post, cluster_size):
        return dict({column.key: getattr(post, column.key) for column in Post.__table__.columns},
                    post_id=post.id, topics=sorted(rule.name for rule in post.topic_rules),
                    language=post.detected_language, score=post.sentiment_score, cluster_size=cluster_size)

    def alert_facts(self, alert, lead=None, cluster_size=None):
        """What alert events carry; ``lead`` and ``cluster_size`` where the caller has them at hand."""
        if lead is None and alert.post_id:
            lead = self.db.get(Post, alert.post_id)
        return dict(self.alert_view(alert, cluster_size), alert_id=alert.id, post=lead)
