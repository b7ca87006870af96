"""Ticketing: what it answers over RPC. Rules live in ``tickets.py``."""
from datetime import datetime, timezone

from nameko.rpc import rpc

from plumbing.db import get_or_not_found
from plumbing.errors import load_or_invalid as load
from plumbing.outbox import Outbox
from plumbing.paging import fetch_page
from plumbing.service import PlatformService
from ticketing import events, models, tickets
from ticketing.schemas import (
    TicketCreateSchema, TicketCreatedDataSchema, TicketListQuerySchema, TicketPageSchema, TicketSchema,
)


class TicketingService(PlatformService):
    name = "ticketing"

    events = Outbox(models.outbox)

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
        return TicketSchema().dump(get_or_not_found(self.db, models.Ticket, ticket_id))

    @rpc
    def list_tickets(self, query=None):
        criteria = load(TicketListQuerySchema(), query or {})
        return TicketPageSchema().dump(fetch_page(self.db, models.Ticket, criteria, [models.Ticket.id.desc()]))
