import random
from datetime import datetime, timedelta, timezone

import pytest
from marshmallow import ValidationError

from training.contract import AWAITING_ASSESSMENT, ExamSettingsSchema
from training.exams import rules as exams

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
EXAM = {"grade_method": "highest", "pass_mark": 60, "max_attempts": 3, "minutes_between_attempts": 30}
PARTS = [{"kind": "theory", "weight": 60}, {"kind": "practical", "weight": 40}]


@pytest.mark.parametrize("method, expected", [
    ("highest", 80), ("last", 50), ("first", 40), ("average", 56.67)])
def test_grade_methods_across_attempts(method, expected):
    assert exams.exam_grade(method, [40, 80, 50]) == expected
    assert exams.exam_grade(method, []) is None


def test_attempt_grade_is_the_weighted_mean_of_the_parts():
    assert exams.attempt_grade(PARTS, {"theory": 50, "practical": 100}) == 70
    assert exams.attempt_grade(PARTS, {"theory": 100, "practical": 0}) == 60
    assert exams.part_percent(3, 4) == 75 and exams.part_percent(0, 0) == 0


@pytest.mark.parametrize("method, grades, allowed, expected", [
    ("highest", [70], 3, exams.PASSED),
    ("highest", [40], 3, exams.OPEN),
    ("highest", [40, 50, 55], 3, exams.FAILED),
    ("highest", [40, 50, 55], 4, exams.OPEN),             # an extra attempt reopens it
    ("last", [80, 40], 3, exams.OPEN),                    # the last grade counts, not the best
    ("average", [40, 90], 3, exams.PASSED),               # 65
    ("first", [50], 3, exams.FAILED),                     # only the first counts: settled at once
    ("first", [70, 20], 3, exams.PASSED),
])
def test_outcome(method, grades, allowed, expected):
    assert exams.outcome(dict(EXAM, grade_method=method), grades, allowed) == expected


def graded(minutes_after_t0, grade):
    return (exams.GRADED, T0 + timedelta(minutes=minutes_after_t0), grade)


def test_the_first_attempt_may_start_any_time():
    exams.refuse_attempt(EXAM, [], 3, T0)


@pytest.mark.parametrize("attempts, allowed, now_minutes, reason", [
    ([(AWAITING_ASSESSMENT, T0, None)], 3, 60, "not graded yet"),
    ([graded(0, 90)], 3, 60, "already passed"),
    ([graded(0, 10), graded(40, 10), graded(80, 10)], 3, 200, "no attempts left (3 of 3 used)"),
    ([graded(0, 10)], 3, 29, "may start at 2026-03-02T09:30:00+00:00"),
])
def test_a_new_attempt_is_refused(attempts, allowed, now_minutes, reason):
    with pytest.raises(exams.AttemptRefused) as raised:
        exams.refuse_attempt(EXAM, attempts, allowed, T0 + timedelta(minutes=now_minutes))
    assert reason in str(raised.value)


def test_the_delay_is_counted_from_the_last_submission():
    exams.refuse_attempt(EXAM, [graded(0, 10)], 3, T0 + timedelta(minutes=30))


def test_with_grade_method_first_no_second_attempt():
    with pytest.raises(exams.AttemptRefused, match="only the first attempt counts"):
        exams.refuse_attempt(dict(EXAM, grade_method="first"), [graded(0, 10)], 3, T0 + timedelta(days=1))


def test_an_override_adds_to_the_attempts_allowed():
    assert exams.attempts_allowed(3, 0) == 3 and exams.attempts_allowed(3, 2) == 5


def test_draws_pick_n_distinct_questions_per_category_in_order():
    bank = {1: list("abcdef"), 2: list("xyz")}
    drawn = exams.draw_questions(bank, [{"category_id": 2, "count": 2}, {"category_id": 1, "count": 3}],
                                 random.Random(7))
    assert set(drawn[:2]) <= set("xyz") and set(drawn[2:]) <= set("abcdef")
    assert len(set(drawn)) == 5
    seen = {tuple(exams.draw_questions(bank, [{"category_id": 1, "count": 3}], random.Random(seed)))
            for seed in range(20)}
    assert len(seen) > 1   # random, not the first N


def test_a_draw_larger_than_the_category_is_refused():
    with pytest.raises(exams.AttemptRefused, match="category 1 has 2 active questions, the exam draws 3"):
        exams.draw_questions({1: ["a", "b"]}, [{"category_id": 1, "count": 3}], random.Random())


def test_deadline_and_what_counts():
    assert exams.deadline(T0, None) is None
    due = exams.deadline(T0, 20)
    assert due == T0 + timedelta(minutes=20)
    assert exams.counts(due, due) and not exams.counts(due + timedelta(seconds=1), due)
    assert exams.counts(T0 + timedelta(days=9), None)


EXAM_SETTINGS = {"parts": [{"kind": "theory", "weight": 70, "draws": [{"category_id": 1, "count": 2}]},
                           {"kind": "practical", "weight": 30}], "pass_mark": 60}


def test_exam_settings_defaults():
    loaded = ExamSettingsSchema().load(EXAM_SETTINGS)
    assert (loaded["max_attempts"], loaded["minutes_between_attempts"], loaded["grade_method"],
            loaded["after_final_failure"], loaded["time_limit_minutes"]) == (1, 0, "highest", "retake", None)


@pytest.mark.parametrize("parts, message", [
    ([{"kind": "theory", "weight": 1, "draws": [{"category_id": 1, "count": 1}]},
      {"kind": "theory", "weight": 1, "draws": [{"category_id": 2, "count": 1}]}], "Each part kind at most once."),
    ([{"kind": "theory", "weight": 1}], "The theory part draws questions"),
    ([{"kind": "practical", "weight": 1, "draws": [{"category_id": 1, "count": 1}]}], "The theory part draws"),
    ([{"kind": "theory", "weight": 1, "draws": [{"category_id": 1, "count": 1}, {"category_id": 1, "count": 2}]}],
     "Draw from each category once."),
])
def test_bad_parts_are_a_parts_error(parts, message):
    with pytest.raises(ValidationError) as raised:
        ExamSettingsSchema().load(dict(EXAM_SETTINGS, parts=parts))
    assert raised.value.normalized_messages()["parts"][0].startswith(message)
