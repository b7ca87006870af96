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

from sqlalchemy import and_, case, func, null, or_, select

from appraisal.models import TicketRecord
from plumbing.db import is_postgres

KPI_KEYS = (
    "first_response_mean", "first_response_p50", "first_response_p90",
    "resolution_mean", "resolution_p50", "resolution_p90",
    "sla_compliance", "first_contact_rate", "resolution_rate", "reopen_rate", "transfer_rate",
    "complaint_rate", "csat_mean", "csat_top2", "volume", "exam_score",
)
TOP_BOX = 4
SHARES = (50, 90)  # the percentiles, in percent


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
    """Every KPI of ``KPI_KEYS`` from a tally (counts and sums, ``TALLY``) of
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
    """Every KPI of ``KPI_KEYS`` over ticket records (facts.TicketRecord) and exam grades, in memory."""
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


# -- the same, computed by the database (a cycle reads a whole month of tickets) -------------------------------------
def _tally_columns():
    r = TicketRecord
    resolution = case((r.resolved, r.resolution_seconds))
    counted = lambda condition: func.count(case((condition, 1)))  # noqa: E731  (COUNT of the rows where it holds)
    return {
        "tickets": func.count(), "first_count": func.count(r.first_response_seconds),
        "first_sum": func.sum(r.first_response_seconds),
        "resolution_count": func.count(resolution), "resolution_sum": func.sum(resolution),
        "sla_subject": counted(r.sla_subject), "sla_met": counted(and_(r.sla_subject, r.sla_met)),
        "ever_resolved": counted(r.ever_resolved),
        "first_contact": counted(and_(r.ever_resolved, r.first_contact_resolution)),
        "resolved": counted(r.resolved), "reopened": counted(and_(r.ever_resolved, r.reopens > 0)),
        "transferred": counted(r.transfers > 0), "complaints": counted(r.kind == "complaint"),
        "rated": func.count(r.csat_score), "csat_sum": func.sum(r.csat_score),
        "top2": counted(r.csat_score >= TOP_BOX),
    }


TALLY = tuple(_tally_columns())
EMPTY = dict.fromkeys(TALLY, 0)


def merge(tallies) -> dict:
    """One tally of several (sums of counts and of sums)."""
    total = dict(EMPTY)
    for tally in tallies:
        for key in TALLY:
            total[key] += tally[key] or 0
    return total


def tallies(session, conditions) -> dict:
    """``{(agent, team): tally}`` of the ticket records meeting ``conditions``:
    one GROUP BY over the records, the same on SQLite and PostgreSQL. Means
    are sums over counts (the database's sum, not ``math.fsum``: the last
    bits of a mean may differ from ``compute``'s)."""
    columns = _tally_columns()
    statement = select(TicketRecord.agent, TicketRecord.team, *columns.values()).where(*conditions).group_by(
        TicketRecord.agent, TicketRecord.team)
    return {(agent, team): dict(zip(columns, figures)) for agent, team, *figures in session.execute(statement)}


MEASURES = (("first_response", TicketRecord.first_response_seconds, ()),
            ("resolution", TicketRecord.resolution_seconds, (TicketRecord.resolved,)))


def percentiles(session, conditions, by_agent=True) -> dict:
    """``{agent: {"first_response_p50": ..., ...}}`` (``{None: {...}}`` over all
    records when not ``by_agent``), nearest-rank: PostgreSQL's percentile_disc
    in one GROUP BY; elsewhere (SQLite) each the value at rank ceil(n * share)
    by ``row_number()`` over the sorted values, in integer arithmetic."""
    r, found = TicketRecord, {}
    group = [r.agent] if by_agent else []
    if is_postgres(session):
        columns = {f"{name}_p{share}": func.percentile_disc(share / 100).within_group(column).filter(
            and_(column.is_not(None), *only)) for name, column, only in MEASURES for share in SHARES}
        for agent, *figures in session.execute(select((r.agent if by_agent else null()).label("agent"),
                                                      *columns.values()).where(*conditions).group_by(*group)):
            found[agent] = dict(zip(columns, figures))
        return found
    for name, column, only in MEASURES:
        ranked = select((r.agent if by_agent else null()).label("agent"), column.label("value"),
                        func.row_number().over(partition_by=group or None, order_by=column).label("position"),
                        func.count().over(partition_by=group or None).label("n")).where(
            *conditions, column.is_not(None), *only).subquery()
        rank = {share: (ranked.c.n * share + 99) // 100 for share in SHARES}  # ceil(n * share / 100)
        for agent, value, position, n in session.execute(
                select(ranked.c.agent, ranked.c.value, ranked.c.position, ranked.c.n)
                .where(or_(*(ranked.c.position == at for at in rank.values())))):
            for share in SHARES:
                if position == (n * share + 99) // 100:
                    found.setdefault(agent, {})[f"{name}_p{share}"] = value
    return found
