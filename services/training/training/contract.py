"""The training API's shapes: validated at the gateway and again by the
service, and the source of the OpenAPI document and the event schemas.

Also the service's enumerations, which the rules import from here, and the
few rules of well-formed input the schemas apply (a periodic course says how
often it runs, a question's key fits its options...): the gateway applies
them too, so they live with the schemas rather than in a feature's rules."""
from datetime import datetime, timezone

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from plumbing.schemas import PageQuerySchema, ResponseSchema, StrictSchema, answer_of, page_schema, required
from plumbing.text import with_article

# -- enumerations ---------------------------------------------------------------------
COURSE_KINDS = ("onboarding", "periodic", "special")
COURSE_MODES = ("in_person", "online", "external")
CONTENT, SESSION, EXAM = "content", "session", "exam"
MODULE_KINDS = (CONTENT, SESSION, EXAM)

SINGLE, MULTIPLE, TRUE_FALSE, SHORT = "single_choice", "multiple_choice", "true_false", "short_answer"
# an answer key's types, for the OpenAPI document: right option positions (choice questions) or a boolean
ANSWER_KEY_TYPES = {"oneOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "boolean"}]}
QUESTION_KINDS = (SINGLE, MULTIPLE, TRUE_FALSE, SHORT)
CHOICE_KINDS = (SINGLE, MULTIPLE)

THEORY, PRACTICAL, CUSTOMER_EVALUATION = "theory", "practical", "customer_evaluation"
PART_KINDS = (THEORY, PRACTICAL, CUSTOMER_EVALUATION)
ASSESSED_PARTS = (PRACTICAL, CUSTOMER_EVALUATION)
GRADE_METHODS = ("highest", "last", "average", "first")
RETAKE, RETRAIN = "retake", "retrain"
AFTER_FINAL_FAILURE = (RETAKE, RETRAIN)
IN_PROGRESS, AWAITING_ASSESSMENT, GRADED = "in_progress", "awaiting_assessment", "graded"  # an attempt's status

ENROLLED, COMPLETED = "enrolled", "completed"
ENROLMENT_STATUSES = (ENROLLED, COMPLETED, RETAKE, RETRAIN)

CAREER_LEVELS = ("specialist", "supervisor", "manager", "director")

NAME = validate.Length(1, 128)
REASON = fields.String(load_default="", validate=validate.Length(max=2000))


# -- well-formed input --------------------------------------------------------------------
def schedule_errors(kind, sessions_per_month) -> dict[str, list[str]]:
    """Only a periodic course runs N times a month, and it must say N (R1)."""
    if kind == "periodic" and sessions_per_month is None:
        return {"sessions_per_month": ["Required for a periodic course."]}
    if kind != "periodic" and sessions_per_month is not None:
        return {"sessions_per_month": ["Only a periodic course has sessions per month."]}
    return {}


def module_errors(kind, exam, scheduled_at) -> dict[str, list[str]]:
    """An exam module carries its exam; only a session has a date."""
    errors = {}
    if (kind == EXAM) != (exam is not None):
        errors["exam"] = ["Required for an exam module." if kind == EXAM else "Only an exam module has an exam."]
    if kind != SESSION and scheduled_at is not None:
        errors["scheduled_at"] = ["Only a session is scheduled."]
    return errors


def exam_errors(exam) -> dict[str, list[str]]:
    """Each part once; only theory draws questions, and it must (R3)."""
    kinds = [part["kind"] for part in exam["parts"]]
    if len(set(kinds)) != len(kinds):
        return {"parts": ["Each part kind at most once."]}
    for part in exam["parts"]:
        if (part["kind"] == THEORY) != bool(part.get("draws")):
            return {"parts": ["The theory part draws questions (draws); the assessed parts do not."]}
        categories = [draw["category_id"] for draw in part.get("draws") or ()]
        if len(set(categories)) != len(categories):
            return {"parts": ["Draw from each category once."]}
    return {}


def question_errors(kind, options, correct) -> dict[str, list[str]]:
    """Choices need two options and a key naming them; true/false a boolean
    key; a short answer neither (R3: short answers are marked by an assessor)."""
    errors = {}
    if kind in CHOICE_KINDS:
        if len(options) < 2:
            errors["options"] = ["A choice question needs at least two options."]
        if not isinstance(correct, list) or not correct or any(
                isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(options) for i in correct):
            errors["correct"] = ["List the positions of the right options (from 0)."]
        elif len(set(correct)) != len(correct):
            errors["correct"] = ["An option is listed twice."]
        elif kind == SINGLE and len(correct) != 1:
            errors["correct"] = ["A single-choice question has exactly one right option."]
    else:
        if options:
            errors["options"] = [f"{with_article(kind, capital=True)} question has no options."]
        if kind == TRUE_FALSE and not isinstance(correct, bool):
            errors["correct"] = ["true or false."]
        if kind == SHORT and correct is not None:
            errors["correct"] = ["A short answer is marked by an assessor: no key."]
    return errors


def is_valid(valid_until_at, revoked_at, now: datetime) -> bool:
    """A certification is valid from issue until ``valid_until`` (none: no
    expiry) unless revoked (R4); every certification the API shows says so."""
    return revoked_at is None and (valid_until_at is None or valid_until_at > now)


def check(errors):
    if errors:
        raise ValidationError(errors)


# -- courses and modules ------------------------------------------------------------
class CourseCreateSchema(StrictSchema):
    title = fields.String(required=True, validate=validate.Length(1, 200))
    description = fields.String(load_default="", validate=validate.Length(max=20000))
    kind = fields.String(required=True, validate=validate.OneOf(COURSE_KINDS))
    mode = fields.String(required=True, validate=validate.OneOf(COURSE_MODES),
                         metadata={"description": "in_person, online (self-paced) or external"})
    duration_hours = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    target_role = fields.String(required=True, validate=validate.Length(1, 64),
                                metadata={"description": "role the course is for, e.g. agent or supervisor"})
    certification = fields.String(
        load_default=None, allow_none=True, validate=NAME,
        metadata={"description": "name of the certification completing the course issues; none: no certification"})
    certification_validity_days = fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(min=1),
        metadata={"description": "days a certification earned by this course stays valid; none: no expiry"})
    sessions_per_month = fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(min=1),
        metadata={"description": "required for periodic courses, refused for the others"})

    @validates_schema
    def check_schedule(self, data, **kwargs):
        check(schedule_errors(data["kind"], data.get("sessions_per_month")))


class DrawSchema(StrictSchema):
    category_id = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    count = fields.Integer(strict=True, required=True, validate=validate.Range(1, 200))


class ExamPartSchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(PART_KINDS),
                         metadata={"description": "theory is graded automatically; the others by an assessor"})
    weight = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    draws = fields.List(fields.Nested(DrawSchema), load_default=None, allow_none=True, metadata={
        "description": "theory only: how many questions to draw at random from each category, per attempt"})


class ExamSettingsSchema(StrictSchema):
    parts = fields.List(fields.Nested(ExamPartSchema), required=True, validate=validate.Length(1, 3))
    pass_mark = fields.Float(required=True, validate=validate.Range(0, 100),
                             metadata={"description": "the exam grade (weighted percent, 0-100) that passes"})
    time_limit_minutes = fields.Integer(strict=True, load_default=None, allow_none=True,
                                        validate=validate.Range(1, 24 * 60),
                                        metadata={"description": "an attempt is submitted by itself when it runs out"})
    max_attempts = fields.Integer(strict=True, load_default=1, validate=validate.Range(1, 100))
    minutes_between_attempts = fields.Integer(strict=True, load_default=0, validate=validate.Range(0, 365 * 24 * 60))
    grade_method = fields.String(load_default="highest", validate=validate.OneOf(GRADE_METHODS),
                                 metadata={"description": "how graded attempts make the exam grade"})
    after_final_failure = fields.String(
        load_default=RETAKE, validate=validate.OneOf(AFTER_FINAL_FAILURE), metadata={
            "description": "retake: enrolling again keeps the other modules done; retrain: the course starts over"})

    @validates_schema
    def check_parts(self, data, **kwargs):
        check(exam_errors(data))


class ModuleCreateSchema(StrictSchema):
    title = fields.String(required=True, validate=validate.Length(1, 200))
    kind = fields.String(required=True, validate=validate.OneOf(MODULE_KINDS))
    description = fields.String(load_default="", validate=validate.Length(max=20000))
    scheduled_at = fields.AwareDateTime(load_default=None, allow_none=True,
                                        metadata={"description": "sessions only: when it takes place"})
    exam = fields.Nested(ExamSettingsSchema, load_default=None, allow_none=True,
                         metadata={"description": "exam modules only"})

    @validates_schema
    def check_kind(self, data, **kwargs):
        check(module_errors(data["kind"], data.get("exam"), data.get("scheduled_at")))


class ModuleUpdateSchema(StrictSchema):
    """The fields to change; the module as changed must still be a whole module (``module_errors``)."""
    title = fields.String(validate=validate.Length(1, 200))
    kind = fields.String(validate=validate.OneOf(MODULE_KINDS))
    description = fields.String(validate=validate.Length(max=20000))
    scheduled_at = fields.AwareDateTime(allow_none=True, metadata={"description": "sessions only"})
    exam = fields.Nested(ExamSettingsSchema, allow_none=True, metadata={
        "description": "exam modules only: the whole exam, as when the module was added"})


# a module's exam as stored and shown: its defaults filled in, every field there
StoredExamPartSchema = answer_of(ExamPartSchema, "StoredExamPartSchema")
StoredExamSettingsSchema = answer_of(ExamSettingsSchema, "StoredExamSettingsSchema",
                                    parts=fields.List(fields.Nested(StoredExamPartSchema)))


class ModuleSchema(ResponseSchema):
    id = fields.Integer()
    course_id = fields.Integer()
    position = fields.Integer()
    kind = fields.String()
    title = fields.String()
    description = fields.String()
    scheduled_at = fields.DateTime(allow_none=True)
    exam = fields.Nested(StoredExamSettingsSchema, allow_none=True)
    version = fields.Integer(metadata={"description": "1, and one more each time a started course's module is edited"})
    replaces_module_id = fields.Integer(allow_none=True, metadata={
        "description": "the version this one replaced (its attempts stay on it)"})


class MissingCoursesSchema(ResponseSchema):
    """Which of the course ids asked about do not exist (appraisal checks a template's retraining courses)."""
    missing = fields.List(fields.Integer())


class CourseSchema(ResponseSchema):
    id = fields.Integer()
    title = fields.String()
    description = fields.String()
    kind = fields.String(validate=validate.OneOf(COURSE_KINDS))
    mode = fields.String(validate=validate.OneOf(COURSE_MODES))
    duration_hours = fields.Float()
    target_role = fields.String()
    certification = fields.String(allow_none=True)
    certification_validity_days = fields.Integer(allow_none=True)
    sessions_per_month = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class CourseDetailSchema(CourseSchema):
    modules = fields.List(fields.Nested(ModuleSchema))


class CourseListQuerySchema(PageQuerySchema):
    kind = fields.String(validate=validate.OneOf(COURSE_KINDS))
    mode = fields.String(validate=validate.OneOf(COURSE_MODES))


CoursePageSchema = page_schema(CourseSchema, "CoursePageSchema")


# -- question bank ----------------------------------------------------------------------
class CategoryCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(1, 100))
    description = fields.String(load_default="", validate=validate.Length(max=2000))


class CategorySchema(ResponseSchema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    active_questions = fields.Integer()


class CategoryListSchema(ResponseSchema):
    items = fields.List(fields.Nested(CategorySchema))


class QuestionCreateSchema(StrictSchema):
    category_id = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    kind = fields.String(required=True, validate=validate.OneOf(QUESTION_KINDS))
    prompt = fields.String(required=True, validate=validate.Length(1, 5000))
    options = fields.List(fields.String(validate=validate.Length(1, 1000)), load_default=list,
                          validate=validate.Length(max=20))
    correct = fields.Raw(load_default=None, allow_none=True, metadata={
        **ANSWER_KEY_TYPES,
        "description": "choice questions: list of right option positions (from 0); true_false: a boolean; "
                       "short_answer: none (an assessor marks it)"})
    marks = fields.Float(load_default=1.0, validate=validate.Range(min=0, min_inclusive=False, max=1000))

    @validates_schema
    def check_key(self, data, **kwargs):
        check(question_errors(data["kind"], data["options"], data["correct"]))


class QuestionSchema(ResponseSchema):
    id = fields.Integer()
    category_id = fields.Integer()
    kind = fields.String()
    prompt = fields.String()
    options = fields.List(fields.String())
    correct = fields.Raw(allow_none=True, metadata=ANSWER_KEY_TYPES)
    marks = fields.Float()
    active = fields.Boolean()
    created_at = fields.DateTime()


class QuestionListQuerySchema(PageQuerySchema):
    category_id = fields.Integer(validate=validate.Range(min=1))
    kind = fields.String(validate=validate.OneOf(QUESTION_KINDS))


class QuestionRetireSchema(StrictSchema):
    active = fields.Boolean(required=True, metadata={
        "description": "false keeps the question out of future draws; attempts keep their frozen copy"})


QuestionPageSchema = page_schema(QuestionSchema, "QuestionPageSchema")


# -- enrolments -----------------------------------------------------------------------
class EnrolRequestSchema(StrictSchema):
    """What a trainer asks the gateway: one agent, or every active agent of a team."""
    agent = fields.String(validate=validate.Length(1, 64))
    team = fields.String(validate=validate.Length(1, 64))
    reason = REASON

    @validates_schema
    def one_of_agent_or_team(self, data, **kwargs):
        if ("agent" in data) == ("team" in data):
            message = ["Give an agent or a team, not both or neither."]
            raise ValidationError({"agent": message, "team": message})


class EnrolmentCreateSchema(StrictSchema):
    """What training itself enrols (the gateway has resolved a team to its agents)."""
    agents = fields.List(fields.String(validate=validate.Length(1, 64)), required=True,
                         validate=validate.Length(1, 1000))
    reason = REASON


class EnrolmentSchema(ResponseSchema):
    id = fields.Integer()
    course_id = fields.Integer()
    agent = fields.String()
    cycle = fields.Integer(metadata={"description": "1, then one more each time the agent is enrolled again"})
    status = fields.String(metadata={"description": "enrolled, completed, retake or retrain"})
    reason = fields.String()
    enrolled_by = fields.String(allow_none=True)
    enrolled_at = fields.DateTime()
    completion_percent = fields.Float()
    completed_at = fields.DateTime(allow_none=True)


class ModuleStandingSchema(ResponseSchema):
    module_id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    percent = fields.Float()
    attended = fields.Boolean(allow_none=True)


class EnrolmentDetailSchema(EnrolmentSchema):
    modules = fields.List(fields.Nested(ModuleStandingSchema))


class EnrolmentListSchema(ResponseSchema):
    items = fields.List(fields.Nested(EnrolmentSchema))


class EnrolmentListQuerySchema(PageQuerySchema):
    course_id = fields.Integer(validate=validate.Range(min=1))
    agent = fields.String(validate=validate.Length(1, 64))
    status = fields.String(validate=validate.OneOf(ENROLMENT_STATUSES))


EnrolmentPageSchema = page_schema(EnrolmentSchema, "EnrolmentPageSchema")


class AttendanceSchema(StrictSchema):
    module_id = fields.Integer(strict=True, required=True)
    attended = fields.Boolean(required=True)


class ProgressSchema(StrictSchema):
    module_id = fields.Integer(strict=True, required=True)
    percent = fields.Float(required=True, validate=validate.Range(0, 100))


class OverrideCreateSchema(StrictSchema):
    module_id = fields.Integer(strict=True, required=True)
    extra_attempts = fields.Integer(strict=True, load_default=1, validate=validate.Range(1, 10))
    reason = fields.String(required=True, validate=validate.Length(1, 2000))


class OverrideSchema(ResponseSchema):
    id = fields.Integer()
    enrolment_id = fields.Integer()
    module_id = fields.Integer()
    cycle = fields.Integer(metadata={"description": "the enrolment cycle the extra attempts belong to"})
    extra_attempts = fields.Integer()
    reason = fields.String()
    granted_by = fields.String(allow_none=True)
    granted_at = fields.DateTime()


# -- attempts -----------------------------------------------------------------------------
class AttemptStartSchema(StrictSchema):
    module_id = fields.Integer(strict=True, required=True)


class AnswersSchema(StrictSchema):
    answers = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^[0-9]{1,18}$")), values=fields.Raw(),
                          load_default=dict, metadata={
                              "description": "question id -> answer: an option position (single choice), a list "
                                             "of them (multiple choice), true/false, or text (short answer)"})


class AssessmentSchema(StrictSchema):
    parts = fields.Dict(keys=fields.String(validate=validate.OneOf(ASSESSED_PARTS)),
                        values=fields.Float(validate=validate.Range(0, 100)), load_default=dict,
                        metadata={"description": "percent scored in each assessed part of the exam"})
    marks = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^[0-9]{1,18}$")),
                        values=fields.Float(validate=validate.Range(min=0)), load_default=dict,
                        metadata={"description": "question id -> marks given for each answered short answer"})


class AttemptQuestionSchema(ResponseSchema):
    question_id = fields.Integer()
    position = fields.Integer()
    kind = fields.String()
    prompt = fields.String()
    options = fields.List(fields.String())
    marks = fields.Float()
    answer = fields.Raw(allow_none=True, metadata={"oneOf": [{"type": "integer"}, *ANSWER_KEY_TYPES["oneOf"],
                                                             {"type": "string"}]})
    answered_at = fields.DateTime(allow_none=True)
    awarded = fields.Float(allow_none=True)


class AttemptSchema(ResponseSchema):
    id = fields.Integer()
    enrolment_id = fields.Integer()
    module_id = fields.Integer()
    cycle = fields.Integer()
    number = fields.Integer()
    status = fields.String(metadata={"description": "in_progress, awaiting_assessment or graded"})
    started_at = fields.DateTime()
    deadline = fields.DateTime(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)
    auto_submitted = fields.Boolean(metadata={"description": "the time limit ran out"})
    part_percents = fields.Dict(keys=fields.String(), values=fields.Float())
    grade = fields.Float(allow_none=True)
    graded_at = fields.DateTime(allow_none=True)
    questions = fields.List(fields.Nested(AttemptQuestionSchema), metadata={
        "description": "the questions drawn for this attempt, frozen as shown (no answer key)"})


# -- certifications and career levels -----------------------------------------------------
class CertificationSchema(ResponseSchema):
    id = fields.Integer()
    agent = fields.String()
    name = fields.String()
    course_id = fields.Integer()
    issued_at = fields.DateTime()
    valid_until = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    revoked_reason = fields.String(allow_none=True)
    expired_at = fields.DateTime(allow_none=True)
    valid = fields.Function(lambda c: is_valid(c.valid_until, c.revoked_at, datetime.now(timezone.utc)),
                            metadata={"type": "boolean", "description": "not revoked and not past valid_until"})


class CertificationListQuerySchema(PageQuerySchema):
    agent = fields.String(validate=validate.Length(1, 64))
    name = fields.String(validate=NAME)


CertificationPageSchema = page_schema(CertificationSchema, "CertificationPageSchema")


class RevocationSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(1, 2000))


class CareerLevelUpdateSchema(StrictSchema):
    certifications = fields.List(fields.String(validate=NAME), required=True, validate=validate.Length(max=50))


class CareerLevelSchema(ResponseSchema):
    level = fields.String(validate=validate.OneOf(CAREER_LEVELS))
    certifications = fields.List(fields.String())
    updated_at = fields.DateTime(allow_none=True)


class CareerLevelListSchema(ResponseSchema):
    items = fields.List(fields.Nested(CareerLevelSchema))


class StandingSchema(ResponseSchema):
    agent = fields.String()
    cleared_for_duty = fields.Boolean(metadata={
        "description": "holds a valid certification the specialist level requires (R4)"})
    qualified_levels = fields.List(fields.String(), metadata={
        "description": "career levels whose every required certification the agent holds valid (R5)"})
    certifications = fields.List(fields.Nested(CertificationSchema))


# -- event data -------------------------------------------------------------------------
class EnrolledDataSchema(Schema):
    agent = required(fields.String(metadata={"description": "the agent's account username"}))
    course_id = required(fields.Integer())
    enrolment_id = required(fields.Integer())
    cycle = required(fields.Integer())
    reason = required(fields.String())
    enrolled_by = required(fields.String(allow_none=True, metadata={
        "description": "who enrolled the agent; appraisal for a retraining request"}))


class CompletedDataSchema(Schema):
    agent = required(fields.String())
    course_id = required(fields.Integer())
    enrolment_id = required(fields.Integer())
    cycle = required(fields.Integer())
    completed_at = required(fields.DateTime())


class ExamResultDataSchema(Schema):
    agent = required(fields.String())
    course_id = required(fields.Integer())
    enrolment_id = required(fields.Integer())
    module_id = required(fields.Integer(metadata={"description": "the exam module"}))
    cycle = required(fields.Integer())
    score = required(fields.Float(metadata={"description": "the exam grade across attempts, percent 0-100"}))
    pass_mark = required(fields.Float())
    attempts_used = required(fields.Integer())
    grade_method = required(fields.String(validate=validate.OneOf(GRADE_METHODS)))


class ExamFailedDataSchema(ExamResultDataSchema):
    outcome = required(fields.String(validate=validate.OneOf(AFTER_FINAL_FAILURE), metadata={
        "description": "what the enrolment now needs: retake the exam or retrain on the course"}))


class CertifiedDataSchema(Schema):
    agent = required(fields.String())
    certification = required(fields.String())
    valid_until = required(fields.DateTime(allow_none=True, metadata={"description": "none: does not expire"}))
    clears_for_duty = required(fields.Boolean(metadata={
        "description": "the specialist career level requires this certification"}))


class RetrainingRefusedDataSchema(Schema):
    agent = required(fields.String())
    course_id = required(fields.Integer())
    cycle_id = fields.Integer(allow_none=True, metadata={"description": "the appraisal cycle that asked, if it said"})
    reason = required(fields.String(metadata={"description": "why training could not enrol the agent"}))


class CertificationEndedDataSchema(Schema):
    agent = required(fields.String())
    certification = required(fields.String())
