"""The worked examples of docs/appraisal.md, one test each, through appraisal's
handlers and its SQL (SQLite): the events ticketing publishes, at their times,
and the KPIs they make. Expected figures are computed by hand from the
definitions (the arithmetic is in the comments)."""
from datetime import datetime, timezone

from appraisal.cycles import handlers as cycles
from appraisal.cycles.rules import WorkingDays
from appraisal.facts import handlers as facts
from appraisal.kpis import handlers as kpis
from appraisal.reviews import handlers as reviews
from plumbing.events import make_envelope

RECONTACT_DAYS = 7
SCHEMAS = {"ticket.created": facts.TicketCreatedDataSchema, "ticket.rated": facts.TicketRatedDataSchema,
           "sla.clock_stopped": facts.SlaClockStoppedDataSchema}


NONE_MISSING = []  # training's missing_courses, as the gateway passes it on: it has every course named


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
    # closed without a reply, as ticketing reports it now: the first-response clock ends "cancelled"
    closed = Ticket(3, utc(2, 9)).add("sla.clock_stopped", utc(2, 11), clock="first_response",
                                      business_seconds=7200.0, met=False, outcome="cancelled", state="closed")
    take(run, closed)
    assert kpis_of(run, agent="ann")["first_response_mean"] == 600.0


# -- resolution times of a reopened ticket (DECISIONS 7) ---------------------------------------------
def test_first_and_full_resolution_time_leave_out_waiting_and_the_time_resolved_before_a_reopen(run):
    # business hours 09:00-18:00 on the ticket's policy calendar. Created Mon 2 March 09:00; waiting on the
    # customer 10:00-11:00 (paused); ann resolves 12:00: 3 h - 1 h = 2 h = 7200 s (first resolution).
    # Reopened Wed 4 March 14:00 (Mon 12:00 - Wed 14:00 resolved: not counted); bob resolves 15:00:
    # 7200 + 1 h = 10800 s (full resolution: creation to the latest resolution).
    ticket = Ticket(1, utc(2, 9)).reply(utc(2, 9, 30), "ann", 1800.0)
    ticket.resolve(utc(2, 12), "ann", 7200.0).reopen(utc(4, 14)).resolve(utc(4, 15), "bob", 10800.0)
    take(run, ticket)
    ann, bob = kpis_of(run, agent="ann"), kpis_of(run, agent="bob")
    assert (ann["first_resolution_mean"], ann["resolution_mean"]) == (7200.0, None)
    assert (bob["first_resolution_mean"], bob["resolution_mean"]) == (None, 10800.0)
    # reopened, not resolved again: no full resolution until it is
    open_again = Ticket(2, utc(2, 9)).resolve(utc(2, 10), "ann", 3600.0).reopen(utc(3, 9))
    take(run, open_again)
    everyone = kpis_of(run)
    assert (everyone["first_resolution_mean"], everyone["resolution_mean"]) == ((7200 + 3600) / 2, 10800.0)


# -- attribution (DECISIONS 6) --------------------------------------------------------------------
def test_each_fact_counts_for_the_agent_responsible_when_it_happened(run):
    ticket = Ticket(1, utc(2, 9), owner="ann").transfer(utc(2, 9, 5), by="ann", to="bob")
    ticket.reply(utc(2, 9, 20), "bob", 1200.0)
    ticket.add("sla.breached", utc(2, 13), clock="resolution", due_at=utc(2, 13).isoformat(), owner="bob")
    ticket.resolve(utc(2, 14), "bob", 18000.0, met=False)  # stops breached: the breach at 13:00 counted already
    ticket.add("ticket.rated", utc(2, 15), score=4, resolution=1)
    take(run, ticket)
    ann, bob = kpis_of(run, agent="ann"), kpis_of(run, agent="bob")
    # ann received it (volume 1) and transferred it: transfer rate 1 / 1; resolved none of the 1 she handled: 0 / 1
    assert (ann["volume"], ann["transfer_rate"], ann["resolution_rate"]) == (1, 1.0, 0.0)
    assert (ann["first_response_mean"], ann["sla_compliance"], ann["csat_mean"]) == (None, None, None)
    # bob: the first reply (1200 s, met), the breach (owner at 13:00), the resolution and the rating of it;
    # SLA compliance 1 met / (1 met + 1 breach) = 0.5; FCR 0 / 1 (transferred before)
    assert (bob["volume"], bob["first_response_mean"], bob["sla_compliance"]) == (0, 1200.0, 0.5)
    assert (bob["first_resolution_mean"], bob["csat_mean"], bob["first_contact_rate"]) == (18000.0, 4.0, 0.0)
    assert bob["resolution_rate"] == 1.0  # it came to him by the transfer: 1 resolved / 1 handled


# -- periods (DECISIONS 8) ----------------------------------------------------------------------
def test_each_fact_counts_in_the_period_of_its_own_instant(run):
    ticket = Ticket(1, utc(31, 23)).reply(utc(1, 8, month=4), "ann", 600.0)
    ticket.resolve(utc(2, 10, month=4), "ann", 5400.0).add("ticket.rated", utc(3, 9, month=4), score=5,
                                                            resolution=1)
    take(run, ticket)
    march, april = kpis_of(run, agent="ann"), kpis_of(run, 4, agent="ann")
    # created 31 March: volume in March; the reply, the resolution and the rating in April
    assert (march["volume"], march["first_response_mean"], march["first_resolution_mean"]) == (1, None, None)
    assert (april["volume"], april["first_response_mean"], april["first_resolution_mean"], april["csat_mean"]) == (
        0, 600.0, 5400.0, 5.0)


# -- first contact resolution and the re-contact window (DECISIONS 9) --------------------------------
def test_a_reopen_at_exactly_the_windows_end_is_inside_and_one_after_it_is_a_new_contact(run):
    # window 7 days. Ticket 1: resolved 2 March 10:00, reopened 9 March 10:00:00 = resolved + 7 days: inside,
    # so its resolution is no first-contact resolution; resolved again 12:00 in the same contact.
    inside = Ticket(1, utc(2, 9)).resolve(utc(2, 10), "ann").reopen(utc(9, 10)).resolve(utc(9, 12), "ann")
    # Ticket 2: reopened 9 March 10:00:01, one second after the window: the first resolution stays a
    # first-contact resolution, and the reopen is a new contact, resolved 12:00 at first contact too.
    outside = Ticket(2, utc(2, 9)).resolve(utc(2, 10), "ann").reopen(utc(9, 10, 0, 1)).resolve(utc(9, 12), "ann")
    # Ticket 3: reopened after the window and still open: its first resolution stays first-contact.
    still_open = Ticket(3, utc(2, 9)).resolve(utc(2, 10), "ann").reopen(utc(20, 9))
    take(run, inside, outside, still_open)
    ann = kpis_of(run, agent="ann")
    # contacts resolved: 1 (ticket 1) + 2 (ticket 2) + 1 (ticket 3) = 4; at first contact: 0 + 2 + 1 = 3
    assert ann["first_contact_rate"] == 3 / 4
    # resolutions 2 + 2 + 1 = 5, reopened 1 + 1 + 1 = 3
    assert ann["reopen_rate"] == 3 / 5


# -- SLA compliance corners (DECISIONS 2-4) ----------------------------------------------------------
def test_sla_compliance_leaves_out_cancelled_paused_and_follow_up_clocks(run):
    # P: first reply in time (met); resolution clock breached at 17:00 and stopped breached next day: one
    # breach, not two. A follow-up (update clock) answered late: no target, not counted.
    p = Ticket(1, utc(2, 9)).reply(utc(2, 9, 10), "ann", 600.0)
    p.add("sla.breached", utc(2, 17), clock="resolution", due_at=utc(2, 17).isoformat(), owner="ann")
    p.clock(utc(3, 9), "update", 9000.0, met=False, actor="ann")
    p.resolve(utc(3, 10), "ann", 36000.0, met=False)
    # Q: first reply in time, then waiting on the customer for good: its resolution clock never stops
    q = Ticket(2, utc(2, 9)).reply(utc(2, 9, 20), "ann", 1200.0)
    q.facts["state"] = "waiting_customer"
    q.add("ticket.status_changed", utc(2, 9, 30), from_state="in_progress")
    # R: closed as spam with no reply: its first-response clock is cancelled
    r = Ticket(3, utc(2, 9))
    r.facts["state"] = "closed"
    r.add("sla.clock_stopped", utc(2, 9, 5), clock="first_response", business_seconds=300.0, met=True,
          outcome="cancelled")
    take(run, p, q, r)
    # met: P's and Q's first responses = 2; breached: P's resolution = 1; compliance 2 / (2 + 1)
    assert kpis_of(run, agent="ann")["sla_compliance"] == 2 / 3


# -- team and queue (DECISIONS 10) ---------------------------------------------------------------
def account(username, sequence, at, teams):
    return make_envelope(service="gateway", event_type="staff.account_updated" if sequence > 1 else
                         "staff.account_created", subject=f"staff/{username}", sequence=sequence, time=at,
                         data={"username": username, "roles": ["agent"], "teams": teams, "skills": [],
                               "capacity": 5, "on_duty": True, "active": True})


def exam(agent, at, score):
    return make_envelope(service="training", event_type="training.exam_passed", subject=f"training/{agent}",
                         data={"agent": agent, "score": score}, sequence=1, time=at)


def test_a_team_counts_its_members_facts_at_the_time_and_a_queue_its_tickets(run):
    # ann's account was made on 20 March (its first snapshot holds from the beginning): billing.
    # bob: billing from 1 March, refunds from 15 March.
    run(facts.take_staff_facts, [account("ann", 1, utc(20, 8), ["billing"]), account("bob", 1, utc(1, 8), ["billing"]),
                                 account("bob", 2, utc(15, 8), ["refunds"])])
    take(run, Ticket(1, utc(2, 9), owner="ann", team="billing"), Ticket(2, utc(10, 9), owner="bob", team="refunds"),
         Ticket(3, utc(20, 9), owner="bob", team="billing"))
    run(facts.take_exam_facts, [exam("ann", utc(5, 9), 90.0), exam("bob", utc(12, 9), 50.0),
                                exam("bob", utc(20, 9), 70.0)])
    billing, refunds = kpis_of(run, team="billing"), kpis_of(run, team="refunds")
    # team billing: ann's ticket 1 and bob's ticket 2 (bob in billing on 10 March) = 2; exams ann 90 and
    # bob's 50 of 12 March: (90 + 50) / 2 = 70. Team refunds: bob's ticket 3 (20 March) = 1; exam 70.
    assert (billing["volume"], billing["exam_score"]) == (2, 70.0)
    assert (refunds["volume"], refunds["exam_score"]) == (1, 70.0)
    # queue billing: tickets 1 and 3 = 2; queue refunds: ticket 2 = 1 (exams are no ticket's: none)
    assert [kpis_of(run, queue=team)["volume"] for team in ("billing", "refunds")] == [2, 1]
    assert kpis_of(run, queue="billing")["exam_score"] is None
    assert run(facts.replay, RECONTACT_DAYS)["facts"] == 3 + 3 + 3  # memberships rebuilt with the rest
    assert kpis_of(run, team="billing")["volume"] == 2


# -- periods freeze (DECISIONS 11) ----------------------------------------------------------------
VOLUME = {"key": "volume", "name": "Tickets", "category": "volume", "source": "measured", "measure": "volume",
          "direction": "higher_better", "target": 10, "floor": 0}
MONTHLY = {"name": "Volume monthly", "role": "agent", "period_type": "monthly",
           "items": [{"kpi": "volume", "weight": 100}], "bands": [{"grade": "A", "min_score": 0}]}


def test_a_published_cycle_keeps_its_figures_and_a_late_fact_counts_in_the_next_period(run):
    run(reviews.create_kpi_definition, VOLUME, actor="carla")
    template = run(reviews.create_template, MONTHLY, NONE_MISSING, actor="carla")

    def cycle_of(month, computed):
        made = run(cycles.create_cycle, {"template_id": template["id"], "period_start": f"2026-{month:02}-01"},
                   actor="carla")
        for action in ("start", "compute"):
            made = run(cycles.advance_cycle, made["id"], {"action": action}, WorkingDays(None), actor="carla",
                       at=computed)
        return made

    def volume(cycle):
        return {result["agent"]: result["kpis"]["volume"] for result in run(cycles.list_results, cycle["id"])["items"]}
    take(run, Ticket(1, utc(2, 9)), at=utc(2, 9, 1))
    march = cycle_of(3, utc(1, 9, month=4))
    for action in ("review", "publish"):
        run(cycles.advance_cycle, march["id"], {"action": action}, WorkingDays(None), actor="carla",
            at=utc(1, 10, month=4))
    assert volume(march) == {"ann": 1}
    # published on 1 April; on 2 April a ticket of 31 March arrives (its events were held up)
    take(run, Ticket(2, utc(31, 23)), at=utc(2, 9, month=4))
    march = run(cycles.get_cycle, march["id"])
    assert (volume(march), march["late_facts"]) == ({"ann": 1}, 1)  # the figures stand; the late fact is shown
    assert kpis_of(run, agent="ann")["volume"] == 2  # by date, the ticket is March's
    take(run, Ticket(3, utc(10, 9, month=4)), at=utc(10, 9, 1, month=4))
    april = cycle_of(4, utc(1, 9, month=5))
    assert (volume(april), april["late_facts"]) == ({"ann": 2}, 0)  # April's ticket 3 + March's late ticket 2


def test_computing_a_computed_cycle_again_keeps_its_measured_figures(run):
    run(reviews.create_kpi_definition, VOLUME, actor="carla")
    template = run(reviews.create_template, MONTHLY, NONE_MISSING, actor="carla")
    take(run, Ticket(1, utc(2, 9)), at=utc(2, 9, 1))
    cycle = run(cycles.create_cycle, {"template_id": template["id"], "period_start": "2026-03-01"}, actor="carla")
    for action, at in (("start", utc(1, 9, month=4)), ("compute", utc(1, 9, month=4))):
        run(cycles.advance_cycle, cycle["id"], {"action": action}, WorkingDays(None), actor="carla", at=at)
    take(run, Ticket(2, utc(30, 9)), at=utc(1, 10, month=4))
    again = run(cycles.advance_cycle, cycle["id"], {"action": "compute"}, WorkingDays(None), actor="carla",
                at=utc(1, 11, month=4))
    assert (again["computed_at"], again["late_facts"]) == ("2026-04-01T09:00:00+00:00", 1)
    assert [r["kpis"]["volume"] for r in run(cycles.list_results, cycle["id"])["items"]] == [1]
