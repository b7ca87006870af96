"""The agents ticketing may route to, and routing itself (T3, R4).

The registry follows the gateway's ``staff.*`` events (a full snapshot each;
an older one arriving late is ignored by its sequence) and training's
certification events. Rules are in ``routing.py``.

Contract expected of training (``training.events``):
``training.certified`` data ``{agent, certification, valid_until|null,
clears_for_duty}``; ``training.certification_revoked`` and
``training.certification_expired`` data ``{agent, certification}``.
"""
from datetime import datetime

from marshmallow import EXCLUDE, Schema, fields
from nameko.timer import timer
from sqlalchemy import func, or_, select

from plumbing.config import setting
from plumbing.consumer import event_handler
from plumbing.errors import Conflict, load_event_data
from plumbing.schemas import shared
from plumbing.rpc import rpc
from ticketing import routing, tickets
from ticketing.models import Agent, AgentCertification, Ticket
from ticketing.contract import AgentListSchema

ROUTE_SECONDS = 10
ROUTE_BATCH = 100


class StaffSnapshot(Schema):
    class Meta:
        unknown = EXCLUDE

    username = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    teams = fields.List(fields.String(), load_default=list)
    skills = fields.List(fields.String(), load_default=list)
    capacity = fields.Integer(load_default=10)
    on_duty = fields.Boolean(load_default=False)
    active = fields.Boolean(load_default=True)


class Certified(Schema):
    class Meta:
        unknown = EXCLUDE

    agent = fields.String(required=True)
    certification = fields.String(required=True)
    valid_until = fields.AwareDateTime(allow_none=True, load_default=None)
    clears_for_duty = fields.Boolean(load_default=True)


class CertificationEnded(Schema):
    class Meta:
        unknown = EXCLUDE

    agent = fields.String(required=True)
    certification = fields.String(required=True)


class AgentRegistry:
    """Mixed into TicketingService: needs its ``db``, ``inbox``, ``config`` and ticket steps."""

    # -- learning who the agents are ---------------------------------------------------
    @event_handler("gateway", "staff.account_created")
    def on_staff_created(self, event):
        self.learn_staff(event)

    @event_handler("gateway", "staff.account_updated")
    def on_staff_updated(self, event):
        self.learn_staff(event)

    def learn_staff(self, event):
        staff = load_event_data(StaffSnapshot(), event)
        with self.db.begin():
            if not self.inbox.first_time(self.db, event):
                return
            agent = self.db.get(Agent, staff["username"], with_for_update=True)
            if agent is None:
                agent = Agent(username=staff["username"], staff_sequence=0)
                self.db.add(agent)
            if event["sequence"] > agent.staff_sequence:
                for name, value in staff.items():
                    setattr(agent, name, value)
                agent.staff_sequence = event["sequence"]

    @event_handler("training", "training.certified")
    def on_certified(self, event):
        certified = load_event_data(Certified(), event)
        with self.db.begin():
            if self.inbox.first_time(self.db, event):
                key = (certified["agent"], certified["certification"])
                record = self.db.get(AgentCertification, key) or AgentCertification(agent=key[0], certification=key[1])
                record.valid_until, record.clears_for_duty = certified["valid_until"], certified["clears_for_duty"]
                record.revoked_at = None  # renewal by passing again
                self.db.add(record)

    @event_handler("training", "training.certification_revoked")
    def on_certification_revoked(self, event):
        self.end_certification(event)

    @event_handler("training", "training.certification_expired")
    def on_certification_expired(self, event):
        self.end_certification(event)

    def end_certification(self, event):
        ended = load_event_data(CertificationEnded(), event)
        with self.db.begin():
            if self.inbox.first_time(self.db, event):
                record = self.db.get(AgentCertification, (ended["agent"], ended["certification"]))
                if record is not None:
                    record.revoked_at = datetime.fromisoformat(event["time"])

    # -- routing -------------------------------------------------------------------------
    @rpc
    def list_agents(self):
        """Who routing can use, and why not, for supervisors."""
        items = []
        for candidate in self.candidates():
            items.append({"username": candidate.username, "teams": sorted(candidate.teams),
                          "skills": sorted(candidate.skills), "capacity": candidate.capacity,
                          "open_tickets": candidate.open_tickets, "on_duty": candidate.on_duty,
                          "cleared": candidate.cleared, "not_cleared_because": routing.not_cleared_reason(candidate)})
        return shared(AgentListSchema).dump({"items": items})

    def candidates(self, usernames=None, on_duty_only=False):
        statement = select(Agent).order_by(Agent.username)
        if usernames is not None:
            statement = statement.where(Agent.username.in_(usernames))
        if on_duty_only:
            statement = statement.where(Agent.on_duty.is_(True), Agent.active.is_(True))
        agents = self.db.scalars(statement).all()
        if not agents:
            return []
        names = [agent.username for agent in agents]
        open_counts = dict(self.db.execute(
            select(Ticket.assignee, func.count()).where(Ticket.state.in_(tickets.OPEN_STATES),
                                                       Ticket.assignee.in_(names)).group_by(Ticket.assignee)).all())
        cleared = set(self.db.scalars(select(AgentCertification.agent).where(
            AgentCertification.agent.in_(names), AgentCertification.clears_for_duty.is_(True),
            AgentCertification.revoked_at.is_(None),
            or_(AgentCertification.valid_until.is_(None), AgentCertification.valid_until > self.now()))))
        return [routing.Candidate(
            username=agent.username, teams=frozenset(agent.teams), skills=frozenset(agent.skills),
            capacity=agent.capacity, open_tickets=open_counts.get(agent.username, 0), on_duty=agent.on_duty,
            active=agent.active and "agent" in agent.roles, cleared=agent.username in cleared,
            last_assigned_at=agent.last_assigned_at) for agent in agents]

    def supervisors_of(self, team):
        """Active supervisors of ``team`` (every active supervisor when ``team`` is None)."""
        statement = select(Agent).where(Agent.active.is_(True)).order_by(Agent.username)
        return [agent.username for agent in self.db.scalars(statement)
                if "supervisor" in agent.roles and (team is None or team in agent.teams)]

    def not_assignable_reason(self, username):
        """Why ``username`` may not be given tickets, or None (R4); imports replay history as it was."""
        if self.replay_at is not None or not self.require_certification:
            return None
        [candidate] = self.candidates([username]) or [None]
        return routing.not_cleared_reason(candidate)

    def check_assignable(self, username):
        reason = self.not_assignable_reason(username)
        if reason:
            raise Conflict(f"{username} {reason}", {"assignee": [f"{username} {reason}"]})

    @property
    def require_certification(self):
        return str(setting(self.config, "ticketing", "REQUIRE_CERTIFICATION", "true")).lower() != "false"

    def route(self, ticket):
        """Give a waiting ticket to the best eligible agent; False if none can take it."""
        need = routing.Need(ticket.team, frozenset(ticket.required_skills or ()))
        strategy = setting(self.config, "ticketing", "ROUTING_STRATEGY", routing.ROUND_ROBIN)
        chosen = routing.choose(self.candidates(on_duty_only=True), need, strategy)
        if chosen is None:
            return False
        self.hand_to(ticket, chosen.username, ticket.team)
        return True

    @timer(interval=ROUTE_SECONDS)
    def route_waiting(self):
        """Tickets nobody could take when they came in, oldest first."""
        routed = 0
        with self.db.begin():
            waiting = self.db.scalars(select(Ticket).where(Ticket.state == "new", Ticket.assignee.is_(None))
                                      .order_by(Ticket.id).limit(ROUTE_BATCH).with_for_update(skip_locked=True))
            for ticket in waiting:
                routed += self.route(ticket)
        return routed
