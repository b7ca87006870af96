"""What a large import does to the gateway's other requests while it is parsed.

    .venv/bin/python bench/import_stall.py [--mib 20]   # ~2 min; writes bench/results/import_stall.md and .json

Starts every process as `make up` does (SQLite files under a folder of its own, a RabbitMQ vhost
of its own, both removed afterwards), then sends `POST /api/v1/tickets/import` a body of about
``--mib`` MiB (500 tickets with their history; the route takes up to 20 MiB) whose last ticket is
refused, so the gateway's whole part is reading, parsing and validating it, and meanwhile asks
`GET /metrics` again and again from another thread. The baseline is the same request on the idle
gateway in the same run. Issue 16 found a 20 MiB import parsed on the event loop for 10 s, every
other request waiting: the slowest answer during the import then is as long as the import.
"""
import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import requests

from kit import RESULTS, report, scratch
from kit.console import say, stop_on_signals
from kit.platform import Platform

TICKET = {"subject": "Refund not received", "description": "d" * 200, "channel": "email", "kind": "complaint",
          "customer": {"name": "Wang Fang", "contact": "wang@example.com"}, "created_at": "2026-01-05T08:00:00+08:00"}
STEP = {"at": "2026-01-05T08:10:00+08:00", "type": "message", "kind": "customer", "body": "b" * 100,
        "actor": "old-agent"}


def import_body(mib):
    per_ticket = 0.99 * mib * 2**20 / 500 - len(json.dumps(dict(TICKET, external_id="499", history=[])))
    steps = max(1, int(per_ticket / (len(json.dumps(STEP)) + 2)))
    tickets = [dict(TICKET, external_id=str(n), history=[STEP] * steps) for n in range(500)]
    tickets[-1] = dict(tickets[-1], kind="not-a-kind")  # refused once all is parsed: nothing goes further
    return json.dumps({"source": "old-desk", "tickets": tickets}).encode()


def timed_get(url):
    began = time.perf_counter()
    requests.get(url, timeout=120).raise_for_status()
    return 1000 * (time.perf_counter() - began)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=float, default=20, help="size of the import's body (at most 20)")
    parser.add_argument("--start-timeout", type=float, default=180)
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the report goes")
    args = parser.parse_args(argv)
    stop_on_signals()
    vhost = f"csops-bench-stall-{int(time.time())}"
    scratch.create_vhost(vhost)
    workdir = tempfile.mkdtemp(prefix="csops-bench-")
    platform = Platform(scratch.amqp_uri(vhost), workdir)
    try:
        platform.prepare()
        platform.start(args.start_timeout)
        headers = {"Authorization": f"Bearer {platform.token()}", "Content-Type": "application/json"}
        probe = f"{platform.base}/metrics"
        idle = [timed_get(probe) for _ in range(50)]
        say(f"idle: GET /metrics median {statistics.median(idle):.1f} ms")
        body = import_body(args.mib)
        outcome = {}

        def import_tickets():
            began = time.perf_counter()
            response = requests.post(f"{platform.base}/api/v1/tickets/import", data=body, headers=headers,
                                     timeout=600)
            outcome.update(status=response.status_code, seconds=time.perf_counter() - began)

        importer = threading.Thread(target=import_tickets)
        importer.start()
        during = []
        while importer.is_alive():
            during.append(timed_get(probe))
        importer.join()
    finally:
        platform.stop()
        scratch.delete_vhost(vhost)
        shutil.rmtree(workdir, ignore_errors=True)
    if outcome.get("status") != 400:
        raise SystemExit(f"the import was answered {outcome.get('status')}, not the 400 its last ticket earns")
    baseline = statistics.median(idle)
    rows = [("GET /metrics, idle gateway (baseline)", len(idle), statistics.median(idle), max(idle)),
            (f"GET /metrics while a {len(body) / 2**20:.1f} MiB import is parsed", len(during),
             statistics.median(during), max(during))]
    for label, count, median, slowest in rows:
        say(f"{label}: {count} answered, median {median:.1f} ms, slowest {slowest:.1f} ms")
    say(f"the import took {outcome['seconds']:.1f} s")
    date = datetime.now(timezone.utc).isoformat(timespec="seconds")
    lines = ["# Other requests during a large import (bench/import_stall.py)", "",
             f"{date}: the import's body {len(body) / 2**20:.1f} MiB, answered 400 after "
             f"{outcome['seconds']:.1f} s (its last ticket is refused, so that is the gateway's parsing); "
             "GET /metrics asked one after another meanwhile. Ratios are to the idle gateway's median in the "
             "same run.", "",
             "| requests | answered | median ms | slowest ms | median / baseline | slowest / baseline |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {label} | {count} | {report.fmt(median, 1)} | {report.fmt(slowest, 1)} | "
              f"{median / baseline:.1f}× | {slowest / baseline:.1f}× |" for label, count, median, slowest in rows]
    result = {"date": date, "body_bytes": len(body), "import_seconds": round(outcome["seconds"], 2),
              "rows": [dict(zip(("requests", "answered", "median_ms", "slowest_ms"), row)) for row in rows]}
    print(f"wrote {report.write(args.out, 'import_stall', result, chr(10).join(lines) + chr(10))}")


if __name__ == "__main__":
    sys.exit(main())
