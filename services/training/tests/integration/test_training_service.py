"""Training against real RabbitMQ and a real database."""
import pytest

from plumbing.errors import InvalidInput, NotFound
from plumbing.testing import call

NEW_COURSE = {
    "title": "Service skills refresher",
    "description": "Courtesy phrases, patient listening",
    "kind": "periodic",
    "mode": "in_person",
    "duration_hours": 1.5,
    "target_role": "agent",
    "certification_validity_days": 365,
    "sessions_per_month": 2,
}


def test_ping(training):
    assert call(training, "ping") == "pong"


def test_create_get_and_list_a_course(training):
    course = call(training, "create_course", NEW_COURSE)
    assert {k: course[k] for k in NEW_COURSE} == NEW_COURSE
    assert course["created_at"].endswith("+00:00")

    assert call(training, "get_course", course["id"]) == dict(course, modules=[])
    page = call(training, "list_courses", {"kind": "periodic", "mode": "in_person"})
    assert page == {"items": [course], "total": 1, "total_exact": True, "page": 1, "per_page": 20,
                    "next_cursor": None}
    assert call(training, "list_courses", {"kind": "onboarding"})["total"] == 0
    assert call(training, "list_courses", {"mode": "online"})["total"] == 0


def test_invalid_course_names_the_fields_and_writes_nothing(training):
    bad = dict(NEW_COURSE, mode="carrier_pigeon", duration_hours=0, certification_validity_days=0, surprise=1)
    del bad["title"]
    with pytest.raises(InvalidInput) as raised:
        call(training, "create_course", bad)
    assert set(raised.value.details) == {"title", "mode", "duration_hours", "certification_validity_days",
                                         "surprise"}
    assert call(training, "list_courses")["total"] == 0


@pytest.mark.parametrize("change", [
    {"kind": "periodic", "sessions_per_month": None},
    {"kind": "onboarding", "sessions_per_month": 3},
])
def test_sessions_per_month_only_and_always_for_periodic_courses(training, change):
    with pytest.raises(InvalidInput) as raised:
        call(training, "create_course", dict(NEW_COURSE, **change))
    assert set(raised.value.details) == {"sessions_per_month"}
    assert call(training, "list_courses")["total"] == 0


def test_non_periodic_course_needs_no_schedule(training):
    special = {k: v for k, v in NEW_COURSE.items() if k not in ("sessions_per_month", "certification_validity_days")}
    course = call(training, "create_course", dict(special, kind="special", mode="external"))
    assert course["sessions_per_month"] is None and course["certification_validity_days"] is None


def test_unknown_course_is_not_found(training):
    with pytest.raises(NotFound):
        call(training, "get_course", 999)


def test_list_pages_newest_first_with_a_total(training):
    ids = [call(training, "create_course", dict(NEW_COURSE, title=f"course {n}"))["id"] for n in range(5)]
    page = call(training, "list_courses", {"page": 2, "per_page": 2})
    assert (page["total"], page["page"], page["per_page"]) == (5, 2, 2)
    assert [c["id"] for c in page["items"]] == [ids[2], ids[1]]
    assert call(training, "list_courses", {"page": 9})["items"] == []


def test_bad_list_query_names_the_fields(training):
    with pytest.raises(InvalidInput) as raised:
        call(training, "list_courses", {"page": 0, "per_page": 101, "kind": "yearly", "colour": "red"})
    assert set(raised.value.details) == {"page", "per_page", "kind", "colour"}
