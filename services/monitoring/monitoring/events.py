"""Events monitoring publishes to the ``monitoring.events`` exchange
(schemas in docs/events/schemas/). None yet: alerts (M5, M6) will be the
first."""

PUBLISHED = ()
