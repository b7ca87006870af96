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


def waiting(ticket_id, priority="normal", due_at=None, created_at=None):
    return routing.Waiting(ticket_id, priority, due_at, created_at or at(ticket_id))


def test_an_urgent_ticket_goes_before_an_older_normal_one():
    older_normal, newer_urgent = waiting(1, "normal", due_at=at(9)), waiting(5, "urgent", due_at=at(12))
    assert [w.ticket_id for w in routing.queue_order([older_normal, newer_urgent])] == [5, 1]


def test_within_a_priority_the_earliest_sla_due_time_goes_first_then_the_oldest():
    queue = [waiting(1, "high", due_at=at(11)), waiting(2, "high", due_at=at(10)), waiting(3, "high"),
             waiting(4, "low", due_at=at(1)), waiting(5, "high", due_at=at(10)), waiting(6, "urgent")]
    # no SLA clock (no policy) comes after every due time of its priority; equal due times: the older first
    assert [w.ticket_id for w in routing.queue_order(queue)] == [6, 2, 5, 1, 3, 4]


def test_priorities_rank_urgent_high_normal_low():
    queue = [waiting(1, "low"), waiting(2, "normal"), waiting(3, "high"), waiting(4, "urgent")]
    assert [w.ticket_id for w in routing.queue_order(queue)] == [4, 3, 2, 1]


def test_a_team_is_staffed_while_one_of_its_agents_is_cleared_on_duty_or_not():
    staffing = routing.staffing([agent("ann", teams=frozenset({"billing"}), on_duty=False, open_tickets=5),
                                 agent("bob", teams=frozenset({"logistics"}), cleared=False),
                                 agent("cid", teams=frozenset({"vip"}), active=False)])
    assert staffing.covers("billing")
    assert not staffing.covers("logistics") and not staffing.covers("vip") and not staffing.covers("nobody")
    assert staffing.covers(None)  # a ticket in no team: any cleared agent may take it
    assert not routing.staffing([agent("bob", cleared=False)]).covers(None)
    assert not routing.staffing([]).covers("billing")


def test_a_new_ticket_waits_its_turn_only_behind_a_ticket_the_same_agent_could_take():
    ann = agent("ann", teams=frozenset({"billing"}))
    new_normal = waiting(9, "normal", due_at=at(12))
    urgent_billing, urgent_logistics = waiting(1, "urgent"), waiting(2, "urgent")
    needs = {1: Need("billing"), 2: Need("logistics"), 3: Need("billing")}
    assert routing.waits_its_turn(new_normal, [urgent_billing], needs, ann)
    assert not routing.waits_its_turn(new_normal, [urgent_logistics], needs, ann)  # not ann's to take
    assert not routing.waits_its_turn(new_normal, [waiting(3, "low")], needs, ann)  # behind it in the queue
    assert not routing.waits_its_turn(new_normal, [], needs, ann)
