"""Events ticketing publishes to the ``ticketing.events`` exchange
(schemas in docs/events/schemas/)."""
AGGREGATE = "ticket"

PUBLISHED = (
    TICKET_CREATED := "ticket.created",
)
