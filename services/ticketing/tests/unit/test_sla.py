"""SLA policies and clocks on business calendars (T4)."""
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


def clock(name, started, target, calendar=ALWAYS):
    return sla.start(sla.Policy("p", calendar, {name: target / timedelta(minutes=1)}), name, started)


def test_due_time_counts_business_hours_only():
    # opened Monday 17:00 Shanghai (09:00 UTC), 4 business hours: 1 h Monday + 3 h Tuesday -> Tue 12:00 (04:00 UTC)
    opened = clock("resolution", at(23, 9), timedelta(hours=4), OFFICE)
    assert opened.due_at == at(24, 4)
    assert opened.warn_at == at(24, 3, 12)   # 3 h 12 min: 1 h Monday + Tue 09:00-11:12 local


def test_a_pause_moves_the_due_time_by_the_paused_business_time():
    started = clock("resolution", at(23, 2), timedelta(hours=4), OFFICE)    # Mon 10:00 local, due Mon 14:00 local
    assert started.due_at == at(23, 6)
    paused = started.pause(at(23, 3))                                        # after 1 h
    assert paused.status(at(24, 8)) == sla.PAUSED
    resumed = paused.resume(OFFICE, at(24, 3))                               # Tue 11:00 local: 9 business hours paused
    assert resumed.paused == timedelta(hours=9)
    assert resumed.due_at == at(24, 6)                                       # 3 h left -> Tue 14:00 local
    assert resumed.elapsed(OFFICE, at(24, 4)) == timedelta(hours=2)


def test_the_paused_clock_counts_nothing_while_paused():
    paused = clock("first_response", at(23, 0), timedelta(hours=1)).pause(at(23, 0, 30))
    assert paused.elapsed(ALWAYS, at(23, 5)) == timedelta(minutes=30)
    view = paused.view(ALWAYS, at(23, 5))
    assert (view["status"], view["elapsed_seconds"], view["remaining_seconds"]) == ("paused", 1800, 1800)


def test_stopped_before_due_is_met_after_due_is_breached():
    running = clock("first_response", at(23, 0), timedelta(hours=1))
    assert running.stop(ALWAYS, at(23, 0, 59)).status(at(24, 0)) == sla.MET
    assert running.stop(ALWAYS, at(23, 1)).status(at(24, 0)) == sla.MET     # due is inclusive
    late = running.stop(ALWAYS, at(23, 1, 1))
    assert late.status(at(24, 0)) == sla.BREACHED
    assert late.view(ALWAYS, at(24, 0))["remaining_seconds"] == -60


def test_a_running_clock_is_breached_from_its_due_time():
    running = clock("resolution", at(23, 0), timedelta(hours=2))
    assert running.status(at(23, 1, 59)) == sla.RUNNING
    assert running.status(at(23, 2)) == sla.BREACHED


def test_stopping_a_paused_clock_ends_the_pause_first():
    paused = clock("resolution", at(23, 0), timedelta(hours=2)).pause(at(23, 1))
    stopped = paused.stop(ALWAYS, at(23, 5))
    assert stopped.paused == timedelta(hours=4) and stopped.paused_at is None
    assert stopped.elapsed(ALWAYS, at(25, 0)) == timedelta(hours=1)


def test_reopening_resumes_the_resolution_clock_with_the_resolved_time_as_a_pause():
    resolved = clock("resolution", at(23, 0), timedelta(hours=8)).stop(ALWAYS, at(23, 2))
    reopened = resolved.resume(ALWAYS, at(23, 10))
    assert reopened.stopped_at is None and reopened.paused == timedelta(hours=8)
    assert reopened.due_at == at(23, 16)
    assert reopened.status(at(23, 11)) == sla.RUNNING


def test_reopening_a_breached_resolution_keeps_its_due_time():
    late = clock("resolution", at(23, 0), timedelta(hours=1)).stop(ALWAYS, at(23, 2))
    assert late.resume(ALWAYS, at(23, 10)).due_at == at(23, 1)


def test_pausing_or_stopping_twice_changes_nothing():
    paused = clock("update", at(23, 0), timedelta(hours=1)).pause(at(23, 0, 10))
    assert paused.pause(at(23, 0, 20)) == paused
    stopped = paused.stop(ALWAYS, at(23, 0, 30))
    assert stopped.stop(ALWAYS, at(23, 0, 50)) == stopped


def test_a_ticket_ending_without_a_reply_cancels_a_reply_clock_unless_it_was_due():
    first = clock("first_response", at(23, 0), timedelta(minutes=10))
    assert first.finish(ALWAYS, at(23, 0, 10)).status(at(24, 0)) == sla.CANCELLED    # by its due time, as met is
    assert first.finish(ALWAYS, at(23, 0, 11)).status(at(24, 0)) == sla.BREACHED     # due at 00:10: breached
    waiting = first.pause(at(23, 0, 5))                                              # paused before due
    assert waiting.finish(ALWAYS, at(23, 5)).status(at(24, 0)) == sla.CANCELLED
    assert clock("update", at(23, 0), timedelta(minutes=10)).finish(ALWAYS, at(23, 0, 1)).cancelled
    resolution = clock("resolution", at(23, 0), timedelta(hours=1)).finish(ALWAYS, at(23, 0, 30))
    assert resolution.status(at(24, 0)) == sla.MET and resolution.stopped_at == at(23, 0, 30)


def test_a_pause_that_begins_after_the_due_time_does_not_move_it():
    paused = clock("resolution", at(23, 0), timedelta(hours=1)).pause(at(23, 2))    # due 01:00: an hour late
    assert paused.status(at(23, 5)) == sla.BREACHED                           # due, and stays due
    resumed = paused.resume(ALWAYS, at(23, 4))
    assert (resumed.due_at, resumed.warn_at) == (at(23, 1), at(23, 0, 48))
    assert resumed.elapsed(ALWAYS, at(23, 5)) == timedelta(hours=3)           # the pause still counts nothing
    assert resumed.stop(ALWAYS, at(23, 5)).status(at(23, 5)) == sla.BREACHED


def test_a_pause_between_the_warning_and_the_due_time_moves_only_the_due_time():
    running = clock("resolution", at(23, 0), timedelta(hours=1))
    resumed = running.pause(at(23, 0, 50)).resume(ALWAYS, at(23, 2, 50))
    assert (resumed.warn_at, resumed.due_at) == (at(23, 0, 48), at(23, 3))


# -- the property: a clock's due time is where it has counted its target, and stays there once passed
ZONES = ("UTC", "Asia/Shanghai", "Europe/Berlin", "America/New_York")


@st.composite
def calendars(draw):
    """Random office hours: each weekday none, one or two windows, in a zone with or without DST."""
    days = {}
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        marks = sorted(draw(st.lists(st.integers(0, 48), min_size=0, max_size=4, unique=True)))
        days[day] = [f"{a // 2:02d}:{a % 2 * 30:02d}-{b // 2:02d}:{b % 2 * 30:02d}"
                     for a, b in zip(marks[::2], marks[1::2])]
    if not any(days.values()):
        days["wed"] = ["09:00-17:00"]
    return BusinessCalendar.from_config({"timezone": draw(st.sampled_from(ZONES)), "windows": days})


def counted(calendar, clock, pauses, t):
    """Business time in [start, t) outside the pauses: what the clock has counted by ``t``, from first principles."""
    inside = sum((calendar.elapsed(max(a, clock.started_at), min(b, t)) for a, b in pauses), timedelta(0))
    return calendar.elapsed(clock.started_at, t) - inside


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendar=calendars(), start=st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31), timezones=st.just(UTC)),
       minutes=st.integers(1, 3 * 24 * 60), gaps=st.lists(st.integers(0, 6 * 24 * 60), min_size=2, max_size=8))
def test_property_the_due_time_is_where_the_target_is_counted_and_never_moves_once_passed(
        calendar, start, minutes, gaps):
    clock = sla.start(sla.Policy("p", calendar, {"resolution": minutes}), "resolution", start)
    pauses, t = [], start
    for i, gap in enumerate(gaps):         # alternately pause and resume, ``gap`` minutes after the last change
        t += timedelta(minutes=gap)
        before = clock
        if i % 2 == 0:
            clock = clock.pause(t)
        else:
            clock = clock.resume(calendar, t)
            pauses.append((before.paused_at, t))
        for mark in ("due_at", "warn_at"):
            if getattr(before, mark) <= (before.paused_at or t):   # counted up to: it stays where it was
                assert getattr(clock, mark) == getattr(before, mark)
        if clock.paused_at is None or clock.paused_at >= clock.due_at:   # (an early pause leaves due open)
            assert counted(calendar, clock, pauses, clock.due_at) == clock.target
            assert counted(calendar, clock, pauses, clock.warn_at) == clock.target * sla.DEFAULT_WARN_SHARE
    assert clock.elapsed(calendar, t) == counted(calendar, clock, pauses, clock.paused_at or t)
