"""The training service: courses and their modules, enrolment, the question
bank, exams, certification and career levels (R1-R5).

Published events and their data: ``training/events.py`` and docs/events.

Consumed, from the ``appraisal.events`` exchange:

``appraisal.retraining_requested``, data version 1,
``{"agent": "<account username>", "course_id": <int>, "cycle_id": <int>,
"reason": "<text>"}`` (other fields are ignored; ``cycle_id`` may be absent).
Training enrols the agent on the course, as a trainer would: nothing changes
if they are enrolled already; if they completed the course or failed its
exam for good, a new cycle starts. Handled once per event id (inbox); a
failure is retried and then dead-lettered by ``plumbing.consumer``. A
request training refuses (an unknown course) is not dead-lettered: it
publishes ``training.retraining_refused`` with the reason, and appraisal
puts it on the cycle for the committee.
"""
