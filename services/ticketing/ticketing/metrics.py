"""Ticketing's own Prometheus metrics: the SLA figures supervisors watch (X4).

Durations are business seconds on the policy's calendar, pauses excluded.
Buckets sit at the usual SLA targets so compliance reads straight off them.
Imported history is not observed: these figures describe live work.
"""
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from plumbing.unit_of_work import utc_now
from ticketing.contract import CLOCKS, PRIORITIES
from ticketing.models import SlaClock, Ticket
from ticketing.tickets.rules import OPEN_STATES

MINUTE, HOUR = 60, 3600
SLA_BUCKETS = (5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR,
               9 * HOUR, 18 * HOUR, 27 * HOUR, 45 * HOUR)

FIRST_RESPONSE_SECONDS = Histogram(
    "csops_ticket_first_response_business_seconds", "Business time to the first reply the customer saw.",
    ["priority", "kind", "channel"], buckets=SLA_BUCKETS)
RESOLUTION_SECONDS = Histogram(
    "csops_ticket_resolution_business_seconds", "Business time to resolution, waiting on the customer excluded.",
    ["priority", "kind", "channel"], buckets=SLA_BUCKETS)
SLA_CLOCKS_COMPLETED = Counter(
    "csops_sla_clocks_completed_total", "SLA clocks that stopped, met or breached: compliance = met / all.",
    ["clock", "outcome", "team", "agent"])
SLA_WARNINGS = Counter("csops_sla_warnings_total", "SLA warnings published.", ["clock"])
SLA_BREACHES = Counter("csops_sla_breaches_total", "SLA breaches published.", ["clock"])
CSAT_RATINGS = Counter("csops_csat_ratings_total", "Customer ratings by score (1-5).", ["score", "team"])
TICKETS_CREATED = Counter("csops_tickets_created_total", "Tickets opened.", ["channel", "kind", "priority"])
TICKETS_RESOLVED = Counter(
    "csops_tickets_resolved_total", "Resolutions; first-contact resolution rate = first_contact=\"true\" / all (T9).",
    ["team", "first_contact"])
PERSONAL_DATA_ERASED = Counter(
    "csops_personal_data_erased_tickets_total",
    "Tickets whose personal data was erased, by reason: request (a customer's erasure) or retention.", ["reason"])


def clock_completed(ticket, clock_name, outcome, business_seconds):
    labels = {"priority": ticket.priority, "kind": ticket.kind, "channel": ticket.channel}
    if clock_name == "first_response":
        FIRST_RESPONSE_SECONDS.labels(**labels).observe(business_seconds)
    elif clock_name == "resolution":
        RESOLUTION_SECONDS.labels(**labels).observe(business_seconds)
    SLA_CLOCKS_COMPLETED.labels(clock_name, outcome, ticket.team or "", ticket.assignee or "").inc()


class OpenTickets:
    """Counted in the database at scrape time: open tickets by state and
    priority, tickets breaching soon (an SLA clock past its warning, not
    yet breached, running) by clock and priority, zeros included, and
    unstaffed tickets (waiting in a team with no agent cleared for duty) by
    team ("" for none), zero for the teams that have agents or waiting tickets."""

    def __init__(self, session_factory):
        self.session_factory = session_factory

    def collect(self):
        gauge = GaugeMetricFamily("csops_tickets_open", "Open tickets by state and priority.",
                                  labels=["state", "priority"])
        soon = GaugeMetricFamily("csops_tickets_breaching_soon",
                                 "Running SLA clocks past their warning and not yet breached.",
                                 labels=["clock", "priority"])
        unstaffed = GaugeMetricFamily("csops_tickets_unstaffed",
                                      "Waiting tickets of a team with no agent cleared for duty: nobody can take them.",
                                      labels=["team"])
        with self.session_factory() as session:
            for team, count in unstaffed_by_team(session).items():
                unstaffed.add_metric([team], count)
            rows = session.execute(select(Ticket.state, Ticket.priority, func.count())
                                   .where(Ticket.state.in_(OPEN_STATES)).group_by(Ticket.state, Ticket.priority))
            for state, priority, count in rows:
                gauge.add_metric([state, priority], count)
            warned = dict(((clock, priority), count) for clock, priority, count in session.execute(
                select(SlaClock.name, Ticket.priority, func.count()).join(Ticket, Ticket.id == SlaClock.ticket_id)
                .where(SlaClock.warned_at.is_not(None), SlaClock.breached_at.is_(None),
                       SlaClock.stopped_at.is_(None), SlaClock.paused_at.is_(None))
                .group_by(SlaClock.name, Ticket.priority)))
        for clock in CLOCKS:
            for priority in PRIORITIES:
                soon.add_metric([clock, priority], warned.get((clock, priority), 0))
        yield gauge
        yield soon
        yield unstaffed


def unstaffed_by_team(session):
    from ticketing.routing import handlers as routing  # routing's handlers import these metrics

    staffing = routing.staffing_now(session, utc_now())
    counts = dict(session.execute(select(Ticket.team, func.count()).where(routing.unstaffed_condition(staffing))
                                  .group_by(Ticket.team)).all())
    waiting_teams = session.scalars(select(Ticket.team).where(routing.waiting_condition()).distinct())
    teams = set(staffing.teams) | set(waiting_teams)
    return {team or "": counts.get(team, 0) for team in sorted(teams, key=lambda team: team or "")}
