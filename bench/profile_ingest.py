"""Deterministic CPU profile of monitoring's ingest_posts, batch by batch.

    .venv/bin/python bench/profile_ingest.py [--posts 4000] [--batch 1000]

As bench/profile_create.py does for ticketing: the RPC method runs in one
plain thread (no eventlet, no AMQP), exactly as the entrypoint runs it,
with a real Session on a fresh PostgreSQL database, under cProfile with a
CPU clock, so every microsecond lands on the function that spent it. The
posts are bench/kit/posts.py's, dumped as the gateway sends them.

Writes bench/results/profile_ingest.md (+ .json, + the raw pstats file).
"""
import sys

sys.modules.setdefault("librabbitmq", None)  # as in profile_create.py: keep kombu's failed import out

import argparse  # noqa: E402
import cProfile  # noqa: E402
import pstats  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timezone  # noqa: E402

from kit.posts import RULE, synthetic_posts  # noqa: E402
from kit.profiles import cumulative, save_profile, top_self  # noqa: E402
from kit.scratch import scratch  # noqa: E402

from nameko.testing.services import worker_factory  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from monitoring import models  # noqa: E402
from monitoring.contract import PostCreateSchema  # noqa: E402
from monitoring.sentiment.rules import SentimentModel  # noqa: E402
from monitoring.sentiment.versions import ModelSlot  # noqa: E402
from monitoring.service import MonitoringService  # noqa: E402
from plumbing import migrate  # noqa: E402
from plumbing.db import make_engine  # noqa: E402
from plumbing.unit_of_work import Unit  # noqa: E402


# (label, file suffix, function name): cumulative CPU inside ingest_posts
PARTS = [
    ("ingest_posts, whole worker", "monitoring/service.py", "ingest_posts"),
    ("  load_or_invalid(PostBatchSchema)", "plumbing/errors.py", "load_or_invalid"),
    ("  ingest (everything inside the transaction)", "monitoring/ingest/handlers.py", "ingest"),
    ("    store (upsert posts, re-read the seen ones)", "monitoring/ingest/handlers.py", "store"),
    ("    rules.matching_rules", "monitoring/watch_rules/rules.py", "matching_rules"),
    ("    analyse_and_cluster", "monitoring/ingest/handlers.py", "analyse_and_cluster"),
    ("      SentimentModel.analyse", "monitoring/sentiment/rules.py", "analyse"),
    ("      dedupe.signatures", "monitoring/clusters/rules.py", "signatures"),
    ("      dedupe.band_keys", "monitoring/clusters/rules.py", "band_keys"),
    ("      ClusterIndex.join", "monitoring/clusters/rules.py", "join"),
    ("      sentiment.crisis_terms", "monitoring/sentiment/rules.py", "crisis_terms"),
    ("      score (severity)", "monitoring/ingest/severity.py", "score_in_cluster"),
    ("    update_by_id (posts' analysis)", "plumbing/db.py", "update_by_id"),
    ("    count_in_buckets", "monitoring/spikes/handlers.py", "count_in_buckets"),
    ("    EventRecorder.record (post_analysed)", "plumbing/outbox.py", "record"),
    ("    post_facts", "monitoring/ingest/handlers.py", "post_facts"),
    ("    alert_on_clusters", "monitoring/ingest/handlers.py", "alert_on_clusters"),
    ("    detect_spikes", "monitoring/spikes/handlers.py", "detect_spikes"),
    ("  end of `with uow.transaction()`: flush + COMMIT", "sqlalchemy/engine/util.py", "__exit__"),
    ("all marshmallow Schema.dump (result, events)", "marshmallow/schema.py", "dump"),
    ("all marshmallow Schema.load", "marshmallow/schema.py", "load"),
    ("all ORM Session.flush", "sqlalchemy/orm/session.py", "flush"),
    ("all SQLAlchemy statement executions", "sqlalchemy/engine/base.py", "_execute_context"),
    ("all psycopg2 cursor.execute (driver, incl. server wait)", "sqlalchemy/engine/default.py", "do_execute"),
    ("all ORM row loading (instances)", "sqlalchemy/orm/loading.py", "instances"),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    posts = [PostCreateSchema().dump(PostCreateSchema().load(post)) for post in synthetic_posts(args.posts * 3)]
    with scratch("profingest") as (url, _):
        migrate.upgrade("monitoring", url)
        engine = make_engine(url)
        factory = sessionmaker(engine, expire_on_commit=False)
        service = worker_factory(MonitoringService, config={}, model=ModelSlot(SentimentModel.load()))

        def call(method, *call_args):
            session = factory()  # UnitOfWork.get_dependency: a Session per worker
            service.uow = Unit.on_session(session, "monitoring", outbox=models.outbox, actor="integration",
                                          request_id="bench")
            try:
                return getattr(service, method)(*call_args)
            finally:
                session.close()  # Database.worker_teardown

        def ingest(chunk):
            for start in range(0, len(chunk), args.batch):
                call("ingest_posts", {"posts": chunk[start:start + args.batch]})

        call("create_rule", RULE)
        n = args.posts
        ingest(posts[:n])  # warm: compiled statements, pool, and clusters to join
        cpu0, wall0 = time.process_time(), time.perf_counter()
        ingest(posts[n:2 * n])
        cpu_plain, wall_plain = (time.process_time() - cpu0) / n, (time.perf_counter() - wall0) / n
        print(f"ingest_posts without profiler: {1000 * cpu_plain:.3f} ms CPU, {1000 * wall_plain:.3f} ms wall per "
              f"post ({1 / wall_plain:,.0f} posts/s in one thread)", flush=True)
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        ingest(posts[2 * n:])
        profiler.disable()
        engine.dispose()

    stats = pstats.Stats(profiler)
    total, _ = cumulative(stats, "monitoring/service.py", "ingest_posts")
    rows = []
    for label, suffix, name in PARTS:
        seconds, calls = cumulative(stats, suffix, name)
        rows.append({"part": label, "cpu_ms_per_post": round(1000 * seconds / n, 4),
                     "calls_per_batch": round(calls * args.batch / n, 2),
                     "share": round(100 * seconds / total, 1) if total else None})
    result = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "posts": n, "batch": args.batch,
              "cpu_ms_per_post_unprofiled": round(1000 * cpu_plain, 3),
              "wall_ms_per_post_unprofiled": round(1000 * wall_plain, 3), "parts": rows,
              "top_self": [{"function": name, "self_ms_per_post": round(ms, 4), "calls_per_post": round(calls, 2)}
                           for name, ms, calls in top_self(stats, n)]}
    lines = [
        "# CPU of monitoring's ingest_posts, deterministic (bench/profile_ingest.py)", "",
        f"{result['date']}: {n} posts in batches of {args.batch}, one thread, cProfile with a CPU clock "
        "(the profiler inflates the absolute figures; the shares hold). Without the profiler: "
        f"**{result['cpu_ms_per_post_unprofiled']} ms CPU** and {result['wall_ms_per_post_unprofiled']} ms wall per "
        "post (no nameko, no AMQP, no eventlet).", "",
        "| part (inclusive) | CPU ms per post (profiled) | calls per batch | % of ingest_posts |",
        "| --- | ---: | ---: | ---: |"]
    lines += [f"| {r['part']} | {r['cpu_ms_per_post']:.4f} | {r['calls_per_batch']} | {r['share']} |" for r in rows]
    lines += ["", "Top self time (profiled):", "", "| function | self CPU ms per post | calls per post |",
              "| --- | ---: | ---: |"]
    lines += [f"| `{t['function']}` | {t['self_ms_per_post']:.4f} | {t['calls_per_post']} |"
              for t in result["top_self"]]
    save_profile("profile_ingest", profiler, result, lines)


if __name__ == "__main__":
    sys.exit(main())
