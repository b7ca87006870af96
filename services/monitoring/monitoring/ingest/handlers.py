"""Ingest: a batch of posts is stored, matched, analysed, clustered and scored in one transaction
that also records its events and raises or escalates alerts; and posts are read back.

``ingest`` runs the pipeline's steps in this order:
1. ``store``: new posts inserted, the counts of re-seen ones merged;
2. ``match_watch_rules`` and ``store_topics``: the new posts' topics;
3. ``analyse_sentiment`` of the new on-topic posts (with the active model), 4. their crisis signals;
5. severity before spread (``severity.score_alone``);
6. clusters (``clusters.handlers.join_clusters``), under the cluster-index lock from here to the
   commit; each post is scored with its cluster's size as it joins;
7. ``write_posts``; 8. spikes' counts (``spikes.handlers.count_in_buckets``);
9. ``announce_posts``; 10. alerts (``alert_on_clusters``); 11. spikes (``spikes.handlers.detect_spikes``).
"""
from sqlalchemy import func, select, tuple_

from monitoring import events, metrics
from monitoring.alerts import handlers as alerts
from monitoring.alerts.rules import cluster_key, deserves_alert
from monitoring.clusters import handlers as clusters
from monitoring.contract import (
    PostBatchResultSchema, PostBatchSchema, PostCreateSchema, PostIngestResultSchema, PostListQuerySchema,
    PostPageSchema, PostSchema,
)
from monitoring.ingest import rules as posts, severity
from monitoring.ingest.records import Record
from monitoring.models import Alert, Post, PostTopic, WatchRule
from monitoring.sentiment import rules as sentiment
from monitoring.spikes import handlers as spikes
from monitoring.watch_rules import handlers as watch_rules
from monitoring.watch_rules.rules import matching_rules
from plumbing.db import get_or_not_found, insert_integer_columns, insert_rows, one_of, update_by_id, upsert_insert
from plumbing.errors import load_or_invalid as load
from plumbing.paging import fetch_page
from plumbing.schemas import shared

POST_CHANGES = ("id", *posts.COUNTS, "updated_at", "on_topic", "detected_language", "sentiment", "sentiment_score",
                "sentiment_confidence", "sentiment_model_version", "crisis_terms", "cluster_id", "severity", "level")  # what ingesting may change in a stored post


def as_post_record(columns, **more):
    return Record(columns, topic_rules=[], counts_grew=False, **more)


# -- the entrypoints --------------------------------------------------------------------------
def ingest_post(uow, model, config, data):
    with uow.transaction():
        [(post, created)] = ingest(uow, model, config, [load(PostCreateSchema, data)])
    return shared(PostIngestResultSchema).dump({"post": post, "created": created})


def ingest_posts(uow, model, config, data):
    batch = load(PostBatchSchema, data)["posts"]
    with uow.transaction():
        results = ingest(uow, model, config, batch)
    created = sum(was_created for _, was_created in results)
    items = [Record(vars(post), created=was_created) for post, was_created in results]
    return shared(PostBatchResultSchema).dump({"created": created, "updated": len(results) - created,
                                               "items": items})


def get_post(uow, post_id):
    return shared(PostSchema).dump(with_topics(uow, [get_or_not_found(uow.session, Post, post_id)])[0])


def list_posts(uow, query=None):
    criteria = load(PostListQuerySchema, query or {})
    asked, conditions = dict(criteria), []
    if "sentiment" in criteria:
        wanted = criteria.pop("sentiment")
        conditions.append(func.coalesce(Post.corrected_sentiment, Post.sentiment) == wanted)
    page = fetch_page(uow.session, Post, criteria, [Post.posted_at.desc(), Post.id.desc()], conditions,
                      query=asked)
    page["items"] = with_topics(uow, page["items"])
    return shared(PostPageSchema).dump(page)


# -- the pipeline ------------------------------------------------------------------------------
def ingest(uow, model, config, batch):
    """[(post, created)] in the order of ``batch``, every effect written in the caller's transaction
    by a few set-based statements, however large the batch."""
    now = uow.now()
    active_rules = watch_rules.active_rules(uow)
    stored = store(uow, batch, now)
    fresh = match_watch_rules(uow, active_rules, stored, batch)
    created_ids = {post.id for post, created in stored if created}
    seen_again = {post.id: post for post, _ in stored if post.id not in created_ids}.values()
    with_topics(uow, seen_again)
    grown = [post for post in seen_again if post.on_topic and post.counts_grew]
    store_topics(uow, fresh)
    touched, cluster_sizes = analyse_and_cluster(uow, model, config, fresh, grown, now)
    write_posts(uow, [*fresh, *(post for post in seen_again if post.counts_grew)])
    buckets = spikes.count_in_buckets(uow, fresh)
    announce_posts(uow, fresh, cluster_sizes)
    alert_on_clusters(uow, touched, {post.id: post for post in [*fresh, *grown]}, now)
    spikes.detect_spikes(uow, config, buckets, now)
    return stored


def store(uow, batch, now):
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
    inserted = insert_rows(uow.session, upsert_insert(uow.session)(posts_table).on_conflict_do_nothing(
        index_elements=["platform", "external_id"]), [rows[key] for key in sorted(rows)],
        posts_table.c.platform, posts_table.c.external_id, posts_table.c.id)
    unset = dict.fromkeys(posts_table.c.keys())  # as stored: what was not sent is NULL
    created = {(platform, external_id): as_post_record(unset | rows[platform, external_id], id=post_id)
               for platform, external_id, post_id in inserted}
    seen_before = [key for key in rows if key not in created]
    loaded = dict(created)
    for post in map(as_post_record, uow.session.execute(
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


def match_watch_rules(uow, active_rules, stored, batch):
    """The new posts' topics; returns the new posts on topic, in order (only they are analysed).
    Posts seen before and new posts off topic are counted here."""
    fresh = []
    for (post, created), fields in zip(stored, batch):
        if created:
            post.topic_rules = matching_rules(active_rules, fields)
            if post.topic_rules:
                fresh.append(post)
        outcome = "updated" if not created else "off_topic" if not post.topic_rules else None
        if outcome:
            uow.after_commit(metrics.POSTS_INGESTED.labels(post.platform, outcome).inc)
    return fresh


def store_topics(uow, fresh):
    insert_integer_columns(uow.session, PostTopic.__table__, {
        "post_id": [post.id for post in fresh for _ in post.topic_rules],
        "rule_id": [rule.id for post in fresh for rule in post.topic_rules]})


def analyse_and_cluster(uow, model, config, fresh, grown, now):
    """Sentiment, crisis terms, cluster and severity of the new on-topic posts, in order, and new
    severity of the re-seen ones whose engagement grew. Returns the clusters touched ({id: (cluster,
    crisis terms)}) and each new post's cluster size when it joined."""
    if not (fresh or grown):
        return {}, {}
    analyse_sentiment(model.current(uow.session), fresh)
    alone = {post.id: severity.score_alone(post, now) for post in [*fresh, *grown]}
    return clusters.join_clusters(uow, config, fresh, grown, alone, now)


def analyse_sentiment(model, fresh):
    """Sentiment, confidence, model version and crisis signals (terms, and ~kind) of each new post."""
    for post, verdict in zip(fresh, model.analyse([post.text for post in fresh], [post.language for post in fresh])):
        post.on_topic = True
        post.detected_language = verdict.language
        post.sentiment, post.sentiment_score = verdict.sentiment, verdict.score
        post.sentiment_confidence, post.sentiment_model_version = verdict.confidence, model.version
        post.crisis_terms = sentiment.crisis_signals(post.text, verdict)


def write_posts(uow, changed):
    """The analysis of the new posts and the counts of the re-seen ones, in one statement."""
    update_by_id(uow.session, Post.__table__, [{name: getattr(post, name) for name in POST_CHANGES}
                                               for post in changed])


def announce_posts(uow, fresh, cluster_sizes):
    """Count the new on-topic posts by sentiment; publish the negative ones."""
    for post in fresh:
        uow.after_commit(metrics.POSTS_INGESTED.labels(post.platform, post.sentiment).inc)
        if post.sentiment == "negative":
            uow.new_aggregate(events.AGGREGATE, f"post-{post.id}")
            uow.record(events.POST_ANALYSED, events.AGGREGATE, f"post-{post.id}",
                       post_facts(post, cluster_sizes[post.id]))


def alert_on_clusters(uow, touched, batch_posts, now):
    """Raise or escalate the alert of each touched cluster ({id: (cluster, crisis terms)}), in order;
    ``batch_posts`` ({id: post}) spares reading a lead post of this batch back."""
    keyed = {cluster_key(cluster.id): (cluster, crisis_terms) for cluster, crisis_terms in touched.values()}
    raised = {alert.key: alert for alert in uow.session.scalars(
        select(Alert).where(one_of(uow.session, Alert.key, list(keyed))).order_by(Alert.id).with_for_update())}
    started = []
    for key, (cluster, crisis_terms) in keyed.items():
        alert = raised.get(key)
        if alert is not None:
            alerts.escalate(uow, alert, cluster, crisis_terms, now)
        elif cluster.peak_severity and deserves_alert(cluster.level, bool(crisis_terms)):
            lead = batch_posts.get(cluster.lead_post_id) or with_topics(
                uow, [uow.session.get(Post, cluster.lead_post_id)])[0]
            started.append((alerts.new_alert(
                uow, key, "cluster", cluster.level or "IV", cluster.severity, lead, cluster,
                sorted(rule.name for rule in lead.topic_rules), sorted(set(crisis_terms)), now), lead, cluster))
    uow.session.flush()  # the new alerts get their ids
    for alert, lead, cluster in started:
        alerts.announce(uow, alert, lead, cluster.size)


# -- views ------------------------------------------------------------------------------------
def with_topics(uow, rows):
    """Posts with ``topic_rules`` loaded, as PostSchema shows them."""
    ids = [post.id for post in rows]
    names = {}
    found = uow.session.execute(select(PostTopic.post_id, WatchRule).join(
        WatchRule, WatchRule.id == PostTopic.rule_id).where(one_of(uow.session, PostTopic.post_id, ids))) if ids else ()
    for post_id, rule in found:
        names.setdefault(post_id, []).append(rule)
    for post in rows:
        post.topic_rules = names.get(post.id, [])
    return rows


def post_facts(post, cluster_size):
    return dict({column.key: getattr(post, column.key) for column in Post.__table__.columns},
                post_id=post.id, topics=sorted(rule.name for rule in post.topic_rules),
                language=post.detected_language, score=post.sentiment_score, cluster_size=cluster_size)
