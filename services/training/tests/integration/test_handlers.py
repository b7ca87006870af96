"""The use cases run as plain functions on a unit over SQLite, without a
container: the clock is the test's, so a deadline passes without sleeping."""
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import sessionmaker

from plumbing.events import make_envelope
from plumbing.unit_of_work import Unit
from training import metrics, models
from training.certification import handlers as certification
from training.courses import handlers as courses
from training.enrolment import handlers as enrolment
from training.exams import handlers as exams
from training.questions import handlers as questions

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
COURSE = {"title": "Refunds", "kind": "special", "mode": "online", "duration_hours": 2, "target_role": "agent",
          "certification": "refunds"}


@pytest.fixture
def run(migrated, sqlite_url):
    """``run(handler, *args, actor=, at=)``: the handler on a unit of its own, as one call would be."""
    engine = create_engine(migrated("training", sqlite_url))
    sessions = sessionmaker(engine, expire_on_commit=False)
    units = []

    def call(handler, *args, actor="tina", at=T0):
        with sessions() as session:
            unit = Unit.on_session(session, service="training", outbox=models.outbox, inbox=models.inbox,
                                   actor=actor, clock=lambda: at)
            units.append(unit)
            return handler(unit, *args)
    def events():
        with engine.connect() as connection:
            return [json.loads(row.envelope) for row in connection.execute(
                select(models.outbox).order_by(models.outbox.c.created_at, models.outbox.c.sequence))]
    call.units, call.events = units, events
    yield call
    engine.dispose()


def test_finishing_the_last_module_completes_the_course_and_certifies(run):
    course = run(courses.create_course, COURSE)
    module = run(courses.add_module, course["id"], {"title": "Read the policy", "kind": "content"})
    [enrolled] = run(enrolment.enrol, course["id"], {"agents": ["ann"]})["items"]
    done = run(enrolment.record_progress, enrolled["id"], {"module_id": module["id"], "percent": 100}, ["ann"],
               actor="ann")
    assert (done["status"], done["completion_percent"]) == ("completed", 100.0)
    assert [(e["type"], e["subject"]) for e in run.events()] == [
        ("training.enrolled", "training/ann"), ("training.completed", "training/ann"),
        ("training.certified", "training/ann")]
    assert run.events()[0]["data"]["enrolled_by"] == "tina"
    [held] = run(certification.agent_standing, "ann")["certifications"]
    assert (held["name"], held["issued_at"]) == ("refunds", T0.isoformat())


def test_the_sweep_closes_an_attempt_when_its_clock_says_the_time_ran_out(run):
    category = run(questions.create_category, {"name": "policy"})["id"]
    run(questions.create_question, {"category_id": category, "kind": "true_false", "prompt": "Refund?",
                                    "correct": True})
    course = run(courses.create_course, COURSE)
    exam = run(courses.add_module, course["id"], {"title": "Exam", "kind": "exam", "exam": {
        "parts": [{"kind": "theory", "weight": 1, "draws": [{"category_id": category, "count": 1}]}],
        "pass_mark": 50, "time_limit_minutes": 20}})
    [enrolled] = run(enrolment.enrol, course["id"], {"agents": ["ann"]})["items"]
    attempt = run(exams.start_attempt, enrolled["id"], {"module_id": exam["id"]}, None, actor="ann")
    assert run(exams.sweep_deadlines, at=T0 + timedelta(minutes=19)) == 0
    assert run(exams.sweep_deadlines, at=T0 + timedelta(minutes=20)) == 1
    closed = run(exams.get_attempt, attempt["id"], None)
    assert (closed["status"], closed["grade"], closed["auto_submitted"]) == ("graded", 0.0, True)
    assert [e["type"] for e in run.events()][-1] == "training.exam_failed"
    graded = [fn for unit in run.units for fn, _ in unit.committed_callbacks]
    assert graded == [metrics.attempt_graded]  # counted by the container once the sweep has committed


def test_a_retraining_request_enrols_once_and_an_unknown_course_is_refused(run):
    course = run(courses.create_course, COURSE)
    request = make_envelope(service="appraisal", event_type="appraisal.retraining_requested", subject="agent/ann",
                            data={"agent": "ann", "course_id": course["id"], "reason": "CSAT", "extra": 1},
                            sequence=1)
    run(enrolment.enrol_for_retraining, request)
    run(enrolment.enrol_for_retraining, request)
    [enrolled] = run(enrolment.list_enrolments, {}, None)["items"]
    assert (enrolled["agent"], enrolled["enrolled_by"], enrolled["cycle"]) == ("ann", "appraisal", 1)
    unknown = make_envelope(service="appraisal", event_type="appraisal.retraining_requested", subject="agent/bob",
                            data={"agent": "bob", "course_id": 999}, sequence=1)
    run(enrolment.enrol_for_retraining, unknown)  # refused by an event, for appraisal's cycle: no dead letter
    refused = run.events()[-1]
    assert (refused["type"], refused["data"]) == ("training.retraining_refused", {
        "agent": "bob", "course_id": 999, "cycle_id": None, "reason": "course 999 does not exist"})
    assert [e["agent"] for e in run(enrolment.list_enrolments, {}, None)["items"]] == ["ann"]
