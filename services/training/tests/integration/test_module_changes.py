"""Exam draws checked against the bank when a module is saved and when a question is retired; modules
edited and deleted while nobody has started the course, versioned once somebody has (issue 24). The
use cases on a unit over SQLite, as in test_handlers."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from plumbing.errors import Conflict, InvalidInput, NotFound
from plumbing.unit_of_work import Unit
from training import models
from training.courses import handlers as courses
from training.enrolment import handlers as enrolment
from training.exams import handlers as exams
from training.questions import handlers as questions

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
COURSE = {"title": "Refunds", "kind": "special", "mode": "online", "duration_hours": 2, "target_role": "agent"}


@pytest.fixture
def run(migrated, sqlite_url):
    engine = create_engine(migrated("training", sqlite_url))
    sessions = sessionmaker(engine, expire_on_commit=False)

    def call(handler, *args, actor="tina", at=T0):
        with sessions() as session:
            unit = Unit.on_session(session, service="training", outbox=models.outbox, inbox=models.inbox,
                                   actor=actor, clock=lambda: at)
            return handler(unit, *args)
    yield call
    engine.dispose()


@pytest.fixture
def bank(run):
    """A category of 4 true/false questions; returns (category id, question ids)."""
    category = run(questions.create_category, {"name": "policy"})["id"]
    ids = [run(questions.create_question, {"category_id": category, "kind": "true_false", "prompt": f"Rule {n}?",
                                           "correct": True})["id"] for n in range(4)]
    return category, ids


def exam(category, count, **more):
    return dict({"parts": [{"kind": "theory", "weight": 1, "draws": [{"category_id": category, "count": count}]}],
                 "pass_mark": 50, "max_attempts": 3}, **more)


def test_a_module_drawing_more_questions_than_the_bank_holds_is_refused_when_saved(run, bank):
    category, _ = bank
    course = run(courses.create_course, COURSE)
    with pytest.raises(InvalidInput, match="draws more questions than") as refused:
        run(courses.add_module, course["id"], {"title": "Exam", "kind": "exam", "exam": exam(category, 50)})
    assert refused.value.details == {"exam": {"parts": {"0": {"draws": {"0": {"count": [
        f"category {category} holds 4 active questions, not 50"]}}}}}}
    assert run(courses.get_course, course["id"])["modules"] == []
    assert run(courses.add_module, course["id"], {"title": "Exam", "kind": "exam", "exam": exam(category, 4)})


def test_retiring_a_question_a_module_needs_to_draw_is_refused_naming_the_module(run, bank):
    category, ids = bank
    course = run(courses.create_course, COURSE)
    module = run(courses.add_module, course["id"], {"title": "Final exam", "kind": "exam", "exam": exam(category, 3)})
    assert run(questions.set_question_active, ids[0], {"active": False})["active"] is False  # 3 left: enough
    with pytest.raises(Conflict, match=f"module {module['id']} .Final exam. of course {course['id']}") as refused:
        run(questions.set_question_active, ids[1], {"active": False})
    assert refused.value.details == {"active": [
        f"module {module['id']} of course {course['id']} draws 3 from category {category}, which would hold 2"]}
    assert run(questions.list_categories)["items"][0]["active_questions"] == 3


def test_modules_of_a_course_nobody_started_are_edited_in_place_and_deleted(run, bank):
    category, _ = bank
    course = run(courses.create_course, COURSE)
    reading = run(courses.add_module, course["id"], {"title": "Read the polcy", "kind": "content"})
    final = run(courses.add_module, course["id"], {"title": "Exam", "kind": "exam", "exam": exam(category, 2)})
    run(enrolment.enrol, course["id"], {"agents": ["ann"]})  # enrolled, no progress yet: not started
    edited = run(courses.update_module, reading["id"], {"title": "Read the policy"})
    assert (edited["id"], edited["title"], edited["version"], edited["replaces_module_id"]) == (
        reading["id"], "Read the policy", 1, None)
    with pytest.raises(InvalidInput) as refused:
        run(courses.update_module, final["id"], {"exam": exam(category, 9)})
    assert "count" in str(refused.value.details)
    with pytest.raises(InvalidInput) as refused:
        run(courses.update_module, reading["id"], {"exam": exam(category, 1)})
    assert refused.value.details == {"exam": ["Only an exam module has an exam."]}
    run(courses.delete_module, final["id"])
    assert [m["title"] for m in run(courses.get_course, course["id"])["modules"]] == ["Read the policy"]
    with pytest.raises(NotFound):
        run(courses.update_module, final["id"], {"title": "gone"})


def test_once_started_an_edit_makes_a_new_version_and_attempts_keep_theirs(run, bank):
    category, _ = bank
    course = run(courses.create_course, COURSE)
    reading = run(courses.add_module, course["id"], {"title": "Read", "kind": "content"})
    final = run(courses.add_module, course["id"], {"title": "Exam", "kind": "exam", "exam": exam(category, 2)})
    [ann] = run(enrolment.enrol, course["id"], {"agents": ["ann"]})["items"]
    run(enrolment.record_progress, ann["id"], {"module_id": reading["id"], "percent": 100}, None, actor="ann")
    attempt = run(exams.start_attempt, ann["id"], {"module_id": final["id"]}, None, actor="ann")
    with pytest.raises(Conflict, match="started"):
        run(courses.delete_module, final["id"])
    with pytest.raises(Conflict) as refused:
        run(courses.update_module, reading["id"], {"kind": "session"})
    assert refused.value.details == {"kind": ["stays content once started"]}
    second = run(courses.update_module, final["id"], {"exam": exam(category, 3, pass_mark=70)})
    assert (second["version"], second["replaces_module_id"], second["position"]) == (2, final["id"], 2)
    assert second["id"] != final["id"] and second["exam"]["pass_mark"] == 70
    modules = run(courses.get_course, course["id"])["modules"]
    assert [(m["id"], m["version"]) for m in modules] == [(reading["id"], 1), (second["id"], 2)]
    # the attempt stays on the version it was taken on; the progress on other modules is untouched
    assert run(exams.get_attempt, attempt["id"], None)["module_id"] == final["id"]
    standing = run(enrolment.get_enrolment, ann["id"], None)
    assert [(m["module_id"], m["percent"]) for m in standing["modules"]] == [(reading["id"], 100.0),
                                                                               (second["id"], 0.0)]
    with pytest.raises(Conflict, match=f"replaced by module {second['id']}"):
        run(courses.update_module, final["id"], {"title": "again"})
    with pytest.raises(InvalidInput, match=f"replaced by module {second['id']}"):
        run(exams.start_attempt, ann["id"], {"module_id": final["id"]}, None, actor="ann")
    # the old attempt, passed, passes the module as it now is
    answers = {str(q["question_id"]): True for q in attempt["questions"]}
    assert run(exams.submit_attempt, attempt["id"], {"answers": answers}, None, actor="ann")["grade"] == 100
    assert run(enrolment.get_enrolment, ann["id"], None)["status"] == "completed"
