"""The KPIs' figures as the database computes them from the measures (a cycle
reads a whole month): rows, valued rows and sums per kind in one GROUP BY, the
percentiles by ranking, and the conditions that pick a scope and a period."""
from sqlalchemy import and_, exists, func, null, or_, select

from appraisal.kpis.rules import SHARES, TIMED, day_range
from appraisal.models import Measure, Membership
from plumbing.db import is_postgres


def period_conditions(first, last):
    """The measures whose instant falls from the first day to the last (UTC), inclusive."""
    start, end = day_range(first, last)
    return [Measure.at >= start, Measure.at < end]


def scope_conditions(criteria) -> list:
    """An agent's measures; a team's: those of its members at the time of each (DECISIONS 10);
    a queue's: those of tickets in the team's queue then (the ticket's team)."""
    if "agent" in criteria:
        return [Measure.agent == criteria["agent"]]
    if "queue" in criteria:
        return [Measure.queue == criteria["queue"]]
    if "team" in criteria:
        return [exists().where(Membership.agent == Measure.agent, Membership.team == criteria["team"],
                               or_(Membership.valid_from.is_(None), Membership.valid_from <= Measure.at),
                               or_(Membership.valid_to.is_(None), Measure.at < Membership.valid_to))]
    return []


def tallies(session, conditions, *by) -> dict:
    """``{(by values...): {kind: {"rows", "valued", "sum", "tickets"}}}`` of the measures meeting ``conditions``,
    grouped by the columns ``by`` (none: one group, key ``()``): one GROUP BY, the same on SQLite and
    PostgreSQL. Means are sums over counts (the database's sum, not ``math.fsum``). Grouped by agent,
    tickets are rows (an agent has one ``handled`` per ticket), not the distinct count a sort would cost."""
    by_agent = any(column is Measure.agent for column in by)
    tickets = func.count() if by_agent else func.count(Measure.ticket_id.distinct())
    statement = select(*by, Measure.kind, func.count(), func.count(Measure.value), func.sum(Measure.value),
                       tickets).where(*conditions).group_by(*by, Measure.kind)
    found = {}
    for *key, kind, rows, valued, total, tickets in session.execute(statement):
        found.setdefault(tuple(key), {})[kind] = {"rows": rows, "valued": valued, "sum": total or 0.0,
                                                  "tickets": tickets}
    return found


def percentiles(session, conditions, by_agent=True) -> dict:
    """``{agent: {"first_response_p50": ...}}`` (``{None: {...}}`` over all measures
    when not ``by_agent``), nearest-rank: PostgreSQL's percentile_disc in one GROUP BY;
    elsewhere (SQLite) each the value at rank ceil(n * share) by ``row_number()`` over
    the sorted values, in integer arithmetic."""
    m, found = Measure, {}
    group = [m.agent] if by_agent else []
    agent = (m.agent if by_agent else null()).label("agent")
    if is_postgres(session):
        columns = {f"{name}_p{share}": func.percentile_disc(share / 100).within_group(m.value).filter(
            and_(m.kind == kind, m.value.is_not(None))) for name, kind in TIMED.items() for share in SHARES}
        for key, *figures in session.execute(select(agent, *columns.values()).where(
                *conditions, m.kind.in_(TIMED.values())).group_by(*group)):
            found[key] = dict(zip(columns, figures))
        return found
    for name, kind in TIMED.items():
        ranked = select(agent, m.value.label("value"),
                        func.row_number().over(partition_by=group or None, order_by=m.value).label("position"),
                        func.count().over(partition_by=group or None).label("n")).where(
            *conditions, m.kind == kind, m.value.is_not(None)).subquery()
        rank = {share: (ranked.c.n * share + 99) // 100 for share in SHARES}  # ceil(n * share / 100)
        for key, value, position, n in session.execute(
                select(ranked.c.agent, ranked.c.value, ranked.c.position, ranked.c.n)
                .where(or_(*(ranked.c.position == at for at in rank.values())))):
            for share in SHARES:
                if position == (n * share + 99) // 100:
                    found.setdefault(key, {})[f"{name}_p{share}"] = value
    return found
