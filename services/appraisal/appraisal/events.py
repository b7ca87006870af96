"""Events appraisal publishes to the ``appraisal.events`` exchange
(schemas in docs/events/schemas/). None yet: results and retraining
requests (A6) will be the first."""

PUBLISHED = ()
