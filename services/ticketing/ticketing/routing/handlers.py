"""The agents ticketing may route to, and routing itself (T3, R4).

The registry follows the gateway's ``staff.*`` events (a full snapshot each;
an older one arriving late is ignored by its sequence) and training's
certification events. Rules are in ``rules.py``.

Contract expected of training (``training.events``):
``training.certified`` data ``{agent, certification, valid_until|null,
clears_for_duty}``; ``training.certification_revoked`` and
``training.certification_expired`` data ``{agent, certification}``.

Settings (the service's config, else ``TICKETING_<name>`` in the environment):
``ROUTING_STRATEGY`` (``round_robin`` or ``least_loaded``) and
``REQUIRE_CERTIFICATION`` (``false`` lets anyone known be assigned by hand).
"""
import logging
from dataclasses import replace
from datetime import datetime, timedelta

from marshmallow import fields
from sqlalchemy import and_, exists, false, func, or_, select, true

from plumbing.config import setting
from plumbing.errors import Conflict, load_event_data
from plumbing.events import sequence_number
from plumbing.schemas import TolerantSchema, shared
from plumbing.unit_of_work import utc_now
from ticketing.contract import NOTE, AgentListSchema
from ticketing.models import Agent, AgentCertification, SlaClock, Ticket, TicketHistory
from ticketing.routing import rules
from ticketing.tickets import rules as tickets
from ticketing.tickets import steps

ROUTE_SECONDS = 10
ROUTE_BATCH = 100
UNSTAFFED = "unstaffed"  # the history action of the note on an unstaffed ticket
# A new agent is cleared through events (account, then certification) a moment after the fact: a
# ticket is noted once it has waited this long, so that lag alone writes no note.
UNSTAFFED_NOTE_AFTER = timedelta(minutes=1)
NOBODY_CLEARED = ("nobody is cleared for duty: routing gives tickets to no one until a trainer sets the "
                  "certifications the specialist career level requires (PUT /api/v1/training/career-levels/"
                  "specialist) and agents hold one; see docs/operations.md, the first hour of a new install")

log = logging.getLogger(__name__)


class StaffSnapshot(TolerantSchema):
    username = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    teams = fields.List(fields.String(), load_default=list)
    skills = fields.List(fields.String(), load_default=list)
    capacity = fields.Integer(load_default=10)
    on_duty = fields.Boolean(load_default=False)
    active = fields.Boolean(load_default=True)


class Certified(TolerantSchema):
    agent = fields.String(required=True)
    certification = fields.String(required=True)
    valid_until = fields.AwareDateTime(allow_none=True, load_default=None)
    clears_for_duty = fields.Boolean(load_default=True)


class CertificationEnded(TolerantSchema):
    agent = fields.String(required=True)
    certification = fields.String(required=True)


# -- learning who the agents are ---------------------------------------------------------
def learn_staff(uow, event):
    """A staff account's snapshot, unless a newer one was applied already."""
    staff = load_event_data(shared(StaffSnapshot), event)
    with uow.transaction():
        if not uow.first_time(event):
            return
        agent = uow.session.get(Agent, staff["username"], with_for_update=True)
        if agent is None:
            agent = Agent(username=staff["username"], staff_sequence=0)
            uow.session.add(agent)
        sequence = sequence_number(event)
        if sequence > agent.staff_sequence:
            for name, value in staff.items():
                setattr(agent, name, value)
            agent.staff_sequence = sequence


def learn_certification(uow, event):
    certified = load_event_data(shared(Certified), event)
    with uow.transaction():
        if uow.first_time(event):
            key = (certified["agent"], certified["certification"])
            record = uow.session.get(AgentCertification, key) or AgentCertification(agent=key[0],
                                                                                   certification=key[1])
            record.valid_until, record.clears_for_duty = certified["valid_until"], certified["clears_for_duty"]
            record.revoked_at = None  # renewal by passing again
            uow.session.add(record)


def end_certification(uow, event):
    """A revoked or expired certification, from the event's time on."""
    ended = load_event_data(shared(CertificationEnded), event)
    with uow.transaction():
        if uow.first_time(event):
            record = uow.session.get(AgentCertification, (ended["agent"], ended["certification"]))
            if record is not None:
                record.revoked_at = datetime.fromisoformat(event["time"])


# -- routing -------------------------------------------------------------------------------
def list_agents(uow):
    """Who routing can use, and why not, for supervisors; ``warnings`` says when nobody is cleared."""
    items = []
    everyone = candidates(uow)
    for candidate in everyone:
        items.append({"username": candidate.username, "teams": sorted(candidate.teams),
                      "skills": sorted(candidate.skills), "capacity": candidate.capacity,
                      "open_tickets": candidate.open_tickets, "on_duty": candidate.on_duty,
                      "cleared": candidate.cleared, "not_cleared_because": rules.not_cleared_reason(candidate)})
    warnings = [] if rules.staffing(everyone).anyone else [NOBODY_CLEARED]
    return shared(AgentListSchema).dump({"items": items, "warnings": warnings})


def warn_if_nobody_cleared(session_factory):
    """At start-up: one line when no agent is cleared for duty (a new install, until training has run)."""
    with session_factory() as session:
        if not rules.staffing(registry_at(session, utc_now())).anyone:
            log.warning("%s", NOBODY_CLEARED)


def candidates(uow, usernames=None, on_duty_only=False):
    return candidates_at(uow.session, uow.now(), usernames, on_duty_only)


def candidates_at(session, now, usernames=None, on_duty_only=False):
    """The agents as routing's candidates, at ``now``, their open tickets counted."""
    return with_loads(session, registry_at(session, now, usernames, on_duty_only))


def registry_at(session, now, usernames=None, on_duty_only=False):
    """The agents as candidates at ``now`` (who they are, whether cleared), their loads not counted (0)."""
    statement = select(Agent).order_by(Agent.username)
    if usernames is not None:
        statement = statement.where(Agent.username.in_(usernames))
    if on_duty_only:
        statement = statement.where(Agent.on_duty.is_(True), Agent.active.is_(True))
    agents = session.scalars(statement).all()
    if not agents:
        return []
    names = [agent.username for agent in agents]
    cleared = set(session.scalars(select(AgentCertification.agent).where(
        AgentCertification.agent.in_(names), AgentCertification.clears_for_duty.is_(True),
        AgentCertification.revoked_at.is_(None),
        or_(AgentCertification.valid_until.is_(None), AgentCertification.valid_until > now))))
    return [rules.Candidate(
        username=agent.username, teams=frozenset(agent.teams), skills=frozenset(agent.skills),
        capacity=agent.capacity, open_tickets=0, on_duty=agent.on_duty,
        active=agent.active and "agent" in agent.roles, cleared=agent.username in cleared,
        last_assigned_at=agent.last_assigned_at) for agent in agents]


def with_loads(session, candidates):
    """``candidates`` with their open tickets counted: one statement for all of them."""
    if not candidates:
        return []
    open_counts = dict(session.execute(
        select(Ticket.assignee, func.count()).where(
            Ticket.state.in_(tickets.OPEN_STATES), Ticket.assignee.in_([c.username for c in candidates]))
        .group_by(Ticket.assignee)).all())
    return [replace(candidate, open_tickets=open_counts.get(candidate.username, 0)) for candidate in candidates]


def supervisors_of(uow, team):
    """Active supervisors of ``team`` (every active supervisor when ``team`` is None)."""
    statement = select(Agent).where(Agent.active.is_(True)).order_by(Agent.username)
    return [agent.username for agent in uow.session.scalars(statement)
            if "supervisor" in agent.roles and (team is None or team in agent.teams)]


def not_assignable_reason(uow, username, config):
    """Why ``username`` may not be given tickets, or None (R4); imports replay history as it was."""
    if uow.replaying or not require_certification(config):
        return None
    [candidate] = candidates(uow, [username]) or [None]
    return rules.not_cleared_reason(candidate)


def check_assignable(uow, username, config):
    reason = not_assignable_reason(uow, username, config)
    if reason:
        raise Conflict(f"{username} {reason}", {"assignee": [f"{username} {reason}"]})


def require_certification(config):
    return str(setting(config, "ticketing", "REQUIRE_CERTIFICATION", "true")).lower() != "false"


def route(uow, ticket, config, new=False):
    """Give a waiting ticket to the best eligible agent; False if none can take it, or if the
    ticket is ``new`` and a waiting one before it in the queue could go to that agent."""
    need = rules.Need(ticket.team, frozenset(ticket.required_skills or ()))
    strategy = setting(config, "ticketing", "ROUTING_STRATEGY", rules.ROUND_ROBIN)
    chosen = rules.choose(candidates(uow, on_duty_only=True), need, strategy)
    if chosen is None or (new and waits_its_turn(uow, ticket, chosen)):
        return False
    steps.hand_to(uow, ticket, chosen.username, ticket.team)
    return True


def route_waiting(uow, config):
    """The timer's pass: tickets nobody could take when they came in, in queue order
    (``rules.queue_order``: urgent first, then by SLA due time, then the oldest), to the agents with
    room; the unstaffed among the waiting are noted once. Returns how many were routed.

    It costs nothing when nothing can move: the agents' loads are counted once, in one statement;
    when no on-duty cleared agent has room no waiting ticket is read; the choices are made on those
    figures in memory, and no ticket is locked while the pass works: each assignment is a
    transaction of its own that locks the one ticket (``SKIP LOCKED``) and finds it still waiting,
    else leaves it to the next pass. So closing or editing a waiting ticket never waits for a pass."""
    strategy = setting(config, "ticketing", "ROUTING_STRATEGY", rules.ROUND_ROBIN)
    with uow.transaction():  # reads only: no row lock
        everyone = registry_at(uow.session, uow.now())
        ready = [c for c in everyone if c.on_duty and rules.not_cleared_reason(c) is None]
        with_room = [c for c in with_loads(uow.session, ready) if c.open_tickets < c.capacity]
        queue = waiting_queue(uow) if with_room else []
        unstaffed = unstaffed_ids(uow, rules.staffing(everyone))
    routed = assign_in_order(uow, queue, with_room, strategy)
    note_unstaffed(uow, unstaffed, config)
    return routed


def waiting_queue(uow):
    """[(Waiting, Need)] of every waiting ticket, in queue order."""
    rows = uow.session.execute(select(Ticket.id, Ticket.priority, running_due_at(), Ticket.created_at, Ticket.team,
                                      Ticket.required_skills).where(waiting_condition())).all()
    needs = {row[0]: rules.Need(row[4], frozenset(row[5] or ())) for row in rows}
    return [(waiting, needs[waiting.ticket_id]) for waiting in rules.queue_order(rules.Waiting(*row[:4]) for row in rows)]


def assign_in_order(uow, queue, with_room, strategy):
    """Give each ticket of ``queue`` to the best of ``with_room`` (their loads as counted at the start of
    the pass, kept up to date here), at most ``ROUTE_BATCH`` of them; stops when nobody has room left."""
    room = {candidate.username: candidate for candidate in with_room}
    routed = 0
    for waiting, need in queue:
        if not room or routed >= ROUTE_BATCH:
            break
        if rules.choose(room.values(), need, strategy) is None:
            continue  # nobody with room can take this one (team, skills): no SQL spent on it
        with uow.transaction():
            ticket = uow.session.scalars(select(Ticket).where(Ticket.id == waiting.ticket_id, waiting_condition())
                                         .with_for_update(skip_locked=True)).first()
            if ticket is None:
                continue  # taken, closed or being changed meanwhile: the next pass sees it again
            chosen = rules.choose(room.values(), rules.Need(ticket.team, frozenset(ticket.required_skills or ())),
                                  strategy)  # as it is now, if edited since the queue was read
            if chosen is None:
                continue
            steps.hand_to(uow, ticket, chosen.username, ticket.team)
        routed += 1
        chosen = replace(chosen, open_tickets=chosen.open_tickets + 1, last_assigned_at=uow.now())
        room[chosen.username] = chosen
        if chosen.open_tickets >= chosen.capacity:
            del room[chosen.username]
    return routed


def waits_its_turn(uow, ticket, chosen):
    """Whether a new ticket leaves ``chosen`` to a waiting one before it in the queue (``rules.waits_its_turn``);
    only waiting tickets ``chosen`` might take and of at least its priority are read."""
    rank = rules.PRIORITY_RANK.get(ticket.priority, len(rules.PRIORITY_RANK))
    rows = uow.session.execute(
        select(Ticket.id, Ticket.priority, running_due_at(), Ticket.created_at, Ticket.team, Ticket.required_skills)
        .where(waiting_condition(), Ticket.id != ticket.id,
               Ticket.priority.in_([name for name, other in rules.PRIORITY_RANK.items() if other <= rank]),
               or_(Ticket.team.is_(None), Ticket.team.in_(sorted(chosen.teams))))).all()
    if not rows:
        return False
    waiting = [rules.Waiting(*row[:4]) for row in rows]
    needs = {row[0]: rules.Need(row[4], frozenset(row[5] or ())) for row in rows}
    [this] = [rules.Waiting(*row) for row in uow.session.execute(
        select(Ticket.id, Ticket.priority, running_due_at(), Ticket.created_at).where(Ticket.id == ticket.id))]
    return rules.waits_its_turn(this, waiting, needs, chosen)


def waiting_condition():
    return and_(Ticket.state == "new", Ticket.assignee.is_(None))


def running_due_at():
    """The earliest due time of the ticket's running SLA clocks (None on no policy), as a scalar subquery."""
    return (select(func.min(SlaClock.due_at))
            .where(SlaClock.ticket_id == Ticket.id, SlaClock.stopped_at.is_(None))
            .correlate(Ticket).scalar_subquery())


def unstaffed_ids(uow, staffing):
    """Waiting tickets of a team with no cleared agent, waited ``UNSTAFFED_NOTE_AFTER`` and not noted yet."""
    return uow.session.scalars(select(Ticket.id).where(*unnoted_unstaffed(uow, staffing))
                               .order_by(Ticket.id).limit(ROUTE_BATCH)).all()


def unnoted_unstaffed(uow, staffing):
    return unstaffed_condition(staffing), Ticket.created_at <= uow.now() - UNSTAFFED_NOTE_AFTER, not_noted()


def not_noted():
    return ~exists().where(TicketHistory.ticket_id == Ticket.id, TicketHistory.action == UNSTAFFED)


def note_unstaffed(uow, ticket_ids, config):
    """A note on each of ``ticket_ids`` (``unstaffed_ids``): once per ticket (its history holds an
    ``unstaffed`` entry then), each in a transaction of its own that locks only that ticket (two
    replicas do not both note it)."""
    for ticket_id in ticket_ids:
        with uow.transaction():
            ticket = uow.session.scalars(select(Ticket).where(Ticket.id == ticket_id, waiting_condition(), not_noted())
                                         .with_for_update(skip_locked=True)).first()
            if ticket is None:
                continue
            where = f"team {ticket.team} has" if ticket.team else "the platform has"
            steps.journal(uow, ticket, UNSTAFFED, {"team": ticket.team})
            steps.write_message(uow, ticket, NOTE, f"Nobody can take this ticket: {where} no agent cleared for duty "
                                "(a valid certification the specialist level requires). It waits until one is; "
                                "the agents list says who is cleared and why not.", config)


def unstaffed_condition(staffing):
    """Waiting tickets of a team with no cleared agent (``rules.Staffing``), as an SQL condition."""
    covered = or_(and_(Ticket.team.is_not(None), Ticket.team.in_(sorted(staffing.teams))),
                  and_(Ticket.team.is_(None), true() if staffing.anyone else false()))
    return and_(waiting_condition(), ~covered)


def staffing_now(session, now):
    return rules.staffing(registry_at(session, now))  # who is cleared; their loads do not matter
