"""The measured KPIs of A1, defined once, here (docs/appraisal.md quotes them
with a worked example each).

Every KPI is a count or a mean of one kind of measure (facts.rules: one row per
contribution of a fact, attributed to the agent responsible when it happened,
in the period of the instant that decides it), or a ratio of two counts, over
the measures of a scope (an agent, a team's members at the time, a queue) and
a period:

===================  ==========================================================
first_response_*     business seconds to the first reply the customer saw
                     (mean, p50, p90): ``first_response``, for the replier
first_resolution_*   business seconds from creation to the first resolution:
                     ``first_resolution``, for the resolver
resolution_*         business seconds from creation to the latest resolution
                     of tickets resolved now: ``full_resolution``
sla_compliance       ``sla_met`` / (``sla_met`` + ``sla_breach``)
first_contact_rate   ``first_contact`` / ``contact_resolved``
resolution_rate      ``first_resolution`` / tickets ``handled``
reopen_rate          ``reopened`` / ``resolved``
transfer_rate        ``transfer`` / ``received``
complaint_rate       ``complaint`` / ``received``
csat_mean            mean ``csat`` (1-5)
csat_top2            ``csat_top`` / ``csat``
volume               ``received``
exam_score           mean ``exam`` grade (percent)
===================  ==========================================================

Resolution times count business time on the ticket's SLA calendar, waiting on
the customer and time spent resolved before a reopen excluded. A KPI whose
denominator is empty is ``None`` ("not applicable"): a template leaves it out
and shares its weight among the items that apply. A count (``COUNTS``) of 0
is shown as 0 but is no data either: a template leaves it out too.
"""
from datetime import datetime, time, timedelta, timezone

from appraisal.facts.rules import (
    COMPLAINT, CONTACT_RESOLVED, CSAT, CSAT_TOP, EXAM, FIRST_CONTACT, FIRST_REPLY, FIRST_RESOLUTION, FULL_RESOLUTION,
    HANDLED, RECEIVED, REOPENED, RESOLVED, SLA_BREACH, SLA_MET, TRANSFER,
)

SHARES = (50, 90)  # the percentiles, in percent
COUNTS = ("volume",)  # the KPIs that count measures: 0 is no data (nothing to count), not a figure to score
TIMED = {"first_response": FIRST_REPLY, "first_resolution": FIRST_RESOLUTION, "resolution": FULL_RESOLUTION}
# a tally: per kind of measure, its rows, the rows with a value, the sum of the values, and the tickets
EMPTY = {"rows": 0, "valued": 0, "sum": 0.0, "tickets": 0}


def day_range(first, last):
    """UTC instants [first day 00:00, day after last 00:00)."""
    start = datetime.combine(first, time.min, tzinfo=timezone.utc)
    return start, datetime.combine(last, time.min, tzinfo=timezone.utc) + timedelta(days=1)


def ratio(numerator, denominator) -> float | None:
    return numerator / denominator if denominator else None


def values(tally: dict, percentiles: dict) -> dict:
    """Every KPI of ``contract.KPI_KEYS`` from a tally (``{kind: {"rows", "valued", "sum", "tickets"}}``)
    of measures and their percentiles (``{"first_response_p50": ...}``)."""
    def rows(kind):
        return tally.get(kind, EMPTY)["rows"]

    def mean(kind):
        counted = tally.get(kind, EMPTY)
        return ratio(counted["sum"], counted["valued"])
    timed = {}
    for name, kind in TIMED.items():
        timed[f"{name}_mean"] = mean(kind)
        timed.update({f"{name}_p{share}": percentiles.get(f"{name}_p{share}") for share in SHARES})
    return {
        **timed,
        "sla_compliance": ratio(rows(SLA_MET), rows(SLA_MET) + rows(SLA_BREACH)),
        "first_contact_rate": ratio(rows(FIRST_CONTACT), rows(CONTACT_RESOLVED)),
        "resolution_rate": ratio(rows(FIRST_RESOLUTION), tally.get(HANDLED, EMPTY)["tickets"]),
        "reopen_rate": ratio(rows(REOPENED), rows(RESOLVED)),
        "transfer_rate": ratio(rows(TRANSFER), rows(RECEIVED)),
        "complaint_rate": ratio(rows(COMPLAINT), rows(RECEIVED)),
        "csat_mean": mean(CSAT),
        "csat_top2": ratio(rows(CSAT_TOP), rows(CSAT)),
        "volume": rows(RECEIVED),
        "exam_score": mean(EXAM),
    }


def merge(tallies) -> dict:
    """One tally of several (sums of rows, sums and tickets, per kind: tallies of disjoint measures)."""
    total = {}
    for tally in tallies:
        for kind, counted in tally.items():
            into = total.setdefault(kind, dict(EMPTY))
            for key in EMPTY:
                into[key] += counted[key] or 0
    return total
