"""Routing's timer pass costs nothing when nothing can move (issue 21): each agent's open tickets are
counted once per pass, not once per waiting ticket; when no on-duty cleared agent has room the pass
reads no waiting ticket; and it locks only the ticket it is assigning, so closing a waiting ticket
is never held up by a pass."""
import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from plumbing.db import make_engine
from plumbing.unit_of_work import Unit, utc_now
from ticketing import models
from ticketing.routing import handlers as routing
from ticketing.tickets import handlers as tickets
from ticketing.tickets import steps

CONFIG = {"REQUIRE_CERTIFICATION": "false"}
TICKET = {"subject": "Parcel lost", "channel": "email", "kind": "inquiry",
          "customer": {"name": "Liu Yang", "contact": "liu@example.com"}}
TIMER = dict(actor=None, roles=None)
LOAD_COUNT = re.compile(r"count\(\*\).*GROUP BY tickets\.assignee", re.S | re.I)
READS_QUEUE = re.compile(r"min\(sla_clocks\.due_at\)", re.I)  # the waiting tickets in queue order


def add_agent(database, name, capacity=10, on_duty=True, teams=()):
    with database() as session, session.begin():
        session.add(models.Agent(username=name, roles=["agent"], teams=list(teams), skills=[], capacity=capacity,
                                 on_duty=on_duty, active=True, staff_sequence=0))
        session.add(models.AgentCertification(agent=name, certification="onboarding", clears_for_duty=True))


def open_tickets(unit, count, **fields):
    return [tickets.create_ticket(unit(), dict(TICKET, **fields), CONFIG)["id"] for _ in range(count)]


@contextmanager
def statements(database):
    """The SQL statements run on the database's engine meanwhile (no BEGIN/COMMIT/PRAGMA)."""
    engine = database.kw["bind"]
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().split(None, 1)[0].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE"):
            seen.append(statement)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def a_pass(unit, database):
    with statements(database) as seen:
        routed = routing.route_waiting(unit(**TIMER), CONFIG)
    return routed, seen


@pytest.mark.parametrize("waiting", [3, 40])
def test_a_pass_when_nobody_has_room_reads_no_waiting_ticket_and_costs_the_same_whatever_waits(
        unit, database, waiting):
    for name in ("ann", "bob", "cid"):
        add_agent(database, name, capacity=1)
    open_tickets(unit, 3)  # one each: everyone is full now
    open_tickets(unit, waiting)

    routed, seen = a_pass(unit, database)
    assert routed == 0
    assert len(seen) <= 4, seen  # the agents, their clearance, their loads (one statement), the unstaffed
    assert len([s for s in seen if LOAD_COUNT.search(s)]) == 1
    assert not [s for s in seen if READS_QUEUE.search(s)], "no waiting ticket read when nobody has room"


def test_a_pass_that_assigns_counts_the_loads_once_and_fills_each_agent_up_to_capacity(unit, database):
    waiting = open_tickets(unit, 12)  # nobody on duty yet: all wait
    add_agent(database, "ann", capacity=4)
    add_agent(database, "bob", capacity=5)
    add_agent(database, "off", capacity=9, on_duty=False)

    routed, seen = a_pass(unit, database)
    assert routed == 9
    assert len([s for s in seen if LOAD_COUNT.search(s)]) == 1, "one count of loads per pass, not per ticket"
    assignees = [tickets.get_ticket(unit(), ticket_id)["assignee"] for ticket_id in waiting]
    assert assignees.count("ann") == 4 and assignees.count("bob") == 5 and assignees.count(None) == 3
    assert assignees[:9].count(None) == 0  # the oldest first (same priority, no SLA policy)

    routed, seen = a_pass(unit, database)  # everyone full again: nothing read, nothing moved
    assert routed == 0 and len(seen) <= 4


def test_a_pass_respects_the_queue_and_each_agents_team(unit, database):
    add_agent(database, "ann", capacity=1, teams=["billing"])
    add_agent(database, "bob", capacity=5, teams=["logistics"])
    add_agent(database, "cid", capacity=2, teams=["billing"])
    with database() as session, session.begin():  # everyone off duty while tickets come in
        for agent in session.scalars(select(models.Agent)):
            agent.on_duty = False
    normal = open_tickets(unit, 2, team="billing")
    urgent = open_tickets(unit, 2, team="billing", priority="urgent")
    parcel = open_tickets(unit, 1, team="logistics")
    with database() as session, session.begin():
        for agent in session.scalars(select(models.Agent)):
            agent.on_duty = True

    assert routing.route_waiting(unit(**TIMER), CONFIG) == 4
    assigned = {ticket_id: tickets.get_ticket(unit(), ticket_id)["assignee"] for ticket_id in normal + urgent + parcel}
    assert {assigned[ticket_id] for ticket_id in urgent} == {"ann", "cid"}  # urgent first, round robin
    assert [assigned[ticket_id] for ticket_id in normal] == ["cid", None]  # ann is full, cid has one more
    assert assigned[parcel[0]] == "bob"


# -- on PostgreSQL: locks ---------------------------------------------------------------------------
@pytest.fixture
def pg_database(migrated, postgres_url):
    engine = make_engine(migrated("ticketing", postgres_url))
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture
def pg_unit(pg_database):
    sessions = []

    def make(actor="alice", roles=None, clock=utc_now):
        sessions.append(pg_database())
        return Unit.on_session(sessions[-1], service="ticketing", outbox=models.outbox, inbox=models.inbox,
                               actor=actor, roles=roles, clock=clock)
    yield make
    for session in sessions:
        session.close()


def test_a_pass_locks_no_ticket_but_the_one_it_assigns_so_closing_another_is_not_held_up(
        pg_unit, pg_database, monkeypatch):
    waiting = open_tickets(pg_unit, 6)
    add_agent(pg_database, "ann", capacity=3)
    other = pg_database.kw["bind"].connect()
    seen = []  # (the ticket being assigned, the other tickets another connection could lock meanwhile)
    hand_to = steps.hand_to

    def assigning(uow, ticket, assignee, team):
        others = [ticket_id for ticket_id in waiting if ticket_id != ticket.id]
        with other.begin():
            try:
                locked = other.execute(text("SELECT id FROM tickets WHERE id = ANY(:ids) FOR UPDATE NOWAIT"),
                                       {"ids": others}).scalars().all()
            except OperationalError as exc:
                locked = f"held up: {exc.orig.pgcode}"
        seen.append((ticket.id, locked))
        if len(seen) == 1 and isinstance(locked, list):  # an agent closes the next in line meanwhile
            assert tickets.change_state(pg_unit(), waiting[1], {"state": "closed"})["state"] == "closed"
        return hand_to(uow, ticket, assignee, team)
    monkeypatch.setattr(steps, "hand_to", assigning)

    routed = routing.route_waiting(pg_unit(**TIMER), CONFIG)
    other.close()
    assert [(ticket_id, locked if isinstance(locked, str) else sorted(locked)) for ticket_id, locked in seen] == [
        (ticket_id, sorted(set(waiting) - {ticket_id})) for ticket_id in (waiting[0], waiting[2], waiting[3])]
    assert routed == 3
    closed = tickets.get_ticket(pg_unit(), waiting[1])
    assert (closed["state"], closed["assignee"]) == ("closed", None)  # found changed at its turn: left alone
