"""Bulk import of a JSON-lines file of posts: ``python -m monitoring.ingest.import_posts FILE``.

One post per line, in the shape of ``POST /api/v1/monitoring/posts``. Lines
go to the running service in batches of up to 1,000 (``ingest_posts``, one
transaction each), so a post seen before updates its counts and is never
duplicated, and an import run twice changes nothing. A line that is not
JSON (NaN and Infinity are not), or a batch the service refuses (it checks
the posts as the gateway does), is reported with its line numbers and the
import goes on; progress is printed after every batch.
"""
import argparse
import json
import sys
import time

from plumbing.errors import InvalidInput
from plumbing.inputs import not_json

BATCH = 1000


def batches(lines, size=BATCH):
    """([(line number, post)], [(line number, problem)]) per batch of ``size`` posts."""
    batch, problems = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            batch.append((number, json.loads(line, parse_constant=not_json)))
        except ValueError as exc:
            problems.append((number, f"not JSON: {exc}"))
        if len(batch) == size:
            yield batch, problems
            batch, problems = [], []
    if batch or problems:
        yield batch, problems


def run(lines, ingest, progress=print):
    """Feed ``lines`` to ``ingest`` (the RPC); returns (created, updated, rejected line numbers)."""
    created = updated = 0
    rejected = []
    started = time.perf_counter()
    for batch, problems in batches(lines):
        for number, problem in problems:
            progress(f"line {number}: {problem}")
            rejected.append(number)
        if batch:
            try:
                result = ingest({"posts": [post for _, post in batch]})
                created, updated = created + result["created"], updated + result["updated"]
            except InvalidInput as exc:
                for index, problem in exc.details.get("posts", {}).items():
                    progress(f"line {batch[int(index)][0]}: {problem}")
                rejected += [number for number, _ in batch]
                progress(f"lines {batch[0][0]}-{batch[-1][0]} refused (a batch is all or nothing): {exc.message}")
        done = created + updated
        progress(f"{done} posts imported ({created} new, {updated} seen before), {len(rejected)} lines rejected, "
                 f"{done / max(time.perf_counter() - started, 1e-9):.0f} posts/s")
    return created, updated, rejected


def main(argv=None):
    from nameko.standalone.rpc import ServiceRpcProxy

    from plumbing.config import amqp_uri

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", type=argparse.FileType("r", encoding="utf-8"))
    args = parser.parse_args(argv)
    with ServiceRpcProxy("monitoring", {"AMQP_URI": amqp_uri(), "serializer": "json"}) as proxy:
        _, _, rejected = run(args.file, proxy.ingest_posts, lambda line: print(line, flush=True))
    return 1 if rejected else 0


if __name__ == "__main__":
    sys.exit(main())
