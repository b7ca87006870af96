"""Monitoring's handlers on a unit of work over SQLite: no container, no broker."""
from datetime import datetime, timedelta, timezone

import dataclasses

import numpy as np
import pytest
from sqlalchemy import select

from monitoring import models
from monitoring.alerts import handlers as alerts
from monitoring.ingest import handlers as ingest
from monitoring.sentiment import handlers as sentiment
from monitoring.sentiment.rules import SentimentModel
from monitoring.sentiment import train, versions
from monitoring.sentiment.versions import ModelSlot
from monitoring.watch_rules import handlers as watch_rules, rules
from plumbing.errors import Conflict, InvalidInput

STORY = "某某外卖后厨卫生太差，操作台上有老鼠，顾客吃完身体不适，商家至今没有回应"
MEDIA = {"id": "m1", "name": "都市快报", "followers": 3_000_000, "verified": True, "kind": "media"}


@pytest.fixture(scope="module")
def model():
    return ModelSlot(SentimentModel.load())


def post(external_id, text, author=None, **counts):
    return dict({"platform": "weibo", "external_id": external_id, "text": text,
                 "posted_at": (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat(),
                 "author": author or {"id": f"a-{external_id}", "name": "网友", "followers": 50}}, **counts)


def storm(unit, model):
    """A media outlet's story and eleven reposts of it: one cluster, a level II alert."""
    watch_rules.create_rule(unit(), {"name": "外卖", "query": "外卖 OR delivery"})
    batch = [post("s0", STORY, MEDIA, reposts=120, comments=40, likes=300)]
    batch += [post(f"s{index}", f"转发微博 //@网友{index}: {STORY}") for index in range(1, 12)]
    return ingest.ingest_posts(unit(), model, {}, {"posts": batch + [post("x", "今天天气好")]})


def published(unit):
    return unit().session.scalars(select(models.outbox.c.event_type).order_by(models.outbox.c.created_at)).all()


def test_a_batch_is_stored_analysed_clustered_and_alerted_on_in_one_transaction(unit, model):
    result = storm(unit, model)

    assert (result["created"], result["updated"]) == (13, 0)
    first, off_topic = result["items"][0], result["items"][-1]
    assert (first["on_topic"], first["topics"], first["sentiment"]) == (True, ["外卖"], "negative")
    assert {item["cluster_id"] for item in result["items"][:-1]} == {first["cluster_id"]}
    assert (off_topic["on_topic"], off_topic["cluster_id"]) == (False, None)
    [alert] = alerts.list_alerts(unit())["items"]
    assert (alert["kind"], alert["level"], alert["cluster_size"], alert["post_id"]) == ("cluster", "II", 12, first["id"])
    events = published(unit)
    assert events.count("opinion.post_analysed") == 12 and events.count("opinion.alert_raised") == 1


def test_a_re_seen_post_merges_its_counts(unit, model):
    storm(unit, model)
    again = ingest.ingest_post(unit(), model, {}, post("s1", "edited", likes=9))
    assert (again["created"], again["post"]["likes"], again["post"]["text"]) == (False, 9, f"转发微博 //@网友1: {STORY}")
    assert ingest.list_posts(unit(), {"on_topic": True})["total"] == 12


def test_whoever_acknowledges_an_alert_owns_it_and_the_update_is_published(unit, model):
    storm(unit, model)
    [alert] = alerts.list_alerts(unit())["items"]

    detail = alerts.change_alert_state(unit(actor="ann"), alert["id"], {"state": "acknowledged"})

    assert (detail["state"], detail["owner"]) == ("acknowledged", "ann")
    assert [(entry["kind"], entry["actor"]) for entry in detail["entries"]][-1] == ("state", "ann")
    assert published(unit)[-1] == "opinion.alert_updated"


def test_a_correction_is_shown_and_kept_for_training(unit, model):
    first = storm(unit, model)["items"][0]
    corrected = sentiment.correct_sentiment(unit(actor="ann"), first["id"], {"sentiment": "neutral"})
    assert (corrected["sentiment"], corrected["corrected"]) == ("neutral", True)
    [kept] = unit().session.scalars(select(models.SentimentCorrection)).all()
    assert (kept.agent, kept.model_sentiment, kept.sentiment) == ("ann", "negative", "neutral")


@pytest.mark.parametrize("query", ["(外卖 OR", '"unclosed', "a " * 1000 + ")"],
                         ids=["unclosed parenthesis", "unclosed quote", "stray parenthesis"])
def test_a_query_that_cannot_be_read_is_refused_naming_the_field(unit, query):
    with pytest.raises(InvalidInput) as raised:
        watch_rules.create_rule(unit(), {"name": "x", "query": query})
    assert set(raised.value.details) == {"query"}
    rule = watch_rules.create_rule(unit(), {"name": "x", "query": "外卖"})
    with pytest.raises(InvalidInput) as raised:
        watch_rules.update_rule(unit(), rule["id"], {"name": "x", "query": query})
    assert set(raised.value.details) == {"query"}
    assert [rule["query"] for rule in watch_rules.list_rules(unit())["items"]] == ["外卖"]


def test_the_active_rules_together_hold_a_bounded_number_of_terms(unit):
    full = " OR ".join(f"t{n}" for n in range(rules.MAX_TERMS))
    first, *_ = [watch_rules.create_rule(unit(), {"name": f"r{n}", "query": full})
                 for n in range(rules.MAX_ACTIVE_TERMS // rules.MAX_TERMS)]
    with pytest.raises(Conflict) as refused:
        watch_rules.create_rule(unit(), {"name": "one more", "query": "外卖"})
    assert set(refused.value.details) == {"query"} and f"{rules.MAX_ACTIVE_TERMS} terms" in refused.value.message
    paused = watch_rules.create_rule(unit(), {"name": "paused", "query": "外卖", "active": False})  # counts no term
    with pytest.raises(Conflict) as refused:
        watch_rules.update_rule(unit(), paused["id"], {"name": "paused", "query": "外卖", "active": True})
    assert set(refused.value.details) == {"query"}
    watch_rules.update_rule(unit(), first["id"], {"name": "r0", "query": "外卖", "active": False})
    assert watch_rules.update_rule(unit(), paused["id"], {"name": "paused", "query": "外卖", "active": True})["active"]


def test_a_rule_stored_beyond_the_limits_is_left_out_of_matching(unit, model):
    watch_rules.create_rule(unit(), {"name": "外卖", "query": "外卖"})
    writer = unit()
    with writer.transaction():  # as written before the limits: straight into the table
        writer.session.add(models.WatchRule(
            name="huge", query=" OR ".join(["卖"] * 399), platforms=[], author_kinds=[], verified_only=False,
            min_followers=0, active=True, created_at=datetime.now(timezone.utc), updated_at=datetime.now(timezone.utc)))
    result = ingest.ingest_post(unit(), model, {}, post("p", STORY))
    assert result["post"]["topics"] == ["外卖"]


def always_positive(model):
    """The shipped head biased to call everything positive: a worse model."""
    return dataclasses.replace(model.shipped.head, intercept=np.array([-50, -50, 50], dtype=np.float32))


def test_the_review_queue_holds_the_least_sure_unlabelled_posts_until_labelled(unit, model):
    watch_rules.create_rule(unit(), {"name": "店", "query": "店 OR store"})
    texts = ["店里的东西还行吧，就那样", "这家店太差了，客服不理人，再也不来了", "The store is ok I guess, whatever",
             "Love this store, staff are wonderful"]
    created = ingest.ingest_posts(unit(), model, {}, {"posts": [post(f"q{i}", text) for i, text in enumerate(texts)]})
    stored = [ingest.get_post(unit(), item["id"]) for item in created["items"]]
    assert {item["sentiment_model_version"] for item in stored} == {1}
    confidence = {item["id"]: item["sentiment_confidence"] for item in stored}

    queue = sentiment.review_queue(unit(), {"below": 1.0})

    assert [item["id"] for item in queue["items"]] == sorted(confidence, key=confidence.get)
    least_sure = queue["items"][0]["id"]
    sentiment.correct_sentiment(unit(actor="ann"), least_sure, {"sentiment": "neutral"})
    assert least_sure not in [item["id"] for item in sentiment.review_queue(unit(), {"below": 1.0})["items"]]
    below = min(confidence.values())
    assert sentiment.review_queue(unit(), {"below": below})["total"] == 0
    with pytest.raises(InvalidInput):
        sentiment.review_queue(unit(), {"below": 2})


def test_an_installed_version_is_used_at_once_and_an_admin_rolls_it_back(unit, model):
    assert [(row["version"], row["active"]) for row in sentiment.list_models(unit())["items"]] == [(1, True)]
    writer = unit()
    with writer.transaction():
        versions.install(writer.session, always_positive(model), {"zh": {}}, {"desk labels": 3}, writer.now())

    [result] = sentiment.analyse(unit(), model, {"texts": ["这家店太差了，再也不来了"]})["results"]
    assert (result["sentiment"], result["model_version"]) == ("positive", 2)
    assert [(row["version"], row["active"]) for row in sentiment.list_models(unit())["items"]] == [(2, True), (1, False)]

    restored = sentiment.roll_back_model(unit(actor="root"))

    assert (restored["version"], restored["active"], restored["activated_by"]) == (1, True, "root")
    [result] = sentiment.analyse(unit(), model, {"texts": ["这家店太差了，再也不来了"]})["results"]
    assert (result["sentiment"], result["model_version"]) == ("negative", 1)
    with pytest.raises(Conflict):
        sentiment.roll_back_model(unit(actor="root"))


def test_training_refuses_to_install_a_worse_model(unit, model, sqlite_url, migrated):
    url = migrated("monitoring", sqlite_url)
    figures = train.dev_figures(versions.SentimentModel(always_positive(model)))

    assert train.install_if_no_worse(url, always_positive(model), figures, {}, progress=lambda line: None) == 1
    assert unit().session.scalars(select(models.SentimentModelVersion)).all() == []
    assert train.install_if_no_worse(url, model.shipped.head, train.dev_figures(model.shipped), {},
                                     progress=lambda line: None) == 0
    assert [(row["version"], row["active"]) for row in sentiment.list_models(unit())["items"]] == [(2, True), (1, False)]
