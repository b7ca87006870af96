"""Exam attempts: start (questions drawn and frozen), answer, submit (or be
submitted when the time runs out), assessment, and the exam's outcome (R3).

The deadline sweep claims overdue attempts with ``FOR UPDATE SKIP LOCKED``
and closes each in the same transaction as its result and events, so
replicas running the same timer never close one twice.
"""
import random

from sqlalchemy import func, select

from plumbing.errors import Conflict, InvalidInput, NotFound, load_or_invalid as load
from plumbing.schemas import shared
from plumbing.rpc import rpc
from training import courses, events, exams, metrics, questions
from training.models import Attempt, AttemptOverride, AttemptQuestion, CourseModule, Enrolment, Question
from training.contract import AnswersSchema, AssessmentSchema, AttemptSchema, AttemptStartSchema
from plumbing.timing import timer

DEADLINE_SWEEP_SECONDS = 5
SWEEP_BATCH = 100


class Sittings:
    """Mixed into TrainingService: needs its ``db``, ``context``, ``now``, ``publish`` and enrolment steps."""

    @rpc
    def start_attempt(self, enrolment_id, data, agents=None):
        module_id = load(AttemptStartSchema, data)["module_id"]
        with self.db.begin():
            enrolment = self.enrolment_for(enrolment_id, agents, lock=True)
            module = self.module_of(enrolment, module_id, courses.EXAM)
            if enrolment.status != "enrolled":
                raise Conflict(f"the enrolment is {enrolment.status}", {"status": [enrolment.status]})
            now = self.now()
            earlier = self.attempts_of(enrolment, module)
            try:
                exams.refuse_attempt(module.exam, [(a.status, a.submitted_at, a.grade) for a in earlier],
                                     self.attempts_allowed(enrolment, module), now)
                drawn = exams.draw_questions(self.bank(), self.theory_draws(module.exam), random.SystemRandom())
            except exams.AttemptRefused as exc:
                raise Conflict(str(exc), {"module_id": [str(exc)]}) from None
            attempt = Attempt(enrolment_id=enrolment.id, module_id=module.id, cycle=enrolment.cycle,
                              number=len(earlier) + 1, status=exams.IN_PROGRESS, started_at=now,
                              deadline=exams.deadline(now, module.exam["time_limit_minutes"]), part_percents={})
            self.db.add(attempt)
            self.db.flush()
            self.db.add_all(AttemptQuestion(
                attempt_id=attempt.id, question_id=q.id, position=position, category_id=q.category_id, kind=q.kind,
                prompt=q.prompt, options=q.options, correct=q.correct, marks=q.marks)
                for position, q in enumerate(drawn, 1))
            return self.attempt_detail(attempt)

    @rpc
    def get_attempt(self, attempt_id, agents=None):
        return self.attempt_detail(self.attempt_for(attempt_id, agents))

    @rpc
    def save_answers(self, attempt_id, data, agents=None):
        """Keep answers as the agent goes; refused once submitted or out of time."""
        answers = load(AnswersSchema, data)["answers"]
        with self.db.begin():
            attempt = self.attempt_for(attempt_id, agents, lock=True)
            self.check_open(attempt)
            if attempt.deadline is not None and self.now() > attempt.deadline:
                raise Conflict("the time limit has run out", {"deadline": [attempt.deadline.isoformat()]})
            self.keep_answers(attempt, answers)
            return self.attempt_detail(attempt)

    @rpc
    def submit_attempt(self, attempt_id, data, agents=None):
        """Submit, with any last answers. After the deadline it closes as the
        sweep would have: at the deadline, with only the answers saved by then."""
        answers = load(AnswersSchema, data)["answers"]
        with self.db.begin():
            attempt = self.attempt_for(attempt_id, agents, lock=True)
            self.check_open(attempt)
            now = self.now()
            if exams.counts(now, attempt.deadline):
                self.keep_answers(attempt, answers)
                self.close(attempt, now, auto=False)
            else:
                self.close(attempt, attempt.deadline, auto=True)
            return self.attempt_detail(attempt)

    @rpc
    def assess_attempt(self, attempt_id, data):
        """An assessor scores the practical and customer-evaluation parts and
        marks the short answers; the attempt is then graded."""
        assessment = load(AssessmentSchema, data)
        with self.db.begin():
            attempt = self.attempt_for(attempt_id, lock=True)
            if attempt.status != exams.AWAITING_ASSESSMENT:
                raise Conflict(f"the attempt is {attempt.status}", {"status": [attempt.status]})
            module = self.db.get(CourseModule, attempt.module_id)
            self.apply_assessment(attempt, module.exam, assessment)
            attempt.assessed_by = self.context.actor
            self.grade(attempt, module)
            return self.attempt_detail(attempt)

    @timer("TRAINING_DEADLINE_SWEEP_SECONDS", DEADLINE_SWEEP_SECONDS)
    def sweep_deadlines(self):
        """Submit every attempt whose time ran out, once, whichever replica gets there first."""
        with self.db.begin():
            overdue = self.db.scalars(
                select(Attempt).where(Attempt.status == exams.IN_PROGRESS, Attempt.deadline <= self.now())
                .order_by(Attempt.deadline).limit(SWEEP_BATCH).with_for_update(skip_locked=True)).all()
            for attempt in overdue:
                self.close(attempt, attempt.deadline, auto=True)
        return len(overdue)

    # -- the steps -----------------------------------------------------------------------
    def attempt_for(self, attempt_id, agents=None, lock=False):
        attempt = self.db.get(Attempt, attempt_id, with_for_update=lock)
        if attempt is None or (agents is not None and self.db.get(Enrolment, attempt.enrolment_id).agent not in agents):
            raise NotFound(f"attempt {attempt_id} does not exist")
        return attempt

    @staticmethod
    def check_open(attempt):
        if attempt.status != exams.IN_PROGRESS:
            raise Conflict("the attempt is already submitted", {"status": [attempt.status]})

    def attempts_of(self, enrolment, module):
        return self.db.scalars(select(Attempt).where(
            Attempt.enrolment_id == enrolment.id, Attempt.module_id == module.id, Attempt.cycle == enrolment.cycle)
            .order_by(Attempt.number)).all()

    def attempts_allowed(self, enrolment, module):
        extra = self.db.scalar(select(func.coalesce(func.sum(AttemptOverride.extra_attempts), 0)).where(
            AttemptOverride.enrolment_id == enrolment.id, AttemptOverride.module_id == module.id,
            AttemptOverride.cycle == enrolment.cycle))
        return exams.attempts_allowed(module.exam["max_attempts"], extra)

    @staticmethod
    def theory_draws(exam):
        return next((part["draws"] for part in exam["parts"] if part["kind"] == exams.THEORY), [])

    def bank(self):
        bank = {}
        for question in self.db.scalars(select(Question).where(Question.active.is_(True)).order_by(Question.id)):
            bank.setdefault(question.category_id, []).append(question)
        return bank

    def frozen_questions(self, attempt):
        return self.db.scalars(select(AttemptQuestion).where(AttemptQuestion.attempt_id == attempt.id)
                               .order_by(AttemptQuestion.position)).all()

    def keep_answers(self, attempt, answers):
        drawn = {str(q.question_id): q for q in self.frozen_questions(attempt)}
        errors = {}
        for key, answer in answers.items():
            question = drawn.get(key)
            problem = ("not a question of this attempt" if question is None
                       else questions.answer_error(question.kind, len(question.options), answer))
            if problem:
                errors[key] = [problem]
        if errors:
            raise InvalidInput("some answers do not fit their questions", {"answers": errors})
        now = self.now()
        for key, answer in answers.items():
            drawn[key].answer, drawn[key].answered_at = answer, now

    def close(self, attempt, at, auto):
        """Submit: mark what can be marked; grade now unless an assessor has work to do."""
        attempt.submitted_at, attempt.auto_submitted = at, auto
        module = self.db.get(CourseModule, attempt.module_id)
        waiting = False
        for question in self.frozen_questions(attempt):
            question.awarded = questions.auto_marks(question.kind, question.correct, question.marks, question.answer)
            waiting |= question.awarded is None and question.answer is not None
            if question.awarded is None and question.answer is None:
                question.awarded = 0.0  # an unanswered short answer needs no assessor
        assessed_parts = any(part["kind"] in exams.ASSESSED_PARTS for part in module.exam["parts"])
        if waiting or assessed_parts:
            attempt.status = exams.AWAITING_ASSESSMENT
        else:
            self.grade(attempt, module)

    def apply_assessment(self, attempt, exam, assessment):
        expected_parts = {part["kind"] for part in exam["parts"] if part["kind"] in exams.ASSESSED_PARTS}
        to_mark = {str(q.question_id): q for q in self.frozen_questions(attempt) if q.awarded is None}
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

    def grade(self, attempt, module):
        exam = module.exam
        frozen = self.frozen_questions(attempt)
        percents = dict(attempt.part_percents)
        if any(part["kind"] == exams.THEORY for part in exam["parts"]):
            percents[exams.THEORY] = round(exams.part_percent(sum(q.awarded for q in frozen),
                                                              sum(q.marks for q in frozen)), 2)
        attempt.part_percents = percents
        attempt.grade = exams.attempt_grade(exam["parts"], percents)
        attempt.status, attempt.graded_at = exams.GRADED, self.now()
        self.db.flush()
        enrolment = self.db.get(Enrolment, attempt.enrolment_id, with_for_update=True)
        self.on_success(metrics.attempt_graded, enrolment.course_id, attempt.grade >= exam["pass_mark"])
        self.settle_exam(enrolment, module)

    def settle_exam(self, enrolment, module):
        """After a graded attempt: passed marks the exam module done; failed
        for good sets the enrolment to retake or retrain and says so once."""
        exam = module.exam
        grades = [a.grade for a in self.attempts_of(enrolment, module)]
        result = exams.outcome(exam, grades, self.attempts_allowed(enrolment, module))
        if result == exams.OPEN:
            return
        facts = dict(agent=enrolment.agent, course_id=enrolment.course_id, enrolment_id=enrolment.id,
                     module_id=module.id, cycle=enrolment.cycle, score=exams.exam_grade(exam["grade_method"], grades),
                     pass_mark=exam["pass_mark"], attempts_used=len(grades), grade_method=exam["grade_method"])
        if result == exams.PASSED:
            self.publish(events.EXAM_PASSED, enrolment.agent, facts)
            self.set_module_percent(enrolment, module, courses.DONE)
        else:
            enrolment.status = exam["after_final_failure"]
            self.publish(events.EXAM_FAILED, enrolment.agent, dict(facts, outcome=enrolment.status))

    def attempt_detail(self, attempt):
        return shared(AttemptSchema).dump(dict(vars(attempt), questions=self.frozen_questions(attempt)))
