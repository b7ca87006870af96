"""The agent workspace's rules (views, mentions, links) and, on an SQLite session with a clock of the
test's, presence expiry and the capped count of a view."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from plumbing.errors import NotFound
from plumbing.paging import capped_count
from plumbing.unit_of_work import Unit
from ticketing.collaboration import handlers as collaboration
from ticketing.collaboration import rules as collab
from ticketing.models import Base, Ticket, TicketPresence
from ticketing.views import handlers as views
from ticketing.views import rules

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("body, names", [
    ("@sue please check, and @Tom.Li.", ["sue", "tom.li"]),
    ("mail bob@example.com or @ann-, @ann again", ["ann"]),
    ("(@li_na) @x @" + "a" * 70, ["li_na", "a" * 64]),
    ("no mention here", []),
])
def test_mentions_are_usernames_after_an_at_sign_not_mail_addresses(body, names):
    assert collab.mentioned(body) == names


def test_relative_values_resolve_when_the_view_runs():
    filters, special = rules.resolve({"assignee": "@me", "team": "@my_teams", "state": "@open",
                                      "due_before": "now+90m", "priority": "high"}, "ann", ["tech", "billing"], NOW)
    assert filters == {"assignee": "ann", "due_before": (NOW + timedelta(minutes=90)).isoformat(), "priority": "high"}
    assert special == {"teams": ("billing", "tech"), "states": ("new", "assigned", "in_progress", "waiting_customer")}
    assert rules.resolve({"assignee": "@none", "due_before": "now-2d"}, None, None, NOW) == (
        {"due_before": (NOW - timedelta(days=2)).isoformat()}, {"unassigned": True})
    assert rules.relative_time("now", NOW) == NOW


def test_a_saved_query_is_checked_with_stand_ins_for_its_relative_values():
    assert rules.with_stand_ins({"assignee": "@me", "due_before": "now+1h", "state": "@open", "tag": "vip"}) == {
        "assignee": "someone", "due_before": "2000-01-01T00:00:00+00:00", "state": "new", "tag": "vip"}
    assert rules.with_stand_ins({"due_before": "tomorrow"}) == {"due_before": "tomorrow"}  # the field refuses it
    assert rules.query_problems({"page": 2, "state": "new"}) == {"page": ["not a filter of the ticket list"]}


@pytest.mark.parametrize("visibility, team, owner, roles, teams, sees, changes", [
    ("personal", None, "ann", ["agent"], ["billing"], True, True),
    ("personal", None, "bob", ["supervisor"], ["billing"], False, False),
    ("team", "billing", "sue", ["agent"], ["billing"], True, False),
    ("team", "billing", "sue", ["supervisor"], ["billing"], True, True),
    ("team", "billing", "sue", ["supervisor"], ["tech"], False, False),
    ("everyone", None, "admin", ["agent"], [], True, False),
    ("personal", None, "bob", ["admin"], [], True, True),
])
def test_who_sees_and_changes_a_view(visibility, team, owner, roles, teams, sees, changes):
    assert rules.sees(visibility, team, owner, "ann", roles, teams) is sees
    assert rules.changes(visibility, team, owner, "ann", roles, teams) is changes


def test_links_are_stored_parent_to_child_and_related_once():
    assert collab.stored_link(5, 9, "parent") == (9, 5, "parent")
    assert collab.stored_link(5, 9, "child") == (5, 9, "parent")
    assert collab.stored_link(9, 5, "related") == (5, 9, "related")
    assert collab.kind_for(5, 5, "parent") == "child" and collab.kind_for(9, 5, "parent") == "parent"


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'ticketing.db'}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def call(engine, fn, *args, actor="ann", teams=("billing",), clock=lambda: NOW):
    """``fn(uow, *args)`` as one RPC: a session of its own, closed after."""
    with Session(engine, expire_on_commit=False) as session:
        return fn(Unit.on_session(session, actor=actor, roles=["agent"], teams=list(teams), clock=clock), *args)


def add_tickets(engine, count, **fields):
    with Session(engine) as session, session.begin():
        session.add_all(Ticket(subject=f"t{n}", channel="phone", kind="inquiry", priority="normal", state="new",
                               customer_name="Li", customer_contact="+86 138 0000 0000", team="billing",
                               created_at=NOW, updated_at=NOW, **fields) for n in range(count))


def test_presence_lasts_a_minute_after_the_last_heartbeat_and_is_pruned_then(engine):
    add_tickets(engine, 1)
    clock = [NOW]

    def at(fn, *args, actor):
        return call(engine, fn, *args, actor=actor, clock=lambda: clock[0])
    assert at(collaboration.heartbeat, 1, {"activity": "viewing"}, actor="ann")["items"] == []
    clock[0] += timedelta(seconds=30)
    [bob_sees] = at(collaboration.heartbeat, 1, {"activity": "replying"}, actor="bob")["items"]
    assert (bob_sees["username"], bob_sees["activity"]) == ("ann", "viewing")
    clock[0] += timedelta(seconds=31)  # ann's heartbeat is 61 s old
    assert at(collaboration.presence, 1, actor="bob")["items"] == []
    assert [item["username"] for item in at(collaboration.presence, 1, actor="ann")["items"]] == ["bob"]
    assert at(collaboration.prune_presence, actor=None) == 1
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(TicketPresence)) == 1
    with pytest.raises(NotFound):
        call(engine, collaboration.presence, 1, actor="tom", teams=["tech"])


def test_a_heartbeat_keeps_the_activitys_start_and_a_new_activity_starts_again(engine):
    add_tickets(engine, 1)
    clock = [NOW]

    def at(fn, *args, actor):
        return call(engine, fn, *args, actor=actor, clock=lambda: clock[0])
    at(collaboration.heartbeat, 1, {"activity": "viewing"}, actor="ann")
    clock[0] += timedelta(seconds=20)
    at(collaboration.heartbeat, 1, {"activity": "viewing"}, actor="ann")
    [seen] = at(collaboration.presence, 1, actor="bob")["items"]
    assert seen["since"] == NOW.isoformat() and seen["expires_at"] == (clock[0] + timedelta(seconds=60)).isoformat()
    at(collaboration.heartbeat, 1, {"activity": "replying"}, actor="ann")
    [seen] = at(collaboration.presence, 1, actor="bob")["items"]
    assert (seen["activity"], seen["since"]) == ("replying", clock[0].isoformat())


def test_a_views_count_stops_at_the_cap_and_says_so(engine):
    add_tickets(engine, 5)
    add_tickets(engine, 2, assignee="ann")

    def counts(uow):
        _, extra = views.run_conditions(uow, views.builtin("unassigned"))
        return [capped_count(uow.session, Ticket, extra, cap=3), capped_count(uow.session, Ticket, extra, cap=5),
                views.count_view(uow, views.builtin("mine"))]
    assert call(engine, counts) == [(3, False), (5, True), {"count": 2, "capped": False}]


@pytest.mark.parametrize("view_id", ["²", "١٢", "9" * 5000, "2147483648", "0", "-1", "x"])
def test_a_view_id_that_is_no_saved_views_number_is_not_found(engine, view_id):
    with pytest.raises(NotFound):
        call(engine, views.get_view, view_id)
