"""Appraisal: what it answers (RPC) and what it listens to (events)."""
from nameko.rpc import rpc
from sqlalchemy import select

from appraisal import models, volume
from appraisal.schemas import TicketCountListSchema, TicketCountQuerySchema, TicketCreatedDataSchema
from plumbing.consumer import event_handler
from plumbing.db import upsert_insert
from plumbing.errors import load_event_data, load_or_invalid
from plumbing.outbox import Inbox, Outbox
from plumbing.service import PlatformService
from plumbing.paging import shared


class AppraisalService(PlatformService):
    name = "appraisal"

    events = Outbox(models.outbox)
    inbox = Inbox(models.inbox)

    @event_handler("ticketing", "ticket.created")
    def on_ticket_created(self, event):
        ticket = load_event_data(TicketCreatedDataSchema, event)
        with self.db.begin():
            if self.inbox.first_time(self.db, event):
                self.count_ticket(volume.agent_key(ticket["assignee"]), volume.day_of(ticket["created_at"]))

    def count_ticket(self, agent, day):
        table = models.DailyTicketCount.__table__
        insert = upsert_insert(self.db)
        self.db.execute(
            insert(table).values(agent=agent, day=day, tickets=1)
            .on_conflict_do_update(index_elements=["agent", "day"], set_={"tickets": table.c.tickets + 1}))

    @rpc
    def ticket_counts(self, query=None):
        criteria = load_or_invalid(TicketCountQuerySchema(), query or {})
        row = models.DailyTicketCount
        filters = []
        if "agent" in criteria:
            filters.append(row.agent == criteria["agent"])
        if "date_from" in criteria:
            filters.append(row.day >= criteria["date_from"])
        if "date_to" in criteria:
            filters.append(row.day <= criteria["date_to"])
        rows = self.db.scalars(select(row).where(*filters).order_by(row.day, row.agent)).all()
        items = [{"agent": volume.agent_of(r.agent), "day": r.day, "tickets": r.tickets} for r in rows]
        return shared(TicketCountListSchema).dump({"items": items})
