"""Posts/s through monitoring's pipeline, set against the bare sentiment model.

    .venv/bin/python bench/monitoring_pipeline.py    # ~1-2 min; writes bench/results/monitoring_pipeline.md and .json
    .venv/bin/python bench/monitoring_pipeline.py --out DIR

Three figures from the same run, on the same synthetic posts (Chinese and
English, a third of them reposts of a few stories, the rest distinct):
1. the bare model: texts/s of ``SentimentModel.analyse`` in batches of 1,000;
2. the pipeline in process: rule match -> sentiment -> near-duplicate
   clustering -> severity, with plain modules, batches of 1 and 1,000;
3. the service: ``ingest_posts`` over RPC into MonitoringService on a fresh
   PostgreSQL database and RabbitMQ vhost (removed afterwards), batches of 1
   and 1,000: storing, matching, analysing, clustering, scoring, buckets,
   alerts and events in one transaction per batch.
Not a test: nothing is asserted.
"""
import eventlet

eventlet.monkey_patch()  # noqa: E402  (as plumbing.serve does, before sockets)

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

from nameko.containers import ServiceContainer  # noqa: E402
from nameko.standalone.rpc import ServiceRpcProxy  # noqa: E402

from monitoring import dedupe, rules, severity  # noqa: E402
from monitoring.schemas import PostCreateSchema  # noqa: E402
from monitoring.sentiment import SentimentModel, crisis_terms  # noqa: E402
from monitoring.service import MonitoringService  # noqa: E402
from plumbing import migrate  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from run import CpuMeter  # noqa: E402
from scratch import scratch  # noqa: E402

RESULTS = Path(__file__).parent / "results"
POSTS = 4000
SERVICE_POSTS_ONE_BY_ONE = 300
STORIES = ["某某外卖后厨卫生太差，操作台上有老鼠，顾客吃完身体不适，商家至今没有回应",
           "Acme delivery lost my parcel again and support closed the ticket without a reply",
           "某某外卖新推出的套餐很划算，送餐也很快"]
PHRASES = ["外卖送得太慢了", "客服态度很好", "退款一直没到账", "味道不错下次还点", "骑手很辛苦",
           "the delivery was late", "great food and quick service", "still waiting for a refund", "app keeps crashing"]


def synthetic_posts(count, seed=7):
    randomness = random.Random(seed)
    now = datetime.now(timezone.utc)
    posts = []
    for index in range(count):
        if index % 3 == 0:
            text = f"转发微博 //@u{index}: {randomness.choice(STORIES)}"
        else:
            text = f"{randomness.choice(['某某外卖', 'Acme delivery'])} " + "，".join(randomness.sample(PHRASES, 3))
            text += f" #{index}"
        posts.append({"platform": randomness.choice(["weibo", "douyin", "twitter"]), "external_id": f"b{index}",
                      "author": {"id": f"a{index % 500}", "name": f"user{index % 500}",
                                 "followers": randomness.randint(10, 2_000_000), "verified": index % 10 == 0,
                                 "kind": randomness.choice(["person", "person", "kol", "media"])},
                      "text": text, "posted_at": (now - timedelta(seconds=index)).isoformat(),
                      "reposts": randomness.randint(0, 50), "comments": randomness.randint(0, 20),
                      "likes": randomness.randint(0, 200)})
    return posts


def progress(line):
    print(line, flush=True)


def timed(label, count, work):
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    progress(f"  {label}: {count / seconds:,.0f}/s ({count} in {seconds:.2f}s)")
    return round(count / seconds, 1)


def in_process(model, posts, batch_size):
    """The pipeline's own work, as the service does it, without the database."""
    watch = [rules.WatchRule(1, "delivery", rules.parse('外卖 OR delivery OR "acme"'))]
    loaded = [PostCreateSchema().load(post) for post in posts]
    index = dedupe.ClusterIndex()
    now = datetime.now(timezone.utc)

    def run():
        for start in range(0, len(loaded), batch_size):
            batch = [post for post in loaded[start:start + batch_size] if rules.matching_rules(watch, post)]
            texts = [post["text"] for post in batch]
            for post, verdict, sig in zip(batch, model.analyse(texts), dedupe.signatures(texts)):
                cluster = index.join(sig, dedupe.band_keys(sig))
                author = post["author"]
                severity.level(severity.score(severity.Signals(
                    negativity=max(0.0, -verdict.score), followers=author["followers"],
                    engagement=post["reposts"] + post["comments"] + post["likes"],
                    hours_since_posted=(now - post["posted_at"]).total_seconds() / 3600, author_kind=author["kind"],
                    verified=author["verified"], cluster_size=index.sizes[cluster],
                    crisis=bool(crisis_terms(post["text"])))))
    return run


def through_service(posts, batch_size):
    with scratch("monitoring") as (database_url, amqp_uri):
        migrate.upgrade("monitoring", database_url)
        config = {"AMQP_URI": amqp_uri, "DATABASE_URL": database_url, "serializer": "json",
                  "OUTBOX_POLL_SECONDS": 1, "max_workers": 4}
        container = ServiceContainer(MonitoringService, config)
        container.start()
        try:
            with ServiceRpcProxy("monitoring", config) as proxy:
                proxy.create_rule({"name": "delivery", "query": '外卖 OR delivery OR "acme"'})
                batches = [posts[start:start + batch_size] for start in range(0, len(posts), batch_size)]
                return timed(f"service, batch {batch_size}", len(posts),
                             lambda: [proxy.ingest_posts({"posts": batch}) for batch in batches])
        finally:
            container.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description="Posts/s through monitoring's pipeline against the bare model.")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the report goes")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    meter, began = CpuMeter({}), time.monotonic()  # how much of the machine others took meanwhile
    meter.start()
    model = SentimentModel.load()
    posts = synthetic_posts(POSTS)
    results = {"posts": POSTS, "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    progress("bare model, batches of 1,000:")
    texts = [post["text"] for post in posts]
    results["model_texts_per_second"] = timed(
        "model", len(texts), lambda: [model.analyse(texts[i:i + 1000]) for i in range(0, len(texts), 1000)])
    progress("pipeline in process (match -> sentiment -> dedupe -> severity):")
    results["in_process_batch_1"] = timed("batch 1", POSTS, in_process(model, posts, 1))
    results["in_process_batch_1000"] = timed("batch 1000", POSTS, in_process(model, posts, 1000))
    progress("through MonitoringService over RPC, PostgreSQL:")
    results["service_batch_1"] = through_service(posts[:SERVICE_POSTS_ONE_BY_ONE], 1)
    results["service_batch_1000"] = through_service(posts, 1000)
    cpu = meter.stop()
    results["machine_busy_share"] = cpu["machine_busy_share"]
    results["other_cpu_share"] = round(cpu["cpu_seconds"].get("other", 0.0) / ((time.monotonic() - began)
                                                                                * (os.cpu_count() or 1)), 3)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "monitoring_pipeline.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["# Monitoring pipeline", "", f"{POSTS} synthetic posts, {results['at']}; posts/s (texts/s for the model). "
             f"Machine busy during the run: {100 * results['machine_busy_share']:.0f}% "
             f"({100 * results['other_cpu_share']:.0f}% other processes).",
             "", "| what | per second | share of the bare model |", "|---|---:|---:|"]
    for key in ("model_texts_per_second", "in_process_batch_1", "in_process_batch_1000", "service_batch_1",
                "service_batch_1000"):
        lines.append(f"| {key} | {results[key]:,.0f} | {results[key] / results['model_texts_per_second']:.2f} |")
    (args.out / "monitoring_pipeline.md").write_text("\n".join(lines) + "\n")
    progress(f"written to {args.out / 'monitoring_pipeline.md'}")


if __name__ == "__main__":
    main()
