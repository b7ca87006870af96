import pytest
from marshmallow import ValidationError

from training import contract
from training.contract import CourseCreateSchema
from training.courses import rules as courses

COURSE = {"title": "Product basics", "kind": "onboarding", "mode": "online",
          "duration_hours": 4, "target_role": "agent"}


def test_periodic_course_must_say_how_often_it_runs():
    assert contract.schedule_errors("periodic", None) == {"sessions_per_month": ["Required for a periodic course."]}
    assert contract.schedule_errors("periodic", 2) == {}


@pytest.mark.parametrize("kind", ["onboarding", "special"])
def test_only_periodic_courses_take_sessions_per_month(kind):
    assert set(contract.schedule_errors(kind, 1)) == {"sessions_per_month"}
    assert contract.schedule_errors(kind, None) == {}


def test_create_schema_applies_the_schedule_rule_as_a_field_error():
    with pytest.raises(ValidationError) as raised:
        CourseCreateSchema().load(dict(COURSE, kind="periodic"))
    assert set(raised.value.normalized_messages()) == {"sessions_per_month"}
    assert CourseCreateSchema().load(dict(COURSE, kind="periodic", sessions_per_month=2))["sessions_per_month"] == 2


def test_create_schema_fills_optional_fields():
    loaded = CourseCreateSchema().load(COURSE)
    assert loaded["description"] == ""
    assert loaded["certification_validity_days"] is None and loaded["sessions_per_month"] is None


def test_completion_is_the_mean_of_the_modules_and_complete_only_when_all_are_done():
    assert courses.completion_percent([100, 50, 0]) == 50
    assert courses.completion_percent([]) == 0
    assert courses.is_complete([100, 100]) and not courses.is_complete([100, 99.5]) and not courses.is_complete([])


@pytest.mark.parametrize("kind, exam, scheduled_at, fields", [
    ("exam", None, None, {"exam"}),
    ("content", {"parts": []}, None, {"exam"}),
    ("content", None, "2026-01-01", {"scheduled_at"}),
    ("session", None, "2026-01-01", set()),
])
def test_module_rules(kind, exam, scheduled_at, fields):
    assert set(contract.module_errors(kind, exam, scheduled_at)) == fields
