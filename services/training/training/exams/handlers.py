"""Exam attempts: start (questions drawn and frozen), answer, submit (or be
submitted when the time runs out), assessment, and the exam's outcome (R3).

The deadline sweep claims overdue attempts with ``FOR UPDATE SKIP LOCKED``
and closes each in the same transaction as its result and events, so
replicas running the same timer never close one twice.
"""
import random

from sqlalchemy import func, select

from plumbing.db import column_values
from plumbing.errors import Conflict, Forbidden, InvalidInput, NotFound, load_or_invalid as load, separate_duties
from plumbing.schemas import shared
from training import events, metrics
from training.contract import (
    ASSESSED_PARTS, AWAITING_ASSESSMENT, ENROLLED, EXAM, GRADED, IN_PROGRESS, THEORY, AnswersSchema, AssessmentSchema,
    AttemptSchema, AttemptStartSchema,
)
from training.courses import handlers as courses
from training.courses.rules import DONE
from training.enrolment import handlers as enrolments
from training.exams import rules
from training.models import Attempt, AttemptOverride, AttemptQuestion, CourseModule, Enrolment
from training.questions import handlers as questions
from training.questions.rules import answer_error, auto_marks

DEADLINE_SWEEP_SECONDS = 5
SWEEP_BATCH = 100


def start_attempt(uow, enrolment_id, data, agents):
    module_id = load(AttemptStartSchema, data)["module_id"]
    with uow.transaction():
        enrolment = enrolments.enrolment_for(uow, enrolment_id, agents, lock=True)
        check_sitter(uow, enrolment)
        module = enrolments.module_of(uow, enrolment, module_id, EXAM)
        if enrolment.status != ENROLLED:
            raise Conflict(f"the enrolment is {enrolment.status}", {"status": [enrolment.status]})
        now = uow.now()
        earlier = attempts_of(uow, enrolment, module)
        try:
            rules.refuse_attempt(module.exam, [(a.status, a.submitted_at, a.grade) for a in earlier],
                                 attempts_allowed(uow, enrolment, module), now)
            drawn = rules.draw_questions(questions.active_bank(uow), theory_draws(module.exam), random.SystemRandom())
        except rules.AttemptRefused as exc:
            raise Conflict(str(exc), {"module_id": [str(exc)]}) from None
        attempt = Attempt(enrolment_id=enrolment.id, module_id=module.id, cycle=enrolment.cycle,
                          number=len(earlier) + 1, status=IN_PROGRESS, started_at=now,
                          deadline=rules.deadline(now, module.exam["time_limit_minutes"]), part_percents={})
        uow.session.add(attempt)
        uow.session.flush()
        uow.session.add_all(AttemptQuestion(
            attempt_id=attempt.id, question_id=q.id, position=position, category_id=q.category_id, kind=q.kind,
            prompt=q.prompt, options=q.options, correct=q.correct, marks=q.marks)
            for position, q in enumerate(drawn, 1))
        return attempt_detail(uow, attempt)


def get_attempt(uow, attempt_id, agents):
    return attempt_detail(uow, attempt_for(uow, attempt_id, agents)[0])


def save_answers(uow, attempt_id, data, agents):
    """Keep answers as the agent goes; refused once submitted or out of time."""
    answers = load(AnswersSchema, data)["answers"]
    with uow.transaction():
        attempt, enrolment = attempt_for(uow, attempt_id, agents, lock=True)
        check_sitter(uow, enrolment)
        check_open(attempt)
        if attempt.deadline is not None and uow.now() > attempt.deadline:
            raise Conflict("the time limit has run out", {"deadline": [attempt.deadline.isoformat()]})
        keep_answers(uow, attempt, answers)
        return attempt_detail(uow, attempt)


def submit_attempt(uow, attempt_id, data, agents):
    """Submit, with any last answers. After the deadline it closes as the
    sweep would have: at the deadline, with only the answers saved by then."""
    answers = load(AnswersSchema, data)["answers"]
    with uow.transaction():
        attempt, enrolment = attempt_for(uow, attempt_id, agents, lock=True)
        check_sitter(uow, enrolment)
        check_open(attempt)
        now = uow.now()
        if rules.counts(now, attempt.deadline):
            keep_answers(uow, attempt, answers)
            close(uow, attempt, now, auto=False)
        else:
            close(uow, attempt, attempt.deadline, auto=True)
        return attempt_detail(uow, attempt)


def assess_attempt(uow, attempt_id, data):
    """An assessor scores the practical and customer-evaluation parts and
    marks the short answers; the attempt is then graded."""
    assessment = load(AssessmentSchema, data)
    with uow.transaction():
        attempt, enrolment = attempt_for(uow, attempt_id, lock=True)
        separate_duties(uow.actor, enrolment.agent, "assess their own exam attempt")
        if attempt.status != AWAITING_ASSESSMENT:
            raise Conflict(f"the attempt is {attempt.status}", {"status": [attempt.status]})
        module = uow.session.get(CourseModule, attempt.module_id)
        apply_assessment(uow, attempt, module.exam, assessment)
        attempt.assessed_by = uow.actor
        grade(uow, attempt, module)
        return attempt_detail(uow, attempt)


def sweep_deadlines(uow):
    """Submit every attempt whose time ran out, once, whichever replica gets there first."""
    with uow.transaction():
        overdue = uow.session.scalars(
            select(Attempt).where(Attempt.status == IN_PROGRESS, Attempt.deadline <= uow.now())
            .order_by(Attempt.deadline).limit(SWEEP_BATCH).with_for_update(skip_locked=True)).all()
        for attempt in overdue:
            close(uow, attempt, attempt.deadline, auto=True)
    return len(overdue)


# -- the steps ---------------------------------------------------------------------------
def attempt_for(uow, attempt_id, agents=None, lock=False):
    """(attempt, its enrolment), if the enrolment is one of ``agents`` (None: anyone's); others' are not found."""
    attempt = uow.session.get(Attempt, attempt_id, with_for_update=lock)
    enrolment = attempt and uow.session.get(Enrolment, attempt.enrolment_id)
    if attempt is None or (agents is not None and enrolment.agent not in agents):
        raise NotFound(f"attempt {attempt_id} does not exist")
    return attempt, enrolment


def check_sitter(uow, enrolment):
    """An exam is sat by the enrolment's own agent: nobody else starts or answers its attempts
    (a supervisor who is also an agent does not sit her subordinate's)."""
    if uow.actor != enrolment.agent:
        raise Forbidden(f"only the agent enrolled sits their own exams: enrolment {enrolment.id} is "
                        f"{enrolment.agent}'s", {"agent": [f"{enrolment.agent}, not you"]})


def check_open(attempt):
    if attempt.status != IN_PROGRESS:
        raise Conflict("the attempt is already submitted", {"status": [attempt.status]})


def attempts_of(uow, enrolment, module):
    return uow.session.scalars(select(Attempt).where(
        Attempt.enrolment_id == enrolment.id, Attempt.module_id == module.id, Attempt.cycle == enrolment.cycle)
        .order_by(Attempt.number)).all()


def attempts_allowed(uow, enrolment, module):
    extra = uow.session.scalar(select(func.coalesce(func.sum(AttemptOverride.extra_attempts), 0)).where(
        AttemptOverride.enrolment_id == enrolment.id, AttemptOverride.module_id == module.id,
        AttemptOverride.cycle == enrolment.cycle))
    return rules.attempts_allowed(module.exam["max_attempts"], extra)


def theory_draws(exam):
    return next((part["draws"] for part in exam["parts"] if part["kind"] == THEORY), [])


def frozen_questions(uow, attempt):
    return uow.session.scalars(select(AttemptQuestion).where(AttemptQuestion.attempt_id == attempt.id)
                               .order_by(AttemptQuestion.position)).all()


def keep_answers(uow, attempt, answers):
    drawn = {str(q.question_id): q for q in frozen_questions(uow, attempt)}
    errors = {}
    for key, answer in answers.items():
        question = drawn.get(key)
        problem = ("not a question of this attempt" if question is None
                   else answer_error(question.kind, len(question.options), answer))
        if problem:
            errors[key] = [problem]
    if errors:
        raise InvalidInput("some answers do not fit their questions", {"answers": errors})
    now = uow.now()
    for key, answer in answers.items():
        drawn[key].answer, drawn[key].answered_at = answer, now


def close(uow, attempt, at, auto):
    """Submit: mark what can be marked; grade now unless an assessor has work to do."""
    attempt.submitted_at, attempt.auto_submitted = at, auto
    module = uow.session.get(CourseModule, attempt.module_id)
    waiting = False
    for question in frozen_questions(uow, attempt):
        question.awarded = auto_marks(question.kind, question.correct, question.marks, question.answer)
        waiting |= question.awarded is None and question.answer is not None
        if question.awarded is None and question.answer is None:
            question.awarded = 0.0  # an unanswered short answer needs no assessor
    assessed_parts = any(part["kind"] in ASSESSED_PARTS for part in module.exam["parts"])
    if waiting or assessed_parts:
        attempt.status = AWAITING_ASSESSMENT
    else:
        grade(uow, attempt, module)


def apply_assessment(uow, attempt, exam, assessment):
    expected_parts = {part["kind"] for part in exam["parts"] if part["kind"] in ASSESSED_PARTS}
    to_mark = {str(q.question_id): q for q in frozen_questions(uow, attempt) if q.awarded is None}
    errors = {}
    if set(assessment["parts"]) != expected_parts:
        errors["parts"] = [f"score exactly these parts: {', '.join(sorted(expected_parts)) or 'none'}"]
    if set(assessment["marks"]) != set(to_mark):
        errors["marks"] = [f"mark exactly these answers: {', '.join(sorted(to_mark)) or 'none'}"]
    over = {key: [f"at most {to_mark[key].marks}"] for key, given in assessment["marks"].items()
            if key in to_mark and given > to_mark[key].marks}
    if over and "marks" not in errors:
        errors["marks"] = over
    if errors:
        raise InvalidInput("the assessment does not fit the attempt", errors)
    for key, given in assessment["marks"].items():
        to_mark[key].awarded = given
    attempt.part_percents = dict(assessment["parts"])


def grade(uow, attempt, module):
    exam = module.exam
    frozen = frozen_questions(uow, attempt)
    percents = dict(attempt.part_percents)
    if any(part["kind"] == THEORY for part in exam["parts"]):
        percents[THEORY] = round(rules.part_percent(sum(q.awarded for q in frozen), sum(q.marks for q in frozen)), 2)
    attempt.part_percents = percents
    attempt.grade = rules.attempt_grade(exam["parts"], percents)
    attempt.status, attempt.graded_at = GRADED, uow.now()
    uow.session.flush()
    enrolment = uow.session.get(Enrolment, attempt.enrolment_id, with_for_update=True)
    uow.after_commit(metrics.attempt_graded, enrolment.course_id, attempt.grade >= exam["pass_mark"])
    settle_exam(uow, enrolment, module)


def settle_exam(uow, enrolment, module):
    """After a graded attempt: passed marks the exam module done; failed
    for good sets the enrolment to retake or retrain and says so once."""
    exam = module.exam
    grades = [a.grade for a in attempts_of(uow, enrolment, module)]
    result = rules.outcome(exam, grades, attempts_allowed(uow, enrolment, module))
    if result == rules.OPEN:
        return
    facts = dict(agent=enrolment.agent, course_id=enrolment.course_id, enrolment_id=enrolment.id,
                 module_id=module.id, cycle=enrolment.cycle, score=rules.exam_grade(exam["grade_method"], grades),
                 pass_mark=exam["pass_mark"], attempts_used=len(grades), grade_method=exam["grade_method"])
    if result == rules.PASSED:
        uow.record(events.EXAM_PASSED, events.AGGREGATE, enrolment.agent, facts)
        # an attempt taken on a version since replaced passes the module as the course now has it
        enrolments.set_module_percent(uow, enrolment, courses.current_version(uow, module), DONE)
    else:
        enrolment.status = exam["after_final_failure"]
        uow.record(events.EXAM_FAILED, events.AGGREGATE, enrolment.agent, dict(facts, outcome=enrolment.status))


def attempt_detail(uow, attempt):
    return shared(AttemptSchema).dump(dict(column_values(attempt), questions=frozen_questions(uow, attempt)))
