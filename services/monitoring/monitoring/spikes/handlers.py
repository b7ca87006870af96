"""Spikes, as the pipeline (``ingest``) finds them: a batch's mentions counted per topic and
bucket, the buckets it touched tested against their history, each spike recorded, published
and alerted on."""
import os
from datetime import timedelta

from sqlalchemy import func, select

from monitoring import events, metrics, models
from monitoring.alerts import handlers as alerts
from monitoring.alerts.rules import cluster_key, spike_key
from monitoring.models import Alert, Post, PostTopic, TopicBucket, WatchRule
from monitoring.spikes import rules as spikes
from plumbing.db import insert_rows, upsert_insert


def count_in_buckets(uow, fresh):
    """Mentions per topic and bucket, added to the stored counts by one upsert; returns the
    touched buckets as they are after it ({(rule id, bucket start): (total, negative)})."""
    counts = {}
    for post in fresh:
        start = spikes.bucket_start(post.posted_at)
        for rule in post.topic_rules:
            total, negative = counts.get((rule.id, start), (0, 0))
            counts[rule.id, start] = (total + 1, negative + (post.sentiment == "negative"))
    table = TopicBucket.__table__
    add = upsert_insert(uow.session)(table)
    return {(rule_id, start): (total, negative) for rule_id, start, total, negative in insert_rows(
        uow.session, add.on_conflict_do_update(
            index_elements=["rule_id", "bucket_start"],
            set_={"total": table.c.total + add.excluded.total, "negative": table.c.negative + add.excluded.negative}),
        [{"rule_id": rule_id, "bucket_start": start, "total": total, "negative": negative}
         for (rule_id, start), (total, negative) in counts.items()],
        table.c.rule_id, table.c.bucket_start, table.c.total, table.c.negative)}


def detect_spikes(uow, config, buckets, now):
    """Test the buckets this batch counted in ({(rule id, start): (total, negative)}) against
    their history; a bucket below both floors of the sensitivity is not looked at."""
    sensitivity_name = config.get(spikes.SENSITIVITY_SETTING) or os.environ.get(spikes.SENSITIVITY_SETTING, "medium")
    sensitivity = spikes.PRESETS[sensitivity_name]
    touched = sorted(key for key, counts in buckets.items()
                     if spikes.could_spike(spikes.Bucket(key[1], *counts), sensitivity))
    if not touched:
        return
    starts = [start for _, start in touched]
    rule_ids = {rule_id for rule_id, _ in touched}
    counts = {(row.rule_id, row.bucket_start): row for row in uow.session.execute(
        select(TopicBucket.rule_id, TopicBucket.bucket_start, TopicBucket.total, TopicBucket.negative)
        .where(TopicBucket.rule_id.in_(rule_ids), TopicBucket.bucket_start >= spikes.history_window(min(starts)),
               TopicBucket.bucket_start < max(starts)))}
    recorded = set(uow.session.execute(select(models.Spike.rule_id, models.Spike.bucket_start, models.Spike.reason)
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
                record_spike(uow, rule_id, start, spike, sensitivity_name, now)


def record_spike(uow, rule_id, start, spike, sensitivity_name, now):
    rule = uow.session.get(WatchRule, rule_id)
    key = spike_key(rule_id, start.isoformat())
    # a wave already alerted on, or a bucket that spiked before for another reason: the
    # spike is news about that alert, not a second one
    alert = alert_covering(uow, rule_id, start) or uow.session.scalar(
        select(Alert).where(Alert.key == key).with_for_update())
    if alert is not None:
        alerts.journal(uow, alert, "spike", changes={"reason": spike.reason, "observed": spike.observed,
                                                     "expected": spike.expected})
        alert.updated_at = now
        alerts.publish_update(uow, alert, "spike")
    else:
        alert = alerts.new_alert(uow, key, "spike", spikes.ALERT_LEVEL, 0.0, None, None, [rule.name], [], now)
        uow.session.flush()
        alerts.announce(uow, alert, None, None)
    row = models.Spike(rule_id=rule_id, bucket_start=start, reason=spike.reason, observed=spike.observed,
                       expected=spike.expected, p_value=spike.p_value, alert_id=alert.id, detected_at=now)
    uow.session.add(row)
    uow.session.flush()
    uow.record(events.SPIKE_DETECTED, events.AGGREGATE, f"topic-{rule_id}", dict(
        topic_id=rule_id, topic=rule.name, bucket_start=start, bucket_minutes=spikes.BUCKET_MINUTES,
        reason=spike.reason, observed=spike.observed, expected=spike.expected, p_value=spike.p_value,
        sensitivity=sensitivity_name, alert_id=alert.id))
    uow.after_commit(metrics.SPIKES.labels(spike.reason).inc)


def alert_covering(uow, rule_id, start):
    """The unresolved alert of the cluster with most negative posts of this topic in this bucket."""
    end = start + timedelta(minutes=spikes.BUCKET_MINUTES)
    leading = uow.session.execute(
        select(Post.cluster_id).join(PostTopic, PostTopic.post_id == Post.id)
        .where(PostTopic.rule_id == rule_id, Post.posted_at >= start, Post.posted_at < end,
               Post.sentiment == "negative")
        .group_by(Post.cluster_id).order_by(func.count().desc(), Post.cluster_id).limit(1)).scalar()
    if leading is None:
        return None
    return uow.session.scalar(select(Alert).where(Alert.key == cluster_key(leading),
                                                  Alert.state != "resolved").with_for_update())
