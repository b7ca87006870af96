"""A ticket creation sent again with its idempotency key opens no second
ticket: a client retrying after a lost answer, or the RPC request delivered
again after ticketing crashed (found by tests/faults)."""
import eventlet
from nameko.exceptions import deserialize
from sqlalchemy import create_engine, text

from plumbing.errors import Conflict
from plumbing.testing import call

TICKET = {"subject": "Refund not received", "channel": "email", "kind": "complaint",
          "customer": {"name": "Liu Yang", "contact": "liu@example.com"}}


def creation(key, actor="alice", **changes):
    return {"ticket": dict(TICKET, **changes), "actor": actor, "request_id": f"request-{key}",
            "idempotency_key": key}


def stored(database_url):
    engine = create_engine(database_url)
    with engine.connect() as connection:
        counts = [connection.execute(text(sql)).scalar() for sql in (
            "SELECT count(*) FROM tickets", "SELECT count(*) FROM outbox WHERE event_type = 'ticket.created'")]
    engine.dispose()
    return counts


def test_the_same_key_again_answers_with_the_ticket_it_opened(ticketing, database_url):
    [first] = call(ticketing, "create_tickets", [creation("k-1")])
    [again, other] = call(ticketing, "create_tickets", [creation("k-1"), creation("k-2")])
    assert again["ticket"]["id"] == first["ticket"]["id"] != other["ticket"]["id"]
    assert stored(database_url) == [2, 2]  # one ticket.created each


def test_the_same_key_twice_in_one_batch_opens_one_ticket(ticketing, database_url):
    [first, second] = call(ticketing, "create_tickets", [creation("k-1"), creation("k-1")])
    assert first["ticket"]["id"] == second["ticket"]["id"]
    assert stored(database_url) == [1, 1]


def test_a_key_is_the_callers_own(ticketing, database_url):
    [alice, bob] = call(ticketing, "create_tickets", [creation("k-1"), creation("k-1", actor="bob")])
    assert alice["ticket"]["id"] != bob["ticket"]["id"]


def test_a_key_sent_again_with_another_ticket_is_refused_alone(ticketing, database_url):
    call(ticketing, "create_tickets", [creation("k-1")])
    [refused, fine] = call(ticketing, "create_tickets", [creation("k-1", subject="Another matter"), creation("k-2")])
    error = deserialize(refused["error"])
    assert isinstance(error, Conflict) and error.details == {"idempotency_key": ["already used for another ticket"]}
    assert "ticket" in fine
    assert stored(database_url) == [2, 2]


def test_concurrent_requests_with_one_key_open_one_ticket(ticketing, database_url):
    answers = [eventlet.spawn(call, ticketing, "create_tickets", [creation("k-1")]) for _ in range(4)]
    assert len({answer.wait()[0]["ticket"]["id"] for answer in answers}) == 1
    assert stored(database_url) == [1, 1]
