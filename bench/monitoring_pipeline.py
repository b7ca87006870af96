"""Posts/s through monitoring's pipeline, set against the bare sentiment model.

    .venv/bin/python bench/monitoring_pipeline.py    # ~2 min; writes bench/results/monitoring_pipeline.md and .json
    .venv/bin/python bench/monitoring_pipeline.py --out DIR --posts N --replicas N

Three figures from the same run, on the same synthetic posts (Chinese and
English, a third of them reposts of a few stories, the rest distinct):
1. the bare model: texts/s of ``SentimentModel.analyse`` in batches of 1,000;
2. the pipeline in process: rule match -> sentiment -> near-duplicate
   clustering -> severity, with plain modules, batches of 1 and 1,000;
3. the service: ``ingest_posts`` over RPC into MonitoringService, run as the
   Procfile runs it (``python -m plumbing.serve``), on a fresh PostgreSQL
   database and RabbitMQ vhost (removed afterwards): storing, matching,
   analysing, clustering, scoring, buckets, alerts and events in one
   transaction per batch. Batches of 1 into one process; batches of 1,000
   into one process from one client, then into ``--replicas`` processes
   from as many concurrent clients (a scaled deployment), each with the CPU
   per post of the service, PostgreSQL, RabbitMQ and this script.
Not a test: nothing is asserted.
"""
import eventlet

eventlet.monkey_patch()  # noqa: E402  (as plumbing.serve does, before sockets)

import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import quote, unquote  # noqa: E402

from kit import RESULTS, report  # noqa: E402
from kit.machine import CpuMeter  # noqa: E402
from kit.platform import ServiceReplicas  # noqa: E402
from kit.posts import RULE, synthetic_posts  # noqa: E402
from kit.scratch import MGMT, MGMT_AUTH, scratch  # noqa: E402

import requests  # noqa: E402
from nameko.standalone.rpc import ServiceRpcProxy  # noqa: E402

from monitoring.clusters import rules as dedupe  # noqa: E402
from monitoring.contract import PostCreateSchema  # noqa: E402
from monitoring.ingest import severity  # noqa: E402
from monitoring.sentiment.rules import SentimentModel, crisis_signals  # noqa: E402
from monitoring.watch_rules import rules  # noqa: E402
from plumbing import migrate  # noqa: E402

POSTS = 16_000
IN_PROCESS_POSTS = 4000
SERVICE_POSTS_ONE_BY_ONE = 300


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
    watch = [rules.WatchRule(1, RULE["name"], rules.parse(RULE["query"]))]
    loaded = [PostCreateSchema().load(post) for post in posts]
    index = dedupe.ClusterIndex()
    now = datetime.now(timezone.utc)

    def run():
        for start in range(0, len(loaded), batch_size):
            batch = [post for post in loaded[start:start + batch_size] if rules.matching_rules(watch, post)]
            texts = [post["text"] for post in batch]
            signatures = dedupe.signatures(texts)
            for post, verdict, sig, keys in zip(batch, model.analyse(texts), signatures, dedupe.band_keys(signatures)):
                cluster = index.join(sig, keys)
                author = post["author"]
                severity.level(severity.score(severity.Signals(
                    negativity=max(0.0, -verdict.score), followers=author["followers"],
                    engagement=post["reposts"] + post["comments"] + post["likes"],
                    hours_since_posted=(now - post["posted_at"]).total_seconds() / 3600, author_kind=author["kind"],
                    verified=author["verified"], cluster_size=index.sizes[cluster],
                    crisis=bool(crisis_signals(post["text"], verdict)))))
    return run


class Monitoring(ServiceReplicas):
    """``monitoring.service:MonitoringService`` in ``replicas`` processes (competing for its RPC queue)."""

    def __init__(self, database_url, amqp_uri, workdir, replicas):
        super().__init__("monitoring", "monitoring.service:MonitoringService", dict(
            AMQP_URI=amqp_uri, MONITORING_DATABASE_URL=database_url, METRICS_PORT="0", LOG_LEVEL="WARNING"),
            workdir, replicas)

    def wait_until_consuming(self, vhost, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"monitoring exited:\n{self.tail()}")
            reply = requests.get(f"{MGMT}/api/queues/{quote(vhost, safe='')}/rpc-monitoring", auth=MGMT_AUTH,
                                 timeout=10)
            if reply.ok and reply.json().get("consumers", 0) >= len(self.processes):
                return
            time.sleep(0.5)
        raise RuntimeError(f"monitoring did not start consuming within {timeout}s")


def through_service(posts, batch_size, replicas=1, clients=1):
    """Posts/s of ``ingest_posts`` from ``clients`` concurrent callers into ``replicas`` service processes,
    with the CPU each part of the machine spent meanwhile."""
    with scratch("monitoring") as (database_url, amqp_uri), tempfile.TemporaryDirectory() as workdir:
        migrate.upgrade("monitoring", database_url)
        service = Monitoring(database_url, amqp_uri, workdir, replicas)
        try:
            service.wait_until_consuming(unquote(amqp_uri.rsplit("/", 1)[1]))
            config = {"AMQP_URI": amqp_uri, "serializer": "json"}
            with ServiceRpcProxy("monitoring", config) as proxy:
                proxy.create_rule(RULE)
            batches = [posts[start:start + batch_size] for start in range(0, len(posts), batch_size)]

            def send(own_batches):
                with ServiceRpcProxy("monitoring", config) as proxy:
                    for batch in own_batches:
                        proxy.ingest_posts({"posts": batch})

            def run():
                pool = eventlet.GreenPool(clients)
                for client in range(clients):
                    pool.spawn(send, batches[client::clients])
                pool.waitall()

            meter = CpuMeter(service.pids)
            meter.start()
            rate = timed(f"service, batch {batch_size}, {replicas} process(es), {clients} client(s)", len(posts), run)
            cpu = meter.stop()
            return {"posts_per_second": rate, "batch": batch_size, "replicas": replicas, "clients": clients,
                    "machine_busy_share": cpu["machine_busy_share"],
                    "cpu_ms_per_post": {name: round(1000 * seconds / len(posts), 3)
                                        for name, seconds in cpu["cpu_seconds"].items()}}
        finally:
            service.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description="Posts/s through monitoring's pipeline against the bare model.")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the report goes")
    parser.add_argument("--posts", type=int, default=POSTS, help=f"posts per batched service run (default {POSTS})")
    parser.add_argument("--replicas", type=int, default=2,
                        help="monitoring processes of the scaled run, each sent to by its own client (default 2)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    meter, began = CpuMeter({}), time.monotonic()  # how much of the machine others took meanwhile
    meter.start()
    model = SentimentModel.load()
    posts = synthetic_posts(args.posts)
    sample = posts[:IN_PROCESS_POSTS]
    results = {"posts": args.posts, "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    texts = [post["text"] for post in sample]

    def bare_model():
        """The baseline, taken again just before each service run: this machine's speed drifts by a
        third within the hour, and a ratio to a baseline of minutes before would carry that drift."""
        return timed("bare model, batches of 1,000", len(texts) * 3, lambda: [
            model.analyse(texts[i:i + 1000]) for _ in range(3) for i in range(0, len(texts), 1000)])

    results["model_texts_per_second"] = bare_model()
    progress("pipeline in process (match -> sentiment -> dedupe -> severity):")
    results["in_process_batch_1"] = timed("batch 1", len(sample), in_process(model, sample, 1))
    results["in_process_batch_1000"] = timed("batch 1000", len(sample), in_process(model, sample, 1000))
    progress("through MonitoringService over RPC, PostgreSQL:")
    results["service"] = []
    for chunk, batch, replicas in [(posts[:SERVICE_POSTS_ONE_BY_ONE], 1, 1), (posts, 1000, 1),
                                   (posts, 1000, args.replicas)]:
        baseline = bare_model()
        results["service"].append(dict(through_service(chunk, batch, replicas, clients=replicas),
                                       model_texts_per_second=baseline))
    cpu = meter.stop()
    results["machine_busy_share"] = cpu["machine_busy_share"]
    results["other_cpu_share"] = round(cpu["cpu_seconds"].get("other", 0.0) / ((time.monotonic() - began)
                                                                                * (os.cpu_count() or 1)), 3)
    progress(f"written to {report.write(args.out, 'monitoring_pipeline', results, render(results))}")


def render(results):
    model = results["model_texts_per_second"]
    lines = ["# Monitoring pipeline", "",
             f"{results['at']}; posts/s (texts/s for the model) on the same synthetic posts. Machine busy during "
             f"the whole run: {100 * results['machine_busy_share']:.0f}% "
             f"({100 * results['other_cpu_share']:.0f}% other processes).", "",
             "| what | per second | share of the bare model |", "|---|---:|---:|"]
    for key in ("model_texts_per_second", "in_process_batch_1", "in_process_batch_1000"):
        lines.append(f"| {key} | {results[key]:,.0f} | {results[key] / model:.2f} |")
    lines += ["", "Through the service (`ingest_posts` over RPC, PostgreSQL), with the CPU each part of the machine "
              "spent per post while it ran:", "",
              "| batch | processes | clients | posts/s | bare model just before, texts/s | ratio | machine busy | "
              "CPU ms per post |", "|---:|---:|---:|---:|---:|---:|---:|---|"]
    for run in results["service"]:
        cpu = ", ".join(f"{name} {ms}" for name, ms in run["cpu_ms_per_post"].items() if ms >= 0.005)
        baseline = run["model_texts_per_second"]
        lines.append(f"| {run['batch']:,} | {run['replicas']} | {run['clients']} | {run['posts_per_second']:,.0f} | "
                     f"{baseline:,.0f} | {run['posts_per_second'] / baseline:.3f} | "
                     f"{100 * run['machine_busy_share']:.0f}% | {cpu} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
