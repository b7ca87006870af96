"""The KPIs' figures as the database computes them (a cycle reads a whole
month of tickets): the counts and sums of ``rules.TALLY`` in one GROUP BY, the
percentiles by ranking, the period's bounds and the exam grades kept as facts."""
from sqlalchemy import and_, case, func, null, or_, select

from appraisal.kpis.rules import SHARES, TOP_BOX, day_range
from appraisal.models import Fact, TicketRecord
from plumbing.db import is_postgres

EXAM_EVENTS = ("training.exam_passed", "training.exam_failed")


def tally_columns():
    """``rules.TALLY``'s figures as aggregates over ticket records, in that order."""
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


def tallies(session, conditions) -> dict:
    """``{(agent, team): tally}`` of the ticket records meeting ``conditions``:
    one GROUP BY over the records, the same on SQLite and PostgreSQL. Means
    are sums over counts (the database's sum, not ``math.fsum``: the last
    bits of a mean may differ from ``rules.compute``'s)."""
    columns = tally_columns()
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


def period_conditions(first, last):
    """The ticket records created from the first day to the last (UTC), inclusive."""
    start, end = day_range(first, last)
    return [TicketRecord.created_at >= start, TicketRecord.created_at < end]


def exam_scores(session, agents, first, last) -> dict:
    """Exam grades finalised in the period, by agent (of ``agents``, or everyone's when None)."""
    start, end = day_range(first, last)
    statement = select(Fact).where(Fact.type.in_(EXAM_EVENTS), Fact.time >= start, Fact.time < end)
    if agents is not None:
        statement = statement.where(Fact.agent.in_(agents))
    rows = session.scalars(statement)
    scores = {}
    for fact in rows:
        scores.setdefault(fact.agent, []).append(fact.data["score"])
    return scores
