"""Malformed and hostile events put straight onto the exchanges, at every
handler queue of every service that consumes events (X2; issue 8, bad input):
each ends in that handler's dead-letter queue with its reason, the service
keeps running, and a valid event sent after them is still handled. On
PostgreSQL, which refuses more than SQLite does (NUL, unpaired surrogates)."""
import json

import pytest
from sqlalchemy import create_engine, text

from appraisal.service import AppraisalService
from gateway.service import GatewayService
from monitoring.service import MonitoringService
from plumbing import deadletter
from plumbing.consumer import DEFAULT_MAX_BYTES
from plumbing.events import CONTENT_TYPE, make_envelope
from plumbing.testing import call, publish_raw, wait_for
from plumbing.topology import handler_queue, subscriptions
from ticketing.service import TicketingService
from training.service import TrainingService

# where each consumer keeps the id of an event it handled
CONSUMERS = {TicketingService: "inbox", TrainingService: "inbox", AppraisalService: "facts",
             MonitoringService: "inbox"}
NOW = "2026-11-02T09:00:00+00:00"
TICKET = {"ticket_id": 7, "assignee": "alice", "created_at": NOW}
CERTIFICATION = {"agent": "alice", "certification": "onboarding"}
ALERT = {"alert_id": 3, "key": "cluster-3", "level": "II", "summary": "Refund complaints spreading",
         "opens_ticket": True}
STAFF = {"username": "alice", "roles": ["agent"], "teams": ["billing"]}
EXAM = {"agent": "alice", "score": 82.5}
# data each consumed event type's handler accepts
VALID_DATA = {
    "ticket.created": TICKET, "ticket.assigned": TICKET, "ticket.transferred": TICKET,
    # an alert's ticket: monitoring notes it on the alert (none here: the event is handled, nothing noted)
    "ticket.resolved": dict(TICKET, opinion_alert_id=3), "ticket.closed": dict(TICKET, opinion_alert_id=3),
    "ticket.reopened": TICKET, "ticket.rated": dict(TICKET, score=4),
    "sla.clock_stopped": dict(TICKET, clock="resolution", business_seconds=3600.0, met=True),
    "sla.breached": dict(TICKET, clock="resolution"), "training.exam_passed": EXAM, "training.exam_failed": EXAM,
    "staff.account_created": STAFF, "staff.account_updated": STAFF,
    "training.certified": dict(CERTIFICATION, clears_for_duty=True, valid_until=None),
    "training.certification_revoked": CERTIFICATION, "training.certification_expired": CERTIFICATION,
    "opinion.alert_raised": ALERT, "opinion.alert_updated": ALERT,
    "appraisal.retraining_requested": {"agent": "alice", "course_id": 1, "reason": "CSAT below target"},
    "training.retraining_refused": {"agent": "alice", "course_id": 9, "cycle_id": 1,
                                    "reason": "course 9 does not exist"},
}


def test_every_service_that_consumes_events_is_covered():
    consumers = {cls for cls in [GatewayService, *CONSUMERS] if list(subscriptions(cls))}
    assert consumers == set(CONSUMERS)
    assert {event_type for cls in CONSUMERS for _, event_type, _ in subscriptions(cls)} == set(VALID_DATA)


@pytest.fixture
def database_url(postgres_url):
    return postgres_url


def envelope(source, event_type, **changes):
    good = make_envelope(service=source, event_type=event_type, subject="x/1", data=VALID_DATA[event_type],
                         sequence=1)
    return dict(good, **changes)


def hostile_messages(source, event_type):
    """(body, content type, what the dead letter's reason says) of each kind of bad message."""
    data = VALID_DATA[event_type]
    return [
        (b"{not json", CONTENT_TYPE, "undecodable message: Expecting property name"),
        (b"[" * 100_000 + b"]" * 100_000, CONTENT_TYPE, "maximum recursion depth"),
        (b"\x80\x04K\x01.", "application/x-python-serialize", "Refusing to deserialize"),  # pickle: never run
        ([1, 2], CONTENT_TYPE, "envelope is a list, not a JSON object"),
        ({"specversion": "1.0"}, CONTENT_TYPE, "missing attribute 'id'"),
        (envelope(source, event_type, type="ticket.deleted"), CONTENT_TYPE, "'ticket.deleted' is not"),
        (envelope(source, event_type, dataversion=99), CONTENT_TYPE, "dataversion 99 not in supported"),
        (envelope(source, event_type, data={"unexpected": True}), CONTENT_TYPE, "data breaks"),
        (envelope(source, event_type, data=dict(data, note="a\x00b")), CONTENT_TYPE, "note must not contain NUL"),
        (envelope(source, event_type, subject="x/\ud800"), CONTENT_TYPE, "subject must not contain unpaired"),
        (envelope(source, event_type, data=dict(data, padding="x" * DEFAULT_MAX_BYTES)), CONTENT_TYPE,
         f"over the {DEFAULT_MAX_BYTES}-byte limit"),
    ]


@pytest.fixture
def database(database_url):
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


def handled(database, table) -> set:
    """Ids of the events the service has handled."""
    with database.connect() as connection:
        return set(connection.scalars(text(f"SELECT event_id FROM {table}")))


@pytest.mark.parametrize("service_cls", list(CONSUMERS), ids=lambda cls: cls.name)
def test_hostile_events_are_dead_lettered_with_their_reason_and_the_queue_keeps_flowing(
        start_service, service_config, database, service_cls):
    container = start_service(service_cls)
    uri = service_config["AMQP_URI"]
    if service_cls is TrainingService:  # the course a valid retraining request names
        call(container, "create_course", {"title": "Refunds", "kind": "special", "mode": "online",
                                          "duration_hours": 2, "target_role": "agent"})
    expected, valid = {}, {}
    for source, event_type, method in subscriptions(service_cls):
        queue = handler_queue(source, event_type, service_cls.name, method).name
        expected[queue] = hostile_messages(source, event_type)
        for body, content_type, _ in expected[queue]:
            publish_raw(uri, source, event_type, body if isinstance(body, bytes) else json.dumps(body),
                        content_type=content_type)
        valid[queue] = envelope(source, event_type)
        publish_raw(uri, source, event_type, valid[queue])

    table = CONSUMERS[service_cls]
    for queue, messages in expected.items():
        wait_for(lambda: valid[queue]["id"] in handled(database, table),
                 message=f"the valid event after the hostile ones on {queue}")
        letters = wait_for(lambda: (found := deadletter.peek(f"{queue}.dlq", uri=uri)) and
                           len(found) >= len(messages) and found, message=f"{len(messages)} dead letters of {queue}")
        reasons = sorted(reason for _, _, reason in messages
                         for letter in letters if reason in letter["reason"])
        assert reasons == sorted(reason for _, _, reason in messages), (queue, [l["reason"] for l in letters])
        assert len(letters) == len(messages)
    assert handled(database, table) == {event["id"] for event in valid.values()}  # and none of the others
