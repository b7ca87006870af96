"""KPIs: their values over a period for an agent, a team or a queue (or everyone), and tickets
counted per day or month."""
from sqlalchemy import func, select

from appraisal.contract import KpiQuerySchema, KpiValuesSchema, TicketCountListSchema, TicketCountQuerySchema
from appraisal.facts.rules import RECEIVED
from appraisal.kpis import queries, rules
from appraisal.models import Measure
from plumbing.errors import load_or_invalid as load
from plumbing.schemas import shared

SCOPES = ("agent", "team", "queue")


def get_kpis(uow, query):
    criteria = load(KpiQuerySchema, query)
    conditions = [*queries.period_conditions(criteria["date_from"], criteria["date_to"]),
                  *queries.scope_conditions(criteria)]
    tally = queries.tallies(uow.session, conditions).get((), {})
    values = rules.values(tally, queries.percentiles(uow.session, conditions, by_agent=False).get(None, {}))
    return shared(KpiValuesSchema).dump(dict(criteria, **{scope: criteria.get(scope) for scope in SCOPES},
                                             kpis=values))


def count_tickets(uow, query, agents=None):
    """Tickets by creation day (or month) and the agent who received them (DECISIONS 6); ``agents``: only
    theirs (the gateway's scope for agents and supervisors; None: everyone's, unowned tickets too)."""
    criteria = load(TicketCountQuerySchema, query or {})
    day = Measure.day
    conditions = [Measure.kind == RECEIVED]
    if "date_from" in criteria:
        conditions.append(day >= criteria["date_from"])
    if "date_to" in criteria:
        conditions.append(day <= criteria["date_to"])
    if "agent" in criteria:
        conditions.append(Measure.agent == criteria["agent"])
    if agents is not None:
        conditions.append(Measure.agent.in_(agents))
    rows = uow.session.execute(select(day, Measure.agent, func.count()).where(*conditions)
                               .group_by(day, Measure.agent).order_by(day, Measure.agent)).all()
    counts = {}
    for on, agent, tickets in rows:
        key = (on.replace(day=1) if criteria["by"] == "month" else on, agent)
        counts[key] = counts.get(key, 0) + tickets
    items = [{"day": on, "agent": agent, "tickets": n} for (on, agent), n in counts.items()]
    return shared(TicketCountListSchema).dump({"items": items})
