"""Two batches ingested at the same time on PostgreSQL (SQLite runs one writer at a time)."""
from datetime import datetime, timezone

import eventlet
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitoring import models
from monitoring.ingest import handlers as ingest
from monitoring.sentiment.rules import SentimentModel
from monitoring.sentiment.versions import ModelSlot
from monitoring.watch_rules import handlers as watch_rules
from plumbing.db import make_engine
from plumbing.unit_of_work import Unit

STORY = "某某外卖后厨卫生太差，操作台上有老鼠，顾客吃完身体不适，商家至今没有回应"


def post(external_id, text):
    return {"platform": "weibo", "external_id": external_id, "url": None, "text": text, "language": None,
            "author": {"id": external_id, "name": "someone", "followers": 10, "verified": False, "kind": "person"},
            "posted_at": datetime.now(timezone.utc), "reposts": 0, "comments": 0, "likes": 0,
            "parent_external_id": None}


def test_concurrent_batches_with_reposts_of_one_new_story_make_one_cluster(postgres_url, migrated):
    engine = make_engine(migrated("monitoring", postgres_url))
    model = ModelSlot(SentimentModel.load())

    def unit(session):
        return Unit.on_session(session, "monitoring", outbox=models.outbox)

    with Session(engine) as session:
        watch_rules.create_rule(unit(session), {"name": "外卖", "query": "外卖"})
    first, second = Session(engine), Session(engine)
    with first.begin():
        ingest.ingest(unit(first), model, {}, [post("1", STORY)])

        def ingest_the_repost():
            with second.begin():
                ingest.ingest(unit(second), model, {}, [post("2", f"转发微博 //@小王: {STORY}")])

        racer = eventlet.spawn(ingest_the_repost)
        eventlet.sleep(1)  # the second batch is clustering while the first has not committed
    racer.wait()
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(models.Cluster)) == 1
        assert session.scalars(select(models.Cluster.size)).all() == [2]
    first.close()
    second.close()
    engine.dispose()
