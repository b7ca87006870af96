"""The worked examples of docs/appraisal.md, one test each, through appraisal's
handlers and its SQL (SQLite): the events ticketing publishes, at their times,
and the KPIs they make. Expected figures are computed by hand from the
definitions (the arithmetic is in the comments)."""
from datetime import datetime, timezone

from appraisal.facts import handlers as facts
from appraisal.kpis import handlers as kpis
from plumbing.events import make_envelope

RECONTACT_DAYS = 7
SCHEMAS = {"ticket.created": facts.TicketCreatedDataSchema, "ticket.rated": facts.TicketRatedDataSchema,
           "sla.clock_stopped": facts.SlaClockStoppedDataSchema}


def utc(day, hour, minute=0, second=0, month=3):
    return datetime(2026, month, day, hour, minute, second, tzinfo=timezone.utc)


class Ticket:
    """One ticket's events as ticketing publishes them: the ticket's own sequence, each at its time,
    with the ticket's routing facts (owner, team, state) and who acted."""

    def __init__(self, ticket_id, at, owner="ann", team="billing", kind="inquiry"):
        self.events, self.replied = [], False
        self.facts = {"ticket_id": ticket_id, "assignee": owner, "team": team, "kind": kind, "priority": "normal",
                      "channel": "email", "state": "assigned" if owner else "new", "actor": None}
        self.add("ticket.created", at, created_at=at.isoformat())

    def add(self, event_type, at, **data):
        self.events.append(make_envelope(
            service="ticketing", event_type=event_type, subject=f"ticket/{self.facts['ticket_id']}",
            data=dict(self.facts, **data), sequence=len(self.events) + 1, time=at))
        return self

    def clock(self, at, name, seconds, met=True, **data):
        return self.add("sla.clock_stopped", at, clock=name, business_seconds=seconds, met=met, **data)

    def reply(self, at, by, seconds, met=True):
        """A public reply; the first stops the first-response clock (``seconds`` of business time)."""
        self.add("ticket.replied", at, actor=by, author=by)
        if not self.replied:
            self.replied = True
            self.clock(at, "first_response", seconds, met, actor=by)
        return self

    def transfer(self, at, by, to):
        previous = self.facts["assignee"]
        self.facts["assignee"] = to
        return self.add("ticket.transferred", at, actor=by, previous_assignee=previous)

    def end(self, at, by, state, seconds=None, met=True):
        """Resolve or close as ticketing does: the state changes, the clocks stop (a first-response
        clock with no reply before: no first response), then the ticket event."""
        self.facts["state"] = state
        if not self.replied:
            self.clock(at, "first_response", seconds or 0.0, True, actor=by)  # as before ticketing named outcomes
        if seconds is not None:
            self.clock(at, "resolution", seconds, met, actor=by)
        return self.add(f"ticket.{state}", at, actor=by)

    def resolve(self, at, by, seconds=None, met=True):
        return self.end(at, by, "resolved", seconds, met)

    def reopen(self, at, by=None):
        self.facts["state"] = "in_progress"
        return self.add("ticket.reopened", at, actor=by)


def take(run, *tickets, at=None):
    """Hand every ticket's events to appraisal, a batch per event type as its queues would;
    ``at``: when they arrive."""
    batches = {}
    for ticket in tickets:
        for event in ticket.events:
            batches.setdefault(event["type"], []).append(event)
    for event_type, batch in batches.items():
        run(facts.take_ticket_facts, batch, RECONTACT_DAYS, SCHEMAS.get(event_type, facts.TicketEventDataSchema),
            at=at)


def kpis_of(run, month=3, **scope):
    last = {3: 31, 4: 30}[month]
    return run(kpis.get_kpis, dict(scope, date_from=f"2026-{month:02}-01", date_to=f"2026-{month:02}-{last}"))["kpis"]


# -- first response -----------------------------------------------------------------------------
def test_a_ticket_resolved_or_closed_without_a_reply_has_no_first_response(run):
    answered = Ticket(1, utc(2, 9)).reply(utc(2, 9, 10), "ann", 600.0)
    # resolved with no reply: ticketing stops the first-response clock on resolve (old events: met, no outcome)
    unanswered = Ticket(2, utc(2, 9)).resolve(utc(2, 10), "ann", 3600.0)
    take(run, answered, unanswered)
    # only ticket 1's reply is a first response: mean 600 / 1 = 600, not (600 + 3600) / 2 = 2100
    assert kpis_of(run, agent="ann")["first_response_mean"] == 600.0
