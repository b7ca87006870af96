"""Every benchmark in one command, one table: ``bench/results/summary.md`` and ``.json``.

    make bench-all                                   # = .venv/bin/python bench/all.py
    .venv/bin/python bench/all.py --quick            # smaller sizes and shorter levels
    .venv/bin/python bench/all.py --skip cycle,ingest
    .venv/bin/python bench/all.py --ingest-tickets 100000 --cycle-tickets 1000000

Runs the benchmark scripts one after another, each as a child process of its
own (it removes what it created, also when stopped: Ctrl-C here is passed on
to it and waited for) within a time bound, each writing its full report into
``bench/results/all/``:

- ``gateway``: ``gateway_tickets.py``: ticket creation at 8/32/128 connections against
  single-row INSERT+COMMIT; reads against single-row SELECT by primary key;
  ticket.created -> appraisal's record against a raw persistent message's
  publish with confirm -> a bare kombu consumer;
- ``ingest``: ``appraisal_cycle.py --tickets N``: events/s appraisal's consumer
  sustains against AMQP publish with confirms of the same events (and against
  multi-row INSERTs of the same facts);
- ``monitoring``: ``monitoring_pipeline.py``: posts/s classified against the
  bare sentiment model;
- ``cycle``: ``appraisal_cycle.py --records-only``: the monthly cycle over a
  month of 1M tickets against one hand-written SQL aggregate.

Then one row per measure: value, baseline, ratio, target, and how busy the
machine was meanwhile. Not a test: nothing is asserted.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from kit import BENCH, PYTHON, RESULTS, ROOT, report  # first: outside the venv it says how to get one
from kit.console import say, stop_on_signals
from kit.machine import commit, cpu_model, machine_busy, memory_gb, modified_files
from kit.platform import stop_processes
from kit.scratch import AMQP_HOST

from kombu import Connection


@dataclass
class Step:
    name: str
    what: str
    script: str
    reports: list  # the JSON files it writes, by name
    args: list = field(default_factory=list)
    bound_seconds: float = 600


def steps(args):
    quick = args.quick
    gateway = ["--duration", "5", "--baseline-duration", "5", "--propagation-tickets", "100"] if quick else []
    ingest_tickets = args.ingest_tickets or (5_000 if quick else 20_000)
    cycle_tickets = args.cycle_tickets or (100_000 if quick else 1_000_000)
    # each script's own limits stop it first; the bound is the last resort
    return [
        Step("gateway", "ticket creation and reads through the gateway, ticket.created -> appraisal",
             "gateway_tickets.py",
             ["ticket_create.json"], gateway, bound_seconds=900),
        Step("ingest", f"appraisal's ingest of a month of {ingest_tickets:,} tickets' events", "appraisal_cycle.py",
             ["appraisal_cycle.json"], ["--tickets", str(ingest_tickets), "--stall-seconds", "60",
                                        "--ingest-timeout", str(max(600, ingest_tickets // 20))],
             bound_seconds=max(900, ingest_tickets // 15)),
        Step("monitoring", "monitoring's posts/s against the bare model", "monitoring_pipeline.py",
             ["monitoring_pipeline.json"], bound_seconds=900),
        Step("cycle", f"the appraisal cycle over a month of {cycle_tickets:,} tickets", "appraisal_cycle.py",
             ["appraisal_cycle_records.json"], ["--records-only", "--tickets", str(cycle_tickets)],
             bound_seconds=max(900, cycle_tickets // 400)),
    ]


# ---------------------------------------------------------------------------------------------------------------
# running the steps

class BrokerWatch(threading.Thread):
    """Holds a connection to RabbitMQ and notes each time the broker drops it: on a shared machine other work
    may restart the broker (fault tests do), and figures measured across a restart do not compare."""

    def __init__(self):
        super().__init__(daemon=True)
        self.drops, self.stopped = [], threading.Event()

    def run(self):
        connected = False
        while not self.stopped.is_set():
            try:
                with Connection(f"amqp://guest:guest@{AMQP_HOST}//", heartbeat=10, connect_timeout=2) as connection:
                    connection.connect()
                    connected = True
                    while not self.stopped.is_set():
                        try:
                            connection.drain_events(timeout=1)
                        except socket.timeout:
                            connection.heartbeat_check()
            except Exception:
                if connected:
                    self.drops.append(time.monotonic())
                    say("RabbitMQ dropped its connections (restarted by other work?): this step's figures are marked")
                connected = False
                self.stopped.wait(1)

    def between(self, began, ended):
        return sum(began <= at <= ended for at in self.drops)


def run_step(step, out, watch):
    """The step's script as a child in a session of its own, so that a Ctrl-C reaches it once, from here."""
    for name in step.reports:  # never summarise an earlier run's figures
        (out / name).unlink(missing_ok=True)
    argv = [PYTHON, str(BENCH / step.script), *step.args, "--out", os.path.relpath(out, ROOT)]  # reports quote it
    say(f"{step.name}: {step.what} (stopped after {step.bound_seconds / 60:.0f} min at most)")
    say(f"  $ {' '.join(['python', f'bench/{step.script}', *step.args])}")
    began = time.monotonic()
    child = subprocess.Popen(argv, cwd=ROOT, start_new_session=True)
    try:
        returncode = child.wait(step.bound_seconds)
        outcome = "done" if returncode == 0 else f"exit {returncode}"
    except subprocess.TimeoutExpired:
        say(f"{step.name}: over its bound; stopping it (Ctrl-C) and waiting for its clean-up")
        stop(child)
        outcome = "stopped: over its time bound"
    except KeyboardInterrupt:
        say(f"{step.name}: interrupted; waiting for its clean-up")
        stop(child)
        raise
    seconds = time.monotonic() - began
    say(f"{step.name}: {outcome} after {seconds / 60:.1f} min")
    return {"outcome": outcome, "seconds": round(seconds, 1), "command": " ".join(["bench/" + step.script, *step.args]),
            "broker_restarts": watch.between(began, time.monotonic())}


def stop(child):
    """Ctrl-C to the script's process group, as it reaches a script run alone: it and its load generators."""
    stop_processes({f"pid {child.pid}": child}, grace=180)


def load(out, name):
    path = out / name
    return json.loads(path.read_text()) if path.exists() else None


# ---------------------------------------------------------------------------------------------------------------
# the table: one row per measure

def row(measure, value, baseline, ratio, target="", met=None, busy=None, other=None, report=""):
    return {"measure": measure, "value": value, "baseline": baseline, "ratio": ratio, "target": target, "met": met,
            "machine_busy_share": busy, "other_cpu_share": other, "report": report}


def latency(p50, p99):
    return f"p50 {p50:,.1f} ms, p99 {p99:,.1f} ms"


def gateway_rows(result):
    rows = []
    insert, select = result["baseline"], result.get("read_baseline")
    for level in result["levels"]:
        target, met = "", None
        if level["connections"] == 32:
            target = ">= 400 durable/s and p99 < 150 ms"
            met = (level["durable_per_second"] or 0) >= 400 and level["p99_ms"] < 150
        rows.append(row(
            f"ticket creation, POST /api/v1/tickets, {level['connections']} connections",
            f"{level['rps']:,.0f} req/s ({level['durable_per_second'] or 0:,.0f} durable/s); "
            + latency(level["p50_ms"], level["p99_ms"]),
            f"single-row INSERT+COMMIT, {insert['connections']} connections: {insert['rows_per_second']:,.0f} rows/s; "
            + latency(insert["p50_ms"], insert["p99_ms"]),
            f"{level['rps'] / insert['rows_per_second']:.3f}", target, met, level["cpu"]["machine_busy_share"],
            level["other_cpu_share"], "all/ticket_create.md"))
    for level in result.get("read_levels", []):
        rows.append(row(
            f"ticket reads, {level['label']}, {level['connections']} connections",
            f"{level['rps']:,.0f} req/s; " + latency(level["p50_ms"], level["p99_ms"]),
            f"single-row SELECT by primary key, {select['connections']} connections: "
            f"{select['rows_per_second']:,.0f} rows/s; " + latency(select["p50_ms"], select["p99_ms"]),
            f"{level['rps'] / select['rows_per_second']:.3f}", "", None, level["cpu"]["machine_busy_share"],
            level["other_cpu_share"], "all/ticket_create.md"))
    if "propagation" in result:
        mine, raw = result["propagation"]["propagated"], result["round_trip"]["consumed"]
        rows.append(row(
            f"event propagation, ticket.created 201 -> appraisal's record ({mine['count']} tickets at "
            f"{result['propagation']['rate']:g}/s)",
            latency(mine["p50_ms"], mine["p99_ms"]),
            "kombu publish with confirm -> a bare kombu consumer, persistent, same rate: "
            + latency(raw["p50_ms"], raw["p99_ms"]),
            f"{mine['p50_ms'] / raw['p50_ms']:.0f}x (p50)", "", None, result["propagation"]["machine_busy_share"],
            result["propagation"]["other_cpu_share"], "all/ticket_create.md"))
    return rows


def ingest_rows(result):
    ingest, published, inserted = result["ingest"], result["published"], result["ingest_baseline"]
    cpus = result["machine"]["cpus"]
    return [row(
        f"appraisal ingest, events/s {result['sizes'].get('replicas', 1)} consumer process(es) sustain "
        f"({ingest['facts']:,} events, {result['sizes']['tickets']:,} tickets)",
        f"{ingest['per_second']:,}/s",
        f"AMQP publish with confirms ({published['processes']} processes): {published['per_second']:,}/s; "
        f"INSERT {inserted['batch']} rows + COMMIT: {inserted['per_second']:,}/s",
        f"{ingest['per_second'] / published['per_second']:.3f}; {ingest['per_second'] / inserted['per_second']:.3f}",
        ">= 5,000/s", ingest["per_second"] >= 5000, ingest["cpu"]["machine_busy_share"],
        round(ingest["cpu"]["cpu_seconds"].get("other", 0.0) / (ingest["seconds"] * cpus), 3),
        "all/appraisal_cycle.md")]


def monitoring_rows(result):
    rows = []
    for run in result["service"]:
        model = run["model_texts_per_second"]  # taken just before the run
        batched = run["batch"] > 1
        label = (f"batches of {run['batch']:,}, {run['replicas']} process(es), {run['clients']} client(s)" if batched
                 else "one post per call")
        rate = run["posts_per_second"]
        rows.append(row(f"monitoring posts/s through the service, {label}", f"{rate:,.0f}/s",
                        f"bare sentiment model just before, batches of 1,000: {model:,.0f} texts/s",
                        f"{rate / model:.3f}",
                        ">= 2,000/s batched" if batched else "", rate >= 2000 if batched else None,
                        run["machine_busy_share"], result.get("other_cpu_share"), "all/monitoring_pipeline.md"))
    return rows


def cycle_rows(result):
    cycle, cpus = result["cycle"], result["machine"]["cpus"]
    cpu = cycle["cpu_last_compute"]
    checked = "" if not cycle["mismatches"] else f"; {len(cycle['mismatches'])} FIGURES DIFFER from the aggregate's"
    return [row(
        f"appraisal cycle compute, a month of {result['sizes']['tickets']:,} tickets "
        f"({result['loaded']['events']:,} facts), median of {cycle['repeat']}",
        f"{cycle['compute_median']:.2f} s{checked}",
        f"one hand-written SQL aggregate: {cycle['aggregate_median']:.2f} s", f"{result['cycle_ratio']:.2f}x",
        "<= 2x", result["cycle_ratio"] <= 2 and not cycle["mismatches"], cpu["machine_busy_share"],
        round(cpu["cpu_seconds"].get("other", 0.0) / (cycle["compute_seconds"][-1] * cpus), 3),
        "all/appraisal_cycle_records.md")]


ROWS = {"gateway": ("ticket_create.json", gateway_rows), "ingest": ("appraisal_cycle.json", ingest_rows),
        "monitoring": ("monitoring_pipeline.json", monitoring_rows),
        "cycle": ("appraisal_cycle_records.json", cycle_rows)}


def share(value):
    return "-" if value is None else f"{100 * value:.0f}%"


def render(summary):
    machine = summary["machine"]
    lines = [
        "# All benchmarks", "",
        f"{summary['at']}, commit {summary['commit']}{' + uncommitted changes' if summary['modified'] else ''}; "
        f"`{summary['command']}` ran {summary['minutes']:.0f} min.",
        f"Machine: {machine['cpu']} x {machine['cpus']}, {machine['memory_gb']} GB; PostgreSQL "
        f"{machine.get('postgresql', '?')}, RabbitMQ {machine.get('rabbitmq', '?')}; every process on this one "
        f"machine. Busy before the run: {share(machine['busy_before'])} ({share(machine['other_before'])} other "
        "processes).", "",
        "| measure | value | baseline (same run) | ratio | target | met | machine busy (other processes) |",
        "| --- | --- | --- | ---: | --- | --- | ---: |",
    ]
    for r in summary["rows"]:
        met = "" if r["met"] is None else ("yes" if r["met"] else "NO")
        restarted = "; RabbitMQ restarted during the step" if r["broker_restarts"] else ""
        lines.append(f"| {r['measure']} | {r['value']} | {r['baseline']} | {r['ratio']} | {r['target']} | {met} | "
                     f"{share(r['machine_busy_share'])} ({share(r['other_cpu_share'])}){restarted} |")
    for name, step in summary["steps"].items():
        if step["outcome"] != "done":
            lines.append(f"| {name} | {step['outcome']} | | | | | |")
    lines += [
        "", "*ratio*: value / baseline. For rates (req/s, events/s, posts/s) it is the share of the raw rate the "
        "platform reaches; for latencies and times it is how many times longer the platform takes. *machine busy*: "
        "share of all CPUs busy during that measure, and in brackets the share taken by processes outside the "
        "benchmark (other work on the machine: the absolute figures are low by about that much). *RabbitMQ "
        "restarted*: the broker dropped every connection during that step (other work restarting it); its figures "
        "include the services reconnecting.", "",
        "| step | outcome | minutes | RabbitMQ restarts seen | command |", "| --- | --- | ---: | ---: | --- |",
    ]
    lines += [f"| {name} | {step['outcome']} | {step['seconds'] / 60:.1f} | {step['broker_restarts']} | "
              f"`{step['command']}` |" for name, step in summary["steps"].items()]
    lines += ["", "Full reports of this run: `all/` (`ticket_create.md`, `appraisal_cycle.md`, "
              "`monitoring_pipeline.md`, `appraisal_cycle_records.md`)."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description="Every benchmark in sequence, one summary table.")
    parser.add_argument("--quick", action="store_true",
                        help="5 s load levels, 100 propagation samples, ingest of 5,000 tickets, cycle over 100,000")
    parser.add_argument("--skip", type=lambda s: [x for x in s.split(",") if x], default=[],
                        help=f"steps to leave out, comma-separated: {', '.join(ROWS)}")
    parser.add_argument("--ingest-tickets", type=int, help="tickets of the ingested month (default 20,000)")
    parser.add_argument("--cycle-tickets", type=int, help="tickets of the month the cycle computes (default 1,000,000)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="summary.md here, full reports in all/")
    args = parser.parse_args(argv)
    unknown = set(args.skip) - set(ROWS)
    if unknown:
        parser.error(f"unknown step(s) {', '.join(sorted(unknown))}; steps: {', '.join(ROWS)}")
    stop_on_signals()
    details = args.out / "all"
    details.mkdir(parents=True, exist_ok=True)
    busy = machine_busy()
    say(f"machine busy before the run: {100 * busy[0]:.0f}% of {os.cpu_count()} CPUs ({100 * busy[1]:.0f}% other)")
    began = time.monotonic()
    summary = {
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": commit(), "modified": bool(modified_files()),
        "command": " ".join(["python bench/all.py", *(argv if argv is not None else sys.argv[1:])]),
        "machine": {"cpu": cpu_model(), "cpus": os.cpu_count(), "memory_gb": memory_gb(),
                    "busy_before": busy[0], "other_before": busy[1]},
        "steps": {}, "rows": [],
    }
    todo = [step for step in steps(args) if step.name not in args.skip]
    watch = BrokerWatch()
    watch.start()
    try:
        for number, step in enumerate(todo, start=1):
            say(f"step {number}/{len(todo)}")
            summary["steps"][step.name] = run_step(step, details, watch)
    except KeyboardInterrupt:
        say("interrupted: no summary written")
        return 130
    finally:
        watch.stopped.set()
    for step in todo:
        restarts = summary["steps"][step.name]["broker_restarts"]
        name, rows_of = ROWS[step.name]
        result = load(details, name)
        if result is None:
            continue
        summary["rows"] += [dict(r, broker_restarts=restarts) for r in rows_of(result)]
        facts = result.get("facts") or result.get("machine") or {}
        for key, value in (("postgresql", facts.get("postgresql") or facts.get("postgres")),
                           ("rabbitmq", facts.get("rabbitmq"))):
            summary["machine"][key] = summary["machine"].get(key) or value
    summary["minutes"] = round((time.monotonic() - began) / 60, 1)
    report.write(args.out, "summary", summary, render(summary))
    say(f"wrote {args.out / 'summary.md'} and summary.json ({summary['minutes']:.0f} min in all)")
    print()
    print(render(summary), flush=True)
    return 0 if all(step["outcome"] == "done" for step in summary["steps"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
