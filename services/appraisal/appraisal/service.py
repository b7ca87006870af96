"""Appraisal: the facts it keeps of ticketing and training events, the KPIs
computed from them (A1), KPI definitions and templates (A2, A3). Cycles,
ratings, results and appeals are in ``reviews.py``; the rules in
``facts.py``, ``kpis.py``, ``scoring.py`` and ``cycles.py``.
"""
import logging
from datetime import datetime, time, timedelta, timezone

from nameko.dependency_providers import Config
from sqlalchemy import func, select

from appraisal import facts, kpis, metrics, models
from appraisal.models import Fact, TicketRecord
from appraisal.reviews import Reviews
from appraisal.contract import (
    ExamResultDataSchema, KpiDefinitionCreateSchema, KpiDefinitionListSchema, KpiDefinitionSchema, KpiQuerySchema,
    KpiValuesSchema, ReplayResultSchema, SlaClockStoppedDataSchema, TemplateCreateSchema, TemplateListSchema,
    TemplateSchema, TicketCountListSchema, TicketCountQuerySchema, TicketCreatedDataSchema, TicketEventDataSchema,
    TicketRatedDataSchema,
)
from appraisal import scoring
from plumbing.config import setting
from plumbing.consumer import batch_event_handler
from plumbing.db import insert_rows, upsert_insert
from plumbing.errors import Conflict, InvalidInput, load_event_data, load_or_invalid as load
from plumbing.metrics import DatabaseGauges
from plumbing.outbox import Outbox
from plumbing.schemas import shared
from plumbing.rpc import rpc
from plumbing.service import PlatformService

log = logging.getLogger(__name__)

EXAM_EVENTS = ("training.exam_passed", "training.exam_failed")
REPLAY_BATCH = 500
RECORD_COLUMNS = [column.key for column in TicketRecord.__table__.columns]


def day_range(first, last):
    """UTC instants [first day 00:00, day after last 00:00)."""
    start = datetime.combine(first, time.min, tzinfo=timezone.utc)
    return start, datetime.combine(last, time.min, tzinfo=timezone.utc) + timedelta(days=1)


class AppraisalService(PlatformService, Reviews):
    name = "appraisal"

    events = Outbox(models.outbox)
    config = Config()
    review_gauges = DatabaseGauges(metrics.ReviewGauges)

    # -- facts from events: stored as they came, each ticket's record rebuilt ---------
    @batch_event_handler("ticketing", "ticket.created")
    def on_ticket_created(self, batch):
        self.take_ticket_facts(batch, TicketCreatedDataSchema)

    @batch_event_handler("ticketing", "ticket.assigned")
    def on_ticket_assigned(self, batch):
        self.take_ticket_facts(batch)

    @batch_event_handler("ticketing", "ticket.transferred")
    def on_ticket_transferred(self, batch):
        self.take_ticket_facts(batch)

    @batch_event_handler("ticketing", "ticket.resolved")
    def on_ticket_resolved(self, batch):
        self.take_ticket_facts(batch)

    @batch_event_handler("ticketing", "ticket.reopened")
    def on_ticket_reopened(self, batch):
        self.take_ticket_facts(batch)

    @batch_event_handler("ticketing", "ticket.rated")
    def on_ticket_rated(self, batch):
        self.take_ticket_facts(batch, TicketRatedDataSchema)

    @batch_event_handler("ticketing", "sla.clock_stopped")
    def on_sla_clock_stopped(self, batch):
        self.take_ticket_facts(batch, SlaClockStoppedDataSchema)

    @batch_event_handler("ticketing", "sla.breached")
    def on_sla_breached(self, batch):
        self.take_ticket_facts(batch)

    @batch_event_handler("training", "training.exam_passed")
    def on_exam_passed(self, batch):
        self.take_exam_facts(batch)

    @batch_event_handler("training", "training.exam_failed")
    def on_exam_failed(self, batch):
        self.take_exam_facts(batch)

    def take_ticket_facts(self, batch, schema=TicketEventDataSchema):
        """Keep a batch of events (each one's data checked by ``schema``: what the
        record needs of that type) and rebuild the records of their tickets."""
        data = [load_event_data(schema, event) for event in batch]
        with self.db.begin():
            kept = self.store_facts(batch, [(each["ticket_id"], each["assignee"]) for each in data])
            self.rebuild_tickets({fact["ticket_id"] for fact in kept})

    def take_exam_facts(self, batch):
        data = [load_event_data(ExamResultDataSchema, event) for event in batch]
        with self.db.begin():
            self.store_facts(batch, [(None, each["agent"]) for each in data])

    def store_facts(self, batch, subjects) -> list:
        """Keep the events not kept before (a redelivery is skipped); returns the rows kept.
        One statement: the insert skips the event ids already stored and returns the others."""
        rows = {}
        for event, (ticket_id, agent) in zip(batch, subjects):
            rows[event["id"]] = {"event_id": event["id"], "type": event["type"], "sequence": event["sequence"],
                                 "time": datetime.fromisoformat(event["time"]), "ticket_id": ticket_id,
                                 "agent": agent, "data": event["data"]}
        facts_table = Fact.__table__  # Core, not the ORM's bulk insert: one multi-row INSERT per batch
        inserted = set(self.db.scalars(upsert_insert(self.db)(facts_table).on_conflict_do_nothing()
                                       .returning(facts_table.c.event_id), list(rows.values())))
        kept = [row for event_id, row in rows.items() if event_id in inserted]
        for row in kept:
            self.on_success(metrics.FACTS_STORED.labels(row["type"]).inc)
        return kept

    def rebuild_tickets(self, ticket_ids):
        """Each ticket's record from all its facts. The records' rows are locked
        first (in one order, so batches never deadlock), so two batches with
        facts of one ticket each see the other's. Set-based: one statement
        each to create the missing records, lock them, read the facts, and
        write every record back."""
        ticket_ids = sorted(ticket_ids)
        if not ticket_ids:
            return
        insert_record = upsert_insert(self.db)(TicketRecord.__table__)  # Core: multi-row statements
        key = TicketRecord.__table__.c.ticket_id
        insert_rows(self.db, insert_record.on_conflict_do_nothing(),
                    [self.record_row(facts.TicketRecord(ticket_id)) for ticket_id in ticket_ids])
        self.db.execute(select(TicketRecord.ticket_id).where(TicketRecord.ticket_id.in_(ticket_ids))
                        .order_by(TicketRecord.ticket_id).with_for_update())
        stored = {}
        for ticket_id, *fact in self.db.execute(select(Fact.ticket_id, Fact.type, Fact.sequence, Fact.time, Fact.data)
                                                .where(Fact.ticket_id.in_(ticket_ids))):
            stored.setdefault(ticket_id, []).append(facts.Fact(*fact))
        records = [self.record_row(facts.project(ticket_id, stored.get(ticket_id, []), self.recontact_days))
                   for ticket_id in ticket_ids]
        insert_rows(self.db, insert_record.on_conflict_do_update(
            index_elements=[key],
            set_={name: insert_record.excluded[name] for name in RECORD_COLUMNS if name != "ticket_id"}), records)

    @staticmethod
    def record_row(record: facts.TicketRecord) -> dict:
        row = {name: getattr(record, name, None) for name in RECORD_COLUMNS}  # first_contact_resolution: a property
        row["created_on"] = record.created_at and record.created_at.astimezone(timezone.utc).date()
        return row

    @property
    def recontact_days(self):
        return int(setting(self.config, "appraisal", "RECONTACT_DAYS", facts.DEFAULT_RECONTACT_DAYS))

    @rpc
    def replay(self):
        """Rebuild every ticket record from the stored facts (after a change of
        rules, or to prove the figures come from the facts alone)."""
        ticket_ids = self.db.scalars(select(Fact.ticket_id).where(Fact.ticket_id.is_not(None))
                                     .group_by(Fact.ticket_id).order_by(Fact.ticket_id)).all()
        self.db.rollback()
        for start in range(0, len(ticket_ids), REPLAY_BATCH):
            with self.db.begin():
                self.rebuild_tickets(ticket_ids[start:start + REPLAY_BATCH])
            log.info("replay: %s of %s tickets rebuilt", min(start + REPLAY_BATCH, len(ticket_ids)), len(ticket_ids))
        fact_count = self.db.scalar(select(func.count()).select_from(Fact))
        return shared(ReplayResultSchema).dump({"tickets": len(ticket_ids), "facts": fact_count})

    # -- KPIs ---------------------------------------------------------------------
    @rpc
    def kpis(self, query):
        criteria = load(KpiQuerySchema, query)
        conditions = self.period_conditions(criteria["date_from"], criteria["date_to"])
        if "agent" in criteria:
            conditions.append(TicketRecord.agent == criteria["agent"])
        if "team" in criteria:
            conditions.append(TicketRecord.team == criteria["team"])
        groups = kpis.tallies(self.db, conditions)
        agents = [criteria["agent"]] if "agent" in criteria else sorted({agent for agent, _ in groups if agent})
        scores = self.exam_scores(agents, criteria["date_from"], criteria["date_to"])
        values = kpis.values(kpis.merge(groups.values()), kpis.percentiles(self.db, conditions, by_agent=False).get(
            None, {}), [score for agent in agents for score in scores.get(agent, [])])
        return shared(KpiValuesSchema).dump(dict(criteria, agent=criteria.get("agent"), team=criteria.get("team"),
                                                 kpis=values))

    @staticmethod
    def period_conditions(first, last):
        start, end = day_range(first, last)
        return [TicketRecord.created_at >= start, TicketRecord.created_at < end]

    def exam_scores(self, agents, first, last) -> dict:
        """Exam grades finalised in the period, by agent (of ``agents``, or everyone's when None)."""
        start, end = day_range(first, last)
        statement = select(Fact).where(Fact.type.in_(EXAM_EVENTS), Fact.time >= start, Fact.time < end)
        if agents is not None:
            statement = statement.where(Fact.agent.in_(agents))
        rows = self.db.scalars(statement)
        scores = {}
        for fact in rows:
            scores.setdefault(fact.agent, []).append(fact.data["score"])
        return scores

    @rpc
    def ticket_counts(self, query=None):
        """Tickets by creation day (or month) and owning agent."""
        criteria = load(TicketCountQuerySchema, query or {})
        day = TicketRecord.created_on
        conditions = [day.is_not(None)]
        if "date_from" in criteria:
            conditions.append(day >= criteria["date_from"])
        if "date_to" in criteria:
            conditions.append(day <= criteria["date_to"])
        if "agent" in criteria:
            conditions.append(TicketRecord.agent == criteria["agent"])
        rows = self.db.execute(select(day, TicketRecord.agent, func.count()).where(*conditions)
                               .group_by(day, TicketRecord.agent).order_by(day, TicketRecord.agent)).all()
        counts = {}
        for on, agent, tickets in rows:
            key = (on.replace(day=1) if criteria["by"] == "month" else on, agent)
            counts[key] = counts.get(key, 0) + tickets
        items = [{"day": on, "agent": agent, "tickets": n} for (on, agent), n in counts.items()]
        return shared(TicketCountListSchema).dump({"items": items})

    # -- KPI definitions and templates --------------------------------------------------
    @rpc
    def create_kpi_definition(self, data):
        fields = load(KpiDefinitionCreateSchema, data)
        with self.db.begin():
            if self.db.get(models.KpiDefinition, fields["key"]) is not None:
                raise Conflict(f"KPI definition {fields['key']!r} exists", {"key": ["already taken"]})
            definition = models.KpiDefinition(**fields, created_at=datetime.now(timezone.utc))
            self.db.add(definition)
            self.audit(None, "kpi_definition_created", {"key": definition.key})
        return shared(KpiDefinitionSchema).dump(definition)

    @rpc
    def list_kpi_definitions(self):
        rows = self.db.scalars(select(models.KpiDefinition).order_by(models.KpiDefinition.key)).all()
        return shared(KpiDefinitionListSchema).dump({"items": rows})

    @rpc
    def create_template(self, data):
        fields = load(TemplateCreateSchema, data)
        with self.db.begin():
            known = set(self.db.scalars(select(models.KpiDefinition.key)))
            errors = scoring.template_errors(fields["items"], fields["reviewer_weights"], fields["bands"], known)
            if errors:
                raise InvalidInput("the template cannot be used", errors)
            if self.db.scalar(select(models.Template.id).where(models.Template.name == fields["name"])):
                raise Conflict(f"template {fields['name']!r} exists", {"name": ["already taken"]})
            template = models.Template(**fields, created_at=datetime.now(timezone.utc))
            self.db.add(template)
            self.db.flush()
            self.audit(None, "template_created", {"template_id": template.id, "name": template.name})
        return shared(TemplateSchema).dump(template)

    @rpc
    def list_templates(self):
        rows = self.db.scalars(select(models.Template).order_by(models.Template.id)).all()
        return shared(TemplateListSchema).dump({"items": rows})
