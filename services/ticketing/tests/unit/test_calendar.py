"""Business-time arithmetic for SLA clocks (ticketing.sla.calendar).

Every expected value is worked out by hand in the comment next to it. The
office calendar used most is Asia/Shanghai (UTC+8 all year, no DST),
Monday-Friday 09:00-12:00 and 13:30-18:00: 3h + 4.5h = 7.5h a day.

Dates used: 2026-06-01 is a Monday (06-05 Fri, 06-06 Sat, 06-07 Sun, 06-08 Mon).
"""
import bisect
import dataclasses
from datetime import date, datetime, time, timedelta, timezone

import holidays as holidays_lib
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from zoneinfo import ZoneInfo

from ticketing.sla import calendar as calendar_module
from ticketing.sla.calendar import BusinessCalendar, CountryHolidays

UTC = timezone.utc
SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SANTIAGO = ZoneInfo("America/Santiago")
EPS = timedelta(microseconds=1)
ZERO = timedelta(0)


def H(hours):
    return timedelta(hours=hours)


def M(minutes):
    return timedelta(minutes=minutes)


def sh(y, mo, d, h=0, mi=0, s=0, us=0):
    """Shanghai wall-clock time (UTC+8)."""
    return datetime(y, mo, d, h, mi, s, us, tzinfo=SHANGHAI)


def utc(y, mo, d, h=0, mi=0, s=0, us=0):
    return datetime(y, mo, d, h, mi, s, us, tzinfo=UTC)


def local(zone, y, mo, d, h=0, mi=0, fold=0):
    return datetime(y, mo, d, h, mi, tzinfo=zone, fold=fold)


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def office(**extra):
    config = {"timezone": "Asia/Shanghai", "windows": {d: ["09:00-12:00", "13:30-18:00"] for d in WEEKDAYS}}
    config.update(extra)
    return BusinessCalendar.from_config(config)


def every_day(zone, *windows):
    return BusinessCalendar.from_config(
        {"timezone": zone, "windows": {d: list(windows) for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
    )


OFFICE = office()


# --------------------------------------------------------------- windows


def test_add_within_a_window():
    # Mon 09:15 + 2h = Mon 11:15 (+08:00) = 03:15 UTC
    result = OFFICE.add(sh(2026, 6, 1, 9, 15), H(2))
    assert result == utc(2026, 6, 1, 3, 15)
    assert result.tzinfo is UTC


def test_add_across_the_lunch_break():
    # Mon 11:00-12:00 = 1h, then 13:30 + 1h = 14:30
    assert OFFICE.add(sh(2026, 6, 1, 11), H(2)) == sh(2026, 6, 1, 14, 30)


def test_add_across_several_days_ends_on_the_closing_boundary():
    # Mon 17:00-18:00 = 1h; Tue 7.5h (8.5h); Wed 7.5h (16h) -> Wed 18:00 exactly,
    # the end of the last window, not Thu 09:00
    assert OFFICE.add(sh(2026, 6, 1, 17), H(16)) == sh(2026, 6, 3, 18)


def test_add_exactly_a_morning_ends_at_noon_not_after_lunch():
    # Mon 09:00 + 3h: the morning window ends at 12:00 (exclusive end) -> 12:00
    assert OFFICE.add(sh(2026, 6, 1, 9), H(3)) == sh(2026, 6, 1, 12)
    # Mon 09:00 + 7.5h = the whole day -> Mon 18:00
    assert OFFICE.add(sh(2026, 6, 1, 9), H(7.5)) == sh(2026, 6, 1, 18)


def test_add_from_before_opening():
    # Mon 07:00 is closed; clock starts at 09:00 -> 10:00
    assert OFFICE.add(sh(2026, 6, 1, 7), H(1)) == sh(2026, 6, 1, 10)


def test_add_from_after_closing():
    # Mon 19:00 closed -> Tue 09:00 + 1h = Tue 10:00
    assert OFFICE.add(sh(2026, 6, 1, 19), H(1)) == sh(2026, 6, 2, 10)


def test_add_from_the_lunch_break():
    # Mon 12:30 closed -> 13:30 + 30min = 14:00
    assert OFFICE.add(sh(2026, 6, 1, 12, 30), M(30)) == sh(2026, 6, 1, 14)


def test_add_skips_the_weekend():
    # Fri 17:00-18:00 = 1h; Sat, Sun closed; Mon 09:00 + 1h = Mon 06-08 10:00
    assert OFFICE.add(sh(2026, 6, 5, 17), H(2)) == sh(2026, 6, 8, 10)


def test_add_from_saturday_starts_on_monday():
    # Sat 10:00 closed -> Mon 09:00 + 1h
    assert OFFICE.add(sh(2026, 6, 6, 10), H(1)) == sh(2026, 6, 8, 10)


def test_add_a_week_of_business_time():
    # 37.5h = 5 days x 7.5h; from Mon 09:00 it ends Fri 18:00
    assert OFFICE.add(sh(2026, 6, 1, 9), H(37.5)) == sh(2026, 6, 5, 18)
    # one microsecond more spills to Mon 06-08 09:00:00.000001
    assert OFFICE.add(sh(2026, 6, 1, 9), H(37.5) + EPS) == sh(2026, 6, 8, 9, 0, 0, 1)


def test_add_zero_returns_the_start_even_when_closed():
    # Sat 10:00 Shanghai = Sat 02:00 UTC, returned as is (in UTC)
    result = OFFICE.add(sh(2026, 6, 6, 10), ZERO)
    assert result == utc(2026, 6, 6, 2)
    assert result.tzinfo is UTC
    assert OFFICE.add(sh(2026, 6, 1, 10), ZERO) == utc(2026, 6, 1, 2)


def test_add_microseconds_across_a_boundary():
    # 11:59:59.999999 + 1us = 12:00 (end of morning)
    assert OFFICE.add(sh(2026, 6, 1, 11, 59, 59, 999999), EPS) == sh(2026, 6, 1, 12)
    # + 2us: 1us before noon, 1us after 13:30
    assert OFFICE.add(sh(2026, 6, 1, 11, 59, 59, 999999), 2 * EPS) == sh(2026, 6, 1, 13, 30, 0, 1)


def test_add_accepts_any_input_zone():
    # 01:15 UTC = 09:15 Shanghai; + 2h = 11:15 Shanghai = 03:15 UTC
    assert OFFICE.add(utc(2026, 6, 1, 1, 15), H(2)) == utc(2026, 6, 1, 3, 15)
    # 03:15 in Berlin (CEST, +02:00) = 01:15 UTC: same instant, same answer
    assert OFFICE.add(local(BERLIN, 2026, 6, 1, 3, 15), H(2)) == utc(2026, 6, 1, 3, 15)


def test_elapsed_within_a_window():
    assert OFFICE.elapsed(sh(2026, 6, 1, 9, 15), sh(2026, 6, 1, 11, 15)) == H(2)


def test_elapsed_across_lunch():
    # 11:00-12:00 = 1h, 13:30-14:30 = 1h
    assert OFFICE.elapsed(sh(2026, 6, 1, 11), sh(2026, 6, 1, 14, 30)) == H(2)


def test_elapsed_window_end_is_exclusive():
    assert OFFICE.elapsed(sh(2026, 6, 1, 9), sh(2026, 6, 1, 12)) == H(3)
    # lunch adds nothing
    assert OFFICE.elapsed(sh(2026, 6, 1, 9), sh(2026, 6, 1, 13, 30)) == H(3)
    assert OFFICE.elapsed(sh(2026, 6, 1, 12), sh(2026, 6, 1, 13, 30)) == ZERO
    # first microsecond of the afternoon
    assert OFFICE.elapsed(sh(2026, 6, 1, 12), sh(2026, 6, 1, 13, 30, 0, 1)) == EPS


def test_elapsed_over_a_week_and_four_weeks():
    # 5 x 7.5h = 37.5h a week
    assert OFFICE.elapsed(sh(2026, 6, 1), sh(2026, 6, 8)) == H(37.5)
    # 4 weeks = 150h
    assert OFFICE.elapsed(sh(2026, 6, 1), sh(2026, 6, 29)) == H(150)


def test_elapsed_across_the_weekend():
    # Fri 17:00-18:00 (1h) + Mon 09:00-10:00 (1h)
    assert OFFICE.elapsed(sh(2026, 6, 5, 17), sh(2026, 6, 8, 10)) == H(2)
    assert OFFICE.elapsed(sh(2026, 6, 6), sh(2026, 6, 8)) == ZERO


def test_elapsed_is_zero_when_end_is_not_after_start():
    assert OFFICE.elapsed(sh(2026, 6, 1, 11), sh(2026, 6, 1, 10)) == ZERO
    assert OFFICE.elapsed(sh(2026, 6, 1, 11), sh(2026, 6, 1, 11)) == ZERO


def test_elapsed_accepts_mixed_input_zones():
    # 01:15 UTC = 09:15 Shanghai -> 11:15 Shanghai is 2h
    assert OFFICE.elapsed(utc(2026, 6, 1, 1, 15), sh(2026, 6, 1, 11, 15)) == H(2)


@pytest.mark.parametrize(
    "at, expected",
    [
        (sh(2026, 6, 1, 9), True),  # start inclusive
        (sh(2026, 6, 1, 8, 59, 59, 999999), False),
        (sh(2026, 6, 1, 11, 59, 59, 999999), True),
        (sh(2026, 6, 1, 12), False),  # end exclusive
        (sh(2026, 6, 1, 13, 30), True),
        (sh(2026, 6, 1, 17, 59, 59, 999999), True),
        (sh(2026, 6, 1, 18), False),
        (sh(2026, 6, 6, 10), False),  # Saturday
        (sh(2026, 6, 7, 10), False),  # Sunday
    ],
)
def test_is_open_at_boundaries(at, expected):
    assert OFFICE.is_open(at) is expected


def test_next_open():
    # open: itself, in UTC (10:00 Shanghai = 02:00 UTC)
    assert OFFICE.next_open(sh(2026, 6, 1, 10)) == utc(2026, 6, 1, 2)
    assert OFFICE.next_open(sh(2026, 6, 1, 10)).tzinfo is UTC
    # before opening -> 09:00
    assert OFFICE.next_open(sh(2026, 6, 1, 7)) == sh(2026, 6, 1, 9)
    # lunch -> 13:30
    assert OFFICE.next_open(sh(2026, 6, 1, 12, 30)) == sh(2026, 6, 1, 13, 30)
    # at 12:00 exactly (end of window, closed) -> 13:30
    assert OFFICE.next_open(sh(2026, 6, 1, 12)) == sh(2026, 6, 1, 13, 30)
    # Mon 18:00 -> Tue 09:00
    assert OFFICE.next_open(sh(2026, 6, 1, 18)) == sh(2026, 6, 2, 9)
    # Fri 18:30 and Sat -> Mon 09:00
    assert OFFICE.next_open(sh(2026, 6, 5, 18, 30)) == sh(2026, 6, 8, 9)
    assert OFFICE.next_open(sh(2026, 6, 6, 12)) == sh(2026, 6, 8, 9)


def test_naive_datetimes_are_rejected():
    naive = datetime(2026, 6, 1, 10)
    with pytest.raises(ValueError, match="naive"):
        OFFICE.is_open(naive)
    with pytest.raises(ValueError, match="naive"):
        OFFICE.add(naive, H(1))
    with pytest.raises(ValueError, match="naive"):
        OFFICE.next_open(naive)
    with pytest.raises(ValueError, match="naive"):
        OFFICE.elapsed(naive, sh(2026, 6, 2))
    with pytest.raises(ValueError, match="naive"):
        OFFICE.elapsed(sh(2026, 6, 2), naive)


def test_negative_or_non_timedelta_duration_is_rejected():
    with pytest.raises(ValueError, match="negative"):
        OFFICE.add(sh(2026, 6, 1, 10), -EPS)
    with pytest.raises(ValueError, match="duration"):
        OFFICE.add(sh(2026, 6, 1, 10), 3600)


# -------------------------------------------------------------- midnight

NIGHTS = every_day("Asia/Shanghai", "00:00-06:00", "22:00-24:00")  # 8h a day


def test_night_shift_add_runs_through_midnight():
    # Mon 23:00-24:00 = 1h, Tue 00:00-01:00 = 1h -> Tue 01:00
    assert NIGHTS.add(sh(2026, 6, 1, 23), H(2)) == sh(2026, 6, 2, 1)


def test_night_shift_add_ending_at_midnight_returns_midnight():
    # Mon 22:00 + 2h = 24:00 = Tue 00:00; earliest instant, and the next window starts there too
    assert NIGHTS.add(sh(2026, 6, 1, 22), H(2)) == sh(2026, 6, 2, 0)


def test_night_shift_elapsed_and_is_open_across_midnight():
    # Mon 22:00-24:00 (2h) + Tue 00:00-06:00 (6h)
    assert NIGHTS.elapsed(sh(2026, 6, 1, 22), sh(2026, 6, 2, 6)) == H(8)
    assert NIGHTS.is_open(sh(2026, 6, 2, 0)) is True
    assert NIGHTS.is_open(sh(2026, 6, 1, 23, 59, 59, 999999)) is True
    assert NIGHTS.is_open(sh(2026, 6, 2, 6)) is False
    # Tue 06:00 closed -> Tue 22:00
    assert NIGHTS.next_open(sh(2026, 6, 2, 6)) == sh(2026, 6, 2, 22)
    # a whole day: 00-06 + 22-24 = 8h
    assert NIGHTS.elapsed(sh(2026, 6, 3), sh(2026, 6, 4)) == H(8)


def test_weeknight_shift_skips_the_weekend():
    # shift starts Mon-Fri at 22:00 and runs to 06:00 the next morning
    cal = BusinessCalendar.from_config(
        {
            "timezone": "Asia/Shanghai",
            "windows": {
                "mon": ["22:00-24:00"],
                "tue": ["00:00-06:00", "22:00-24:00"],
                "wed": ["00:00-06:00", "22:00-24:00"],
                "thu": ["00:00-06:00", "22:00-24:00"],
                "fri": ["00:00-06:00", "22:00-24:00"],
                "sat": ["00:00-06:00"],
            },
        }
    )
    # Fri 22:00 - Sat 06:00 = 8h
    assert cal.elapsed(sh(2026, 6, 5, 22), sh(2026, 6, 6, 6)) == H(8)
    # Fri 23:00-24:00 (1h) + Sat 00:00-06:00 (6h) = 7h; Sun closed; Mon 22:00 + 1h = 23:00
    assert cal.add(sh(2026, 6, 5, 23), H(8)) == sh(2026, 6, 8, 23)


def test_window_ending_at_24_00_given_as_time_zero():
    cal = BusinessCalendar(timezone="Asia/Shanghai", windows={0: [(time(20), time(0))]})
    # Mon 20:00 + 4h = 24:00 = Tue 06-02 00:00
    assert cal.add(sh(2026, 6, 1, 20), H(4)) == sh(2026, 6, 2)
    assert cal.is_open(sh(2026, 6, 2)) is False
    assert cal.elapsed(sh(2026, 6, 1), sh(2026, 6, 8)) == H(4)
    # next Monday evening
    assert cal.next_open(sh(2026, 6, 2)) == sh(2026, 6, 8, 20)


def test_full_day_window():
    cal = BusinessCalendar.from_config(
        {"timezone": "Asia/Shanghai", "windows": {"mon": ["00:00-24:00"], "tue": ["00:00-24:00"]}}
    )
    assert cal.elapsed(sh(2026, 6, 1), sh(2026, 6, 3)) == H(48)
    # Mon 12:00 + 24h = Tue 12:00
    assert cal.add(sh(2026, 6, 1, 12), H(24)) == sh(2026, 6, 2, 12)
    # Tue 12:00 + 24h: Tue 12h left, Wed-Sun closed, Mon 06-08 00:00 + 12h
    assert cal.add(sh(2026, 6, 2, 12), H(24)) == sh(2026, 6, 8, 12)
    assert cal.is_open(sh(2026, 6, 1, 23, 59)) is True


def test_always_open_is_plain_time():
    cal = BusinessCalendar.always_open()
    start = utc(2026, 6, 6, 13, 7)
    assert cal.add(start, timedelta(days=10, minutes=3)) == start + timedelta(days=10, minutes=3)
    assert cal.elapsed(start, utc(2026, 7, 1)) == utc(2026, 7, 1) - start
    assert cal.next_open(start) == start
    assert cal.is_open(start) is True
    assert cal.timezone == "UTC"


def test_always_open_counts_absolute_time_across_dst():
    cal = BusinessCalendar.always_open("Europe/Berlin")
    # 2026-03-29 has 23 real hours in Berlin, 2026-10-25 has 25
    assert cal.elapsed(local(BERLIN, 2026, 3, 29), local(BERLIN, 2026, 3, 30)) == H(23)
    assert cal.elapsed(local(BERLIN, 2026, 10, 25), local(BERLIN, 2026, 10, 26)) == H(25)
    # Sat 03-28 12:00 CET = 11:00 UTC; + 48h absolute = 03-30 11:00 UTC
    assert cal.add(local(BERLIN, 2026, 3, 28, 12), H(48)) == utc(2026, 3, 30, 11)


# -------------------------------------------------------------- holidays


def test_explicit_holiday_is_closed():
    cal = office(holidays=["2026-06-03"])  # Wednesday
    # Tue 17:00-18:00 (1h); Wed closed; Thu 09:00 + 1h
    assert cal.add(sh(2026, 6, 2, 17), H(2)) == sh(2026, 6, 4, 10)
    # Tue 7.5h + Thu 7.5h (Wed is a holiday)
    assert cal.elapsed(sh(2026, 6, 2), sh(2026, 6, 5)) == H(15)
    assert cal.is_open(sh(2026, 6, 3, 10)) is False
    assert cal.next_open(sh(2026, 6, 3, 10)) == sh(2026, 6, 4, 9)


def test_holiday_on_a_weekend_changes_nothing():
    cal = office(holidays=["2026-06-06"])  # Saturday
    assert cal.add(sh(2026, 6, 5, 17), H(2)) == sh(2026, 6, 8, 10)


def test_holidays_library_knows_china_2026_as_assumed():
    # the values the CN tests below rely on, as holidays 0.109 reports them
    cn = holidays_lib.country_holidays("CN", years=2026)
    assert "National Day" in cn.get(date(2026, 10, 1))
    october = {d for d in cn if d.month == 10}
    assert october == {date(2026, 10, d) for d in (1, 2, 3, 5, 6, 7)}
    spring = {d for d in cn if d.month == 2}
    assert spring == {date(2026, 2, d) for d in (16, 17, 18, 19, 20, 23)}
    assert {date(2026, 1, 1), date(2026, 1, 2)} <= set(cn)
    # make-up working weekend days
    assert {date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 9, 20), date(2026, 10, 10)} <= set(
        cn.weekend_workdays
    )


OFFICE_HOURS = ["09:00-12:00", "13:30-18:00"]
CN = {"country": "CN", "make_up_day_windows": OFFICE_HOURS}
CN_OFFICE = office(country_holidays=[CN])


def test_cn_national_day_week_is_skipped():
    # Wed 09-30 17:00-18:00 (1h); Oct 1 Thu, 2 Fri holidays; 3 Sat, 4 Sun closed;
    # 5 Mon, 6 Tue, 7 Wed holidays; Thu 10-08 09:00 + 1h
    assert CN_OFFICE.add(sh(2026, 9, 30, 17), H(2)) == sh(2026, 10, 8, 10)
    assert CN_OFFICE.is_open(sh(2026, 10, 1, 10)) is False
    assert CN_OFFICE.next_open(sh(2026, 10, 1, 10)) == sh(2026, 10, 8, 9)


def test_cn_make_up_saturday_is_a_working_day():
    # Fri 10-09 17:00-18:00 (1h); Sat 10-10 is a make-up working day with the make-up windows: 09:00 + 1h
    assert CN_OFFICE.add(sh(2026, 10, 9, 17), H(2)) == sh(2026, 10, 10, 10)
    assert CN_OFFICE.is_open(sh(2026, 10, 10, 10)) is True
    assert CN_OFFICE.is_open(sh(2026, 10, 17, 10)) is False  # an ordinary Saturday


def test_cn_make_up_sunday_is_a_working_day():
    # Sun 2026-09-20 works (for the National Day break)
    assert CN_OFFICE.is_open(sh(2026, 9, 20, 9, 30)) is True
    # Sat 09-19 12:00 closed -> Sun 09-20 09:00
    assert CN_OFFICE.next_open(sh(2026, 9, 19, 12)) == sh(2026, 9, 20, 9)


def test_cn_elapsed_over_national_day():
    # Mon 09-28 .. Mon 10-12: 09-28, 09-29, 09-30 work; 10-01..10-07 off;
    # 10-08 Thu, 10-09 Fri, 10-10 Sat (make-up) work; 10-11 Sun off -> 6 days x 7.5h = 45h
    assert CN_OFFICE.elapsed(sh(2026, 9, 28), sh(2026, 10, 12)) == H(45)


def test_cn_elapsed_over_spring_festival():
    # Mon 02-09 .. Mon 03-02: Feb 9-13 (5 days), Sat 14 make-up (1); 16-20 off, 21-22 weekend,
    # 23 Mon off; 24-27 (4 days); Sat 28 make-up (1); Sun Mar 1 off -> 11 days x 7.5h = 82.5h
    assert CN_OFFICE.elapsed(sh(2026, 2, 9), sh(2026, 3, 2)) == H(82.5)


def test_cn_new_year_across_the_year_boundary():
    # Wed 2025-12-31 17:00-18:00 (1h); 2026-01-01 Thu, 01-02 Fri off; Sat 01-03 off;
    # Sun 01-04 make-up working day: 09:00 + 1h
    assert CN_OFFICE.add(sh(2025, 12, 31, 17), H(2)) == sh(2026, 1, 4, 10)


def test_cn_later_year_is_computed_when_needed():
    cn = holidays_lib.country_holidays("CN", years=2027)
    assert {d for d in cn if d.month == 10} == {date(2027, 10, d) for d in (1, 2, 3, 4, 5)}
    # Thu 2027-09-30 17:00-18:00 (1h); Oct 1 Fri off; 2 Sat, 3 Sun; 4 Mon, 5 Tue off; Wed 10-06 09:00 + 1h
    assert CN_OFFICE.add(sh(2027, 9, 30, 17), H(2)) == sh(2027, 10, 6, 10)


def test_explicit_working_day_beats_a_library_holiday():
    cal = office(country_holidays=[CN], working_days=[{"date": "2026-10-05", "windows": OFFICE_HOURS}])
    assert cal.is_open(sh(2026, 10, 5, 10)) is True
    # Wed 09-30 17:00 (1h); Mon 10-05 09:00 + 1h
    assert cal.add(sh(2026, 9, 30, 17), H(2)) == sh(2026, 10, 5, 10)


def test_explicit_holiday_beats_a_library_make_up_day():
    cal = office(country_holidays=[CN], holidays=["2026-10-10"])
    assert cal.is_open(sh(2026, 10, 10, 10)) is False
    # Fri 10-09 17:00 (1h); Sat 10-10 closed now; Mon 10-12 09:00 + 1h
    assert cal.add(sh(2026, 10, 9, 17), H(2)) == sh(2026, 10, 12, 10)


def test_explicit_make_up_saturday_without_a_country():
    cal = office(working_days=[{"date": "2026-06-06", "windows": OFFICE_HOURS}])
    # Fri 17:00 (1h); Sat 06-06 09:00 + 1h
    assert cal.add(sh(2026, 6, 5, 17), H(2)) == sh(2026, 6, 6, 10)
    assert cal.elapsed(sh(2026, 6, 6), sh(2026, 6, 7)) == H(7.5)


def test_an_extra_working_day_has_its_own_windows_up_to_24_00():
    cal = BusinessCalendar.from_config(
        {
            "timezone": "Asia/Shanghai",
            "windows": {"mon": ["09:00-12:00", "13:30-18:00"]},
            "working_days": [{"date": "2026-06-07", "windows": ["10:00-12:00", "20:00-24:00"]}],  # a Sunday
        }
    )
    # the Sunday has 10:00-12:00 and 20:00-24:00 = 6h
    assert cal.elapsed(sh(2026, 6, 7), sh(2026, 6, 8)) == H(6)
    # Sat 12:00 -> Sun 10:00 + 2h = 12:00, then 20:00 + 3h = Sun 23:00; 4h more ends at midnight exactly
    assert cal.add(sh(2026, 6, 6, 12), H(5)) == sh(2026, 6, 7, 23)
    assert cal.add(sh(2026, 6, 6, 12), H(6)) == sh(2026, 6, 8, 0)
    assert cal.working_days == {date(2026, 6, 7): ((time(10), time(12)), (time(20), time(0)))}


def test_country_make_up_days_stay_closed_without_make_up_windows():
    cal = office(country_holidays=[{"country": "CN"}])
    assert cal.is_open(sh(2026, 10, 10, 10)) is False  # Sat 10-10: China works, this desk does not
    assert cal.is_open(sh(2026, 10, 1, 10)) is False  # the holidays still close it


def test_a_subdivision_adds_its_own_holidays():
    # 2026-01-06 (Tue) is Epiphany in Bavaria (DE-BY), not in Berlin (DE-BE)
    berlin_hours = {"timezone": "Europe/Berlin", "windows": {d: ["09:00-17:00"] for d in WEEKDAYS}}
    bavaria = BusinessCalendar.from_config(
        dict(berlin_hours, country_holidays=[{"country": "DE", "subdivision": "BY"}]))
    berlin = BusinessCalendar.from_config(dict(berlin_hours, country_holidays=[{"country": "DE", "subdivision": "BE"}]))
    tuesday = local(BERLIN, 2026, 1, 6, 10)
    assert bavaria.is_open(tuesday) is False and berlin.is_open(tuesday) is True


def test_several_countries_close_on_each_ones_holidays():
    # 2026-07-01 (Wed) is HKSAR Establishment Day in Hong Kong, a working day in mainland China
    both = office(country_holidays=[CN, {"country": "HK"}])
    assert office(country_holidays=[CN]).is_open(sh(2026, 7, 1, 10)) is True
    assert both.is_open(sh(2026, 7, 1, 10)) is False
    assert both.is_open(sh(2026, 10, 10, 10)) is True  # China's make-up Saturday still opens


def test_country_holidays_are_computed_lazily_per_year(monkeypatch):
    calls = []
    real = holidays_lib.country_holidays

    def spy(country, *args, **kwargs):
        calls.append(kwargs.get("years"))
        return real(country, *args, **kwargs)

    monkeypatch.setattr(holidays_lib, "country_holidays", spy)
    monkeypatch.setattr(calendar_module, "_COUNTRY_YEARS", {})
    monkeypatch.setattr(calendar_module, "_COUNTRY_DAYS", {})
    monkeypatch.setattr(calendar_module, "_KNOWN_COUNTRIES", set())
    cal = office(country_holidays=[CN])
    assert calls == [None]  # construction only checks the code
    # 2026 dates only: its holidays, plus make-up days reported by the neighbouring years
    assert cal.add(sh(2026, 9, 30, 17), H(2)) == sh(2026, 10, 8, 10)
    assert sorted(y for y in calls if y is not None) == [2025, 2026, 2027]
    calls.clear()
    cal.add(sh(2026, 6, 1, 9), H(30))  # same year: cached
    office(country_holidays=[CN]).add(sh(2026, 3, 2, 9), H(30))  # caches are shared, the code check too
    assert calls == []


# ------------------------------------------------------------------- DST

BERLIN_NIGHT = every_day("Europe/Berlin", "01:00-05:00")  # spans 02:00-03:00


def test_berlin_spring_forward_window_is_an_hour_shorter():
    # Sun 2026-03-29: 01:00 CET = 00:00 UTC .. 05:00 CEST = 03:00 UTC -> 3h
    assert BERLIN_NIGHT.elapsed(local(BERLIN, 2026, 3, 29), local(BERLIN, 2026, 3, 30)) == H(3)
    # Sat 4h + Sun 3h
    assert BERLIN_NIGHT.elapsed(local(BERLIN, 2026, 3, 28), local(BERLIN, 2026, 3, 30)) == H(7)
    # 01:00 CET + 2h = 02:00 UTC = 04:00 CEST
    assert BERLIN_NIGHT.add(local(BERLIN, 2026, 3, 29, 1), H(2)) == utc(2026, 3, 29, 2)
    # + 3h = 03:00 UTC = 05:00 CEST, the window end
    assert BERLIN_NIGHT.add(local(BERLIN, 2026, 3, 29, 1), H(3)) == utc(2026, 3, 29, 3)
    # + 3h01: next window Mon 01:00 CEST = Sun 23:00 UTC, + 1min
    assert BERLIN_NIGHT.add(local(BERLIN, 2026, 3, 29, 1), H(3) + M(1)) == utc(2026, 3, 29, 23, 1)
    assert BERLIN_NIGHT.is_open(utc(2026, 3, 29, 2, 59)) is True
    assert BERLIN_NIGHT.is_open(utc(2026, 3, 29, 3)) is False


def test_berlin_fall_back_window_is_an_hour_longer():
    # Sun 2026-10-25: 01:00 CEST = Sat 23:00 UTC .. 05:00 CET = 04:00 UTC -> 5h
    assert BERLIN_NIGHT.elapsed(local(BERLIN, 2026, 10, 25), local(BERLIN, 2026, 10, 26)) == H(5)
    # Sat 4h + Sun 5h
    assert BERLIN_NIGHT.elapsed(local(BERLIN, 2026, 10, 24), local(BERLIN, 2026, 10, 26)) == H(9)
    start = local(BERLIN, 2026, 10, 25, 1)  # = 10-24 23:00 UTC
    # + 1h30 = 00:30 UTC = 02:30 CEST (first pass through 02:30)
    assert BERLIN_NIGHT.add(start, M(90)) == utc(2026, 10, 25, 0, 30)
    # + 2h30 = 01:30 UTC = 02:30 CET (second pass)
    assert BERLIN_NIGHT.add(start, M(150)) == utc(2026, 10, 25, 1, 30)
    # + 5h = 04:00 UTC = 05:00 CET, the window end
    assert BERLIN_NIGHT.add(start, H(5)) == utc(2026, 10, 25, 4)
    assert BERLIN_NIGHT.is_open(utc(2026, 10, 25, 3, 59)) is True
    assert BERLIN_NIGHT.is_open(utc(2026, 10, 25, 4)) is False


def test_berlin_window_inside_the_gap_is_empty_that_day():
    cal = BusinessCalendar.from_config({"timezone": "Europe/Berlin", "windows": {"sun": ["02:00-03:00"]}})
    # 02:00 and 03:00 both resolve to 01:00 UTC on 03-29 -> nothing
    assert cal.elapsed(local(BERLIN, 2026, 3, 29), local(BERLIN, 2026, 3, 30)) == ZERO
    assert cal.is_open(utc(2026, 3, 29, 1)) is False
    # the Sunday before is normal: 1h
    assert cal.elapsed(local(BERLIN, 2026, 3, 22), local(BERLIN, 2026, 3, 23)) == H(1)
    # from Sat 03-28 12:00 the next window is Sun 04-05 02:00 CEST = 00:00 UTC
    assert cal.next_open(local(BERLIN, 2026, 3, 28, 12)) == utc(2026, 4, 5)
    assert cal.add(local(BERLIN, 2026, 3, 28, 12), M(30)) == utc(2026, 4, 5, 0, 30)
    # on the fall-back day the same window is 02:00 CEST (00:00 UTC) .. 03:00 CET (02:00 UTC) = 2h
    assert cal.elapsed(local(BERLIN, 2026, 10, 25), local(BERLIN, 2026, 10, 26)) == H(2)


def test_berlin_boundary_in_the_gap_resolves_to_the_transition():
    cal = BusinessCalendar.from_config({"timezone": "Europe/Berlin", "windows": {"sun": ["02:30-05:00"]}})
    # 02:30 does not exist on 03-29 -> 03:00 CEST = 01:00 UTC; to 05:00 CEST = 03:00 UTC -> 2h
    assert cal.elapsed(local(BERLIN, 2026, 3, 29), local(BERLIN, 2026, 3, 30)) == H(2)
    # Sun 00:00 CET = Sat 23:00 UTC -> opens 01:00 UTC
    assert cal.next_open(local(BERLIN, 2026, 3, 29)) == utc(2026, 3, 29, 1)
    assert cal.add(local(BERLIN, 2026, 3, 29), M(1)) == utc(2026, 3, 29, 1, 1)
    # 02:30 on 10-25 is ambiguous -> first (CEST) = 00:30 UTC; to 05:00 CET = 04:00 UTC -> 3h30
    assert cal.elapsed(local(BERLIN, 2026, 10, 25), local(BERLIN, 2026, 10, 26)) == M(210)


def test_berlin_ambiguous_end_is_its_first_occurrence():
    cal = BusinessCalendar.from_config({"timezone": "Europe/Berlin", "windows": {"sun": ["00:00-02:30"]}})
    # 00:00 CEST = Sat 22:00 UTC .. 02:30 CEST (first) = 00:30 UTC -> 2h30
    assert cal.elapsed(local(BERLIN, 2026, 10, 25), local(BERLIN, 2026, 10, 26)) == M(150)
    assert cal.is_open(utc(2026, 10, 25, 0, 15)) is True  # 02:15 CEST
    assert cal.is_open(utc(2026, 10, 25, 1, 15)) is False  # 02:15 CET, the second pass
    assert cal.add(local(BERLIN, 2026, 10, 25), M(150)) == utc(2026, 10, 25, 0, 30)


def test_berlin_office_week_across_dst_weekends():
    cal = BusinessCalendar.from_config({"timezone": "Europe/Berlin", "windows": {d: ["09:00-17:00"] for d in WEEKDAYS}})
    # Fri 03-27 16:00 CET (1h to close); Mon 03-30 09:00 CEST + 1h = 10:00 CEST = 08:00 UTC
    assert cal.add(local(BERLIN, 2026, 3, 27, 16), H(2)) == utc(2026, 3, 30, 8)
    assert cal.elapsed(utc(2026, 3, 27, 15), utc(2026, 3, 30, 8)) == H(2)
    # Fri 10-23 16:00 CEST; Mon 10-26 10:00 CET = 09:00 UTC
    assert cal.add(local(BERLIN, 2026, 10, 23, 16), H(2)) == utc(2026, 10, 26, 9)
    # a whole week is 40h either side of a change
    assert cal.elapsed(local(BERLIN, 2026, 3, 23), local(BERLIN, 2026, 4, 6)) == H(80)


NY_EARLY = every_day("America/New_York", "00:00-06:00")


def test_new_york_spring_forward():
    # Sun 2026-03-08: 00:00 EST = 05:00 UTC .. 06:00 EDT = 10:00 UTC -> 5h
    assert NY_EARLY.elapsed(local(NEW_YORK, 2026, 3, 8), local(NEW_YORK, 2026, 3, 9)) == H(5)
    # 05:00 UTC + 2h = 07:00 UTC = 03:00 EDT
    assert NY_EARLY.add(local(NEW_YORK, 2026, 3, 8), H(2)) == utc(2026, 3, 8, 7)
    assert NY_EARLY.add(local(NEW_YORK, 2026, 3, 8), H(5)) == utc(2026, 3, 8, 10)


def test_new_york_fall_back():
    # Sun 2026-11-01: 00:00 EDT = 04:00 UTC .. 06:00 EST = 11:00 UTC -> 7h
    assert NY_EARLY.elapsed(local(NEW_YORK, 2026, 11, 1), local(NEW_YORK, 2026, 11, 2)) == H(7)
    # + 1h30 = 05:30 UTC = 01:30 EDT; + 2h30 = 06:30 UTC = 01:30 EST
    assert NY_EARLY.add(local(NEW_YORK, 2026, 11, 1), M(90)) == utc(2026, 11, 1, 5, 30)
    assert NY_EARLY.add(local(NEW_YORK, 2026, 11, 1), M(150)) == utc(2026, 11, 1, 6, 30)
    # an input in the repeated hour, second pass (fold=1): 01:30 EST = 06:30 UTC; 4h30 left
    assert NY_EARLY.elapsed(local(NEW_YORK, 2026, 11, 1, 1, 30, fold=1), local(NEW_YORK, 2026, 11, 2)) == M(270)
    assert NY_EARLY.elapsed(local(NEW_YORK, 2026, 11, 1, 1, 30, fold=0), local(NEW_YORK, 2026, 11, 2)) == M(330)


def test_new_york_window_spanning_two_oclock():
    cal = BusinessCalendar.from_config({"timezone": "America/New_York", "windows": {"sun": ["01:00-03:00"]}})
    # 03-08: 01:00 EST = 06:00 UTC .. 03:00 EDT = 07:00 UTC -> 1h
    assert cal.elapsed(local(NEW_YORK, 2026, 3, 8), local(NEW_YORK, 2026, 3, 9)) == H(1)
    # 11-01: 01:00 EDT = 05:00 UTC .. 03:00 EST = 08:00 UTC -> 3h
    assert cal.elapsed(local(NEW_YORK, 2026, 11, 1), local(NEW_YORK, 2026, 11, 2)) == H(3)
    # ordinary Sunday: 2h
    assert cal.elapsed(local(NEW_YORK, 2026, 6, 7), local(NEW_YORK, 2026, 6, 8)) == H(2)


def test_santiago_fall_back_at_midnight():
    # Santiago turns Sun 2026-04-05 00:00 (-03) back to Sat 23:00 (-04)
    cal = BusinessCalendar.from_config(
        {"timezone": "America/Santiago", "windows": {"sat": ["22:00-24:00"], "sun": ["00:00-02:00"]}}
    )
    # Sat 22:00 -03 = 01:00 UTC .. 24:00 = Sun 00:00 -04 = 04:00 UTC -> 3h; Sun 00:00-02:00 -04 -> 2h
    assert cal.elapsed(local(SANTIAGO, 2026, 4, 4), local(SANTIAGO, 2026, 4, 6)) == H(5)
    # Sat 23:30, second pass (-04) = 03:30 UTC: open, its local date is still Saturday
    assert cal.is_open(utc(2026, 4, 5, 3, 30)) is True
    assert cal.add(local(SANTIAGO, 2026, 4, 4, 22), H(4)) == utc(2026, 4, 5, 5)


def test_santiago_spring_forward_at_midnight():
    # Santiago jumps from Sat 2026-09-05 24:00 (-04) to Sun 01:00 (-03)
    cal = BusinessCalendar.from_config(
        {"timezone": "America/Santiago", "windows": {"sat": ["22:00-24:00"], "sun": ["00:00-02:00"]}}
    )
    # Sat 22:00 -04 = 02:00 UTC .. 24:00 -> the transition, 04:00 UTC: 2h;
    # Sun 00:00 (nonexistent) -> 04:00 UTC .. 02:00 -03 = 05:00 UTC: 1h
    assert cal.elapsed(local(SANTIAGO, 2026, 9, 5), local(SANTIAGO, 2026, 9, 7)) == H(3)
    # 2h30 from Sat 22:00: runs straight through: 02:00 + 2:30 = 04:30 UTC
    assert cal.add(local(SANTIAGO, 2026, 9, 5, 22), M(150)) == utc(2026, 9, 6, 4, 30)


# ----------------------------------------------------------- SLA pauses


def test_pause_within_two_days_moves_the_due_time_by_the_paused_business_time():
    start, target = sh(2026, 6, 1, 10), H(8)
    # Mon 10-12 (2h) + 13:30-18 (4.5h) = 6.5h; Tue 09:00 + 1.5h = Tue 10:30
    due = OFFICE.add(start, target)
    assert due == sh(2026, 6, 2, 10, 30)
    # waiting on the customer from Mon 15:00 to Tue 11:00: Mon 15-18 (3h) + Tue 09-11 (2h)
    p1, p2 = sh(2026, 6, 1, 15), sh(2026, 6, 2, 11)
    paused = OFFICE.elapsed(p1, p2)
    assert paused == H(5)
    # new due = add(start, 13h): Mon 6.5h, Tue 09-12 (3h) + 13:30 + 3.5h = Tue 17:00
    new_due = OFFICE.add(start, target + paused)
    assert new_due == sh(2026, 6, 2, 17)
    # the same, counted as the remaining time after the pause: 8h - (2h + 1.5h) = 4.5h from Tue 11:00:
    # 11-12 (1h) + 13:30 + 3.5h = 17:00
    used = OFFICE.elapsed(start, p1)
    assert used == H(3.5)
    assert OFFICE.add(p2, target - used) == new_due
    # and as moving the old due time by the paused business time
    assert OFFICE.add(due, paused) == new_due


def test_pause_over_a_weekend_and_several_days():
    start, target = sh(2026, 6, 4, 16), H(16)  # Thursday
    # Thu 16-18 (2h); Fri 7.5h (9.5h); Mon 09-12 (12.5h) + 13:30 + 3.5h = Mon 06-08 17:00
    due = OFFICE.add(start, target)
    assert due == sh(2026, 6, 8, 17)
    # paused Fri 10:00 .. Tue 06-09 11:00: Fri 10-12 (2h) + 4.5h; Mon 7.5h; Tue 09-11 (2h) = 16h
    p1, p2 = sh(2026, 6, 5, 10), sh(2026, 6, 9, 11)
    paused = OFFICE.elapsed(p1, p2)
    assert paused == H(16)
    # add(start, 32h): Thu 2h, Fri 7.5h, Mon 7.5h, Tue 7.5h (24.5h), Wed 7.5h (32h) -> Wed 06-10 18:00
    new_due = OFFICE.add(start, target + paused)
    assert new_due == sh(2026, 6, 10, 18)
    # remaining: 16h - (Thu 2h + Fri 09-10 1h) = 13h from Tue 11:00: Tue 5.5h, Wed 7.5h -> Wed 18:00
    assert OFFICE.add(p2, target - OFFICE.elapsed(start, p1)) == new_due
    assert OFFICE.add(due, paused) == new_due


def test_pause_in_closed_time_does_not_move_the_due_time():
    start, target = sh(2026, 6, 5, 17), H(2)
    due = OFFICE.add(start, target)  # Mon 06-08 10:00
    p1, p2 = sh(2026, 6, 5, 18, 30), sh(2026, 6, 7, 20)  # Fri evening .. Sunday evening
    assert OFFICE.elapsed(p1, p2) == ZERO
    assert OFFICE.add(start, target + OFFICE.elapsed(p1, p2)) == due == sh(2026, 6, 8, 10)


def test_two_pauses_add_up():
    start, target = sh(2026, 6, 1, 9), H(10)
    # pauses Mon 10:00-11:00 (1h) and Tue 13:00-14:00 (lunch to 13:30 is closed: 30min)
    paused = OFFICE.elapsed(sh(2026, 6, 1, 10), sh(2026, 6, 1, 11))
    paused += OFFICE.elapsed(sh(2026, 6, 2, 13), sh(2026, 6, 2, 14))
    assert paused == M(90)
    # 11.5h from Mon 09:00: Mon 7.5h; Tue 09-12 (10.5h) + 13:30 + 1h = Tue 14:30
    assert OFFICE.add(start, target + paused) == sh(2026, 6, 2, 14, 30)


# ----------------------------------------------------------- validation


def test_from_config_parses_windows():
    cal = BusinessCalendar.from_config(
        {
            "timezone": "Asia/Shanghai",
            "windows": {"mon": ["13:30-18:00", "09:00-12:00"], "sat": ["20:00-24:00"], "sun": []},
            "holidays": ["2026-10-08"],
            "working_days": [{"date": "2026-09-27", "windows": ["09:00-18:00"]}],
        }
    )
    assert cal.windows[0] == ((time(9), time(12)), (time(13, 30), time(18)))  # sorted
    assert cal.windows[5] == ((time(20), time(0)),)  # 24:00 is time(0)
    assert cal.windows[6] == ()
    assert cal.holidays == frozenset({date(2026, 10, 8)})
    assert cal.working_days == {date(2026, 9, 27): ((time(9), time(18)),)}
    assert cal.country_holidays == ()  # opt-in: none unless named
    # "00:00" as an end means 24:00 too
    same = BusinessCalendar.from_config({"timezone": "Asia/Shanghai", "windows": {"sat": ["20:00-00:00"]}})
    assert same.windows[5] == ((time(20), time(0)),)


def test_equal_configs_give_equal_hashable_calendars():
    a = office(holidays=["2026-10-08"])
    b = office(holidays=["2026-10-08"])
    assert a == b and hash(a) == hash(b)
    assert a != office()
    assert dataclasses.replace(a, holidays=frozenset()) == office()
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.timezone = "UTC"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"windows": {"funday": ["09:00-12:00"]}}, "windows"),
        ({"windows": {"mon": ["09:00-12:00", "11:00-13:00"]}}, "windows.mon"),
        ({"windows": {"mon": ["09:00-12:00", "12:00-24:00", "13:00-14:00"]}}, "windows.mon"),
        ({"windows": {"tue": ["18:00-09:00"]}}, "windows.tue[0]"),
        ({"windows": {"tue": ["09:00-09:00"]}}, "windows.tue[0]"),
        ({"windows": {"wed": ["9-12"]}}, "windows.wed[0]"),
        ({"windows": {"wed": ["09:00-12:00", "25:00-26:00"]}}, "windows.wed[1]"),
        ({"windows": {"wed": ["24:00-24:00"]}}, "windows.wed[0]"),
        ({"windows": {"thu": ["09:00-24:30"]}}, "windows.thu[0]"),
        ({"windows": {"thu": ["09:60-10:00"]}}, "windows.thu[0]"),
        ({"windows": {"thu": "09:00-12:00"}}, "windows.thu"),
        ({"windows": {"Monday": ["13:00-14:00"]}}, "windows"),
        ({"windows": ["09:00-12:00"]}, "windows"),
        ({"windows": {}}, "no working time in the week"),
        ({"windows": {"mon": [], "sun": []}}, "no working time in the week"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"timezone": 8}, "timezone"),
        ({"holidays": ["2026-13-01"]}, "holidays[0]"),
        ({"holidays": ["2026-10-01", "2026-02-30"]}, "holidays[1]"),
        ({"holidays": ["tomorrow"]}, "holidays[0]"),
        ({"holidays": "2026-10-01"}, "holidays"),
        ({"working_days": [{"date": "2026-09-28", "windows": ["09:00-10:00"]},
                           {"date": "28/09/2026", "windows": ["09:00-10:00"]}]}, "working_days[1].date"),
        ({"working_days": [{"date": "2026-09-28", "windows": ["09:00-10:00"]}],
          "holidays": ["2026-09-28"]}, "working_days"),
        ({"working_days": [{"date": "2026-09-28", "windows": []}]}, "working_days[0].windows"),
        ({"working_days": [{"date": "2026-09-28"}]}, "working_days[0].windows"),
        ({"working_days": [{"date": "2026-09-28", "windows": ["10:00-12:00", "11:00-13:00"]}]},
         "working_days[0].windows"),
        ({"working_days": ["2026-09-28"]}, "working_days[0]"),
        ({"country_holidays": [{"country": "XX"}]}, "country_holidays[0].country"),
        ({"country_holidays": [{"country": ""}]}, "country_holidays[0].country"),
        ({"country_holidays": [{"country": "US", "subdivision": "ZZ"}]}, "country_holidays[0].subdivision"),
        ({"country_holidays": [{"country": "CN", "make_up_day_windows": ["9-18"]}]},
         "country_holidays[0].make_up_day_windows[0]"),
        ({"country_holidays": "CN"}, "country_holidays"),
        ({"holidays_country": "CN"}, "holidays_country"),
        ({"holiday": ["2026-10-01"]}, "holiday"),
    ],
)
def test_from_config_errors_name_the_field(change, field):
    config = {"timezone": "Asia/Shanghai", "windows": {"mon": ["09:00-12:00"]}}
    config.update(change)
    with pytest.raises(ValueError) as error:
        BusinessCalendar.from_config(config)
    assert field in str(error.value)


@pytest.mark.parametrize("missing", ["timezone", "windows"])
def test_from_config_requires_timezone_and_windows(missing):
    config = {"timezone": "Asia/Shanghai", "windows": {"mon": ["09:00-12:00"]}}
    del config[missing]
    with pytest.raises(ValueError, match=missing):
        BusinessCalendar.from_config(config)


def test_from_config_rejects_a_non_mapping():
    with pytest.raises(ValueError, match="calendar"):
        BusinessCalendar.from_config(["timezone", "UTC"])


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"windows": {}}, "no working time in the week"),
        ({"windows": {7: [(time(9), time(12))]}}, "windows"),
        ({"windows": {0: [(time(9), time(12, tzinfo=UTC))]}}, "windows[0][0]"),
        ({"windows": {0: [(time(12), time(9))]}}, "windows[0]"),
        ({"windows": {0: [(time(9), time(12)), (time(11), time(13))]}}, "windows[0]"),
        ({"windows": {0: [("09:00", "12:00")]}}, "windows[0][0]"),
        ({"timezone": "Nowhere/City"}, "timezone"),
        ({"holidays": {datetime(2026, 10, 1)}}, "holidays"),
        ({"working_days": {"2026-10-01"}}, "working_days"),
        ({"working_days": {date(2026, 10, 1): []}}, "working_days[2026-10-01]"),
        ({"country_holidays": ["CN"]}, "country_holidays"),
    ],
)
def test_constructor_validates_too(kwargs, field):
    args = {"timezone": "UTC", "windows": {0: [(time(9), time(12))]}}
    args.update(kwargs)
    with pytest.raises(ValueError) as error:
        BusinessCalendar(**args)
    assert field in str(error.value)


# ------------------------------------------------------ property tests

ZONES = [
    "UTC",
    "Asia/Shanghai",
    "Asia/Kolkata",
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",  # DST changes at midnight, falls back across the date line of the day
    "America/Havana",  # midnight gap and ambiguous midnight
    "Asia/Beirut",
    "Australia/Lord_Howe",  # 30-minute DST
    "Pacific/Chatham",  # +12:45 / +13:45
    "Africa/Casablanca",  # "negative" DST during Ramadan
]
MINUTE_MARKS = st.one_of(st.sampled_from(range(0, 1441, 30)), st.integers(0, 1440))


def _as_time(minute):
    return time(0) if minute == 1440 else time(minute // 60, minute % 60)


@st.composite
def day_windows(draw, marks_strategy=MINUTE_MARKS):
    """0-3 sorted, non-overlapping windows (possibly touching) as minute pairs."""
    count = draw(st.sampled_from([0, 0, 1, 1, 1, 2, 2, 3]))
    marks = sorted(draw(st.lists(marks_strategy, min_size=2 * count, max_size=2 * count)))
    return [(marks[i], marks[i + 1]) for i in range(0, 2 * count, 2) if marks[i] < marks[i + 1]]


FIRST_DAY, LAST_DAY = date(2024, 12, 1), date(2028, 12, 31)
SOME_DAY = st.integers(0, (LAST_DAY - FIRST_DAY).days).map(lambda n: FIRST_DAY + timedelta(days=n))


@st.composite
def calendars(draw, country=True):
    zone = draw(st.sampled_from(ZONES))
    week = [draw(day_windows()) for _ in range(7)]
    if not any(week):
        week[draw(st.integers(0, 6))] = [(draw(st.integers(0, 1380)), 1440)]
    holidays = frozenset(draw(st.lists(SOME_DAY, max_size=30)))
    working_days = {day: draw(day_windows()) for day in frozenset(draw(st.lists(SOME_DAY, max_size=8))) - holidays}
    working_days = {day: windows for day, windows in working_days.items() if windows}
    countries = [] if not country else [
        CountryHolidays(code, make_up_day_windows=[(_as_time(a), _as_time(b)) for a, b in draw(day_windows())])
        for code in draw(st.sampled_from([(), (), (), (), ("CN",), ("US",), ("CN", "HK")]))]

    def as_times(windows):
        return [(_as_time(a), _as_time(b)) for a, b in windows]

    return BusinessCalendar(
        timezone=zone,
        windows={i: as_times(windows) for i, windows in enumerate(week)},
        holidays=holidays,
        working_days={day: as_times(windows) for day, windows in working_days.items()},
        country_holidays=countries,
    )


INPUT_ZONES = [UTC] + [ZoneInfo(z) for z in ZONES]
instants = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2027, 12, 31, 23, 59, 59, 999999),
    timezones=st.sampled_from(INPUT_ZONES),
)
durations = st.one_of(
    st.timedeltas(min_value=ZERO, max_value=timedelta(days=60)),
    st.integers(0, 60 * 24 * 60).map(lambda m: timedelta(minutes=m)),
    st.sampled_from([ZERO, EPS, H(1), H(8), timedelta(days=1)]),
)
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _weekly(cal):
    total = ZERO
    for windows in cal.windows.values():
        for a, b in windows:
            end = timedelta(days=1) if b == time(0) else timedelta(hours=b.hour, minutes=b.minute)
            total += end - timedelta(hours=a.hour, minutes=a.minute)
    return total


def _cap(cal, duration):
    """Up to 60 days, but at most ~a year of the calendar's weekly hours (keeps sparse calendars fast)."""
    return min(duration, _weekly(cal) * 52)


@PROPERTY
@given(cal=calendars(), start=instants, duration=durations)
def test_property_elapsed_inverts_add(cal, start, duration):
    duration = _cap(cal, duration)
    due = cal.add(start, duration)
    assert due.tzinfo is UTC
    assert due >= start
    assert cal.elapsed(start, due) == duration
    if duration:
        # open-or-boundary: the instant just before the result is business time ...
        assert cal.is_open(due - EPS)
        # ... so the result is the earliest such instant
        assert cal.elapsed(start, due - EPS) == duration - EPS
    else:
        # (compare in UTC: inter-zone == is always False for times in a DST gap or fold)
        assert due == start.astimezone(UTC)


@PROPERTY
@given(cal=calendars(), start=instants, d1=durations, d2=durations)
def test_property_add_is_monotone_in_duration(cal, start, d1, d2):
    d1, d2 = sorted((_cap(cal, d1), _cap(cal, d2)))
    t1, t2 = cal.add(start, d1), cal.add(start, d2)
    assert t1 <= t2
    if d1 < d2:
        assert t1 < t2


@PROPERTY
@given(cal=calendars(), a=instants, b=instants, c=instants)
def test_property_elapsed_is_additive(cal, a, b, c):
    a, b, c = sorted((a, b, c))
    assert cal.elapsed(a, b) + cal.elapsed(b, c) == cal.elapsed(a, c)
    assert cal.elapsed(c, a) == ZERO


@PROPERTY
@given(cal=calendars(), start=instants, d1=durations, d2=durations)
def test_property_add_composes(cal, start, d1, d2):
    d1, d2 = _cap(cal, d1), _cap(cal, d2)
    assert cal.add(cal.add(start, d1), d2) == cal.add(start, d1 + d2)


@PROPERTY
@given(cal=calendars(), start=instants, target=durations, data=st.data())
def test_property_pause_moves_due_by_paused_business_time(cal, start, target, data):
    target = _cap(cal, target)
    assume(target > ZERO)
    # the pause starts after some business time short of the target, give or take closed time
    used_before = target * data.draw(st.integers(0, 999)) // 1000
    p1 = cal.add(start, used_before) + data.draw(st.timedeltas(ZERO, timedelta(days=3)))
    p2 = p1 + data.draw(st.timedeltas(ZERO, timedelta(days=30)))
    used = cal.elapsed(start, p1)
    assume(used < target)  # the pause starts before the SLA is due
    paused = cal.elapsed(p1, p2)
    new_due = cal.add(start, target + paused)
    # adding the remaining business time after the pause ends ...
    assert new_due == cal.add(p2, target - used)
    # ... equals moving the original due time by the paused business time
    assert new_due == cal.add(cal.add(start, target), paused)


@PROPERTY
@given(cal=calendars(), at=instants)
def test_property_next_open_and_is_open_agree(cal, at):
    opens = cal.next_open(at)
    assert opens.tzinfo is UTC
    assert opens >= at
    assert cal.is_open(opens)
    assert cal.elapsed(at, opens) == ZERO
    assert (opens == at.astimezone(UTC)) is cal.is_open(at)
    assert cal.add(at, EPS) == opens + EPS
    # (aware arithmetic is wall-clock arithmetic and drops fold: step in UTC)
    at_utc = at.astimezone(UTC)
    assert cal.elapsed(at, at_utc + EPS) == (EPS if cal.is_open(at) else ZERO)


# ---------------------------------- brute-force oracle around DST changes


def _transitions(zone_name, first_year=2025, last_year=2027):
    """UTC instants (whole minutes) where the zone's offset changes."""
    zone = ZoneInfo(zone_name)
    found = []
    day = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    while day < end:
        nxt = day + timedelta(days=1)
        if day.astimezone(zone).utcoffset() != nxt.astimezone(zone).utcoffset():
            lo, hi = 0, 24 * 60  # offset at lo minutes differs from offset at hi minutes
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if (day + M(mid)).astimezone(zone).utcoffset() == day.astimezone(zone).utcoffset():
                    lo = mid
                else:
                    hi = mid
            found.append((zone_name, day + M(hi)))
        day = nxt
    return found


DST_CHANGES = [t for z in ZONES for t in _transitions(z)]


def test_the_oracle_sees_the_dst_changes():
    assert ("Europe/Berlin", utc(2026, 3, 29, 1)) in DST_CHANGES
    assert ("Europe/Berlin", utc(2026, 10, 25, 1)) in DST_CHANGES
    assert ("America/New_York", utc(2026, 3, 8, 7)) in DST_CHANGES
    assert ("America/New_York", utc(2026, 11, 1, 6)) in DST_CHANGES
    # 8 zones with DST x 2 changes a year x 3 years
    assert len(DST_CHANGES) == 48


def _oracle_intervals(zone, week, span_start, span_end):
    """Working intervals by brute force: a boundary is the first whole minute at which
    the wall clock shows that local time or later (offsets and changes are whole minutes)."""
    scan_start = span_start - timedelta(days=2)
    minutes = int((span_end - span_start) / M(1)) + 4 * 24 * 60
    walls = [(scan_start + M(i)).astimezone(zone).replace(tzinfo=None) for i in range(minutes)]
    running_max = []
    for wall in walls:
        running_max.append(wall if not running_max or wall > running_max[-1] else running_max[-1])

    def first_at_or_after(local_wall):
        return scan_start + M(bisect.bisect_left(running_max, local_wall))

    intervals = []
    day = (span_start - timedelta(days=2)).astimezone(zone).date()
    while day <= (span_end + timedelta(days=2)).astimezone(zone).date():
        midnight = datetime.combine(day, time(0))
        for a, b in week[day.weekday()]:
            s, e = first_at_or_after(midnight + M(a)), first_at_or_after(midnight + M(b))
            if s < e:
                intervals.append((s, e))
        day += timedelta(days=1)
    return intervals


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(change=st.sampled_from(DST_CHANGES), data=st.data())
def test_property_matches_a_brute_force_oracle_around_dst_changes(change, data):
    zone_name, instant = change
    zone = ZoneInfo(zone_name)
    # boundaries often inside or next to the skipped or repeated wall-clock times:
    # from the wall time just after the change to the one the old offset would show
    after = instant.astimezone(zone)  # the wall clock right after the change
    before = (instant - M(1)).astimezone(zone) + M(1)  # what the old offset would have shown
    minute_after = after.hour * 60 + after.minute
    minute_before = before.hour * 60 + before.minute
    if before.date() > after.date():  # the old offset reaches 24:00 (Santiago, Beirut falling back)
        minute_before += 1440
    low, high = sorted((minute_after, minute_before))
    near = st.integers(max(0, low - 30), min(1440, high + 30))
    marks = st.one_of(MINUTE_MARKS, near, near)
    week = [data.draw(day_windows(marks)) for _ in range(7)]
    if not any(week):
        week[0] = [(60, 300)]
    cal = BusinessCalendar(
        timezone=zone_name, windows={i: [(_as_time(a), _as_time(b)) for a, b in w] for i, w in enumerate(week)}
    )
    span_start, span_end = instant - H(30), instant + H(30)
    intervals = _oracle_intervals(zone, week, span_start, span_end)

    open_set = set()
    for s, e in intervals:
        u = max(s, span_start)
        while u < min(e, span_end):
            open_set.add(u)
            u += M(1)

    open_minutes = []
    u = span_start
    while u < span_end:
        expected = u in open_set
        assert cal.is_open(u) is expected, (u, u.astimezone(zone))
        if expected:
            open_minutes.append(u)
        u += M(1)
    assert cal.elapsed(span_start, span_end) == M(len(open_minutes))
    if open_minutes:
        n = data.draw(st.integers(1, len(open_minutes)))
        # the n-th open minute ends exactly n business minutes after span_start
        assert cal.add(span_start, M(n)) == open_minutes[n - 1] + M(1)
        first = data.draw(st.integers(0, len(open_minutes) - 1))
        assert cal.next_open(span_start) == open_minutes[0]
        assert cal.elapsed(open_minutes[first], span_end) == M(len(open_minutes) - first)


# -------------------------------------------------------------- speed


def test_long_spans_are_computed_by_days_not_minutes():
    import time as clock

    cal = office(country_holidays=[CN])
    cal.elapsed(sh(2026, 1, 1), sh(2026, 12, 31))  # warm the holiday years
    started = clock.perf_counter()
    for day in range(1, 29):
        cal = office(country_holidays=[CN])  # a fresh calendar: no day cache
        cal.elapsed(sh(2026, 2, day, 10), sh(2026, 2, day, 10) + timedelta(days=30))
        cal.add(sh(2026, 2, day, 10), H(150))
    per_call = (clock.perf_counter() - started) / 56
    # a minute-by-minute loop would need ~43,000 steps per 30 days; days take a few dozen
    assert per_call < 0.02
