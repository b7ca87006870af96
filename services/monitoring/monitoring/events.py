"""Events monitoring publishes to the ``monitoring.events`` exchange.

docs/events/ is generated from ``PUBLISHED`` (``make event-docs``)."""
from monitoring.contract import AlertDataSchema, AlertUpdatedDataSchema, PostAnalysedDataSchema, SpikeDataSchema
from plumbing.events import EventType

# Every type is about "opinion/<what>-<id>": post-12, alert-3, topic-5 (one sequence per post, alert, topic).
AGGREGATE = "opinion"

POST_ANALYSED = EventType(
    "opinion.post_analysed", PostAnalysedDataSchema,
    "An on-topic post was analysed and found negative (only negative ones, to keep the volume sane).")
ALERT_RAISED = EventType(
    "opinion.alert_raised", AlertDataSchema,
    "A cluster of posts reached the alert level, or a topic spiked; ticketing opens a ticket when opens_ticket.")
ALERT_UPDATED = EventType(
    "opinion.alert_updated", AlertUpdatedDataSchema,
    "An alert escalated, changed state or owner, got an action, a note or a spike.")
SPIKE_DETECTED = EventType(
    "opinion.spike_detected", SpikeDataSchema,
    "Negative mentions of a topic, or their share, jumped above the seasonal baseline in one time bucket.")

PUBLISHED = (POST_ANALYSED, ALERT_RAISED, ALERT_UPDATED, SPIKE_DETECTED)
