"""Messages that fill a word in after "a" read "an exam module", "an in_progress
ticket", "an inquiry", "a resolved alert" (issue 24): each place that builds one
uses ``plumbing.text.with_article``. Rule-level where the message is a rule's,
a handler on SQLite where a handler builds it."""
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from appraisal.cycles import rules as cycles
from monitoring.alerts import rules as alerts
from plumbing.errors import InvalidInput
from plumbing.events import envelope_problems
from plumbing.unit_of_work import Unit
from ticketing.tickets import rules as tickets
from training.contract import question_errors


def test_a_ticket_state():
    with pytest.raises(tickets.InvalidTransition, match="^an in_progress ticket cannot become reopened"):
        tickets.next_state("in_progress", "reopened", "alice")
    with pytest.raises(tickets.InvalidTransition, match="^a new ticket cannot become waiting_customer"):
        tickets.next_state("new", "waiting_customer", "alice")


def test_an_alert_state():
    with pytest.raises(alerts.InvalidTransition, match="^a resolved alert cannot become responding"):
        alerts.check_transition("resolved", "responding")
    with pytest.raises(alerts.InvalidTransition, match="^an acknowledged alert cannot become open"):
        alerts.check_transition("acknowledged", "open")


def test_an_appraisal_period():
    with pytest.raises(cycles.CycleConflict, match="^an annual period cannot start"):
        cycles.period_of("annual", date(2026, 3, 1))


def test_an_envelope_of_the_wrong_type():
    assert envelope_problems(7) == ["envelope is an int, not a JSON object"]
    assert envelope_problems([]) == ["envelope is a list, not a JSON object"]


def test_a_question_kind():
    errors = question_errors("true_false", ["yes", "no"], True)  # a guard: no kind begins with a vowel today
    assert errors["options"] == ["A true_false question has no options."]


def test_an_exam_module(migrated, sqlite_url):
    from training import models
    from training.courses import handlers as courses
    from training.enrolment import handlers as enrolment
    from training.questions import handlers as questions

    engine = create_engine(migrated("training", sqlite_url))
    sessions = sessionmaker(engine, expire_on_commit=False)

    def run(handler, *args, actor="tina"):
        with sessions() as session:
            unit = Unit.on_session(session, service="training", outbox=models.outbox, inbox=models.inbox,
                                   actor=actor, clock=lambda: datetime(2026, 3, 2, 9, tzinfo=timezone.utc))
            return handler(unit, *args)
    try:
        category = run(questions.create_category, {"name": "policy"})["id"]
        run(questions.create_question, {"category_id": category, "kind": "true_false", "prompt": "Refund?",
                                        "correct": True})
        course = run(courses.create_course, {"title": "Refunds", "kind": "special", "mode": "online",
                                             "duration_hours": 2, "target_role": "agent", "certification": "refunds"})
        exam = run(courses.add_module, course["id"], {"title": "Exam", "kind": "exam", "exam": {
            "parts": [{"kind": "theory", "weight": 1, "draws": [{"category_id": category, "count": 1}]}],
            "pass_mark": 50, "time_limit_minutes": 20}})
        [enrolled] = run(enrolment.enrol, course["id"], {"agents": ["ann"]})["items"]
        with pytest.raises(InvalidInput, match="is an exam module") as refused:
            run(enrolment.record_progress, enrolled["id"], {"module_id": exam["id"], "percent": 100}, ["ann"],
                actor="ann")
        assert refused.value.details["module_id"] == ["an exam module, not a content module"]
    finally:
        engine.dispose()
