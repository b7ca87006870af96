"""What appraisal derives from the events it keeps (A1), by pure rules.

Every event appraisal consumes is stored as it came (the facts). From a
ticket's facts, taken in the ticket's own sequence order, come its record
(who owns it now, for ratings and scope) and its *measures*: one row per
contribution a fact makes to a KPI, attributed to the agent responsible when
it happened, at the instant that decides its period (docs/appraisal.md,
"Measures"). Events arriving out of order across queues, twice, or all over
again in a replay give the same record and the same measures.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

FIRST_RESPONSE, RESOLUTION = "first_response", "resolution"
SLA_CLOCKS = (FIRST_RESPONSE, RESOLUTION)  # follow-up (update) clocks have no target (DECISIONS 4)
MET, BREACHED, CANCELLED = "met", "breached", "cancelled"
ENDED_STATES = ("resolved", "closed")  # a clock stopping in these stopped on resolve/close, not on a reply
DEFAULT_RECONTACT_DAYS = 7
TOP_BOX = 4

# the kinds of measure (each KPI of kpis/rules.py is a count or a mean of one of them, or a ratio of two)
RECEIVED, HANDLED, COMPLAINT, FIRST_REPLY = "received", "handled", "complaint", "first_response"
RESOLVED, FIRST_RESOLUTION, FULL_RESOLUTION, REOPENED = "resolved", "first_resolution", "full_resolution", "reopened"
CONTACT_RESOLVED, FIRST_CONTACT = "contact_resolved", "first_contact"
SLA_MET, SLA_BREACH, TRANSFER, CSAT, CSAT_TOP, EXAM = (
    "sla_met", "sla_breach", "transfer", "csat", "csat_top", "exam")


@dataclass(frozen=True)
class Fact:
    type: str
    sequence: int
    time: datetime
    data: dict
    stored_at: datetime | None = None  # when appraisal received it (late facts, DECISIONS 11)


@dataclass(frozen=True)
class Measure:
    """One contribution to a KPI: ``value`` (None: counted, no amount) of ``kind``, for ``agent``, in the
    queue (the ticket's team) ``queue``, at the instant ``at`` whose period it belongs to; ``arrived_at``:
    when the last fact it rests on arrived."""
    kind: str
    agent: str | None
    queue: str | None
    at: datetime
    value: float | None
    arrived_at: datetime | None


@dataclass
class TicketRecord:
    ticket_id: int
    created_at: datetime | None = None
    agent: str | None = None          # the owner as of the latest fact
    team: str | None = None
    kind: str | None = None
    priority: str | None = None
    channel: str | None = None
    last_sequence: int = 0


@dataclass
class Resolution:
    at: datetime
    agent: str | None
    queue: str | None
    seconds: float | None       # business seconds the resolution clock had run (None: no SLA clock)
    arrived_at: datetime | None
    transfers: int              # the ticket's transfers so far


def later(*instants):
    known = [at for at in instants if at is not None]
    return max(known) if known else None


def outcome_of(data) -> str:
    """met, breached or cancelled. Events from before ticketing named the outcome carry only ``met``:
    a first-response clock that stopped in time on resolve or close had no reply: cancelled."""
    if data.get("outcome"):
        return data["outcome"]
    if not data["met"]:
        return BREACHED
    return CANCELLED if data["clock"] == FIRST_RESPONSE and data.get("state") in ENDED_STATES else MET


def stopped_by_a_reply(data) -> bool:
    """The clock stopped because the customer was answered: ``cause`` says so; events from before it
    was named stopped on resolve or close in those states."""
    if "cause" in data:
        return data["cause"] == "reply"
    return data.get("state") not in ENDED_STATES


def actor_or_owner(data):
    return data.get("actor") or data.get("assignee")


class Projection:
    """A ticket's facts, one by one, into its record and its measures."""

    def __init__(self, ticket_id, recontact_days):
        self.record = TicketRecord(ticket_id)
        self.window = timedelta(days=recontact_days)
        self.measures = []
        self.created = None            # the ticket.created fact
        self.receiver_known = False
        self.holders = set()           # the agents the ticket came to so far
        self.first_replied = False
        self.met_clocks, self.breached_clocks = set(), set()
        self.resolution_seconds = None  # of the resolution clock's latest stop, for the resolution it ends
        self.transfers = 0
        self.resolutions = []                     # in order
        self.steps = []                           # resolutions and reopens ((time, arrived_at, transfers)) in order
        self.ratings = {}                         # resolution number -> the latest rating fact of it

    def add(self, kind, agent, at, value=None, arrived_at=None):
        """A measure in the ticket's queue as of now."""
        self.measures.append(Measure(kind, agent, self.record.team, at, value, arrived_at))

    def apply(self, fact: Fact):
        data, record = fact.data, self.record
        record.last_sequence = max(record.last_sequence, fact.sequence)
        queue_before = record.team
        if "assignee" in data:
            record.agent, record.team = data["assignee"], data.get("team")
        for name in ("kind", "priority", "channel"):
            setattr(record, name, data.get(name, getattr(record, name)))
        handler = getattr(self, "on_" + fact.type.replace(".", "_"), None)
        if handler:
            handler(fact, data, queue_before)

    # -- volume and complaints: the owner at creation, or the first one assigned (DECISIONS 6, 8) ----
    def on_ticket_created(self, fact, data, queue_before):
        self.record.created_at = datetime.fromisoformat(data["created_at"])
        self.created = fact
        if data.get("assignee"):
            self.received(data["assignee"], fact.stored_at)
            self.handled(data["assignee"], self.record.created_at, fact.stored_at)

    def handled(self, agent, at, arrived_at):
        """The ticket came to ``agent`` (at creation, by assignment or transfer): once per agent."""
        if agent and agent not in self.holders:
            self.holders.add(agent)
            self.add(HANDLED, agent, at, arrived_at=arrived_at)

    def received(self, agent, arrived_at):
        self.receiver_known = True
        at, arrived = self.record.created_at, later(self.created.stored_at, arrived_at)
        self.add(RECEIVED, agent, at, arrived_at=arrived)
        if self.record.kind == "complaint":
            self.add(COMPLAINT, agent, at, arrived_at=arrived)

    def on_ticket_assigned(self, fact, data, queue_before):
        if self.created is not None and not self.receiver_known:
            self.received(data.get("assignee"), fact.stored_at)
        self.handled(data.get("assignee"), fact.time, fact.stored_at)

    def on_ticket_transferred(self, fact, data, queue_before):
        self.on_ticket_assigned(fact, data, queue_before)
        self.transfers += 1
        self.measures.append(Measure(TRANSFER, data.get("actor") or data.get("previous_assignee"), queue_before,
                                     fact.time, None, fact.stored_at))  # in the queue it left

    # -- SLA clocks ---------------------------------------------------------------------------
    def on_sla_clock_stopped(self, fact, data, queue_before):
        clock, outcome = data["clock"], outcome_of(data)
        if clock not in SLA_CLOCKS or outcome == CANCELLED:
            return
        replied = clock == FIRST_RESPONSE and stopped_by_a_reply(data)
        if replied and not self.first_replied:  # only a reply the customer saw is a first response
            self.first_replied = True
            self.add(FIRST_REPLY, actor_or_owner(data), fact.time, data["business_seconds"], fact.stored_at)
        if clock == RESOLUTION:
            self.resolution_clock(data["business_seconds"])
        if outcome == MET and clock not in self.met_clocks:
            self.met_clocks.add(clock)
            self.add(SLA_MET, actor_or_owner(data), fact.time, arrived_at=fact.stored_at)
        elif outcome == BREACHED:  # met late: a breach even if no sla.breached came before it
            self.breach(clock, data.get("assignee"), fact)

    def on_sla_breached(self, fact, data, queue_before):
        if data["clock"] in SLA_CLOCKS:
            self.breach(data["clock"], data.get("owner", data.get("assignee")), fact)

    def resolution_clock(self, seconds):
        """The resolution clock's reading, for the resolution it stops at: ticketing stops the clock
        before it says resolved, so it waits for the resolution; one that came after it fills it."""
        latest = self.steps[-1] if self.steps else None
        if isinstance(latest, Resolution) and latest.seconds is None:
            latest.seconds = seconds
        else:
            self.resolution_seconds = seconds

    def breach(self, clock, owner, fact):
        if clock not in self.breached_clocks:
            self.breached_clocks.add(clock)
            self.add(SLA_BREACH, owner, fact.time, arrived_at=fact.stored_at)

    # -- resolutions, reopens, ratings ----------------------------------------------------------
    def on_ticket_resolved(self, fact, data, queue_before):
        resolution = Resolution(fact.time, actor_or_owner(data), self.record.team, self.resolution_seconds,
                                fact.stored_at, self.transfers)
        self.resolution_seconds = None
        self.resolutions.append(resolution)
        self.steps.append(resolution)

    def on_ticket_reopened(self, fact, data, queue_before):
        self.steps.append((fact.time, fact.stored_at, self.transfers))

    def on_ticket_rated(self, fact, data, queue_before):
        self.ratings[data.get("resolution", len(self.resolutions))] = fact  # the latest rating of it stands

    def finish(self):
        """The measures that need what came after a fact: a resolution's reopen, its rating."""
        contact_transfers = 0  # the ticket's transfers when the current contact began
        new_contact = True
        for index, step in enumerate(self.steps):
            if not isinstance(step, Resolution):
                continue
            following = self.steps[index + 1] if index + 1 < len(self.steps) else None
            reopen = following if isinstance(following, tuple) else None
            self.resolution_measures(step, reopen, new_contact, step.transfers - contact_transfers)
            # a reopen after the window is a new contact: its resolution is a first contact again (DECISIONS 9)
            new_contact = reopen is not None and reopen[0] - step.at > self.window
            if new_contact:
                contact_transfers = reopen[2]
        for number, rating in self.ratings.items():
            rated = self.resolutions[min(number, len(self.resolutions)) - 1] if self.resolutions else None
            agent, queue = (rated.agent, rated.queue) if rated else (actor_or_owner(rating.data), self.record.team)
            score = rating.data["score"]
            self.measures.append(Measure(CSAT, agent, queue, rating.time, score, rating.stored_at))
            if score >= TOP_BOX:
                self.measures.append(Measure(CSAT_TOP, agent, queue, rating.time, None, rating.stored_at))
        if self.created is not None and not self.receiver_known:
            self.received(None, None)

    def resolution_measures(self, resolution, reopen, new_contact, transfers_in_contact):
        def add(kind, value=None, arrived_at=resolution.arrived_at):
            self.measures.append(Measure(kind, resolution.agent, resolution.queue, resolution.at, value, arrived_at))
        add(RESOLVED)
        if resolution is self.resolutions[0]:
            add(FIRST_RESOLUTION, resolution.seconds)
        if resolution is self.resolutions[-1] and self.steps[-1] is resolution:  # resolved now
            add(FULL_RESOLUTION, resolution.seconds)  # creation to the latest resolution
        if reopen is not None:
            add(REOPENED, arrived_at=reopen[1])
        if new_contact:
            add(CONTACT_RESOLVED)
            reopened_inside = reopen is not None and reopen[0] - resolution.at <= self.window
            if not reopened_inside and transfers_in_contact == 0:
                add(FIRST_CONTACT)


def project(ticket_id: int, facts, recontact_days: int = DEFAULT_RECONTACT_DAYS):
    """The ticket's record and measures from all its facts."""
    projection = Projection(ticket_id, recontact_days)
    for fact in sorted(facts, key=lambda f: f.sequence):
        projection.apply(fact)
    projection.finish()
    return projection.record, projection.measures


def exam_measure(fact: Fact, agent: str) -> Measure:
    return Measure(EXAM, agent, None, fact.time, fact.data["score"], fact.stored_at)


def memberships(snapshots):
    """``[(team, valid_from, valid_to)]`` of an agent from their account snapshots ``[(time, teams)]``
    in order; the first snapshot's teams hold from the beginning (``None``: history imported from
    before the account's event counts for the teams it was created in), the last ones until ``None``."""
    intervals, since = [], {}
    for number, (at, teams) in enumerate(snapshots):
        for team in set(since) - set(teams):
            intervals.append((team, since.pop(team), at))
        for team in teams:
            since.setdefault(team, None if number == 0 else at)
    intervals.extend((team, start, None) for team, start in since.items())
    return sorted(intervals, key=lambda each: (each[0], each[1] is not None, each[1]))
