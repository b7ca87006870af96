import pytest

from training.contract import COMPLETED, CONTENT, ENROLLED, EXAM, RETAKE, RETRAIN, SESSION
from training.enrolment import rules


def test_enrolling_again_while_enrolled_changes_nothing():
    assert not rules.starts_new_cycle(ENROLLED)
    assert all(rules.starts_new_cycle(status) for status in (COMPLETED, RETAKE, RETRAIN))


@pytest.mark.parametrize("status", [COMPLETED, RETRAIN])
def test_a_new_cycle_starts_the_course_over(status):
    assert not any(rules.keeps_progress(status, kind) for kind in (CONTENT, SESSION, EXAM))


def test_a_retake_keeps_the_modules_done_but_the_exams():
    assert rules.keeps_progress(RETAKE, CONTENT) and rules.keeps_progress(RETAKE, SESSION)
    assert not rules.keeps_progress(RETAKE, EXAM)


def test_an_agent_records_their_own_progress_training_staff_anyones():
    assert rules.may_record_progress("ann", ["agent"], "ann")
    assert not rules.may_record_progress("sal", ["supervisor", "agent"], "ann")  # her subordinate's: no
    assert rules.may_record_progress("tom", ["trainer"], "ann") and rules.may_record_progress("root", ["admin"], "ann")
    assert rules.may_record_progress(None, None, "ann")  # a service or an operator's tool, not a person
