"""Faults (X2): nothing acknowledged is lost or doubled, and every event is
handled once by each consumer, while processes crash, the broker restarts
and the database refuses connections.

A bounded load of clients creates tickets through the gateway and pushes
posts to monitoring (crisis stories among them: their alerts open tickets).
Meanwhile PostgreSQL refuses every service's connections for a while,
RabbitMQ stops and starts, and each of the five processes is killed with
SIGKILL and started again. A client retries a request on a connection
error, a timeout or a 5xx, with the same X-Request-Id and Idempotency-Key,
for up to RETRY_SECONDS. Then, within a bounded wait, everything must add
up: the tickets with what clients were told, appraisal's facts and records
with ticketing's tickets and outbox, ticketing's alert tickets and inbox
with monitoring's alerts and outbox, an outside consumer's queues with both
outboxes; no dead letters. The counts go to a report file.

Mail (channels) runs through it too: customers mail the support mailbox
(an IMAP APPEND to Dovecot, retried while it is away); channels polls it
every second, each mail opening a ticket and sending its acknowledgement to
the SMTP server (aiosmtpd, taking SMTP_SECONDS over each mail). Beside the
faults above, the SMTP server stops for SMTP_DOWN_SECONDS, Dovecot restarts,
and channels is killed twice more: while it holds a lease on a delivery
(mid-send) and while a mail is being taken (mid-fetch). Every mail Dovecot
accepted must have become exactly one ticket (counted per Message-ID), every
acknowledgement reached the SMTP server, and none twice (its Message-ID
counted there) beyond the one mail a kill can catch between the server's
250 and the record of it.
"""
import itertools
import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest
import requests
from amqp.exceptions import NotFound
from kombu import Connection

from plumbing import topology
from plumbing.consumer import DEFAULT_RETRY_DELAYS
from plumbing.testing import EventTap
from tests.faults.conftest import ADMIN_PASSWORD, IMAP_PASSWORD, restart_rabbitmq

pytestmark = pytest.mark.faults

TICKET_CLIENTS, POST_CLIENTS = 3, 2
PAUSE_SECONDS = 0.25      # between two requests of one client
RETRY_SECONDS = 60        # a request still unanswered after this long is given up
DOWN_SECONDS = 1          # between killing a process and starting it again
BETWEEN_FAULTS_SECONDS = 2
SETTLE_SECONDS = 90       # for every effect to catch up after the load (an event's last retry waits 30 s)
MAIL_PAUSE_SECONDS = 0.3  # between two mails of the customers
SMTP_DOWN_SECONDS = 5
IMAP_DOWN_SECONDS = 2
CAUGHT_WITHIN_SECONDS = 5  # a targeted kill waits this long for its moment, then kills anyway
ALERT_CONSUMERS = ("ticketing.on_opinion_alert_raised", "ticketing.on_opinion_alert_updated")

# crisis stories, each far from the others: each its own cluster, alert and ticket
STORIES = (
    "Got food poisoning after the Acme lunch box, the whole office is sick",
    "Acme charged my card three times and calls it a bank problem, this is fraud",
    "The Acme app leaked my home address and phone number to a stranger",
    "My lawyer is sending Acme a letter about the broken heater that burnt my floor",
    "Calling a journalist tomorrow: Acme ignored forty days of refund requests",
    "Everyone boycott Acme until they pay the couriers they let go",
    "某某外卖吃出异物，商家拒绝退款，已经投诉到市场监管",
    "某某快递丢件还骗钱，客服电话全是空号，准备起诉",
    "某某外卖的饭菜变质了，孩子吃完拉肚子，我要曝光",
    "Reported Acme to the regulator: expired milk sold as fresh for a week",
)
MIXED = ("Acme delivered my parcel on time today", "某某外卖今天上线新菜单", "Acme support answered in a minute",
         "Trying the new Acme coffee this morning", "某某快递的骑手很有礼貌")


@dataclass
class Request:
    kind: str                 # "ticket" or "post"
    name: str                 # the ticket's subject, or the post's external id
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    attempts: int = 0
    last_try_at: datetime | None = None
    status: int | None = None
    answer: dict | None = None
    failures: Counter = field(default_factory=Counter)

    @property
    def acknowledged(self):
        return self.status is not None and 200 <= self.status < 300


class Load:
    """Clients creating tickets and pushing posts until stopped; each request
    is retried with the same X-Request-Id and Idempotency-Key on a connection
    error, a timeout or a 5xx, until answered or RETRY_SECONDS pass."""

    def __init__(self, base, token):
        self.base, self.token = base, token
        self.requests = []
        self.numbers = itertools.count()
        self.stopping = threading.Event()
        self.clients = [threading.Thread(target=self.client, args=(make,), daemon=True)
                        for make in [self.ticket] * TICKET_CLIENTS + [self.post] * POST_CLIENTS]
        self.started = None

    def start(self):
        self.started = time.monotonic()
        for client in self.clients:
            client.start()

    def stop(self):
        self.stopping.set()
        for client in self.clients:
            client.join(RETRY_SECONDS + 30)
            assert not client.is_alive(), "a client did not finish"

    def client(self, make):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        while not self.stopping.is_set():
            path, body, request = make(next(self.numbers))
            self.requests.append(request)
            self.send(session, path, body, request)
            time.sleep(PAUSE_SECONDS)

    @staticmethod
    def ticket(number):
        request = Request("ticket", f"faults ticket {number}")
        return "/api/v1/tickets", {
            "subject": request.name, "description": "created under faults", "channel": "web_form", "kind": "inquiry",
            "customer": {"name": "Wang Fang", "contact": f"customer-{number}@example.com"}}, request

    @staticmethod
    def post(number):
        """Every fifth post a crisis story, then two reposts of it, then two ordinary posts."""
        request = Request("post", f"faults-{number}")
        story, ordinary = STORIES[number // 5 % len(STORIES)], f"{MIXED[number % len(MIXED)]} #{number}"
        text = (story, f"RT @fan{number}: {story}", f"RT @fan{number}: {story}", ordinary, ordinary)[number % 5]
        return "/api/v1/monitoring/posts", {
            "platform": "weibo", "external_id": request.name, "text": text,
            "posted_at": datetime.now(timezone.utc).isoformat(),
            "author": {"id": f"author-{number}", "name": f"user {number}", "followers": 5000}}, request

    def send(self, session, path, body, request):
        headers = {"X-Request-Id": f"faults-{request.kind}-{request.key}", "Idempotency-Key": request.key}
        deadline = time.monotonic() + RETRY_SECONDS
        while time.monotonic() < deadline:
            request.attempts += 1
            request.last_try_at = datetime.now(timezone.utc)
            try:
                response = session.post(self.base + path, json=body, headers=headers, timeout=15)
            except requests.RequestException as exc:
                request.failures[type(exc).__name__] += 1
            else:
                if response.status_code < 500:
                    request.status, request.answer = response.status_code, response.json()
                    return
                request.failures[f"HTTP {response.status_code}"] += 1
            time.sleep(0.5)

    def of(self, kind):
        return [request for request in self.requests if request.kind == kind]


class Customers:
    """Customers mailing the support mailbox until stopped: each mail appended to Dovecot's
    INBOX as a delivery agent would put it there, retried for RETRY_SECONDS while the server
    is away; ``delivered`` holds the Message-IDs Dovecot took, ``given_up`` the others."""

    def __init__(self, dovecot):
        self.dovecot = dovecot
        self.delivered, self.given_up, self.failures = [], [], Counter()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.stopping.set()
        self.thread.join(RETRY_SECONDS + 30)
        assert not self.thread.is_alive(), "the customers did not finish"

    def run(self):
        for number in itertools.count():
            if self.stopping.is_set():
                return
            message_id = f"faults-mail-{number}-{uuid.uuid4().hex[:8]}@customers.example"
            raw = (f"From: Customer {number} <mail-customer-{number}@example.com>\r\n"
                   f"To: support@shop.example.com\r\nSubject: {mail_subject(number)}\r\n"
                   f"Message-ID: <{message_id}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                   f"My parcel {number} has not arrived.\r\n").encode()
            deadline = time.monotonic() + RETRY_SECONDS
            while True:
                try:
                    self.dovecot.append("support", IMAP_PASSWORD, raw)
                except Exception as exc:  # noqa: BLE001 - the server away
                    self.failures[type(exc).__name__] += 1
                    if time.monotonic() > deadline:
                        self.given_up.append(message_id)
                        break
                    time.sleep(0.5)
                else:
                    self.delivered.append(message_id)
                    break
            time.sleep(MAIL_PAUSE_SECONDS)


def mail_subject(number):
    return f"faults mail {number}"


def faults(platform):
    """(what, action) in order; an action may return a note for the report. The database
    first: events whose handlers it failed wait out their longest retry delay while the
    other faults run."""
    yield "PostgreSQL refuses connections for 8 s", lambda: platform.refuse_connections(8)
    yield "RabbitMQ stop_app, 3 s, start_app", lambda: restart_rabbitmq(3)
    for name in platform.processes:
        def crash(name=name):
            platform.kill(name)
            time.sleep(DOWN_SECONDS)
            platform.start(name)
        yield f"kill -9 {name}, start it again", crash
    yield f"SMTP server stopped for {SMTP_DOWN_SECONDS} s", lambda: server_down(
        platform.smtp, SMTP_DOWN_SECONDS)
    yield f"Dovecot (IMAP) stopped for {IMAP_DOWN_SECONDS} s", lambda: server_down(
        platform.dovecot, IMAP_DOWN_SECONDS)
    yield "kill -9 channels mid-send (holding a lease), start it again", lambda: crash_channels_when(
        platform, "SELECT count(*) FROM deliveries WHERE status = 'queued' AND attempts > 0 AND last_error IS NULL "
                  "AND next_attempt_at > now() + interval '2 seconds'", "deliveries leased")
    yield "kill -9 channels mid-fetch (a mail pending), start it again", lambda: crash_channels_when(
        platform, "SELECT count(*) FROM inbound_mails WHERE outcome = 'pending'", "mails pending")


def server_down(server, seconds):
    server.stop()
    time.sleep(seconds)
    server.start()


def crash_channels_when(platform, sql, what):
    """Kill channels as soon as ``sql`` counts something (or after CAUGHT_WITHIN_SECONDS); the note says what."""
    deadline, found = time.monotonic() + CAUGHT_WITHIN_SECONDS, 0
    while time.monotonic() < deadline and not found:
        found = platform.query("channels", sql)[0][0]
        if not found:
            time.sleep(0.02)
    platform.kill("channels")
    time.sleep(DOWN_SECONDS)
    platform.start("channels")
    return f"{found} {what} at the kill"


def test_nothing_acknowledged_is_lost_or_doubled_under_faults(platform_on_postgres, rabbit_config, fault_report):
    platform = platform_on_postgres
    amqp_uri = rabbit_config["AMQP_URI"]
    outside = {service: EventTap(amqp_uri, service, name="faults") for service in ("ticketing", "monitoring")}
    token = requests.post(f"{platform.base}/api/v1/auth/token", timeout=30,
                          json={"username": "admin", "password": ADMIN_PASSWORD}).json()["access_token"]
    rule = requests.post(f"{platform.base}/api/v1/monitoring/rules", headers={"Authorization": f"Bearer {token}"},
                         json={"name": "brand", "query": "acme OR 某某外卖 OR 某某快递"}, timeout=30)
    assert rule.status_code == 201, rule.text
    mailbox = requests.post(f"{platform.base}/api/v1/channels/mailboxes", headers={"Authorization": f"Bearer {token}"},
                            json={"address": "support@shop.example.com", "language": "en", "imap_host": "127.0.0.1",
                                  "imap_port": platform.dovecot.port, "imap_tls": False, "imap_user": "support",
                                  "imap_password_secret": "FAULTS_IMAP_PASSWORD"}, timeout=30)
    assert mailbox.status_code == 201, mailbox.text

    load, customers = Load(platform.base, token), Customers(platform.dovecot)
    timeline = []
    load.start()
    customers.start()
    try:
        for what, action in faults(platform):
            time.sleep(BETWEEN_FAULTS_SECONDS)
            began = time.monotonic()
            note = action()
            timeline.append((f"{what} ({note})" if note else what, began - load.started, time.monotonic() - began,
                             platform.wait_healthy()))
        time.sleep(BETWEEN_FAULTS_SECONDS)
    finally:
        load.stop()
        customers.stop()
    load_seconds = time.monotonic() - load.started

    settle_began = time.monotonic()
    while (not caught_up(state := state_of(platform, customers))
           and time.monotonic() - settle_began < SETTLE_SECONDS):
        time.sleep(1)
    settled = time.monotonic() - settle_began
    state["queues"] = ready_messages(amqp_uri, all_queues(platform))
    state["delivered"] = {service: tap.rest(quiet=2) for service, tap in outside.items()}
    state["channels kills"] = sum("kill -9 channels" in what for what, *_ in timeline)

    counts, problems = {}, []
    for check in (tickets_against_clients, alert_tickets_against_alerts, events_against_consumers,
                  posts_against_clients, mail_against_mail_servers, queues_left):
        found, wrong = check(load, state)
        counts.update(found)
        problems += wrong
    fault_report(report(timeline, load_seconds, settled, counts, problems))
    assert not problems, "\n".join(problems)


# -- what the platform holds ---------------------------------------------------------------------------------------
def state_of(platform, customers):
    """What each service holds, read from its database; what the mail servers hold."""
    def rows(service, sql):
        return platform.query(service, sql)
    return {
        "tickets": rows("ticketing", "SELECT id, subject, channel, custom_fields, created_at FROM tickets"),
        "outbox": {service: rows(service, "SELECT id, event_type, aggregate_id, envelope, published_at FROM outbox")
                   for service in ("ticketing", "monitoring")},
        "inbox": rows("ticketing", "SELECT event_id, consumer FROM inbox"),
        "alert_tickets": dict(rows("ticketing", "SELECT alert_key, ticket_id FROM opinion_alert_tickets")),
        "facts": rows("appraisal", "SELECT event_id, type FROM facts"),
        "records": {row.ticket_id for row in rows("appraisal", "SELECT ticket_id FROM ticket_records")},
        "alerts": rows("monitoring", "SELECT key, opens_ticket FROM alerts"),
        "posts": {row.external_id for row in rows("monitoring", "SELECT external_id FROM posts")},
        "channels outbox": rows("channels", "SELECT id, published_at FROM outbox"),
        "inbound mails": rows("channels", "SELECT message_id, outcome, ticket_id FROM inbound_mails"),
        "deliveries": rows("channels", "SELECT message_id, kind, status, ticket_id, attempts FROM deliveries"),
        "mailed": list(customers.delivered), "mails given up": list(customers.given_up),
        "mail failures": Counter(customers.failures), "at the SMTP server": platform.smtp.message_ids(),
    }


def created_events(state):
    return {row.id for row in state["outbox"]["ticketing"] if row.event_type == "ticket.created"}


def created_facts(state):
    return {row.event_id for row in state["facts"] if row.type == "ticket.created"}


def alert_events_asking_for_tickets(state):
    """Monitoring's alert events that ask for a ticket: ticketing's inbox must hold each."""
    return {row.id for row in state["outbox"]["monitoring"]
            if row.event_type.startswith("opinion.alert_") and json.loads(row.envelope)["data"]["opens_ticket"]}


def alert_events_handled(state):
    return {row.event_id for row in state["inbox"] if row.consumer in ALERT_CONSUMERS}


def caught_up(state):
    return (all(row.published_at for rows in state["outbox"].values() for row in rows)
            and created_events(state) <= created_facts(state)
            and alert_events_asking_for_tickets(state) <= alert_events_handled(state)
            and {row.key for row in state["alerts"] if row.opens_ticket} <= set(state["alert_tickets"])
            and all(row.published_at for row in state["channels outbox"])
            and {normal(m) for m in state["mailed"]} <= {normal(row.message_id) for row in state["inbound mails"]
                                                         if row.outcome != "pending"}
            and all(row.status != "queued" for row in state["deliveries"])
            and ({normal(row.message_id) for row in state["deliveries"]}
                 <= {normal(m) for m in state["at the SMTP server"]}))


def normal(message_id):
    return (message_id or "").strip().strip("<>")


def all_queues(platform):
    """Every event handler's queue with its retry and dead-letter queues."""
    for service_cls in map(topology.load, platform.service_classes):
        for source, event_type, method in topology.subscriptions(service_cls):
            queue = topology.handler_queue(source, event_type, service_cls.name, method)
            yield from topology.HandlerQueues(queue, DEFAULT_RETRY_DELAYS, service_cls.name).all()


def ready_messages(amqp_uri, queues):
    """Messages waiting in each queue that exists (a retry queue is declared when first used)."""
    counts = {}
    with Connection(amqp_uri) as connection:
        channel = connection.default_channel
        for queue in queues:
            try:
                counts[queue.name] = channel.queue_declare(queue=queue.name, passive=True).message_count
            except NotFound:  # the broker closes the channel, amqp opens it again
                pass
    return counts


# -- the checks: each gives (counts, problems) -------------------------------------------------------------------
def tickets_against_clients(load, state):
    """Every acknowledged ticket stored once, under the id the client got; no other ticket but alerts'."""
    stored = {}
    for row in state["tickets"]:
        stored.setdefault(row.subject, []).append(row)
    sent = load.of("ticket")
    acknowledged = [r for r in sent if r.acknowledged]
    unanswered = [r for r in sent if r.status is None]
    ids = {name: [row.id for row in rows] for name, rows in stored.items()}
    problems = [f"acknowledged ticket {r.answer['id']} ({r.name!r}) is stored as {ids.get(r.name, [])}"
                for r in acknowledged if ids.get(r.name, []) != [r.answer["id"]]]
    problems += [f"unanswered {r.name!r} was opened {len(stored[r.name])} times"
                 for r in unanswered if len(stored.get(r.name, [])) > 1]
    problems += [f"ticket {r.name!r} was refused: {r.status} {r.answer}"
                 for r in sent if r.status is not None and not r.acknowledged]
    asked = {r.name for r in sent}
    strays = [row.id for row in state["tickets"] if row.subject not in asked and row.channel != "email"
              and "opinion_alert_key" not in row.custom_fields]
    problems += [f"tickets nobody asked for: {strays}"] * bool(strays)
    # opened before the last try: without its Idempotency-Key that try would have opened a second ticket
    found_again = [r for r in acknowledged
                   if r.attempts > 1 and r.name in stored and stored[r.name][0].created_at < r.last_try_at]
    return {
        "ticket requests": len(sent), "tickets acknowledged (2xx with an id)": len(acknowledged),
        "tickets acknowledged after retrying": sum(r.attempts > 1 for r in acknowledged),
        "of those, answered with the ticket an earlier try opened": len(found_again),
        "ticket requests given up unanswered": len(unanswered),
        "of those, opened anyway": sum(bool(stored.get(r.name)) for r in unanswered),
        "tickets stored": len(state["tickets"]),
        "failed tries (all requests)": sum((r.failures for r in load.requests), Counter()),
    }, problems


def alert_tickets_against_alerts(load, state):
    """One ticket per alert that asks for one, and none for any other."""
    asking = {row.key for row in state["alerts"] if row.opens_ticket}
    tickets = Counter(row.custom_fields["opinion_alert_key"] for row in state["tickets"]
                      if "opinion_alert_key" in row.custom_fields)
    problems = [f"alert {key} has {count} tickets" for key, count in tickets.items() if count > 1]
    if set(tickets) != asking or set(state["alert_tickets"]) != asking:
        problems.append(f"alerts asking for a ticket {sorted(asking)}, tickets for {sorted(tickets)}, "
                        f"recorded for {sorted(state['alert_tickets'])}")
    return {"alerts raised": len(state["alerts"]), "alerts asking for a ticket": len(asking),
            "tickets for alerts": sum(tickets.values())}, problems


def events_against_consumers(load, state):
    """Each event in an outbox was published, reached an outside consumer, and
    was handled by the platform's own consumers: appraisal (ticket.created) and
    ticketing (alerts asking for a ticket)."""
    problems = [f"{sum(row.published_at is None for row in rows)} events never left {service}'s outbox"
                for service, rows in state["outbox"].items() if any(row.published_at is None for row in rows)]
    ticket_ids = {row.id for row in state["tickets"]}
    created = Counter(int(row.aggregate_id) for row in state["outbox"]["ticketing"]
                      if row.event_type == "ticket.created")
    if set(created) != ticket_ids or set(created.values()) - {1}:
        problems.append("ticketing's outbox does not hold one ticket.created per ticket")
    events, facts = created_events(state), created_facts(state)
    if facts != events:
        problems.append(f"appraisal's ticket.created facts against ticketing's outbox: "
                        f"{len(events - facts)} missing, {len(facts - events)} unknown")
    if state["records"] != ticket_ids:
        problems.append(f"appraisal's ticket records against ticketing's tickets: "
                        f"{len(ticket_ids - state['records'])} missing, {len(state['records'] - ticket_ids)} unknown")
    asking, handled = alert_events_asking_for_tickets(state), alert_events_handled(state)
    if handled != asking:
        problems.append(f"ticketing handled {len(handled)} alert events asking for a ticket of {len(asking)}")
    wire = {}
    for service, envelopes in state["delivered"].items():
        published, received = {row.id for row in state["outbox"][service]}, Counter(e["id"] for e in envelopes)
        wire[service] = f"{len(published)} published, {len(received)} received, {sum(received.values())} deliveries"
        if set(received) != published:
            problems.append(f"an outside consumer of {service} got {len(set(received) & published)} of "
                            f"{len(published)} events and {len(set(received) - published)} unknown ones")
    return {
        "ticket.created in ticketing's outbox": sum(created.values()),
        "ticket.created facts in appraisal": len(facts), "appraisal ticket records": len(state["records"]),
        "alert events asking for a ticket": len(asking), "of those, in ticketing's inbox": len(handled),
        "an outside consumer (at least once)": wire,
    }, problems


def posts_against_clients(load, state):
    sent = load.of("post")
    missing = [r.name for r in sent if r.acknowledged and r.name not in state["posts"]]
    problems = [f"acknowledged posts not stored: {missing}"] * bool(missing)
    problems += [f"post {r.name!r} was refused: {r.status} {r.answer}"
                 for r in sent if r.status is not None and not r.acknowledged]
    return {"post requests": len(sent), "posts acknowledged": sum(r.acknowledged for r in sent),
            "posts acknowledged after retrying": sum(r.acknowledged and r.attempts > 1 for r in sent),
            "post requests given up unanswered": sum(r.status is None for r in sent),
            "posts stored": len(state["posts"])}, problems


def mail_against_mail_servers(load, state):
    """Each mail Dovecot took is one inbound mail that opened one ticket (by its Message-ID and
    subject), whose acknowledgement reached the SMTP server; every delivery sent, reaching the
    server once, twice at most for a mail a kill of channels caught between the server's 250 and
    the record of it (one per kill: the sender has one mail on the way at a time)."""
    mailed = [normal(m) for m in state["mailed"]]
    inbound = {normal(row.message_id): row for row in state["inbound mails"]}
    tickets = Counter(row.subject for row in state["tickets"] if row.channel == "email")
    ticket_ids = {row.subject: row.id for row in state["tickets"] if row.channel == "email"}
    subjects = {m: mail_subject(int(m.split("-")[2])) for m in mailed}
    problems = [f"mail {m} was not taken" for m in mailed if m not in inbound]
    problems += [f"mail {m} is {inbound[m].outcome}, not opened" for m in mailed
                 if m in inbound and inbound[m].outcome != "opened"]
    problems += [f"mail {m} made {tickets[subjects[m]]} tickets" for m in mailed if tickets[subjects[m]] != 1]
    problems += [f"mail {m} names ticket {inbound[m].ticket_id}, its subject's ticket is {ticket_ids[subjects[m]]}"
                 for m in mailed if m in inbound and subjects[m] in ticket_ids
                 and inbound[m].ticket_id != ticket_ids[subjects[m]]]
    stray = set(tickets) - set(subjects.values())
    problems += [f"mail tickets nobody mailed: {sorted(stray)}"] * bool(stray)
    acknowledged = Counter(row.ticket_id for row in state["deliveries"] if row.kind == "acknowledgement")
    opened = {row.ticket_id for row in inbound.values() if row.outcome == "opened"}
    problems += [f"ticket {ticket} has {acknowledged[ticket]} acknowledgements" for ticket in opened
                 if acknowledged[ticket] != 1]
    problems += [f"delivery {row.message_id} is {row.status}" for row in state["deliveries"] if row.status != "sent"]
    at_server = Counter(normal(m) for m in state["at the SMTP server"])
    ours = {normal(row.message_id) for row in state["deliveries"]}
    lost = ours - set(at_server)
    twice = {m: n for m, n in at_server.items() if n > 1}
    problems += [f"{len(lost)} sent mails never reached the SMTP server: {sorted(lost)[:5]}"] * bool(lost)
    problems += [f"mails at the SMTP server nobody sent: {sorted(set(at_server) - ours)[:5]}"] * bool(
        set(at_server) - ours)
    if any(n > 2 for n in twice.values()) or len(twice) > state["channels kills"]:
        problems.append(f"mails sent more than once beyond one per kill of channels: {twice}")
    return {
        "mails Dovecot took (IMAP APPEND)": len(mailed), "mails given up (Dovecot away too long)":
            len(state["mails given up"]), "failed appends": state["mail failures"],
        "inbound mails logged": len(inbound), "of those, opened a ticket": len(opened),
        "tickets by mail": sum(tickets.values()), "mails that made two tickets or more":
            sum(n > 1 for n in tickets.values()),
        "deliveries (acknowledgements and others)": len(state["deliveries"]),
        "deliveries sent": sum(row.status == "sent" for row in state["deliveries"]),
        "deliveries attempted more than once": sum(row.attempts > 1 for row in state["deliveries"]),
        "mails at the SMTP server": sum(at_server.values()),
        "distinct Message-IDs there": len(at_server),
        "sent mails lost (not at the SMTP server)": len(lost),
        "Message-IDs at the SMTP server twice (kill between its 250 and the record)": len(twice),
    }, problems


def queues_left(load, state):
    dead = {name: count for name, count in state["queues"].items() if name.endswith(".dlq") and count}
    waiting = {name: count for name, count in state["queues"].items() if not name.endswith(".dlq") and count}
    return {"dead letters": sum(dead.values())}, (
        [f"dead letters: {dead}"] * bool(dead) + [f"messages still queued: {waiting}"] * bool(waiting))


def report(timeline, load_seconds, settled, counts, problems):
    lines = ["# Faults run", "", f"Load: {TICKET_CLIENTS} ticket clients and {POST_CLIENTS} post clients "
             f"for {load_seconds:.0f} s, customers mailing the support mailbox every {MAIL_PAUSE_SECONDS} s; "
             f"everything caught up {settled:.0f} s after the load stopped.", "",
             "| fault | at (s) | lasted (s) | then /health answered 200 after (s) |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {what} | {at:.0f} | {lasted:.1f} | {recovered:.1f} |" for what, at, lasted, recovered in timeline]
    lines += ["", "| count | value |", "| --- | ---: |"]
    for name, value in counts.items():
        if isinstance(value, dict):
            value = "; ".join(f"{key}: {each}" for key, each in value.items()) or "none"
        lines.append(f"| {name} | {value} |")
    lines += ["", "Problems: " + ("none" if not problems else ""), *[f"- {problem}" for problem in problems]]
    return "\n".join(lines) + "\n"
