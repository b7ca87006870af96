"""The agent workspace at a million tickets (issue 21): every list, filter and search, ticket creation
with 50 agents on duty, closing while routing runs and the idle platform, through the gateway on one
kept-alive connection; each figure beside the same request on an empty database, in the same run.

    .venv/bin/python bench/workspace.py                      # 1,000,000 tickets (~10-15 min on 2 cores)
    .venv/bin/python bench/workspace.py --tickets 100000     # ~4 min
    .venv/bin/python bench/workspace.py --requests 100 --idle-seconds 30

1. A RabbitMQ vhost and a PostgreSQL database per service of the run's own (removed at the end), the
   whole platform started on them as `make up` starts it (routing's timer every 2 s, not 10: closing
   has passes to meet), 50 agents on duty and cleared in ticketing's database.
2. The empty database: each request below, ``--requests`` times, sequentially on one
   ``requests.Session`` (one kept-alive connection), p50/p95/p99.
3. The load into ticketing's database (progress printed): ``--tickets`` tickets over two years by
   COPY, 4.7 % of them open (the newest); derived from them in SQL, 2.24 SLA clocks, 1.6 messages,
   7.8 history rows and about one tag a ticket; then 5,000 knowledge-base articles and their
   search index as ticketing's handler makes it (``knowledge.rules``), by COPY; VACUUM ANALYZE.
4. The same requests again on the loaded database.

Writes results/workspace.md and .json and prints the table. Needs what `make test` needs: RabbitMQ
(management API on :15672) and PostgreSQL on 127.0.0.1:5432 (user postgres, trust).
"""
import argparse
import io
import json
import random
import secrets
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg2
import requests
from kit import RESULTS, report, scratch  # first: outside the venv it says how to get one
from kit.console import say, stop_on_signals
from kit.machine import machine_busy, process_cpu
from kit.platform import Platform

from plumbing.services import NAMES
from ticketing.knowledge import rules as kb_rules
from ticketing.search import handlers as search

AGENTS = [f"agent{n:02d}" for n in range(50)]
TEAMS = ("billing", "logistics", "technical", "sales", "accounts")
TAGS = ["refund", "invoice", "delivery", "login", "vip", "damaged", "return", "warranty", "payment", "address",
        *[f"topic{n}" for n in range(40)]]  # refund on ~9 % of tickets, topic39 on ~0.1 %
TAG_WEIGHTS = [90, 60, 50, 40, 20, 20, 15, 15, 10, 10, *[max(1, 8 - n // 5) for n in range(40)]]
WORDS = ("parcel order refund invoice charge account password login delivery courier address payment card "
         "warranty repair screen battery app crash update subscription cancel upgrade discount coupon voucher "
         "price bill receipt tracking number late lost damaged broken missing wrong size colour exchange").split()
OPEN_SHARE, CLOCKS, MESSAGES, HISTORY = 0.047, 2.24, 1.6, 7.8
CHANNELS = ("phone", "chat", "email", "web_form", "social")
KINDS = ("inquiry", "complaint", "suggestion", "after_sales")
PRIORITIES = ("low", "normal", "high", "urgent")
KB_ARTICLES = 5000
SYLLABLES = "ka lo mi nu pe ra si to vu we xa yo ze bi du fa gi ho ju le mo ni po qu".split()  # 1,875 words


# -- the load ------------------------------------------------------------------------------------------------
class Rows(io.RawIOBase):
    """A file of COPY text lines from a generator of tuples, for ``copy_expert``; counts the rows."""

    def __init__(self, rows):
        self.rows, self.buffer, self.count = rows, b"", 0

    def readable(self):
        return True

    def readinto(self, target):
        while len(self.buffer) < len(target):
            chunk = []
            for row in self.rows:
                chunk.append("\t".join(r"\N" if value is None else str(value) for value in row))
                if len(chunk) == 5000:
                    break
            if not chunk:
                break
            self.count += len(chunk)
            self.buffer += ("\n".join(chunk) + "\n").encode()
        size = min(len(target), len(self.buffer))
        target[:size], self.buffer = self.buffer[:size], self.buffer[size:]
        return size


def copy(connection, table, columns, rows):
    started = time.monotonic()
    stream = Rows(rows)
    with connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", io.BufferedReader(stream, 1 << 20))
    connection.commit()
    say(f"  {table}: {stream.count:,} rows in {time.monotonic() - started:.1f} s")
    return stream.count


def tickets(count, now, first_id):
    """COPY rows of ``count`` tickets over the two years before ``now``, ids from ``first_id`` in the order
    they were opened; the newest ``OPEN_SHARE`` open (5 % of those new and waiting, the rest with the agents)."""
    rng = random.Random(21)
    span, open_from = timedelta(days=730), int(count * (1 - OPEN_SHARE))
    for number in range(count):
        tid = first_id + number
        created = now - span + span * (number / count)
        if number >= open_from:
            state = rng.choices(("new", "assigned", "in_progress", "waiting_customer"), (5, 45, 35, 15))[0]
            ended = None
        else:
            state = "closed" if rng.random() < 0.9 else "resolved"
            ended = (created + timedelta(hours=rng.randint(1, 96))).isoformat()
        escalated = rng.random() < 0.03
        words = rng.sample(WORDS, 4)
        tags = sorted(set(rng.choices(TAGS, TAG_WEIGHTS, k=rng.choice((0, 1, 1, 2)))))
        at = created.isoformat()
        yield (tid, f"{words[0].capitalize()} {words[1]} {words[2]}", f"My {words[3]} {words[1]}: order {tid}",
               rng.choice(CHANNELS), rng.choice(KINDS), rng.choices(PRIORITIES, (20, 60, 15, 5))[0], state,
               f"Customer {tid}", f"customer{tid}@example.com", "standard",
               None if state == "new" else AGENTS[tid % len(AGENTS)], TEAMS[tid % len(TEAMS)], json.dumps(tags),
               "[]", "{}", 0, 0, at, ended or at, ended, ended, ended if state == "closed" else None,
               int(escalated), at if escalated else None)


def search_documents(dsn, first_id):
    """The loaded tickets' search documents, as ticketing's search handler makes them from the subject,
    the description and the messages (read on a connection of their own while the other COPYs)."""
    reader = psycopg2.connect(dsn)
    try:
        with reader.cursor(name="documents") as cursor:
            cursor.itersize = 5000
            cursor.execute("SELECT t.id, t.subject, t.description, "
                           "(SELECT array_agg(m.body ORDER BY m.id) FROM ticket_messages m WHERE m.ticket_id = t.id) "
                           "FROM tickets t WHERE t.id >= %s ORDER BY t.id", (first_id,))
            for tid, subject, description, messages in cursor:
                yield tid, search.TICKETS.tsvector(search.ticket_terms(subject, description, messages or ()))
    finally:
        reader.close()


def articles(now):
    """``KB_ARTICLES`` articles (the same each call) with their search index's rows, as ticketing's
    knowledge handler writes them (``knowledge.rules``): 120-word bodies, most words from a
    vocabulary of 1,875, a tenth from the desk's own words (each in about a fifth of the articles)."""
    rng = random.Random(5)
    vocabulary = [a + b + c for a in SYLLABLES for b in SYLLABLES for c in ("", "s", "ing")]
    for number in range(1, KB_ARTICLES + 1):
        words = rng.sample(WORDS, 4)
        body = rng.choices(vocabulary, k=110) + rng.choices(WORDS, k=10)
        rng.shuffle(body)
        title, body, tags = f"How to handle {words[0]} {words[1]} ({number})", " ".join(body), words[2:4]
        indexed = kb_rules.index_article(number, title, body, tags)
        yield (number, title, body, rng.choice(TEAMS), json.dumps(tags), indexed.length, 0, "admin",
               now.isoformat(), now.isoformat(), search.ARTICLES.tsvector(search.article_terms(title, body, tags)))


OPEN_SQL = "t.state IN ('new', 'assigned', 'in_progress', 'waiting_customer')"
# Derived from the tickets by the database itself (a generator in Python would take minutes more):
# first_response and resolution for every ticket, update for 24 %; a closed clock stopped at 20-120 % of
# its target (breached past 100 %); a running one breached if due already, paused while the customer is.
CLOCKS_SQL = f"""
INSERT INTO sla_clocks (ticket_id, policy_id, policy_version, name, started_at, target_seconds, paused_seconds,
                        paused_at, stopped_at, due_at, warn_at, warned_at, breached_at, cancelled)
WITH clocks AS (
    SELECT t.id, t.created_at, t.state, c.name, c.minutes[p.policy] AS minutes, p.policy,
           {OPEN_SQL} AND NOT (c.name = 'first_response' AND t.state <> 'new') AS running,
           0.2 + ((t.id * 7 + c.n) %% 11) / 10.0 AS used
    FROM tickets t
    CROSS JOIN LATERAL (SELECT CASE t.priority WHEN 'urgent' THEN 1 WHEN 'high' THEN 2 ELSE 3 END AS policy) p
    CROSS JOIN (VALUES (1, 'first_response', ARRAY[30, 60, 240]), (2, 'update', ARRAY[60, 120, 480]),
                       (3, 'resolution', ARRAY[240, 480, 1080])) AS c(n, name, minutes)
    WHERE t.id >= %(first)s AND (c.name <> 'update' OR t.id %% 25 < 6)
), timed AS (
    SELECT *, created_at + minutes * interval '1 minute' AS due,
           CASE WHEN NOT running THEN created_at + used * minutes * interval '1 minute' END AS stopped
    FROM clocks
)
SELECT id, policy, 1, name, created_at, minutes * 60, 0,
       CASE WHEN running AND state = 'waiting_customer' THEN now() - interval '5 minutes' END, stopped, due,
       created_at + 0.8 * minutes * interval '1 minute',
       CASE WHEN created_at + 0.8 * minutes * interval '1 minute' < coalesce(stopped, now())
            THEN created_at + 0.8 * minutes * interval '1 minute' END,
       CASE WHEN due < coalesce(stopped, now()) THEN due END, false
FROM timed
"""
MESSAGES_SQL = f"""
INSERT INTO ticket_messages (ticket_id, kind, author, body, created_at)
SELECT t.id, (ARRAY['customer', 'reply', 'note'])[n], CASE WHEN n = 1 THEN 'customer' ELSE coalesce(t.assignee, 'agent01') END,
       'About the ' || (ARRAY[{", ".join(f"'{w}'" for w in WORDS)}])[1 + (t.id * n) %% {len(WORDS)}]
       || ' of order ' || t.id, t.created_at + n * interval '10 minutes'
FROM tickets t CROSS JOIN LATERAL generate_series(1, 1 + (t.id %% 5 >= 2)::int) AS n
WHERE t.id >= %(first)s
"""
HISTORY_SQL = """
INSERT INTO ticket_history (ticket_id, at, actor, action, changes)
SELECT t.id, t.created_at + n * interval '1 minute', coalesce(t.assignee, 'admin'),
       (ARRAY['created', 'assigned', 'state_changed', 'message_added', 'state_changed'])[1 + least(n, 4)],
       '{}'
FROM tickets t CROSS JOIN LATERAL generate_series(0, 4 + t.id %% 6 + (t.id %% 10 < 3)::int) AS n
WHERE t.id >= %(first)s
"""


def timed_statement(connection, what, sql, **params):
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        count = cursor.rowcount
    connection.commit()
    say(f"  {what}: {count:,} rows in {time.monotonic() - started:.1f} s")
    return count


def load(dsn, count, now):
    """The desk's two years into ticketing's database: the tickets by COPY, what hangs on them derived in
    SQL, the articles with their search index as ticketing's handler makes it, then VACUUM ANALYZE."""
    connection = psycopg2.connect(dsn)
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM tickets")
        first = cursor.fetchone()[0] + 1000
    started = time.monotonic()
    say(f"loading {count:,} tickets by COPY (ids from {first:,}; the newest {OPEN_SHARE:.1%} open)")
    ticket_columns = ("id", "subject", "description", "channel", "kind", "priority", "state", "customer_name",
                      "customer_contact", "customer_tier", "assignee", "team", "tags", "required_skills",
                      "custom_fields", "transfer_count", "reopen_count", "created_at", "updated_at",
                      "first_responded_at", "resolved_at", "closed_at", "escalation_level", "escalated_at")
    counts = {"tickets": copy(connection, "tickets", ticket_columns, tickets(count, now, first))}
    with connection.cursor() as cursor:  # ids after ours for the tickets the platform opens next
        cursor.execute("SELECT setval(pg_get_serial_sequence('tickets', 'id'), (SELECT max(id) FROM tickets))")
    connection.commit()
    counts["tags"] = timed_statement(connection, "ticket_tags", "INSERT INTO ticket_tags (ticket_id, tag) SELECT id, "
                                     "json_array_elements_text(tags) FROM tickets WHERE id >= %(first)s", first=first)
    counts["clocks"] = timed_statement(connection, "sla_clocks", CLOCKS_SQL, first=first)
    counts["messages"] = timed_statement(connection, "ticket_messages", MESSAGES_SQL, first=first)
    counts["search documents"] = copy(connection, "ticket_search", ("ticket_id", "document"),
                                      search_documents(dsn, first))
    counts["history rows"] = timed_statement(connection, "ticket_history", HISTORY_SQL, first=first)
    with connection.cursor() as cursor:  # the agents exactly full: nothing can move until the close measure
        cursor.execute("UPDATE agents SET capacity = (SELECT count(*) FROM tickets WHERE assignee = username "
                       "AND state IN ('new', 'assigned', 'in_progress', 'waiting_customer'))")
    connection.commit()
    say(f"  the tickets' rows in {time.monotonic() - started:.0f} s; {KB_ARTICLES:,} articles and their index")
    counts["articles"] = copy(connection, "kb_articles", ("id", "title", "body", "category", "tags", "body_length",
                                                          "hits", "author", "created_at", "updated_at"),
                              (article[:10] for article in articles(now)))
    copy(connection, "kb_search", ("article_id", "document"), ((article[0], article[10]) for article in articles(now)))
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('kb_articles', 'id'), (SELECT max(id) FROM kb_articles))")
    connection.commit()
    say("  VACUUM ANALYZE")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # the visibility map too: index-only scans for the counts
    connection.close()
    say(f"loaded in {time.monotonic() - started:.0f} s: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
    return counts


def seed_agents(dsn, capacity):
    connection = psycopg2.connect(dsn)
    with connection, connection.cursor() as cursor:
        for name in AGENTS:
            cursor.execute("INSERT INTO agents (username, roles, teams, skills, capacity, on_duty, active, "
                           "staff_sequence) VALUES (%s, '[\"agent\"]', %s, '[]', %s, true, true, 1)",
                           (name, json.dumps(list(TEAMS)), capacity))
            cursor.execute("INSERT INTO agent_certifications (agent, certification, clears_for_duty) "
                           "VALUES (%s, 'onboarding', true)", (name,))
    connection.close()


# -- the measures ---------------------------------------------------------------------------------------------
def timed(session, method, url, count, **kwargs):
    """Milliseconds of ``count`` sequential requests (after one not counted); the last answer."""
    answer = session.request(method, url, **kwargs)
    answer.raise_for_status()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        answer = session.request(method, url, **kwargs)
        answer.content
        times.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
    return times, answer


def figures(times, answer=None):
    ordered = sorted(times)
    body = answer.json() if answer is not None and answer.headers.get("content-type", "").startswith(
        "application/json") else {}
    total = body.get("total")
    shown = None if total is None else (f"{total:,}" + ("" if body.get("total_exact", True) else "+"))
    return {"p50": report.percentile(ordered, 0.5), "p95": report.percentile(ordered, 0.95),
            "p99": report.percentile(ordered, 0.99), "count": len(ordered), "total": shown}


def measure(platform, token, dsn, requests_each, idle_seconds, label):
    base = f"{platform.base}/api/v1"
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    now = datetime.now(timezone.utc)
    rows = {}

    def get(name, path, **params):
        say(f"[{label}] {name}")
        times, answer = timed(session, "GET", f"{base}{path}", requests_each, params=params)
        rows[name] = figures(times, answer)
        return answer

    walk, cursor = [], get("list, page 1", "/tickets", per_page=20).json()["next_cursor"]
    say(f"[{label}] list, the next pages by cursor")
    for _ in range(requests_each):
        if not cursor:
            break
        started = time.perf_counter()
        answer = session.get(f"{base}/tickets", params={"per_page": 20, "cursor": cursor})
        answer.raise_for_status()
        walk.append((time.perf_counter() - started) * 1000)
        cursor = answer.json()["next_cursor"]
    rows["list, pages 2.. by cursor"] = figures(walk) if walk else {"p50": None, "p95": None, "p99": None}
    get("list, page 500 by offset (page=500, deprecated)", "/tickets", per_page=20, page=500)
    get("filter state=new", "/tickets", state="new")
    get("filter breached=true", "/tickets", breached="true")
    get("filter breached=false", "/tickets", breached="false")
    get("filter due_before=now+1h", "/tickets", due_before=(now + timedelta(hours=1)).isoformat())
    get("filter tag (common: refund)", "/tickets", tag="refund")
    get("filter tag (rare: topic39)", "/tickets", tag="topic39")
    get("filter assignee=agent07", "/tickets", assignee="agent07")
    get("filter team=billing, state=in_progress", "/tickets", team="billing", state="in_progress")
    get("filter escalated=true", "/tickets", escalated="true")
    get("filter unstaffed=true", "/tickets", unstaffed="true")
    get("text search text=courier (deprecated substring)", "/tickets", text="courier")
    get("search q=courier (relevance)", "/tickets", q="courier")
    get("search q=courier, sort=-created_at", "/tickets", q="courier", sort="-created_at")
    get("search q=state:closed courier late", "/tickets", q="state:closed courier late")
    get("KB search q=refund invoice", "/kb/search", q="refund invoice")

    say(f"[{label}] create a ticket, {len(AGENTS)} agents on duty")
    ticket = {"subject": "Parcel late", "channel": "email", "kind": "inquiry", "team": "billing",
              "customer": {"name": "Sun Li", "contact": "sun@example.com"}, "tags": ["delivery"]}
    times, created = timed(session, "POST", f"{base}/tickets", requests_each, json=ticket)
    rows[f"create a ticket ({len(AGENTS)} agents on duty)"] = figures(times)

    rows[f"idle: ticketing's CPU over {idle_seconds} s"] = idle_cpu(platform, idle_seconds, label)

    say(f"[{label}] close tickets while routing runs")
    rows["close a ticket while routing runs"] = close_while_routing(session, base, dsn, requests_each, ticket)
    session.close()
    return rows


def idle_cpu(platform, seconds, label):
    """Share of one core the ticketing process (and its children) used while nothing was asked."""
    say(f"[{label}] idle for {seconds} s: ticketing's CPU")
    pid = platform.processes["ticketing"].pid
    before = process_cpu()
    time.sleep(seconds)
    after = process_cpu()
    family = {pid} | children_of(pid)
    used = sum(after[p][1] - before[p][1] for p in family if p in before and p in after)
    return {"p50": None, "p95": None, "p99": None, "cpu_share": used / seconds}


def children_of(pid):
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.add(int(entry.name))
            except (OSError, IndexError, ValueError):
                pass
    return found


def close_while_routing(session, base, dsn, count, ticket):
    """``count`` waiting tickets created, then room made for 100 more on every agent (routing's timer
    starts assigning, 100 a pass every 2 s); each waiting ticket is closed in turn, 50 ms apart, while
    the passes run; the agents are made full again after."""
    ids = [session.post(f"{base}/tickets", json=dict(ticket, subject=f"To close {n}")).json()["id"]
           for n in range(count + 1)]
    room = psycopg2.connect(dsn)
    room.autocommit = True
    with room.cursor() as cursor:
        cursor.execute("UPDATE agents SET capacity = capacity + 100")
        cursor.execute("SELECT count(*) FROM tickets WHERE state = 'new' AND assignee IS NULL")
        waiting = cursor.fetchone()[0]
    times = []
    for tid in ids[1:]:
        time.sleep(0.05)
        started = time.perf_counter()
        answer = session.post(f"{base}/tickets/{tid}/state", json={"state": "closed"})
        answer.content
        times.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"closing {tid}: {answer.status_code} {answer.text[:300]}")
    with room.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ticket_history WHERE action = 'assigned' AND at > now() - %s::interval",
                       (f"{int(sum(times) / 1000 + count * 0.05) + 2} seconds",))
        routed = cursor.fetchone()[0]
        cursor.execute("UPDATE agents SET capacity = capacity - 100")
    room.close()
    return dict(figures(times), note=f"{waiting:,} waiting; routing assigned {routed:,} meanwhile")


# -- the run ------------------------------------------------------------------------------------------------
def table(empty, loaded, counts, args):
    lines = [f"The agent workspace (issue 21) through the gateway, sequential requests on one kept-alive "
             f"connection, {args.requests} of each (after one not counted); PostgreSQL. Loaded: "
             + ", ".join(f"{v:,} {k}" for k, v in counts.items())
             + f". Machine busy (other work) at the start: {args.busy:.0%}.", "",
             "| request | loaded p50 | p95 | p99 | total | empty p50 | p95 | p99 |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, full in loaded.items():
        bare = empty.get(name, {})
        if "cpu_share" in full:
            lines.append(f"| {name} | {full['cpu_share']:.1%} of a core | | | | {bare.get('cpu_share', 0):.1%} | | |")
            continue
        cells = [report.fmt(full.get(k), 1) for k in ("p50", "p95", "p99")] + [full.get("total") or ""]
        cells += [report.fmt(bare.get(k), 1) for k in ("p50", "p95", "p99")]
        note = f" ({full['note']})" if full.get("note") else ""
        lines.append(f"| {name}{note} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50, help="of each request (default 50)")
    parser.add_argument("--idle-seconds", type=int, default=30)
    parser.add_argument("--start-timeout", type=int, default=180)
    args = parser.parse_args()
    stop_on_signals()
    args.busy = machine_busy()[0]
    run_id = secrets.token_hex(4)
    vhost, databases = f"csops-bench-workspace-{run_id}", {name: f"csops_bench_ws_{run_id}_{name}" for name in NAMES}
    tmp = Path(tempfile.mkdtemp(prefix="csops-bench-workspace-"))
    platform = None
    scratch.create_vhost(vhost)
    scratch.create_databases(databases.values())
    try:
        urls = {name: scratch.database_url(db) for name, db in databases.items()}
        dsn = f"host=127.0.0.1 port=5432 user=postgres dbname={databases['ticketing']}"
        platform = Platform(scratch.amqp_uri(vhost), tmp, urls, LOG_LEVEL="WARNING", TICKETING_ROUTE_SECONDS=2)
        platform.prepare()
        seed_agents(dsn, capacity=0)  # full: nothing to route until the close measure makes room
        platform.start(args.start_timeout)
        token = platform.token()
        empty = measure(platform, token, dsn, args.requests, args.idle_seconds, "empty")
        counts = load(dsn, args.tickets, datetime.now(timezone.utc))
        loaded = measure(platform, token, dsn, args.requests, args.idle_seconds, f"{args.tickets:,} tickets")
    finally:
        if platform is not None:
            platform.stop()
        scratch.drop_databases(databases.values())
        scratch.delete_vhost(vhost)
    markdown = table(empty, loaded, counts, args)
    report.write(RESULTS, "workspace", {"empty": empty, "loaded": loaded, "counts": counts,
                                        "tickets": args.tickets, "requests": args.requests}, markdown)
    print(markdown)


if __name__ == "__main__":
    main()
