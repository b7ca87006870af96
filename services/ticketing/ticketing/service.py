"""Ticketing: what it answers over RPC. Rules live in ``tickets.py``."""
from datetime import datetime, timezone

from nameko.rpc import rpc
from sqlalchemy import func, select

from plumbing.context import RequestContext
from plumbing.db import Database
from plumbing.errors import NotFound, load_or_invalid as load
from plumbing.metrics import Metrics
from plumbing.outbox import Outbox
from ticketing import events, models, tickets
from ticketing.schemas import (
    TicketCreateSchema, TicketCreatedDataSchema, TicketListQuerySchema, TicketPageSchema, TicketSchema,
)


class TicketingService:
    name = "ticketing"

    db = Database()
    events = Outbox(models.outbox)
    context = RequestContext()
    metrics = Metrics()

    @rpc
    def ping(self):
        return "pong"

    @rpc
    def create_ticket(self, data):
        fields = load(TicketCreateSchema(), data)
        now = datetime.now(timezone.utc)
        customer = fields.pop("customer")
        fields["tags"] = tickets.normalise_tags(fields["tags"])
        ticket = models.Ticket(
            **fields, state=tickets.initial_state(fields["assignee"]),
            customer_name=customer["name"], customer_contact=customer["contact"], created_at=now, updated_at=now,
        )
        with self.db.begin():
            self.db.add(ticket)
            self.db.flush()
            self.events.record(self.db, events.TICKET_CREATED, events.AGGREGATE, ticket.id,
                               TicketCreatedDataSchema().dump(ticket))
        return TicketSchema().dump(ticket)

    @rpc
    def get_ticket(self, ticket_id):
        ticket = self.db.get(models.Ticket, ticket_id)
        if ticket is None:
            raise NotFound(f"ticket {ticket_id} does not exist")
        return TicketSchema().dump(ticket)

    @rpc
    def list_tickets(self, query=None):
        criteria = load(TicketListQuerySchema(), query or {})
        page = tickets.Page(criteria.pop("page"), criteria.pop("per_page"))
        filters = [getattr(models.Ticket, name) == value for name, value in criteria.items()]
        total = self.db.execute(select(func.count()).select_from(models.Ticket).where(*filters)).scalar_one()
        rows = self.db.scalars(
            select(models.Ticket).where(*filters).order_by(models.Ticket.id.desc())
            .offset(page.offset).limit(page.size)
        ).all()
        return TicketPageSchema().dump({"items": rows, "total": total, "page": page.number, "per_page": page.size})
