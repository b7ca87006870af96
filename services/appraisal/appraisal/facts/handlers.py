"""Facts: every ticketing, training and staff event appraisal consumes, stored as
it came (and when it arrived); each ticket's record and measures, each exam's
measure and each agent's team memberships derived from them (A1); replay
rebuilds everything derived from the stored facts alone."""
import logging
from datetime import datetime, timezone

from marshmallow import fields
from sqlalchemy import delete, func, select

from appraisal import metrics
from appraisal.contract import ReplayResultSchema
from appraisal.facts import rules
from appraisal.models import Fact, Measure, Membership, TicketRecord
from plumbing.config import setting
from plumbing.db import insert_rows, upsert_insert
from plumbing.errors import load_event_data
from plumbing.events import sequence_number
from plumbing.schemas import TolerantSchema, shared

log = logging.getLogger(__name__)

REPLAY_BATCH = 500
RECORD_COLUMNS = [column.key for column in TicketRecord.__table__.columns]
EXAM_EVENTS = ("training.exam_passed", "training.exam_failed")
STAFF_EVENTS = ("staff.account_created", "staff.account_updated")
OUTCOME_EVENTS = ("training.retraining_refused",)  # about a closed cycle's outcomes, not a figure's fact
NO_FIGURES = (*STAFF_EVENTS, *OUTCOME_EVENTS)  # facts no KPI counts


# -- what appraisal needs of ticketing's, training's and the gateway's events (other fields are ignored) -----------
class TicketEventDataSchema(TolerantSchema):
    ticket_id = fields.Integer(required=True)
    assignee = fields.String(allow_none=True, load_default=None)


class TicketCreatedDataSchema(TicketEventDataSchema):
    created_at = fields.DateTime(required=True)


class TicketRatedDataSchema(TicketEventDataSchema):
    score = fields.Integer(required=True)


class SlaBreachedDataSchema(TicketEventDataSchema):
    clock = fields.String(required=True)


class SlaClockStoppedDataSchema(SlaBreachedDataSchema):
    business_seconds = fields.Float(required=True)
    met = fields.Boolean(required=True)


class ExamResultDataSchema(TolerantSchema):
    agent = fields.String(required=True)
    score = fields.Float(required=True)


class StaffDataSchema(TolerantSchema):
    username = fields.String(required=True)
    teams = fields.List(fields.String(), required=True)


def recontact_window(config) -> int:
    """Days after a resolution in which a reopen means the first contact did not resolve it."""
    return int(setting(config, "appraisal", "RECONTACT_DAYS", rules.DEFAULT_RECONTACT_DAYS))


def take_ticket_facts(uow, batch, recontact_days, schema=TicketEventDataSchema):
    """Keep a batch of events (each one's data checked by ``schema``: what appraisal
    needs of that type) and rebuild the records and measures of their tickets."""
    data = [load_event_data(schema, event) for event in batch]
    with uow.transaction():
        kept = store_facts(uow, batch, [(each["ticket_id"], each["assignee"]) for each in data])
        rebuild_tickets(uow, {fact["ticket_id"] for fact in kept}, recontact_days)


def take_exam_facts(uow, batch):
    data = [load_event_data(ExamResultDataSchema, event) for event in batch]
    with uow.transaction():
        store_exam_measures(uow, store_facts(uow, batch, [(None, each["agent"]) for each in data]))


def take_staff_facts(uow, batch):
    """An account's snapshot: the teams it is in from then on (team figures, DECISIONS 10)."""
    data = [load_event_data(StaffDataSchema, event) for event in batch]
    with uow.transaction():
        kept = store_facts(uow, batch, [(None, each["username"]) for each in data])
        rebuild_memberships(uow, {fact["agent"] for fact in kept})


def store_facts(uow, batch, subjects) -> list:
    """Keep the events not kept before (a redelivery is skipped); returns the rows kept.
    One statement: the insert skips the event ids already stored and returns the others."""
    rows, now = {}, uow.now()
    for event, (ticket_id, agent) in zip(batch, subjects):
        rows[event["id"]] = {"event_id": event["id"], "type": event["type"], "sequence": sequence_number(event),
                             "time": datetime.fromisoformat(event["time"]), "ticket_id": ticket_id,
                             "agent": agent, "data": event["data"], "stored_at": now}
    session = uow.session
    facts_table = Fact.__table__  # Core, not the ORM's bulk insert: one multi-row INSERT per batch
    inserted = set(session.scalars(upsert_insert(session)(facts_table).on_conflict_do_nothing()
                                   .returning(facts_table.c.event_id), list(rows.values())))
    kept = [row for event_id, row in rows.items() if event_id in inserted]
    for row in kept:
        uow.after_commit(metrics.FACTS_STORED.labels(row["type"]).inc)
    return kept


def rebuild_tickets(uow, ticket_ids, recontact_days):
    """Each ticket's record and measures from all its facts. The records' rows
    are locked first (in one order, so batches never deadlock), so two batches
    with facts of one ticket each see the other's. Set-based: one statement
    each to create the missing records, lock them, read the facts, write every
    record back, and replace the tickets' measures."""
    ticket_ids = sorted(ticket_ids)
    if not ticket_ids:
        return
    session = uow.session
    insert_record = upsert_insert(session)(TicketRecord.__table__)  # Core: multi-row statements
    key = TicketRecord.__table__.c.ticket_id
    insert_rows(session, insert_record.on_conflict_do_nothing(),
                [record_row(rules.TicketRecord(ticket_id)) for ticket_id in ticket_ids])
    session.execute(select(TicketRecord.ticket_id).where(TicketRecord.ticket_id.in_(ticket_ids))
                    .order_by(TicketRecord.ticket_id).with_for_update())
    stored = {}
    for ticket_id, *fact in session.execute(select(Fact.ticket_id, Fact.type, Fact.sequence, Fact.time, Fact.data,
                                                   Fact.stored_at).where(Fact.ticket_id.in_(ticket_ids))):
        stored.setdefault(ticket_id, []).append(rules.Fact(*fact))
    records, measures = [], []
    for ticket_id in ticket_ids:
        record, derived = rules.project(ticket_id, stored.get(ticket_id, []), recontact_days)
        records.append(record_row(record))
        measures += [measure_row(measure, ticket_id=ticket_id) for measure in derived]
    insert_rows(session, insert_record.on_conflict_do_update(
        index_elements=[key],
        set_={name: insert_record.excluded[name] for name in RECORD_COLUMNS if name != "ticket_id"}), records)
    session.execute(delete(Measure).where(Measure.ticket_id.in_(ticket_ids)))
    insert_rows(session, Measure.__table__.insert(), measures)


def record_row(record: rules.TicketRecord) -> dict:
    return {name: getattr(record, name) for name in RECORD_COLUMNS}


def measure_row(measure: rules.Measure, ticket_id=None, event_id=None) -> dict:
    return {"ticket_id": ticket_id, "event_id": event_id, "kind": measure.kind, "agent": measure.agent,
            "queue": measure.queue, "at": measure.at, "day": measure.at.astimezone(timezone.utc).date(),
            "value": measure.value, "arrived_at": measure.arrived_at}


def store_exam_measures(uow, kept):
    """An exam grade is a measure of its own, for the agent examined, at the exam's time."""
    insert_rows(uow.session, Measure.__table__.insert(), [measure_row(rules.exam_measure(
        rules.Fact(row["type"], row["sequence"], row["time"], row["data"], row["stored_at"]), row["agent"]),
        event_id=row["event_id"]) for row in kept])


def rebuild_memberships(uow, agents):
    """Each agent's team memberships over time, from all their account snapshots."""
    agents = sorted(agent for agent in agents if agent)
    if not agents:
        return
    session = uow.session
    snapshots = {}
    for agent, time, data in session.execute(select(Fact.agent, Fact.time, Fact.data).where(
            Fact.type.in_(STAFF_EVENTS), Fact.agent.in_(agents)).order_by(Fact.agent, Fact.time, Fact.sequence)):
        snapshots.setdefault(agent, []).append((time, data["teams"]))
    session.execute(delete(Membership).where(Membership.agent.in_(agents)))
    insert_rows(session, Membership.__table__.insert(), [
        {"agent": agent, "team": team, "valid_from": start, "valid_to": end}
        for agent in agents for team, start, end in rules.memberships(snapshots.get(agent, []))])


def replay(uow, recontact_days):
    """Rebuild every ticket record, measure and membership from the stored
    facts (after a change of rules, or to prove the figures come from the facts alone)."""
    session = uow.session
    ticket_ids = session.scalars(select(Fact.ticket_id).where(Fact.ticket_id.is_not(None))
                                 .group_by(Fact.ticket_id).order_by(Fact.ticket_id)).all()
    session.rollback()
    for start in range(0, len(ticket_ids), REPLAY_BATCH):
        with uow.transaction():
            rebuild_tickets(uow, ticket_ids[start:start + REPLAY_BATCH], recontact_days)
        log.info("replay: %s of %s tickets rebuilt", min(start + REPLAY_BATCH, len(ticket_ids)), len(ticket_ids))
    with uow.transaction():
        session.execute(delete(Measure).where(Measure.event_id.is_not(None)))
        exams = session.execute(select(Fact.event_id, Fact.type, Fact.sequence, Fact.time, Fact.data, Fact.stored_at,
                                       Fact.agent).where(Fact.type.in_(EXAM_EVENTS))).mappings().all()
        store_exam_measures(uow, exams)
        rebuild_memberships(uow, session.scalars(select(Fact.agent).where(Fact.type.in_(STAFF_EVENTS))
                                                 .group_by(Fact.agent)).all())
    fact_count = session.scalar(select(func.count()).select_from(Fact))
    return shared(ReplayResultSchema).dump({"tickets": len(ticket_ids), "facts": fact_count})
