"""Business-time arithmetic for SLA clocks (T4): working week, holidays, time zone.

A :class:`BusinessCalendar` says when the help desk is open. Every local day
has a list of working windows in local wall-clock time (``start`` inclusive,
``end`` exclusive, an end of ``time(0, 0)`` meaning 24:00, the midnight that
ends the day). Each window becomes one interval of absolute (UTC) time, and
all the arithmetic - :meth:`~BusinessCalendar.is_open`,
:meth:`~BusinessCalendar.elapsed`, :meth:`~BusinessCalendar.add`,
:meth:`~BusinessCalendar.next_open` - works on those intervals only, so the
four always agree with each other.

Which windows a local day ``d`` has, first rule that applies:

1. ``d`` one of ``working_days`` (explicit): the windows given with it;
2. ``d`` in ``holidays`` (explicit): none;
3. ``d`` a make-up working day of one of ``country_holidays`` (the
   ``holidays`` library's ``weekend_workdays``, e.g. China's working Saturdays
   and Sundays around Spring Festival and National Day): that country's
   ``make_up_day_windows`` (the first such country's), which may be none;
4. ``d`` a holiday of one of ``country_holidays``: none;
5. otherwise the windows of ``d``'s weekday.

Country holidays are opt-in: a calendar has none unless it names the
countries (and subdivisions) whose public holidays close the desk.

Daylight-saving time. A window's length is measured in absolute time: its
local start and end are turned into instants, so a window spanning a
spring-forward gap is shorter, and one spanning a fall-back repeated hour
longer, by the size of the shift. A local boundary (start or end) resolves
to *the first instant at which the wall clock shows that time or later*:

* an ambiguous time (in the repeated hour) is its first occurrence, i.e.
  ``fold=0``: in Europe/Berlin on 2026-10-25, 02:30 is 02:30 CEST = 00:30 UTC;
* a nonexistent time (in the gap) is the instant of the transition, i.e. the
  first wall-clock time after the gap: in Europe/Berlin on 2026-03-29, 02:30
  is 03:00 CEST = 01:00 UTC, so a window 02:00-03:00 that day is empty and
  a window 02:30-05:00 lasts 2 hours (03:00-05:00 CEST).

The rule is monotone, so windows that are sorted and disjoint in local time
stay sorted and disjoint as instants, the windows of one day never overlap
those of the next, and a window ending at 24:00 touches one starting at 00:00
the next day exactly.

All inputs must be timezone-aware datetimes (any zone); all results are
aware datetimes in UTC. Precision is the microsecond, the resolution of
``datetime``/``timedelta``, and all arithmetic is exact.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone as _dt_timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["BusinessCalendar", "CalendarError", "CountryHolidays"]

UTC = _dt_timezone.utc
MIDNIGHT = time(0, 0)
_ONE_DAY = timedelta(days=1)
_ONE_MICROSECOND = timedelta(microseconds=1)
_ZERO = timedelta(0)
_DAY_CACHE_LIMIT = 4096

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CONFIG_KEYS = ("timezone", "windows", "country_holidays", "holidays", "working_days")
_COUNTRY_KEYS = ("country", "subdivision", "make_up_day_windows")
_WORKING_DAY_KEYS = ("date", "windows")
_WINDOW_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

Window = tuple[time, time]


class _DayWindows(Mapping):
    """Read-only, hashable date -> windows mapping (a calendar's extra working days)."""

    __slots__ = ("_days",)

    def __init__(self, days: Mapping[date, tuple[Window, ...]]):
        self._days = dict(sorted(days.items()))

    def __getitem__(self, day):
        return self._days[day]

    def __iter__(self):
        return iter(self._days)

    def __len__(self):
        return len(self._days)

    def __hash__(self):
        return hash(tuple(self._days.items()))

    def __eq__(self, other):
        return Mapping.__eq__(self, other)

    def __repr__(self):
        return repr({d.isoformat(): list(w) for d, w in self._days.items()})


_EMPTY = _DayWindows({})


class _WeekWindows(Mapping):
    """Read-only, hashable weekday -> windows mapping holding all seven weekdays."""

    __slots__ = ("_days",)

    def __init__(self, days: tuple[tuple[Window, ...], ...]):
        self._days = days

    def __getitem__(self, weekday):
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise KeyError(weekday)
        return self._days[weekday]

    def __iter__(self):
        return iter(range(7))

    def __len__(self):
        return 7

    def __hash__(self):
        return hash(self._days)

    def __eq__(self, other):
        if isinstance(other, _WeekWindows):
            return self._days == other._days
        return Mapping.__eq__(self, other)

    def __repr__(self):
        return repr({i: list(w) for i, w in enumerate(self._days) if w})


class CalendarError(ValueError):
    """A calendar that cannot be: ``field`` says where (``windows.mon``,
    ``working_days[0].windows``), ``reason`` why."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


@dataclass(frozen=True)
class CountryHolidays:
    """A country's (or one of its subdivisions') public holidays, from the
    ``holidays`` library, close the desk; its make-up working days (weekend
    days worked in exchange for a bridge day off) open with
    ``make_up_day_windows``, none meaning they stay closed."""

    country: str
    subdivision: str | None = None
    make_up_day_windows: Sequence[tuple[time, time]] = ()

    def __post_init__(self):
        country, subdivision = self.country, self.subdivision
        if not isinstance(country, str) or not country.strip():
            raise CalendarError("country", f"expected a country code, got {country!r}")
        country = country.strip().upper()
        if subdivision is not None:
            if not isinstance(subdivision, str) or not subdivision.strip():
                raise CalendarError("subdivision", f"expected a subdivision code or null, got {subdivision!r}")
            subdivision = subdivision.strip().upper()
        _check_country(country, subdivision)
        windows = _normalise_windows({0: self.make_up_day_windows}, "make_up_day_windows")[0]
        object.__setattr__(self, "country", country)
        object.__setattr__(self, "subdivision", subdivision)
        object.__setattr__(self, "make_up_day_windows", windows)

    def days(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        """(holidays, make-up working days) falling in ``year``."""
        return _country_days(self.country, self.subdivision, year)


@dataclass(frozen=True)
class BusinessCalendar:
    """When the help desk is open; see the module docstring for the rules.

    ``working_days`` maps each extra working day to its own windows;
    ``country_holidays`` lists the countries whose holidays apply (none by
    default), computed lazily, per year, for the years the arithmetic touches.
    """

    timezone: str
    windows: Mapping[int, Sequence[tuple[time, time]]]
    holidays: frozenset[date] = frozenset()
    working_days: Mapping[date, Sequence[tuple[time, time]]] = _EMPTY
    country_holidays: Sequence[CountryHolidays] = ()

    # ---------------------------------------------------------------- set-up

    def __post_init__(self):
        if not isinstance(self.timezone, str) or not self.timezone:
            raise CalendarError("timezone", f"expected an IANA zone name, got {self.timezone!r}")
        zone = _zone(self.timezone)
        windows = _normalise_windows(self.windows, "windows")
        if not any(windows):
            raise CalendarError("windows", "no working time in the week (every weekday has no window)")
        holidays = _date_set(self.holidays, "holidays")
        working_days = _working_days(self.working_days)
        both = holidays & set(working_days)
        if both:
            raise CalendarError("working_days", f"dates are both a holiday and a working day: {_dates_text(both)}")
        countries = self.country_holidays
        if isinstance(countries, (str, bytes)) or not isinstance(countries, Sequence) or not all(
                isinstance(c, CountryHolidays) for c in countries):
            raise CalendarError("country_holidays", "expected a sequence of CountryHolidays")
        set_ = object.__setattr__
        set_(self, "windows", _WeekWindows(windows))
        set_(self, "holidays", holidays)
        set_(self, "working_days", _DayWindows(working_days))
        set_(self, "country_holidays", tuple(countries))
        set_(self, "_zone", zone)
        set_(self, "_plan", tuple(_day_plan(day) for day in windows))
        set_(self, "_working_plan", {day: _day_plan(w) for day, w in working_days.items()})
        set_(self, "_make_up_plans", tuple(_day_plan(c.make_up_day_windows) for c in self.country_holidays))
        set_(self, "_day_cache", {})

    @classmethod
    def from_config(cls, config: Mapping) -> "BusinessCalendar":
        """Build a calendar from plain configuration data (as stored, and as
        the API takes it), validating it::

            {"timezone": "Asia/Shanghai",
             "windows": {"mon": ["09:00-12:00", "13:30-18:00"], ..., "sun": []},
             "country_holidays": [{"country": "CN", "subdivision": null,
                                   "make_up_day_windows": ["09:00-18:00"]}],
             "holidays": ["2026-10-08"],
             "working_days": [{"date": "2026-09-27", "windows": ["10:00-16:00"]}]}

        Day names are ``mon`` .. ``sun``; a missing day has no windows. A
        window is ``"HH:MM-HH:MM"``; its end may be ``24:00`` (``00:00`` as an
        end means the same). Only ``timezone`` and ``windows`` are required.
        Errors raise :class:`CalendarError` naming the field.
        """
        _check_keys(config, _CONFIG_KEYS, "calendar")
        for required in ("timezone", "windows"):
            if required not in config:
                raise CalendarError(required, "required")
        timezone = config["timezone"]
        if not isinstance(timezone, str) or not timezone.strip():
            raise CalendarError("timezone", f"expected an IANA zone name, got {timezone!r}")

        raw_windows = config["windows"]
        if not isinstance(raw_windows, Mapping):
            raise CalendarError("windows", "expected a mapping of day name -> list of 'HH:MM-HH:MM'")
        windows: dict[int, list[Window]] = {}
        for name, specs in raw_windows.items():
            weekday = DAY_NAMES.index(name) if name in DAY_NAMES else None
            if weekday is None:
                raise CalendarError("windows", f"unknown day name {name!r}; expected one of {', '.join(DAY_NAMES)}")
            windows[weekday] = _parse_windows(specs, f"windows.{name}")

        countries = []
        for i, entry in enumerate(_sequence(config.get("country_holidays"), "country_holidays")):
            field = f"country_holidays[{i}]"
            _check_keys(entry, _COUNTRY_KEYS, field)
            if "country" not in entry:
                raise CalendarError(f"{field}.country", "required")
            make_up = _parse_windows(entry.get("make_up_day_windows"), f"{field}.make_up_day_windows")
            try:
                countries.append(CountryHolidays(entry["country"], entry.get("subdivision"), make_up))
            except CalendarError as exc:
                raise CalendarError(f"{field}.{exc.field}", exc.reason) from None

        working_days: dict[date, list[Window]] = {}
        for i, entry in enumerate(_sequence(config.get("working_days"), "working_days")):
            field = f"working_days[{i}]"
            _check_keys(entry, _WORKING_DAY_KEYS, field)
            for required in _WORKING_DAY_KEYS:
                if required not in entry:
                    raise CalendarError(f"{field}.{required}", "required")
            day = _parse_date(entry["date"], f"{field}.date")
            if day in working_days:
                raise CalendarError(f"{field}.date", f"{day.isoformat()} is given twice")
            working_days[day] = _parse_windows(entry["windows"], f"{field}.windows")
            if not working_days[day]:
                raise CalendarError(f"{field}.windows", "a working day needs at least one window")

        return cls(
            timezone=timezone.strip(),
            windows=windows,
            holidays=_parse_dates(config.get("holidays"), "holidays"),
            working_days=working_days,
            country_holidays=tuple(countries),
        )

    @classmethod
    def always_open(cls, timezone: str = "UTC") -> "BusinessCalendar":
        """A 24/7 calendar: every instant is business time."""
        return cls(timezone=timezone, windows={day: [(MIDNIGHT, MIDNIGHT)] for day in range(7)})

    # ----------------------------------------------------------- arithmetic
    # Internally instants are naive datetimes in UTC (cheaper to build and
    # compare); they become aware only on the way out.

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` lies inside a working window."""
        u = _to_utc(at, "at")
        for s, _e in self._intervals_from(u):
            return s <= u
        raise AssertionError("unreachable")  # pragma: no cover - _intervals_from never ends

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time in ``[start, end)``; zero if ``end <= start``."""
        start_u = _to_utc(start, "start")
        end_u = _to_utc(end, "end")
        total = _ZERO
        if end_u <= start_u:
            return total
        day = self._local_date(start_u)
        while True:
            midnight, intervals = self._day(day)
            if midnight >= end_u:  # this day's, and every later day's, windows start at or after end
                return total
            for s, e in intervals:
                if s >= end_u:
                    break
                lo = s if s > start_u else start_u
                hi = e if e < end_u else end_u
                if hi > lo:
                    total += hi - lo
            day = _next_day(day)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant ``t >= start`` with ``elapsed(start, t) == duration`` (UTC).

        A zero duration gives ``start`` itself, even when closed; otherwise the
        result is inside a window or at a window's (exclusive) end.
        """
        u = _to_utc(start, "start")
        if not isinstance(duration, timedelta):
            raise ValueError(f"duration: expected a timedelta, got {type(duration).__name__}")
        if duration < _ZERO:
            raise ValueError(f"duration: must not be negative, got {duration}")
        if duration == _ZERO:
            return _aware(u)
        remaining = duration
        for s, e in self._intervals_from(u):
            lo = s if s > u else u
            available = e - lo
            if remaining <= available:
                return _aware(lo + remaining)
            remaining -= available
        raise AssertionError("unreachable")  # pragma: no cover

    def next_open(self, at: datetime) -> datetime:
        """``at`` itself (in UTC) if open, else the start of the next window."""
        u = _to_utc(at, "at")
        for s, _e in self._intervals_from(u):
            return _aware(s if s > u else u)
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------- internals

    def _local_date(self, u: datetime) -> date:
        try:
            return u.replace(tzinfo=UTC).astimezone(self._zone).date()
        except OverflowError:
            raise ValueError("calendar arithmetic ran past the supported date range") from None

    def _intervals_from(self, u: datetime):
        """Working intervals ``(start, end)`` with ``end > u``, in order, forever.

        Starting at ``u``'s local date is enough: the first instant of that
        date is at or before ``u``, and every earlier day's windows end by then.
        """
        day = self._local_date(u)
        while True:
            for s, e in self._day(day)[1]:
                if e > u:
                    yield s, e
            day = _next_day(day)

    def _day(self, day: date) -> tuple[datetime, tuple[tuple[datetime, datetime], ...]]:
        """(instant of the day's 00:00, the day's non-empty windows as instants), naive UTC."""
        cached = self._day_cache.get(day)
        if cached is not None:
            return cached
        zone = self._zone
        midnight = _resolve(zone, day, _MIDNIGHT_FOLDS)
        intervals = []
        next_midnight = None
        for a, b in self._plan_on(day):
            s = midnight if a is _MIDNIGHT_FOLDS else _resolve(zone, day, a)
            if b is _MIDNIGHT_FOLDS:  # 24:00
                if next_midnight is None:
                    next_midnight = _resolve(zone, _next_day(day), _MIDNIGHT_FOLDS)
                e = next_midnight
            else:
                e = _resolve(zone, day, b)
            if s < e:  # a window wholly inside a DST gap is empty
                intervals.append((s, e))
        result = (midnight, tuple(intervals))
        cache = self._day_cache
        if len(cache) >= _DAY_CACHE_LIMIT:
            cache.clear()
        cache[day] = result
        return result

    def _plan_on(self, day: date):
        """The day's windows as ((start fold=0, fold=1), (end fold=0, fold=1)) pairs."""
        plan = self._working_plan.get(day)
        if plan is not None:
            return plan
        if day in self.holidays:
            return ()
        if self.country_holidays:
            days = [country.days(day.year) for country in self.country_holidays]
            for (_holidays, make_up_days), make_up_plan in zip(days, self._make_up_plans):
                if day in make_up_days:
                    return make_up_plan
            if any(day in country_days for country_days, _make_up in days):
                return ()
        return self._plan[day.weekday()]


# ------------------------------------------------------------------ helpers

_MIDNIGHT_FOLDS = (MIDNIGHT, MIDNIGHT.replace(fold=1))


def _folds(t: time) -> tuple[time, time]:
    return _MIDNIGHT_FOLDS if t == MIDNIGHT else (t.replace(fold=0), t.replace(fold=1))


def _to_utc(value, name: str) -> datetime:
    """An aware datetime as a naive datetime in UTC."""
    if not isinstance(value, datetime):
        raise ValueError(f"{name}: expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name}: naive datetime {value.isoformat()}; a timezone-aware one is required")
    return value.astimezone(UTC).replace(tzinfo=None)


def _aware(u: datetime) -> datetime:
    return u.replace(tzinfo=UTC)


def _next_day(day: date) -> date:
    try:
        return day + _ONE_DAY
    except OverflowError:
        raise ValueError("calendar arithmetic ran past the last supported date (9999-12-31)") from None


def _resolve(zone: ZoneInfo, day: date, folds: tuple[time, time]) -> datetime:
    """The first instant (naive UTC) at which the wall clock in ``zone`` shows ``day`` + ``folds[0]`` or later.

    An existing time resolves as itself, an ambiguous one (repeated hour) as
    its first occurrence (fold=0); a time in a DST gap as the instant of the
    transition. PEP 495: outside a transition both folds give the same offset;
    in a fold, fold=0 has the larger (earlier) one; in a gap, the smaller.
    """
    local = datetime.combine(day, folds[0])
    try:
        offset = zone.utcoffset(local)
        offset_fold1 = zone.utcoffset(datetime.combine(day, folds[1]))
        if offset >= offset_fold1:
            return local - offset
        # In a gap: ``local - offset_fold1`` is before the transition (its
        # wall clock reads earlier than ``local``), ``local - offset`` after
        # it. Bisect for the first microsecond whose wall clock shows >= local.
        lo, hi = local - offset_fold1, local - offset
        lo_us, hi_us = 0, (hi - lo) // _ONE_MICROSECOND
        while hi_us - lo_us > 1:
            mid = (lo_us + hi_us) // 2
            if _wall(zone, lo + timedelta(microseconds=mid)) >= local:
                hi_us = mid
            else:
                lo_us = mid
        return lo + timedelta(microseconds=hi_us)
    except OverflowError:
        raise ValueError("calendar arithmetic ran past the supported date range") from None


def _wall(zone: ZoneInfo, u: datetime) -> datetime:
    """Local wall-clock time (naive) of the naive-UTC instant ``u``."""
    return u.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise CalendarError("timezone", f"unknown time zone {name!r}") from None


def _day_plan(day_windows: tuple[Window, ...]):
    return tuple((_folds(a), _folds(b)) for a, b in day_windows)


def _normalise_windows(windows, field: str) -> tuple[tuple[Window, ...], ...]:
    if not isinstance(windows, Mapping):
        raise CalendarError(field, "expected a mapping of weekday (0=Monday) -> list of (start, end) times")
    days: list[tuple[Window, ...]] = [()] * 7
    for weekday, day_windows in windows.items():
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise CalendarError(field, f"weekday keys are 0 (Monday) .. 6 (Sunday), got {weekday!r}")
        days[weekday] = _normalise_day(day_windows, f"{field}[{weekday}]")
    return tuple(days)


def _normalise_day(day_windows, field: str) -> tuple[Window, ...]:
    """One day's (start, end) pairs of naive times, sorted, checked."""
    if day_windows is None:
        return ()
    if isinstance(day_windows, (str, bytes)) or not isinstance(day_windows, (Sequence, set, frozenset)):
        raise CalendarError(field, "expected a sequence of (start, end) times")
    result = []
    for i, window in enumerate(day_windows):
        try:
            a, b = window
        except (TypeError, ValueError):
            raise CalendarError(f"{field}[{i}]", f"expected a (start, end) pair of times, got {window!r}") from None
        for t in (a, b):
            if not isinstance(t, time):
                raise CalendarError(f"{field}[{i}]", f"expected datetime.time values, got {t!r}")
            if t.tzinfo is not None:
                raise CalendarError(f"{field}[{i}]", f"times are local wall-clock times and must be naive, got {t!r}")
        result.append((a.replace(fold=0), b.replace(fold=0)))
    _check_day_windows(result, field)
    return tuple(result)


def _working_days(value) -> dict[date, tuple[Window, ...]]:
    if not isinstance(value, Mapping):
        raise CalendarError("working_days", "expected a mapping of date -> list of (start, end) times")
    result = {}
    for day, day_windows in value.items():
        if isinstance(day, datetime) or not isinstance(day, date):
            raise CalendarError("working_days", f"expected datetime.date keys, got {day!r}")
        field = f"working_days[{day.isoformat()}]"
        result[day] = _normalise_day(day_windows, field)
        if not result[day]:
            raise CalendarError(field, "a working day needs at least one window")
    return result


def _check_keys(value, allowed: tuple[str, ...], field: str) -> None:
    if not isinstance(value, Mapping):
        raise CalendarError(field, f"expected a mapping, got {type(value).__name__}")
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        raise CalendarError(field, f"unknown field(s) {', '.join(unknown)}; expected some of {', '.join(allowed)}")


def _sequence(values, field: str) -> Sequence:
    if values is None:
        return ()
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Sequence):
        raise CalendarError(field, f"expected a list, got {type(values).__name__}")
    return values


def _parse_windows(specs, field: str) -> list[Window]:
    parsed = [_parse_window(spec, f"{field}[{i}]") for i, spec in enumerate(_sequence(specs, field))]
    _check_day_windows(parsed, field)
    return parsed


def _check_day_windows(day_windows: list, field: str) -> None:
    """Each window non-empty (end after start, or end 24:00); no overlaps."""
    day_windows.sort(key=lambda w: w[0])
    previous_end = None
    for a, b in day_windows:
        if b != MIDNIGHT and b <= a:
            raise CalendarError(field, f"window {_window_text(a, b)} ends at or before its start")
        if previous_end is not None and (previous_end == MIDNIGHT or a < previous_end):
            raise CalendarError(field, f"window {_window_text(a, b)} overlaps the window before it")
        previous_end = b


def _window_text(a: time, b: time) -> str:
    end = "24:00" if b == MIDNIGHT else b.isoformat(timespec="minutes" if not (b.second or b.microsecond) else "auto")
    start = a.isoformat(timespec="minutes" if not (a.second or a.microsecond) else "auto")
    return f"{start}-{end}"


def _parse_window(spec, field: str) -> Window:
    if not isinstance(spec, str):
        raise CalendarError(field, f"expected 'HH:MM-HH:MM', got {spec!r}")
    match = _WINDOW_RE.match(spec)
    if not match:
        raise CalendarError(field, f"expected 'HH:MM-HH:MM', got {spec!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if not (0 <= h1 <= 23 and 0 <= m1 <= 59):
        raise CalendarError(field, f"bad start time in {spec!r} (00:00 .. 23:59)")
    if h2 == 24 and m2 == 0:
        end = MIDNIGHT
    elif 0 <= h2 <= 23 and 0 <= m2 <= 59:
        end = time(h2, m2)
    else:
        raise CalendarError(field, f"bad end time in {spec!r} (00:00 .. 24:00)")
    start = time(h1, m1)
    if end != MIDNIGHT and end <= start:
        raise CalendarError(field, f"window {spec.strip()!r} ends at or before its start")
    return start, end


def _parse_dates(values, field: str) -> frozenset[date]:
    return frozenset(_parse_date(value, f"{field}[{i}]") for i, value in enumerate(_sequence(values, field)))


def _parse_date(value, field: str) -> date:
    if isinstance(value, datetime):
        raise CalendarError(field, f"expected a date, got a datetime {value!r}")
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise CalendarError(field, f"expected 'YYYY-MM-DD', got {value!r}")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise CalendarError(field, f"not a valid 'YYYY-MM-DD' date: {value!r}") from None


def _date_set(values, field: str) -> frozenset[date]:
    if values is None:
        return frozenset()
    if isinstance(values, (str, bytes)):
        raise CalendarError(field, "expected a collection of dates, got a string")
    try:
        items = list(values)
    except TypeError:
        raise CalendarError(field, f"expected a collection of dates, got {type(values).__name__}") from None
    for value in items:
        if isinstance(value, datetime) or not isinstance(value, date):
            raise CalendarError(field, f"expected datetime.date values, got {value!r}")
    return frozenset(items)


def _dates_text(dates) -> str:
    return ", ".join(d.isoformat() for d in sorted(dates))


# ------------------------------------------------- holidays library (lazy)

# (country, subdivision) -> ...; the library's computations are cached per year
_COUNTRY_YEARS: dict[tuple[str, str | None, int], tuple[frozenset[date], frozenset[date]]] = {}
_COUNTRY_DAYS: dict[tuple[str, str | None, int], tuple[frozenset[date], frozenset[date]]] = {}
_KNOWN_COUNTRIES: set[tuple[str, str | None]] = set()


def _check_country(country: str, subdivision: str | None) -> None:
    if (country, subdivision) in _KNOWN_COUNTRIES:
        return
    import holidays as holidays_lib

    try:
        holidays_lib.country_holidays(country)  # no years: nothing computed yet
    except NotImplementedError:
        raise CalendarError("country", f"the holidays library does not know country {country!r}") from None
    if subdivision is not None:
        try:
            holidays_lib.country_holidays(country, subdiv=subdivision)
        except NotImplementedError:
            raise CalendarError("subdivision", f"the holidays library knows no subdivision {subdivision!r} "
                                               f"of {country}") from None
    _KNOWN_COUNTRIES.add((country, subdivision))


def _country_year(country: str, subdivision: str | None, year: int) -> tuple[frozenset[date], frozenset[date]]:
    """The library's holidays of ``year`` and the make-up working days it reports computing ``year``."""
    key = (country, subdivision, year)
    cached = _COUNTRY_YEARS.get(key)
    if cached is None:
        import holidays as holidays_lib

        calendar = holidays_lib.country_holidays(country, subdiv=subdivision, years=year)
        days = frozenset(d for d in calendar.keys() if d.year == year)
        workdays = frozenset(getattr(calendar, "weekend_workdays", ()) or ())
        cached = _COUNTRY_YEARS[key] = (days, workdays)
    return cached


def _country_days(country: str, subdivision: str | None, year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(holidays, make-up working days) of ``country`` falling in ``year``, cached per year.

    A make-up day can belong to a holiday of the neighbouring year (a working
    Sunday in late December for a New Year break), so the make-up days of
    ``year`` are gathered from the computations of ``year - 1 .. year + 1``.
    """
    key = (country, subdivision, year)
    cached = _COUNTRY_DAYS.get(key)
    if cached is None:
        days = _country_year(country, subdivision, year)[0]
        workdays = set()
        for y in (year - 1, year, year + 1):
            if 1 <= y <= 9999:
                workdays.update(d for d in _country_year(country, subdivision, y)[1] if d.year == year)
        cached = _COUNTRY_DAYS[key] = (days, frozenset(workdays - days))
    return cached
