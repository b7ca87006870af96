"""Routing's timer pass on PostgreSQL when nothing can move (issue 21): 50 agents on duty, every one
full, 1,000 tickets waiting and a history of closed tickets; what a pass costs, and how long closing
a waiting ticket waits while a pass runs.

    .venv/bin/python bench/routing_pass.py [--waiting 1000] [--history 200000] [--passes 20]

Runs ``ticketing.routing.handlers.route_waiting`` as the timer does (a unit of work on the service's
engine) against a fresh database of its own (removed afterwards). Point PYTHONPATH at another tree
to measure its routing the same way. Prints a table and writes results/routing_pass.md.
"""
import argparse
import secrets
import statistics
import threading
import time

from kit import RESULTS
from kit.scratch import create_databases, database_url, drop_databases
from sqlalchemy import event, text
from sqlalchemy.orm import sessionmaker

from plumbing import migrate
from plumbing.db import make_engine
from plumbing.unit_of_work import Unit
from ticketing import models
from ticketing.routing import handlers as routing

AGENTS, CAPACITY = 50, 10
CONFIG = {"REQUIRE_CERTIFICATION": "true"}


def load(engine, waiting, history):
    agents = [f"agent{i:02d}" for i in range(AGENTS)]
    with engine.begin() as connection:
        for name in agents:
            connection.execute(text(
                "INSERT INTO agents (username, roles, teams, skills, capacity, on_duty, active, staff_sequence) "
                "VALUES (:name, '[\"agent\"]', '[]', '[]', :capacity, true, true, 1)"), {"name": name, "capacity": CAPACITY})
            connection.execute(text("INSERT INTO agent_certifications (agent, certification, clears_for_duty) "
                                    "VALUES (:name, 'onboarding', true)"), {"name": name})
        ticket = ("INSERT INTO tickets (subject, description, channel, kind, priority, state, customer_name, "
                  "customer_contact, customer_tier, assignee, team, tags, required_skills, custom_fields, "
                  "transfer_count, reopen_count, created_at, updated_at, escalation_level) "
                  "SELECT 'bench', '', 'email', 'inquiry', 'normal', {state}, 'c', 'c@example.com', 'standard', "
                  "{assignee}, NULL, '[]', '[]', '{{}}', 0, 0, now() - interval '1 hour' + n * interval '1 ms', "
                  "now(), 0 FROM generate_series(1, :count) AS n")
        connection.execute(text(ticket.format(state="'closed'", assignee=f"'agent' || lpad((n % {AGENTS})::text, 2, '0')")),
                           {"count": history})
        connection.execute(text(ticket.format(state="'assigned'", assignee=f"'agent' || lpad((n % {AGENTS})::text, 2, '0')")),
                           {"count": AGENTS * CAPACITY})  # everyone full
        connection.execute(text(ticket.format(state="'new'", assignee="NULL")), {"count": waiting})
        connection.execute(text("ANALYZE"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiting", type=int, default=1000)
    parser.add_argument("--history", type=int, default=200_000)
    parser.add_argument("--passes", type=int, default=20)
    args = parser.parse_args()
    name = f"csops_bench_routing_{secrets.token_hex(4)}"
    create_databases([name])
    try:
        url = database_url(name)
        migrate.upgrade("ticketing", url)
        engine = make_engine(url)
        load(engine, args.waiting, args.history)
        rows = measure(engine, args)
        engine.dispose()
    finally:
        drop_databases([name])
    lines = [f"{AGENTS} agents on duty, all full ({CAPACITY} open each); {args.waiting:,} waiting; "
             f"{args.history:,} closed tickets; PostgreSQL", "", "| measure | value |", "| --- | ---: |"]
    lines += [f"| {what} | {value} |" for what, value in rows]
    print("\n".join(lines))
    (RESULTS / "routing_pass.md").write_text("\n".join(lines) + "\n")


def measure(engine, args):
    factory = sessionmaker(engine, expire_on_commit=False)
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    def one_pass():
        with factory() as session:
            unit = Unit.on_session(session, service="ticketing", outbox=models.outbox, inbox=models.inbox)
            return routing.route_waiting(unit, CONFIG)

    one_pass()  # warm
    times, counts = [], []
    for _ in range(args.passes):
        statements.clear()
        started = time.perf_counter()
        assert one_pass() == 0
        times.append((time.perf_counter() - started) * 1000)
        counts.append(len([s for s in statements if s.lstrip()[:6].upper() in ("SELECT", "INSERT", "UPDATE")]))

    # closing the oldest waiting ticket while a pass runs (in another thread, its own connection)
    with engine.connect() as connection:
        first = connection.execute(text("SELECT min(id) FROM tickets WHERE state = 'new'")).scalar_one()
    waits = []
    for _ in range(5):
        runner = threading.Thread(target=one_pass)
        runner.start()
        time.sleep(0.005)
        with engine.connect() as connection:
            trans = connection.begin()
            started = time.perf_counter()
            connection.execute(text("UPDATE tickets SET state = 'closed' WHERE id = :id"), {"id": first})
            waits.append((time.perf_counter() - started) * 1000)
            trans.rollback()
        runner.join()
    return [("pass p50 ms", f"{statistics.median(times):.1f}"), ("pass max ms", f"{max(times):.1f}"),
            ("SQL statements per pass", f"{statistics.median(counts):.0f}"),
            ("closing a waiting ticket during a pass, max wait ms", f"{max(waits):.1f}")]


if __name__ == "__main__":
    main()
