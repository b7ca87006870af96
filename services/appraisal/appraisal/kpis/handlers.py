"""KPIs: their values over a period for an agent, a team or everyone, and tickets counted per day or month."""
from sqlalchemy import func, select

from appraisal.contract import KpiQuerySchema, KpiValuesSchema, TicketCountListSchema, TicketCountQuerySchema
from appraisal.kpis import queries, rules
from appraisal.models import TicketRecord
from plumbing.errors import load_or_invalid as load
from plumbing.schemas import shared


def get_kpis(uow, query):
    criteria = load(KpiQuerySchema, query)
    conditions = queries.period_conditions(criteria["date_from"], criteria["date_to"])
    if "agent" in criteria:
        conditions.append(TicketRecord.agent == criteria["agent"])
    if "team" in criteria:
        conditions.append(TicketRecord.team == criteria["team"])
    groups = queries.tallies(uow.session, conditions)
    agents = [criteria["agent"]] if "agent" in criteria else sorted({agent for agent, _ in groups if agent})
    scores = queries.exam_scores(uow.session, agents, criteria["date_from"], criteria["date_to"])
    values = rules.values(rules.merge(groups.values()), queries.percentiles(uow.session, conditions, by_agent=False)
                          .get(None, {}), [score for agent in agents for score in scores.get(agent, [])])
    return shared(KpiValuesSchema).dump(dict(criteria, agent=criteria.get("agent"), team=criteria.get("team"),
                                             kpis=values))


def count_tickets(uow, query, agents=None):
    """Tickets by creation day (or month) and owning agent; ``agents``: only theirs (the gateway's
    scope for agents and supervisors; None: everyone's, unowned tickets too)."""
    criteria = load(TicketCountQuerySchema, query or {})
    day = TicketRecord.created_on
    conditions = [day.is_not(None)]
    if "date_from" in criteria:
        conditions.append(day >= criteria["date_from"])
    if "date_to" in criteria:
        conditions.append(day <= criteria["date_to"])
    if "agent" in criteria:
        conditions.append(TicketRecord.agent == criteria["agent"])
    if agents is not None:
        conditions.append(TicketRecord.agent.in_(agents))
    rows = uow.session.execute(select(day, TicketRecord.agent, func.count()).where(*conditions)
                               .group_by(day, TicketRecord.agent).order_by(day, TicketRecord.agent)).all()
    counts = {}
    for on, agent, tickets in rows:
        key = (on.replace(day=1) if criteria["by"] == "month" else on, agent)
        counts[key] = counts.get(key, 0) + tickets
    items = [{"day": on, "agent": agent, "tickets": n} for (on, agent), n in counts.items()]
    return shared(TicketCountListSchema).dump({"items": items})
