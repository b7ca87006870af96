"""Webhooks (X2): outside systems that cannot read RabbitMQ register a URL
and get ticketing's events POSTed to it, signed. Signing and back-off are in
``rules.py``. A webhook belongs to the account that made it (``created_by``):
an integration sees, deactivates and reads the deliveries of its own only,
admins every one; another's id is not found.

How an event travels
    1. ``record_event`` records every event ticketing publishes: in the
       same transaction as the change and its outbox row, it adds a
       ``pending`` delivery for each active subscription that wants the
       type, so a delivery exists exactly when its event does. Imported
       history is not sent. Active subscriptions are cached per process for
       ``SUBSCRIPTION_CACHE_SECONDS`` (forgotten at once when this process
       changes one).
    2. ``deliver_webhooks`` (a timer, every ``DELIVER_SECONDS``; replicas
       share the work) claims due deliveries in a short transaction
       (``SELECT … FOR UPDATE SKIP LOCKED``, then an ``UPDATE … RETURNING``
       that counts the attempt and leases the row by moving
       ``next_attempt_at`` past the deadline). No lock is held while it
       POSTs: each request runs in a green thread of its own
       (``sending.py``: checked target, total deadline), at most
       ``CONCURRENCY`` in a process and ``PER_WEBHOOK`` of them for one
       webhook, so a slow receiver holds up neither the others nor the
       loop, which claims again on its next tick.
    3. A tick records the outcomes that have come in (those of its own
       requests that end within ``DELIVER_SECONDS``, the others' at a later
       tick): ``delivered`` on a 2xx, else the next attempt after
       ``rules.retry_delay`` or, after ``rules.MAX_ATTEMPTS``, ``failed``.
       A process that dies in between leaves the lease to run out, and the
       delivery is sent again: delivery is at least once, and
       ``webhook-id`` (the same on every attempt) lets a receiver drop
       repeats.

Each request: ``POST <url>`` with the CloudEvents envelope as body
(``Content-Type: application/cloudevents+json``), signed by Standard
Webhooks' ``webhook-id`` (the delivery id), ``webhook-timestamp`` and
``webhook-signature`` (see ``rules.py``; webhooks made before it also get
``X-CSOPS-Signature`` and ``X-CSOPS-Delivery``), and ``X-CSOPS-Event``. Redirects are not followed; they count as failures.
Logs show a webhook's URL without credentials or query (``rules.shown_url``).

Config: ``WEBHOOK_RETRY_BASE_SECONDS`` (default 10) scales the back-off;
the target settings are in ``sending.py``.
"""
import base64
import collections
import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import eventlet
import requests
from prometheus_client import Counter
from sqlalchemy import insert, select, update

from plumbing.errors import InvalidInput, NotFound, load_or_invalid as load
from plumbing.events import CONTENT_TYPE
from plumbing.paging import fetch_page
from plumbing.schemas import shared
from ticketing.contract import (
    DELIVERED, FAILED, PENDING, DeliveryListQuerySchema, DeliveryPageSchema, WebhookCreatedSchema,
    WebhookCreateSchema, WebhookListSchema, WebhookSchema, matches,
)
from ticketing.models import WebhookDelivery, WebhookSubscription
from ticketing.webhooks import rules, sending

log = logging.getLogger(__name__)

DELIVER_SECONDS = 2
BATCH = 20
CONCURRENCY = 20   # requests in flight in a process
PER_WEBHOOK = 5    # of which for one webhook, so that slow receivers cannot take every one
# a claimed delivery's lease outlasts its request's deadline and the tick that records it
LEASE_MARGIN = timedelta(seconds=45)
USER_AGENT = "csops-webhooks/1"
SECRET_BYTES = 32
MAX_ERROR_LENGTH = 1000

WEBHOOK_ATTEMPTS = Counter(
    "csops_webhook_attempts_total", "Webhook requests sent, by what became of the delivery.", ["outcome"])


@dataclass(frozen=True)
class Claimed:
    """A delivery leased for one attempt, with where and how to sign it."""
    id: str
    subscription_id: int
    event_type: str
    body: str
    attempts: int
    url: str
    secret: str
    legacy_signature: bool


@dataclass(frozen=True)
class Outcome:
    claimed: Claimed
    status_code: int | None
    error: str | None

    @property
    def delivered(self):
        return self.error is None


def post_delivery(claimed: Claimed, settings: sending.Settings, timestamp: int | None = None) -> Outcome:
    """One signed POST of a delivery; any answer but a 2xx is a failure."""
    body = claimed.body.encode("utf-8")
    timestamp = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": CONTENT_TYPE,
        "User-Agent": USER_AGENT,
        rules.EVENT_HEADER: claimed.event_type,
        **rules.signed_headers(claimed.secret, claimed.id, timestamp, body, claimed.legacy_signature),
    }
    try:
        status, reason = sending.post(claimed.url, body, headers, settings)
    except sending.Refused as refused:
        return Outcome(claimed, None, f"refused: {refused}"[:MAX_ERROR_LENGTH])
    except sending.DeadlinePassed as passed:
        return Outcome(claimed, None, str(passed))
    except requests.RequestException as exc:
        return Outcome(claimed, None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH])
    except Exception as exc:  # in a thread of its own: an outcome lost here would wait for its lease to run out
        log.exception("webhook delivery %s to %s", claimed.id, rules.shown_url(claimed.url))
        return Outcome(claimed, None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH])
    if 200 <= status < 300:
        return Outcome(claimed, status, None)
    return Outcome(claimed, status, f"HTTP {status} {reason or ''}".strip()[:MAX_ERROR_LENGTH])


class InFlight:
    """This process's webhook requests under way on one database: each in a green
    thread of its own, its outcome kept until a tick records it."""

    def __init__(self):
        self.pool = eventlet.GreenPool(CONCURRENCY)
        self.by_webhook = collections.Counter()
        self.outcomes = []

    def start(self, claimed: Claimed, settings):
        self.by_webhook[claimed.subscription_id] += 1
        return self.pool.spawn(self.send, claimed, settings)

    def send(self, claimed, settings):
        try:
            outcome = post_delivery(claimed, settings)
            # appended only now: a tick may have taken the list while the request was under way
            self.outcomes.append(outcome)
        finally:
            self.by_webhook[claimed.subscription_id] -= 1

    def room(self) -> int:
        return min(BATCH, self.pool.free())

    def take_outcomes(self) -> list[Outcome]:
        taken, self.outcomes = self.outcomes, []
        return taken


class InFlightByDatabase:
    def __init__(self):
        self.found = {}

    def of(self, session) -> InFlight:
        database = str(session.get_bind().url)
        if database not in self.found:
            self.found[database] = InFlight()
        return self.found[database]


in_flight = InFlightByDatabase()


SUBSCRIPTION_CACHE_SECONDS = 5


class ActiveSubscriptions:
    """(id, event types) of the active subscriptions, per database, briefly cached:
    every event asks, subscriptions change rarely."""

    def __init__(self):
        self.loaded = {}  # database -> (subscriptions, loaded at)

    def active(self, session):
        database = str(session.get_bind().url)
        found, loaded_at = self.loaded.get(database, (None, 0.0))
        if found is None or time.monotonic() - loaded_at > SUBSCRIPTION_CACHE_SECONDS:
            found = session.execute(select(WebhookSubscription.id, WebhookSubscription.event_types)
                                    .where(WebhookSubscription.active.is_(True))).all()
            self.loaded[database] = (found, time.monotonic())
        return found

    def forget(self):
        self.loaded.clear()


subscriptions = ActiveSubscriptions()


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return rules.SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


# -- subscriptions -------------------------------------------------------------------------
def create_webhook(uow, data, config):
    """The new subscription with its secret, which is never shown again; a target off
    limits (``sending.py``) is refused."""
    fields = load(WebhookCreateSchema, data)
    problem = sending.target_problem(fields["url"], sending.Settings.of(config))
    if problem:
        raise InvalidInput("the webhook's url is refused", {"url": [problem]})
    subscription = WebhookSubscription(**fields, secret=new_secret(), active=True, legacy_signature=False,
                                       created_by=uow.actor, created_at=uow.now())
    with uow.transaction():
        uow.session.add(subscription)
    subscriptions.forget()
    log.info("webhook %s to %s for %s created", subscription.id, rules.shown_url(subscription.url),
             subscription.event_types)
    return shared(WebhookCreatedSchema).dump(subscription)


def list_webhooks(uow):
    rows = uow.session.scalars(in_view(uow, select(WebhookSubscription)).order_by(WebhookSubscription.id)).all()
    return shared(WebhookListSchema).dump({"items": rows})


def deactivate_webhook(uow, webhook_id):
    """Stops new deliveries and gives up the pending ones. Idempotent."""
    with uow.transaction():
        subscription = webhook(uow, webhook_id, lock=True)
        subscription.active = False
        uow.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.subscription_id == subscription.id, WebhookDelivery.status == PENDING)
            .values(status=FAILED, next_attempt_at=None, last_error="webhook deactivated")
            .execution_options(synchronize_session=False))
    subscriptions.forget()
    return shared(WebhookSchema).dump(subscription)


def list_deliveries(uow, webhook_id, query):
    """The delivery log of one webhook, newest first."""
    criteria = load(DeliveryListQuerySchema, query or {})
    webhook(uow, webhook_id)
    page = fetch_page(uow.session, WebhookDelivery, criteria,
                      [WebhookDelivery.created_at.desc(), WebhookDelivery.id],
                      [WebhookDelivery.subscription_id == webhook_id], query=dict(criteria, webhook_id=webhook_id))
    return shared(DeliveryPageSchema).dump(page)


def webhook(uow, webhook_id, lock=False):
    """The caller's webhook; another's is not found, as if it did not exist."""
    query = in_view(uow, select(WebhookSubscription).where(WebhookSubscription.id == webhook_id))
    subscription = uow.session.scalar(query.with_for_update() if lock else query)
    if subscription is None:
        raise NotFound(f"webhook {webhook_id} does not exist")
    return subscription


def in_view(uow, query):
    """Only the webhooks the caller made, unless it sees every one."""
    if rules.sees_every_webhook(uow.roles):
        return query
    return query.where(WebhookSubscription.created_by == uow.actor)


# -- from event to delivery --------------------------------------------------------------------
def record_event(uow, event_type, aggregate_type, aggregate_id, data):
    """An event into the outbox, and its webhook deliveries, in the change's transaction."""
    envelope = uow.record(event_type, aggregate_type, aggregate_id, data, time=uow.now())
    queue_webhooks(uow, envelope)


def queue_webhooks(uow, envelope):
    """A pending delivery of ``envelope`` for each active subscription that wants it; imported history is not sent."""
    if uow.replaying:
        return
    wanted = [subscription_id for subscription_id, event_types in subscriptions.active(uow.session)
              if matches(event_types, envelope["type"])]
    if not wanted:
        return
    body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
    queued = uow.now()
    uow.session.execute(insert(WebhookDelivery.__table__).values([
        dict(id=str(uuid.uuid4()), subscription_id=subscription_id, event_id=envelope["id"],
             event_type=envelope["type"], body=body, status=PENDING, attempts=0, next_attempt_at=queued,
             created_at=queued)
        for subscription_id in wanted]))


# -- the delivery loop ---------------------------------------------------------------------------
def deliver_webhooks(uow, config):
    """Record the outcomes that came in, start the due deliveries there is room for, and wait
    up to ``DELIVER_SECONDS`` for them; returns how many were started."""
    settings = sending.Settings.of(config)
    base = float(config.get("WEBHOOK_RETRY_BASE_SECONDS", rules.DEFAULT_RETRY_BASE_SECONDS))
    flight = in_flight.of(uow.session)
    record_outcomes(uow, flight.take_outcomes(), base)
    lease = timedelta(seconds=settings.deadline_seconds) + LEASE_MARGIN
    claimed = claim_deliveries(uow, uow.now(), flight.room(), flight.by_webhook, lease)
    started = [flight.start(delivery, settings) for delivery in claimed]
    with eventlet.Timeout(DELIVER_SECONDS, False):
        for thread in started:
            thread.wait()
    record_outcomes(uow, flight.take_outcomes(), base)
    return len(claimed)


def claim_deliveries(uow, at, room, in_flight_by_webhook, lease) -> list[Claimed]:
    """Count an attempt of up to ``room`` due deliveries, at most ``PER_WEBHOOK`` in flight for a
    webhook, and lease them, in a short transaction."""
    if room <= 0:
        return []
    session, table = uow.session, WebhookDelivery.__table__
    full = [webhook for webhook, count in in_flight_by_webhook.items() if count >= PER_WEBHOOK]
    active = select(WebhookSubscription.id).where(WebhookSubscription.active.is_(True),
                                                  WebhookSubscription.id.not_in(full))
    due = [table.c.status == PENDING, table.c.next_attempt_at <= at]
    with uow.transaction():
        candidates = session.execute(
            select(table.c.id, table.c.subscription_id).where(*due, table.c.subscription_id.in_(active))
            .order_by(table.c.next_attempt_at).limit(BATCH).with_for_update(skip_locked=True)).all()
        chosen = rules.fair_share(candidates, room, in_flight_by_webhook, PER_WEBHOOK)
        if not chosen:
            return []
        # the conditions again: a concurrent tick on a database without row locks (SQLite) claims nothing twice
        rows = session.execute(
            update(table).where(table.c.id.in_(chosen), *due)
            .values(attempts=table.c.attempts + 1, next_attempt_at=at + lease, last_attempt_at=at)
            .returning(table.c.id, table.c.subscription_id, table.c.event_type, table.c.body, table.c.attempts)
        ).all()
        if not rows:
            return []
        targets = {row.id: row for row in session.execute(
            select(WebhookSubscription.id, WebhookSubscription.url, WebhookSubscription.secret,
                   WebhookSubscription.legacy_signature)
            .where(WebhookSubscription.id.in_({row.subscription_id for row in rows})))}
    return [Claimed(row.id, row.subscription_id, row.event_type, row.body, row.attempts,
                    targets[row.subscription_id].url, targets[row.subscription_id].secret,
                    targets[row.subscription_id].legacy_signature) for row in rows]


def record_outcomes(uow, outcomes, retry_base_seconds):
    if outcomes:
        with uow.transaction():
            for outcome in outcomes:
                record_outcome(uow, outcome, uow.now(), retry_base_seconds)


def record_outcome(uow, outcome: Outcome, at, retry_base_seconds):
    """Only if nobody claimed the delivery since (its lease ran out) or gave it up."""
    claimed, table = outcome.claimed, WebhookDelivery.__table__
    mine = [table.c.id == claimed.id, table.c.attempts == claimed.attempts]
    if outcome.delivered:
        uow.session.execute(update(table).where(*mine).values(
            status=DELIVERED, delivered_at=at, next_attempt_at=None, last_status_code=outcome.status_code,
            last_error=None))
        WEBHOOK_ATTEMPTS.labels("delivered").inc()
        log.info("webhook delivery %s of %s to %s delivered (attempt %s, HTTP %s)",
                 claimed.id, claimed.event_type, rules.shown_url(claimed.url), claimed.attempts, outcome.status_code)
        return
    given_up = rules.gives_up(claimed.attempts)
    next_attempt = None if given_up else at + rules.retry_delay(claimed.attempts, retry_base_seconds)
    uow.session.execute(update(table).where(*mine, table.c.status == PENDING).values(
        status=FAILED if given_up else PENDING, next_attempt_at=next_attempt,
        last_status_code=outcome.status_code, last_error=outcome.error))
    WEBHOOK_ATTEMPTS.labels("failed" if given_up else "retrying").inc()
    if given_up:
        log.error("webhook delivery %s of %s to %s failed for good after %s attempts: %s",
                  claimed.id, claimed.event_type, rules.shown_url(claimed.url), claimed.attempts, outcome.error)
    else:
        log.warning("webhook delivery %s of %s to %s failed (attempt %s, next at %s): %s",
                    claimed.id, claimed.event_type, rules.shown_url(claimed.url), claimed.attempts,
                    next_attempt.isoformat(timespec="seconds"), outcome.error)
