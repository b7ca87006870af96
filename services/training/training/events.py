"""Events training publishes to the ``training.events`` exchange
(schemas in docs/events/schemas/). None yet: no other service needs courses;
enrolment, exam and certification events will come with R2-R4."""

PUBLISHED = ()
