"""Events appraisal publishes to the ``appraisal.events`` exchange
(docs/events is generated from ``PUBLISHED``: ``make event-docs``)."""
from appraisal.contract import (
    AppealDecidedDataSchema, AppealFiledDataSchema, AppraisalPublishedDataSchema, RetrainingRequestedDataSchema,
)
from plumbing.events import EventType

AGGREGATE = "appraisal"

PUBLISHED_RESULT = EventType(
    "appraisal.published", AppraisalPublishedDataSchema,
    "An agent's result of a cycle was published; the appeal window is open until appeal_deadline.")
APPEAL_FILED = EventType("appraisal.appeal_filed", AppealFiledDataSchema, "An agent appealed a published result.")
APPEAL_DECIDED = EventType(
    "appraisal.appeal_decided", AppealDecidedDataSchema,
    "The committee decided an appeal: upheld (appealed items left out), adjusted (new score) or rejected.")
RETRAINING_REQUESTED = EventType(
    "appraisal.retraining_requested", RetrainingRequestedDataSchema,
    "A closed cycle's grade band sends the agent back to training; training enrols them in course_id.")

PUBLISHED = (PUBLISHED_RESULT, APPEAL_FILED, APPEAL_DECIDED, RETRAINING_REQUESTED)
