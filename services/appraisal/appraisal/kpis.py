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
from statistics import fmean

KPI_KEYS = (
    "first_response_mean", "first_response_p50", "first_response_p90",
    "resolution_mean", "resolution_p50", "resolution_p90",
    "sla_compliance", "first_contact_rate", "resolution_rate", "reopen_rate", "transfer_rate",
    "complaint_rate", "csat_mean", "csat_top2", "volume", "exam_score",
)
TOP_BOX = 4


def percentile(values, share) -> float | None:
    """Nearest-rank percentile (the value at rank ceil(share * n)), as SQL's percentile_disc."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * share)) - 1]


def ratio(numerator, denominator) -> float | None:
    return numerator / denominator if denominator else None


def mean(values) -> float | None:
    return fmean(values) if values else None


def compute(records, exam_scores=()) -> dict:
    """Every KPI of ``KPI_KEYS`` over ticket records (facts.TicketRecord) and exam grades."""
    records = list(records)
    first = [r.first_response_seconds for r in records if r.first_response_seconds is not None]
    resolution = [r.resolution_seconds for r in records if r.resolved and r.resolution_seconds is not None]
    subject = [r for r in records if r.sla_subject]
    ever_resolved = [r for r in records if r.ever_resolved]
    ratings = [r.csat_score for r in records if r.csat_score is not None]
    return {
        "first_response_mean": mean(first),
        "first_response_p50": percentile(first, 0.5),
        "first_response_p90": percentile(first, 0.9),
        "resolution_mean": mean(resolution),
        "resolution_p50": percentile(resolution, 0.5),
        "resolution_p90": percentile(resolution, 0.9),
        "sla_compliance": ratio(sum(r.sla_met for r in subject), len(subject)),
        "first_contact_rate": ratio(sum(r.first_contact_resolution for r in ever_resolved), len(ever_resolved)),
        "resolution_rate": ratio(sum(r.resolved for r in records), len(records)),
        "reopen_rate": ratio(sum(r.reopens > 0 for r in ever_resolved), len(ever_resolved)),
        "transfer_rate": ratio(sum(r.transfers > 0 for r in records), len(records)),
        "complaint_rate": ratio(sum(r.kind == "complaint" for r in records), len(records)),
        "csat_mean": mean(ratings),
        "csat_top2": ratio(sum(score >= TOP_BOX for score in ratings), len(ratings)),
        "volume": len(records),
        "exam_score": mean(list(exam_scores)),
    }
