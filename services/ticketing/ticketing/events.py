"""Events ticketing publishes to the ``ticketing.events`` exchange
(schemas in docs/events/schemas/)."""
TICKET_CREATED = "ticket.created"
AGGREGATE = "ticket"
