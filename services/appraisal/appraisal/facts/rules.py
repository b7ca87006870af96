"""What appraisal keeps of each ticket, rebuilt from the ticket's events (A1).

Every event appraisal consumes is stored as it came (the facts). A ticket's
record is a pure function of its facts, taken in the ticket's own sequence
order, so events arriving out of order across queues, twice, or all over
again in a replay give the same record.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

FIRST_RESPONSE, RESOLUTION = "first_response", "resolution"
DEFAULT_RECONTACT_DAYS = 7


@dataclass(frozen=True)
class Fact:
    type: str
    sequence: int
    time: datetime
    data: dict


@dataclass
class TicketRecord:
    ticket_id: int
    created_at: datetime | None = None
    agent: str | None = None          # the owner as of the latest fact
    team: str | None = None
    kind: str | None = None
    priority: str | None = None
    channel: str | None = None
    first_response_seconds: float | None = None  # business seconds, waiting on the customer excluded
    resolution_seconds: float | None = None      # of the latest resolution
    resolved: bool = False                        # resolved now (a reopen clears it)
    ever_resolved: bool = False
    first_resolved_at: datetime | None = None
    reopens: int = 0
    reopened_within_window: bool = False
    transfers: int = 0
    sla_subject: bool = False   # a clock stopped or breached: the ticket counts for SLA compliance
    sla_met: bool = True        # every clock that stopped was in time and none breached
    csat_score: int | None = None
    last_sequence: int = 0
    reopen_times: list = field(default_factory=list, repr=False)

    @property
    def first_contact_resolution(self) -> bool:
        """T9 with the re-contact window: resolved, no transfer, no reopen within the window."""
        return self.ever_resolved and self.transfers == 0 and not self.reopened_within_window


def project(ticket_id: int, facts, recontact_days: int = DEFAULT_RECONTACT_DAYS) -> TicketRecord:
    record = TicketRecord(ticket_id)
    for fact in sorted(facts, key=lambda f: f.sequence):
        apply(record, fact)
    window = timedelta(days=recontact_days)
    record.reopened_within_window = record.first_resolved_at is not None and any(
        at - record.first_resolved_at <= window for at in record.reopen_times)
    return record


def apply(record: TicketRecord, fact: Fact):
    data = fact.data
    record.last_sequence = max(record.last_sequence, fact.sequence)
    if "assignee" in data:
        record.agent, record.team = data["assignee"], data.get("team")
    for name in ("kind", "priority", "channel"):
        setattr(record, name, data.get(name, getattr(record, name)))
    if fact.type == "ticket.created":
        record.created_at = datetime.fromisoformat(data["created_at"])
    elif fact.type == "ticket.transferred":
        record.transfers = max(record.transfers, data.get("transfer_count", record.transfers + 1))
    elif fact.type == "ticket.resolved":
        record.resolved = record.ever_resolved = True
        record.first_resolved_at = record.first_resolved_at or fact.time
    elif fact.type == "ticket.reopened":
        record.resolved = False
        record.reopens = max(record.reopens, data.get("reopen_count", record.reopens + 1))
        record.reopen_times.append(fact.time)
    elif fact.type == "ticket.rated":
        record.csat_score = data["score"]  # the latest rating stands
    elif fact.type == "sla.clock_stopped":
        record.sla_subject = True
        record.sla_met = record.sla_met and data["met"]
        if data["clock"] == FIRST_RESPONSE:
            record.first_response_seconds = data["business_seconds"]
        elif data["clock"] == RESOLUTION:
            record.resolution_seconds = data["business_seconds"]
    elif fact.type == "sla.breached":
        record.sla_subject, record.sla_met = True, False
