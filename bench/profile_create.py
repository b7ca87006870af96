"""Deterministic CPU profile of ticketing's create_ticket and of the outbox relay.

    .venv/bin/python bench/profile_create.py [--tickets 300]

py-spy sees every process as it really runs, but eventlet's green threads
confuse the stacks it reads (a frame suspended in a database wait can
collect the samples of whatever ran meanwhile). Here the same code runs in
one plain thread, one ticket after another, under cProfile with a CPU-time
clock, so every microsecond lands on the function that spent it:

* ``TicketingService.create_ticket`` exactly as the RPC entrypoint runs it
  (nameko's ``worker_factory`` gives it a real SQLAlchemy Session on the
  services' engine, a real outbox recorder and call context);
* ``OutboxRelay.relay_pending`` publishing those tickets' events to RabbitMQ
  with publisher confirms, as the relay does (a batch, then one wait for its confirms).

Uses a fresh PostgreSQL database and RabbitMQ vhost, removed afterwards.
Writes bench/results/profile_create.md (+ .json, + the raw pstats file).
No eventlet here: the services additionally pay the green wait callback on
each query, so their figures are somewhat higher.
"""
import sys

# Outside eventlet kombu tries `import librabbitmq` on every Connection() (so on every
# nameko get_producer); under eventlet, as in the services, it does not. Keep that
# failed import out of these figures.
sys.modules.setdefault("librabbitmq", None)

import argparse  # noqa: E402
import cProfile  # noqa: E402
import pstats  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

from kit import ROOT  # noqa: E402
from kit.profiles import cumulative, save_profile, top_self  # noqa: E402
from kit.scratch import scratch  # noqa: E402

from kombu import Exchange  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from plumbing import migrate  # noqa: E402
from plumbing.db import make_engine  # noqa: E402
from plumbing.outbox import ConfirmedPublisher, OutboxRelay  # noqa: E402
from plumbing.unit_of_work import Unit  # noqa: E402
from ticketing import models  # noqa: E402
from ticketing.contract import TicketCreateSchema  # noqa: E402
from ticketing.tickets import handlers as tickets  # noqa: E402


def code_under_test() -> str:
    """Which ticketing was profiled: this checkout's, or another one named without its machine path."""
    package = Path(sys.modules["ticketing"].__file__).resolve().parent.parent
    return "this checkout's" if package.is_relative_to(ROOT) else f"another checkout's (`.../{package.parent.name}`)"


BODY = {"subject": "Bench ticket", "description": "Two debits for order 8812", "channel": "web_form",
        "kind": "complaint", "priority": "high", "tags": ["bench", "billing"],
        "customer": {"name": "Chen Jie", "contact": "+86 139 1234 5678"}}

# (label, file suffix, function name): cumulative CPU inside create_ticket / the relay
PARTS = [
    ("create_ticket, whole handler", "ticketing/tickets/handlers.py", "create_ticket"),
    ("  load_or_invalid(TicketCreateSchema(), data)", "plumbing/errors.py", "load_or_invalid"),
    ("  open_ticket (everything inside the transaction)", "ticketing/tickets/steps.py", "open_ticket"),
    ("    Session.flush (ticket INSERT, then the rest at commit)", "sqlalchemy/orm/session.py", "flush"),
    ("    journal (history row)", "ticketing/tickets/steps.py", "journal"),
    ("    publish (facts + outbox record)", "ticketing/tickets/steps.py", "publish"),
    ("      EventRecorder.record", "plumbing/outbox.py", "record"),
    ("        data_schema().dump(facts)", "marshmallow/schema.py", "dump"),
    ("    route (no assignee: candidate agents queried, one chosen)", "ticketing/routing/handlers.py", "route"),
    ("    start_clocks (policies SELECT, choose, 2 clocks)", "ticketing/sla/handlers.py", "start_clocks"),
    ("      keep (due/warn in business time)", "ticketing/sla/handlers.py", "keep"),
    ("  end of `with uow.transaction()`: flush of tags, history, outbox, clocks + COMMIT", "sqlalchemy/engine/util.py",
     "__exit__"),
    ("  detail (clock_views SELECTs + TicketSchema/SlaClockSchema dump)", "ticketing/tickets/steps.py", "detail"),
    ("    clock_views", "ticketing/sla/handlers.py", "clock_views"),
    ("all marshmallow Schema() constructions", "marshmallow/schema.py", "__init__"),
    ("all SQLAlchemy statement executions (Connection._execute_context)", "sqlalchemy/engine/base.py",
     "_execute_context"),
    ("all SQL compilation (compile cache misses + cache key generation)", "sqlalchemy/sql/cache_key.py",
     "_generate_cache_key"),
    ("all psycopg2 cursor.execute (driver, incl. server wait)", "sqlalchemy/engine/default.py", "do_execute"),
    ("all pool_pre_ping (SELECT 1 per checkout)", "sqlalchemy/dialects/postgresql/_psycopg_common.py", "do_ping"),
    ("relay: relay_pending, whole", "plumbing/outbox.py", "relay_pending"),
    ("relay:   publish, per event", "kombu/messaging.py", "publish"),
    ("relay:   waiting for the batch's confirms", "kombu/connection.py", "drain_events"),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=300)
    args = parser.parse_args()
    with scratch("prof") as (url, amqp):
        migrate.upgrade("ticketing", url)
        engine = make_engine(url)
        factory = sessionmaker(engine, expire_on_commit=False)
        data = TicketCreateSchema().dump(TicketCreateSchema().load(BODY))  # what the gateway sends

        def create_one(i):
            session = factory()  # UnitOfWork.get_dependency: a Session per worker
            uow = Unit.on_session(session, "ticketing", outbox=models.outbox, actor="admin", request_id=f"bench-{i}")
            try:
                return tickets.create_ticket(uow, dict(data, subject=f"Bench ticket {i}"), {})
            finally:
                session.close()  # UnitOfWork.worker_teardown

        for i in range(30):  # warm caches: compiled statements, calendars, pool
            create_one(i)
        n = args.tickets
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for i in range(n):
            create_one(1000 + i)
        cpu_plain, wall_plain = (time.process_time() - cpu0) / n, (time.perf_counter() - wall0) / n
        print(f"create_ticket without profiler: {1000 * cpu_plain:.2f} ms CPU, {1000 * wall_plain:.2f} ms wall "
              "per ticket", flush=True)

        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for i in range(n):
            create_one(5000 + i)
        profiler.disable()

        exchange = Exchange("ticketing.events", type="topic", durable=True)

        publisher = ConfirmedPublisher(amqp, exchange)  # what Outbox relays with
        relay = OutboxRelay(factory, models.outbox, publisher.publish_batch)
        pending = relay.pending_count()
        wall0 = time.perf_counter()
        profiler.enable()
        relayed = relay.relay_pending()
        profiler.disable()
        relay_wall = (time.perf_counter() - wall0) / max(1, relayed)
        print(f"relayed {relayed} of {pending} pending events: {1000 * relay_wall:.2f} ms wall per event "
              "(under the profiler)", flush=True)
        engine.dispose()

    stats = pstats.Stats(profiler)
    total_create, _ = cumulative(stats, "ticketing/tickets/handlers.py", "create_ticket")
    rows = []
    for label, suffix, name in PARTS:
        seconds, calls = cumulative(stats, suffix, name)
        per = relayed if label.startswith("relay") else n
        rows.append({"part": label, "cpu_ms_per_ticket": round(1000 * seconds / per, 3),
                     "calls_per_ticket": round(calls / per, 2),
                     "share_of_create": round(100 * seconds / total_create, 1) if total_create and not
                     label.startswith("relay") else None})
    result = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "tickets": n,
              "create_cpu_ms_unprofiled": round(1000 * cpu_plain, 2), "create_wall_ms_unprofiled": round(1000 * wall_plain, 2),
              "relay_wall_ms_per_event_profiled": round(1000 * relay_wall, 2), "parts": rows,
              "top_self": [{"function": name, "self_ms_per_ticket": round(ms, 3), "calls_per_ticket": round(calls, 1)}
                           for name, ms, calls in top_self(stats, n)]}
    lines = [
        "# CPU of one create_ticket, deterministic (bench/profile_create.py)", "",
        f"{result['date']}: {n} tickets one after another in one thread, cProfile with a CPU clock "
        f"(profiler overhead inflates the absolute figures; the shares hold). Without the profiler: "
        f"**{result['create_cpu_ms_unprofiled']} ms CPU** and {result['create_wall_ms_unprofiled']} ms wall per "
        f"create_ticket (no nameko, no AMQP, no eventlet). Relay: {result['relay_wall_ms_per_event_profiled']} ms wall "
        "per event, confirmed a batch at a time.", "",
        f"Code under test: {code_under_test()} "
        "(set PYTHONPATH to profile another checkout, e.g. one made with `git archive`).", "",
        "| part (inclusive) | CPU ms per ticket (profiled) | calls per ticket | % of create_ticket |",
        "| --- | ---: | ---: | ---: |"]
    lines += [f"| {r['part']} | {r['cpu_ms_per_ticket']:.3f} | {r['calls_per_ticket']} | "
              f"{'-' if r['share_of_create'] is None else r['share_of_create']} |" for r in rows]
    lines += ["", "Top self time (profiled, whole run incl. relay):", "",
              "| function | self CPU ms per ticket | calls per ticket |", "| --- | ---: | ---: |"]
    lines += [f"| `{t['function']}` | {t['self_ms_per_ticket']:.3f} | {t['calls_per_ticket']} |"
              for t in result["top_self"]]
    save_profile("profile_create", profiler, result, lines)


if __name__ == "__main__":
    sys.exit(main())
