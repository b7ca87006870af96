"""Enrolment rules without a framework: cycles, and who records progress (R2).

Enrolling someone already enrolled changes nothing. Enrolling someone who
completed the course or failed its exam for good starts a new cycle: a
retake keeps the modules done but the exams, anything else starts over.
Attempts and overrides carry their cycle's number, so those of an old cycle
stop counting.
"""
from training.contract import ENROLLED, EXAM, RETAKE


def starts_new_cycle(status) -> bool:
    return status != ENROLLED


def keeps_progress(status, module_kind) -> bool:
    """Whether a new cycle, started from ``status``, keeps what was done of a module of this kind."""
    return status == RETAKE and module_kind != EXAM


TRAINING_STAFF = ("trainer", "admin")  # the account roles that record anyone's progress


def may_record_progress(actor, roles, agent) -> bool:
    """An agent records their own progress through online content, training staff anyone's;
    ``roles`` None: a service or an operator's tool, not a person through the gateway."""
    return actor == agent or roles is None or bool(set(roles) & set(TRAINING_STAFF))
