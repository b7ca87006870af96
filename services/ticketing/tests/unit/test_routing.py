from datetime import datetime, timezone

import pytest

from ticketing.routing import rules as routing
from ticketing.routing.rules import Candidate, Need


def at(hour):
    return datetime(2026, 11, 23, hour, tzinfo=timezone.utc)


def agent(name, **overrides):
    values = dict(username=name, teams=frozenset({"billing"}), skills=frozenset({"en", "zh"}), capacity=5,
                  open_tickets=0, on_duty=True, cleared=True, last_assigned_at=None)
    values.update(overrides)
    return Candidate(**values)


@pytest.mark.parametrize("overrides, reason", [
    ({"on_duty": False}, None),
    ({"cleared": False}, "holds no valid certification that clears them for duty"),
    ({"active": False}, "is deactivated"),
    ({"open_tickets": 5}, None),
])
def test_who_cannot_take_a_ticket(overrides, reason):
    candidate = agent("ann", **overrides)
    assert not routing.can_take(candidate, Need())
    assert routing.not_cleared_reason(candidate) == reason


def test_team_and_skills_must_match():
    ann = agent("ann")
    assert routing.can_take(ann, Need("billing", frozenset({"zh"})))
    assert not routing.can_take(ann, Need("logistics"))
    assert not routing.can_take(ann, Need(None, frozenset({"fr"})))


def test_round_robin_gives_it_to_whoever_waited_longest():
    agents = [agent("ann", last_assigned_at=at(9)), agent("bob", last_assigned_at=at(8)), agent("cid", open_tickets=4,
                                                                                              last_assigned_at=at(10))]
    assert routing.choose(agents, Need()).username == "bob"
    assert routing.choose([agent("zed"), agent("amy"), agent("bob", last_assigned_at=at(1))], Need()).username == "amy"


def test_least_loaded_gives_it_to_whoever_has_fewest_open_tickets_then_waited_longest():
    agents = [agent("ann", open_tickets=2, last_assigned_at=at(1)), agent("bob", open_tickets=1, last_assigned_at=at(9)),
              agent("cid", open_tickets=1, last_assigned_at=at(8))]
    assert routing.choose(agents, Need(), routing.LEAST_LOADED).username == "cid"


def test_nobody_eligible_means_the_ticket_waits():
    assert routing.choose([agent("ann", on_duty=False), agent("bob", cleared=False)], Need()) is None


def test_an_unknown_agent_is_not_cleared():
    assert routing.not_cleared_reason(None) == "is not a known agent"
