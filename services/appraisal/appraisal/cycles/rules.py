"""Appraisal cycles and appeals (A4, A5), with no framework.

A cycle goes planned -> collecting -> computed -> review -> published ->
closed; ``compute`` may run again while collecting or computed (late
facts). Publication opens the appeal window: an agent may appeal until the
end of the N-th working day after it. The committee must decide each appeal
within M working days of its filing; overdue ones are shown as such.
Deadlines count working days on a calendar: weekends and a country's public
holidays (the ``holidays`` library, with its make-up working weekends, as
China's around Spring Festival) plus configured extra holidays and working
weekend days.
"""
import calendar as month_calendar
from dataclasses import dataclass, field
from datetime import date, timedelta

import holidays as holidays_lib

from plumbing.text import with_article

TRANSITIONS = {  # action (contract.CYCLE_ACTIONS): (the states it is allowed from, the state it leads to)
    "start": ({"planned"}, "collecting"),
    "compute": ({"collecting", "computed"}, "computed"),
    "review": ({"computed"}, "review"),
    "publish": ({"review"}, "published"),
    "close": ({"published"}, "closed"),
}
VISIBLE_TO_AGENTS = ("published", "closed")  # the cycle states in which an agent sees their own result


def most_tickets(tickets_by_team: dict):
    """A result's team: the one with the most tickets (of equals, the first by name); None without any."""
    return min(tickets_by_team, key=lambda team: (-tickets_by_team[team], team), default=None)


def latest_team(memberships) -> str:
    """Of an agent's memberships in a period, ``[(valid_from or None, team)]``: the team joined last
    (a membership from the beginning counts as the earliest); of equals, the first by name."""
    return min(memberships, key=lambda span: (-(span[0].timestamp() if span[0] else float("-inf")), span[1]))[1]


class CycleConflict(Exception):
    """A step the cycle's or appeal's state does not allow; ``field`` names what is wrong."""

    def __init__(self, message, field="state"):
        super().__init__(message)
        self.field = field


def next_state(state: str, action: str) -> str:
    allowed, target = TRANSITIONS[action]
    if state not in allowed:
        raise CycleConflict(f"cannot {action} a cycle that is {state}; it must be {' or '.join(sorted(allowed))}")
    return target


def period_of(period_type: str, start: date) -> tuple[date, date]:
    """First and last day of the period beginning ``start`` (the first day of a month, quarter or year)."""
    if start.day != 1 or (period_type == "quarterly" and (start.month - 1) % 3) or (
            period_type == "annual" and start.month != 1):
        raise CycleConflict(f"{with_article(period_type)} period cannot start on {start.isoformat()}", "period_start")
    months = {"monthly": 1, "quarterly": 3, "annual": 12}[period_type]
    last_month = start.month + months - 1
    year = start.year + (last_month - 1) // 12
    month = (last_month - 1) % 12 + 1
    return start, date(year, month, month_calendar.monthrange(year, month)[1])


@dataclass(frozen=True)
class WorkingDays:
    country: str | None = "CN"
    extra_holidays: frozenset = frozenset()
    working_weekend_days: frozenset = frozenset()
    _years: dict = field(default_factory=dict, compare=False, repr=False)

    def is_working_day(self, day: date) -> bool:
        if day in self.working_weekend_days:
            return True
        if day in self.extra_holidays:
            return False
        public, makeup = self.country_days(day.year)
        if day in makeup:
            return True
        return day.weekday() < 5 and day not in public

    def country_days(self, year):
        if self.country is None:
            return frozenset(), frozenset()
        if year not in self._years:
            calendar = holidays_lib.country_holidays(self.country, years=range(year - 1, year + 2))
            self._years[year] = (frozenset(calendar.keys()),
                                 frozenset(getattr(calendar, "weekend_workdays", ()) or ()))
        return self._years[year]

    def add(self, start: date, working_days: int) -> date:
        """The ``working_days``-th working day after ``start``."""
        day, left = start, working_days
        while left > 0:
            day += timedelta(days=1)
            left -= self.is_working_day(day)
        return day


@dataclass(frozen=True)
class AppealRules:
    appeal_days: int = 5           # working days after publication to appeal
    decision_days: int = 10        # working days after filing for the committee to decide


def appeal_deadline(published_on: date, rules: AppealRules, calendar: WorkingDays) -> date:
    return calendar.add(published_on, rules.appeal_days)


def check_appeal_allowed(cycle_state: str, deadline: date | None, today: date):
    if cycle_state != "published":
        raise CycleConflict(f"results can be appealed only while published; this cycle is {cycle_state}")
    if today > deadline:
        raise CycleConflict(f"the appeal window closed at the end of {deadline.isoformat()}", "filed_at")


def decision_due(filed_on: date, rules: AppealRules, calendar: WorkingDays) -> date:
    return calendar.add(filed_on, rules.decision_days)
