"""The measured KPIs of A1, defined once, here (docs/appraisal.md quotes them).

A ticket belongs to the period in which it was created and to the agent and
team that own it as of its latest event. Over those tickets:

===================  ==========================================================
first_response_*     business seconds to the first reply the customer saw
                     (mean, p50, p90), over tickets that had one
resolution_*         business seconds to the latest resolution, waiting on
                     the customer excluded (mean, p50, p90), over resolved ones
sla_compliance       tickets whose every stopped SLA clock met its target and
                     none breached / tickets with a clock stopped or breached
first_contact_rate   resolved with no transfer and no reopen within the
                     re-contact window / tickets ever resolved
resolution_rate      tickets resolved now / tickets
reopen_rate          tickets reopened at least once / tickets ever resolved
transfer_rate        tickets transferred at least once / tickets
complaint_rate       tickets of kind complaint / tickets
csat_mean            mean of the latest customer rating (1-5) per rated ticket
csat_top2            rated tickets scoring 4 or 5 / rated tickets
volume               tickets
exam_score           mean training exam grade (percent) finalised in the period
===================  ==========================================================

A KPI whose denominator is empty is ``None`` ("not applicable"): a template
leaves it out and shares its weight among the items that apply.
"""
import math
from datetime import datetime, time, timedelta, timezone

TOP_BOX = 4
SHARES = (50, 90)  # the percentiles, in percent
# what a tally of ticket records counts and sums (kpis.queries has the database count the same)
TALLY = ("tickets", "first_count", "first_sum", "resolution_count", "resolution_sum", "sla_subject", "sla_met",
         "ever_resolved", "first_contact", "resolved", "reopened", "transferred", "complaints", "rated", "csat_sum",
         "top2")
EMPTY = dict.fromkeys(TALLY, 0)


def day_range(first, last):
    """UTC instants [first day 00:00, day after last 00:00)."""
    start = datetime.combine(first, time.min, tzinfo=timezone.utc)
    return start, datetime.combine(last, time.min, tzinfo=timezone.utc) + timedelta(days=1)


def percentile(values, share) -> float | None:
    """Nearest-rank percentile (the value at rank ceil(share * n)), as SQL's percentile_disc."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * share)) - 1]


def ratio(numerator, denominator) -> float | None:
    return numerator / denominator if denominator else None


def mean(values) -> float | None:
    return math.fsum(values) / len(values) if values else None


def values(tally: dict, percentiles: dict, exam_scores=()) -> dict:
    """Every KPI of ``contract.KPI_KEYS`` from a tally (counts and sums, ``TALLY``) of
    ticket records, their percentiles (``{"first_response_p50": ...}``) and exam grades."""
    return {
        "first_response_mean": ratio(tally["first_sum"], tally["first_count"]),
        **{f"first_response_p{share}": percentiles.get(f"first_response_p{share}") for share in SHARES},
        "resolution_mean": ratio(tally["resolution_sum"], tally["resolution_count"]),
        **{f"resolution_p{share}": percentiles.get(f"resolution_p{share}") for share in SHARES},
        "sla_compliance": ratio(tally["sla_met"], tally["sla_subject"]),
        "first_contact_rate": ratio(tally["first_contact"], tally["ever_resolved"]),
        "resolution_rate": ratio(tally["resolved"], tally["tickets"]),
        "reopen_rate": ratio(tally["reopened"], tally["ever_resolved"]),
        "transfer_rate": ratio(tally["transferred"], tally["tickets"]),
        "complaint_rate": ratio(tally["complaints"], tally["tickets"]),
        "csat_mean": ratio(tally["csat_sum"], tally["rated"]),
        "csat_top2": ratio(tally["top2"], tally["rated"]),
        "volume": tally["tickets"],
        "exam_score": mean(list(exam_scores)),
    }


def compute(records, exam_scores=()) -> dict:
    """Every KPI of ``contract.KPI_KEYS`` over ticket records (facts.rules.TicketRecord) and exam grades, in memory."""
    records = list(records)
    first = [r.first_response_seconds for r in records if r.first_response_seconds is not None]
    resolution = [r.resolution_seconds for r in records if r.resolved and r.resolution_seconds is not None]
    ratings = [r.csat_score for r in records if r.csat_score is not None]
    ever_resolved = [r for r in records if r.ever_resolved]
    tally = {
        "tickets": len(records), "first_count": len(first), "first_sum": math.fsum(first),
        "resolution_count": len(resolution), "resolution_sum": math.fsum(resolution),
        "sla_subject": sum(r.sla_subject for r in records), "sla_met": sum(r.sla_subject and r.sla_met for r in records),
        "ever_resolved": len(ever_resolved), "first_contact": sum(r.first_contact_resolution for r in ever_resolved),
        "resolved": sum(r.resolved for r in records), "reopened": sum(r.reopens > 0 for r in ever_resolved),
        "transferred": sum(r.transfers > 0 for r in records), "complaints": sum(r.kind == "complaint" for r in records),
        "rated": len(ratings), "csat_sum": math.fsum(ratings), "top2": sum(score >= TOP_BOX for score in ratings),
    }
    percentiles = {f"{name}_p{share}": percentile(series, share / 100)
                   for name, series in (("first_response", first), ("resolution", resolution)) for share in SHARES}
    return values(tally, percentiles, exam_scores)


def merge(tallies) -> dict:
    """One tally of several (sums of counts and of sums)."""
    total = dict(EMPTY)
    for tally in tallies:
        for key in TALLY:
            total[key] += tally[key] or 0
    return total
