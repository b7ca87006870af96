"""The training service under test, and a course builder: a question bank
with two categories and an onboarding course whose last module is an exam."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, update

from plumbing.testing import call_as
from training.service import TrainingService

TRAINER = "tina"
COURSE = {"title": "Onboarding", "kind": "onboarding", "mode": "in_person", "duration_hours": 16,
          "target_role": "agent", "certification": "onboarding", "certification_validity_days": 365}


def act(container, method, *args, actor=TRAINER):
    return call_as(actor, container, method, *args)


@pytest.fixture
def training(start_service):
    return start_service(TrainingService)


@pytest.fixture
def bank(training):
    """Category ids: policy (4 true/false questions, all true) and manners (2 single choices, right answer 0)."""
    policy = act(training, "create_category", {"name": "policy"})["id"]
    manners = act(training, "create_category", {"name": "manners"})["id"]
    for n in range(4):
        act(training, "create_question", {"category_id": policy, "kind": "true_false", "prompt": f"Rule {n}?",
                                          "correct": True})
    for n in range(2):
        act(training, "create_question", {"category_id": manners, "kind": "single_choice", "prompt": f"Greet {n}",
                                          "options": ["Hello, how may I help?", "What?"], "correct": [0], "marks": 2})
    return {"policy": policy, "manners": manners}


@pytest.fixture
def build_course(training, bank):
    """``build_course(practical=False, **exam settings)`` -> (course, exam module)."""
    def build(practical=False, course=None, **settings):
        made = act(training, "create_course", dict(COURSE, **(course or {})))
        parts = [{"kind": "theory", "weight": 60 if practical else 100, "draws": [
            {"category_id": bank["policy"], "count": 2}, {"category_id": bank["manners"], "count": 1}]}]
        if practical:
            parts.append({"kind": "practical", "weight": 40})
        exam = dict({"parts": parts, "pass_mark": 60, "max_attempts": 2}, **settings)
        module = act(training, "add_module", made["id"], {"title": "Final exam", "kind": "exam", "exam": exam})
        return made, module
    return build


@pytest.fixture
def answer_all():
    """``answer_all(attempt, right=True)``: answers to every drawn question of the bank, all right or all wrong."""
    def answers(attempt, right=True):
        return {"answers": {str(q["question_id"]): (right if q["kind"] == "true_false" else 0 if right else 1)
                            for q in attempt["questions"]}}
    return answers


@pytest.fixture
def shift_back(database_url):
    """``shift_back(model, column, row_id, minutes=n)`` moves a stored time into the past (no sleeping)."""
    def shift(model, column, row_id, **delta):
        engine = create_engine(database_url)
        with engine.begin() as connection:
            connection.execute(update(model).where(model.id == row_id).values(
                {column: datetime.now(timezone.utc) - timedelta(**delta)}))
        engine.dispose()
    return shift
