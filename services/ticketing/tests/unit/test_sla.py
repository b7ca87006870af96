"""SLA policies and clocks on business calendars (T4)."""
from datetime import datetime, timedelta, timezone

import pytest

from ticketing.sla import rules as sla
from ticketing.sla.calendar import BusinessCalendar

UTC = timezone.utc
ALWAYS = BusinessCalendar.always_open()
# Shanghai office hours, Mon-Fri 09:00-18:00 (01:00-10:00 UTC); 2026-11-23 is a Monday
OFFICE = BusinessCalendar.from_config({"timezone": "Asia/Shanghai",
                                       "windows": {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}})


def at(day, hour, minute=0):
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def policy(name, conditions=None, **targets):
    return sla.Policy(name, ALWAYS, targets or {"first_response": 60}, conditions or {})


def test_the_first_matching_policy_wins_and_the_default_catches_the_rest():
    policies = [policy("vip-urgent", {"priority": ["urgent"], "customer_tier": ["vip"]}),
                policy("urgent", {"priority": ["urgent"]}),
                policy("complaints", {"kind": ["complaint"]}),
                policy("default")]
    choose = lambda **facts: sla.choose_policy(policies, facts).name  # noqa: E731
    assert choose(priority="urgent", customer_tier="vip", kind="complaint") == "vip-urgent"
    assert choose(priority="urgent", customer_tier="standard", kind="complaint") == "urgent"
    assert choose(priority="low", customer_tier="vip", kind="complaint") == "complaints"
    assert choose(priority="low", customer_tier="vip", kind="inquiry") == "default"


def test_without_a_default_an_unmatched_ticket_has_no_policy():
    assert sla.choose_policy([policy("urgent", {"priority": ["urgent"]})], {"priority": "low"}) is None


def test_a_clock_without_a_target_is_not_started():
    assert sla.start(policy("p", first_response=30), "resolution", at(23, 1)) is None


def test_due_time_counts_business_hours_only():
    # opened Monday 17:00 Shanghai (09:00 UTC), 4 business hours: 1 h Monday + 3 h Tuesday -> Tue 12:00 (04:00 UTC)
    clock = sla.Clock("resolution", at(23, 9), timedelta(hours=4))
    assert clock.due(OFFICE) == at(24, 4)
    assert clock.warn_at(OFFICE, 0.8) == at(24, 3, 12)   # 3 h 12 min: 1 h Monday + Tue 09:00-11:12 local


def test_a_pause_moves_the_due_time_by_the_paused_business_time():
    clock = sla.Clock("resolution", at(23, 2), timedelta(hours=4))     # Mon 10:00 local, due Mon 14:00 local
    assert clock.due(OFFICE) == at(23, 6)
    paused = clock.pause(at(23, 3))                                      # after 1 h
    assert paused.status(OFFICE, at(24, 8)) == sla.PAUSED
    resumed = paused.resume(OFFICE, at(24, 3))                           # Tue 11:00 local: 9 business hours paused
    assert resumed.paused == timedelta(hours=9)
    assert resumed.due(OFFICE) == at(24, 6)                              # 3 h left -> Tue 14:00 local
    assert resumed.elapsed(OFFICE, at(24, 4)) == timedelta(hours=2)


def test_the_paused_clock_counts_nothing_while_paused():
    clock = sla.Clock("first_response", at(23, 0), timedelta(hours=1)).pause(at(23, 0, 30))
    assert clock.elapsed(ALWAYS, at(23, 5)) == timedelta(minutes=30)
    view = clock.view(ALWAYS, at(23, 5))
    assert (view["status"], view["elapsed_seconds"], view["remaining_seconds"]) == ("paused", 1800, 1800)


def test_stopped_before_due_is_met_after_due_is_breached():
    clock = sla.Clock("first_response", at(23, 0), timedelta(hours=1))
    assert clock.stop(ALWAYS, at(23, 0, 59)).status(ALWAYS, at(24, 0)) == sla.MET
    assert clock.stop(ALWAYS, at(23, 1)).status(ALWAYS, at(24, 0)) == sla.MET     # due is inclusive
    late = clock.stop(ALWAYS, at(23, 1, 1))
    assert late.status(ALWAYS, at(24, 0)) == sla.BREACHED
    assert late.view(ALWAYS, at(24, 0))["remaining_seconds"] == -60


def test_a_running_clock_is_breached_from_its_due_time():
    clock = sla.Clock("resolution", at(23, 0), timedelta(hours=2))
    assert clock.status(ALWAYS, at(23, 1, 59)) == sla.RUNNING
    assert clock.status(ALWAYS, at(23, 2)) == sla.BREACHED


def test_stopping_a_paused_clock_ends_the_pause_first():
    clock = sla.Clock("resolution", at(23, 0), timedelta(hours=2)).pause(at(23, 1))
    stopped = clock.stop(ALWAYS, at(23, 5))
    assert stopped.paused == timedelta(hours=4) and stopped.paused_at is None
    assert stopped.elapsed(ALWAYS, at(25, 0)) == timedelta(hours=1)


def test_reopening_resumes_the_resolution_clock_with_the_resolved_time_as_a_pause():
    clock = sla.Clock("resolution", at(23, 0), timedelta(hours=8)).stop(ALWAYS, at(23, 2))
    reopened = clock.resume(ALWAYS, at(23, 10))
    assert reopened.stopped_at is None and reopened.paused == timedelta(hours=8)
    assert reopened.due(ALWAYS) == at(23, 16)
    assert reopened.status(ALWAYS, at(23, 11)) == sla.RUNNING


def test_pausing_or_stopping_twice_changes_nothing():
    clock = sla.Clock("update", at(23, 0), timedelta(hours=1)).pause(at(23, 0, 10))
    assert clock.pause(at(23, 0, 20)) == clock
    stopped = clock.stop(ALWAYS, at(23, 0, 30))
    assert stopped.stop(ALWAYS, at(23, 0, 50)) == stopped
