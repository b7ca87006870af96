"""Routes of training: courses and their modules, the question bank, enrolments,
exam attempts, certifications and career levels. An agent sees their own
training, a supervisor their teams' (``gateway.scope``)."""
from gateway import accounts
from gateway.access import ATTEMPT_READERS, EXAM_TAKERS, PROGRESS_RECORDERS, STAFF, TRAINERS
from gateway.api import ApiCall, Router
from gateway.errors import ApiError
from gateway.scope import check_standing, people_in_view
from training import contract

router = Router()


@router.api("POST", "/api/v1/training/courses", roles=TRAINERS, body=contract.CourseCreateSchema,
            response=contract.CourseSchema, status=201,
            summary="Create a course: kind, mode, duration, schedule, the certification it gives")
def create_course(service, call: ApiCall):
    return service.training.create_course(call.body)


@router.api("GET", "/api/v1/training/courses", roles=STAFF, query=contract.CourseListQuerySchema,
            response=contract.CoursePageSchema, summary="List courses")
def list_courses(service, call: ApiCall):
    return service.training.list_courses(call.query)


@router.api("GET", "/api/v1/training/courses/<int:course_id>", roles=STAFF, response=contract.CourseDetailSchema,
            summary="A course with its modules in order")
def get_course(service, call: ApiCall, course_id):
    return service.training.get_course(course_id)


@router.api("POST", "/api/v1/training/courses/<int:course_id>/modules", roles=TRAINERS,
            body=contract.ModuleCreateSchema, response=contract.ModuleSchema, status=201,
            summary="Append a module: content, a session, or an exam with its parts, draws and limits")
def add_course_module(service, call: ApiCall, course_id):
    return service.training.add_module(course_id, call.body)


@router.api("PATCH", "/api/v1/training/modules/<int:module_id>", roles=TRAINERS, body=contract.ModuleUpdateSchema,
            response=contract.ModuleSchema, summary=(
                "Edit a module: in place while nobody has started its course; once somebody has, the module is "
                "replaced by a new version (attempts stay on the version they were taken on, progress carries "
                "over). An exam's draws are checked against the question bank"))
def update_course_module(service, call: ApiCall, module_id):
    return service.training.update_module(module_id, call.body)


@router.api("DELETE", "/api/v1/training/modules/<int:module_id>", roles=TRAINERS, status=204,
            summary="Delete a module of a course nobody has started (409 once somebody has: edit it instead)")
def delete_course_module(service, call: ApiCall, module_id):
    service.training.delete_module(module_id)


@router.api("POST", "/api/v1/training/courses/<int:course_id>/enrolments", roles=TRAINERS,
            body=contract.EnrolRequestSchema, response=contract.EnrolmentListSchema, status=201, summary=(
                "Enrol an agent or a whole team (publishes training.enrolled; already enrolled agents are left as "
                "they are, completed or failed ones start a new cycle)"))
def enrol(service, call: ApiCall, course_id):
    agents = agents_to_enrol(service.db, call.body)
    return service.training.enrol(course_id, {"agents": agents, "reason": call.body["reason"]})


@router.api("GET", "/api/v1/training/question-categories", roles=TRAINERS, response=contract.CategoryListSchema,
            summary="Question bank categories with their active question counts")
def list_question_categories(service, call: ApiCall):
    return service.training.list_categories()


@router.api("POST", "/api/v1/training/question-categories", roles=TRAINERS, body=contract.CategoryCreateSchema,
            response=contract.CategorySchema, status=201, summary="Add a question bank category")
def create_question_category(service, call: ApiCall):
    return service.training.create_category(call.body)


@router.api("GET", "/api/v1/training/questions", roles=TRAINERS, query=contract.QuestionListQuerySchema,
            response=contract.QuestionPageSchema, summary="Questions of the bank, with their keys")
def list_questions(service, call: ApiCall):
    return service.training.list_questions(call.query)


@router.api("POST", "/api/v1/training/questions", roles=TRAINERS, body=contract.QuestionCreateSchema,
            response=contract.QuestionSchema, status=201,
            summary="Add a question: single or multiple choice, true/false, or short answer")
def create_question(service, call: ApiCall):
    return service.training.create_question(call.body)


@router.api("PUT", "/api/v1/training/questions/<int:question_id>/active", roles=TRAINERS,
            body=contract.QuestionRetireSchema, response=contract.QuestionSchema,
            summary="Retire a question from future draws, or bring it back")
def set_question_active(service, call: ApiCall, question_id):
    return service.training.set_question_active(question_id, call.body)


@router.api("GET", "/api/v1/training/enrolments", roles=STAFF, query=contract.EnrolmentListQuerySchema,
            response=contract.EnrolmentPageSchema,
            summary="Enrolments: an agent sees their own, a supervisor their teams'")
def list_enrolments(service, call: ApiCall):
    return service.training.list_enrolments(call.query, people_in_view(service.db, call.principal))


@router.api("GET", "/api/v1/training/enrolments/<int:enrolment_id>", roles=STAFF,
            response=contract.EnrolmentDetailSchema, summary="An enrolment with each module's progress or attendance")
def get_enrolment(service, call: ApiCall, enrolment_id):
    return service.training.get_enrolment(enrolment_id, people_in_view(service.db, call.principal))


@router.api("POST", "/api/v1/training/enrolments/<int:enrolment_id>/attendance", roles=TRAINERS,
            body=contract.AttendanceSchema, response=contract.EnrolmentDetailSchema,
            summary="Record attendance of a session")
def record_attendance(service, call: ApiCall, enrolment_id):
    return service.training.record_attendance(enrolment_id, call.body)


@router.api("PUT", "/api/v1/training/enrolments/<int:enrolment_id>/progress", roles=PROGRESS_RECORDERS,
            body=contract.ProgressSchema, response=contract.EnrolmentDetailSchema,
            summary="Progress through an online content module (an agent on their own enrolment)")
def record_progress(service, call: ApiCall, enrolment_id):
    return service.training.record_progress(enrolment_id, call.body, people_in_view(service.db, call.principal))


@router.api("POST", "/api/v1/training/enrolments/<int:enrolment_id>/overrides", roles=TRAINERS,
            body=contract.OverrideCreateSchema, response=contract.OverrideSchema, status=201,
            summary="Extra attempts at an exam for this agent, in the current cycle only")
def grant_override(service, call: ApiCall, enrolment_id):
    return service.training.grant_override(enrolment_id, call.body)


@router.api("POST", "/api/v1/training/enrolments/<int:enrolment_id>/attempts", roles=EXAM_TAKERS,
            body=contract.AttemptStartSchema, response=contract.AttemptSchema, status=201,
            summary="Start an exam attempt: questions drawn and frozen; 409 if too early, none left, or already passed")
def start_attempt(service, call: ApiCall, enrolment_id):
    return service.training.start_attempt(enrolment_id, call.body, people_in_view(service.db, call.principal))


@router.api("GET", "/api/v1/training/attempts/<int:attempt_id>", roles=ATTEMPT_READERS, response=contract.AttemptSchema,
            summary="An attempt as the agent saw it (no answer key), with marks once graded")
def get_attempt(service, call: ApiCall, attempt_id):
    return service.training.get_attempt(attempt_id, people_in_view(service.db, call.principal))


@router.api("PUT", "/api/v1/training/attempts/<int:attempt_id>/answers", roles=EXAM_TAKERS, body=contract.AnswersSchema,
            response=contract.AttemptSchema, summary="Save answers as you go (409 once submitted or out of time)")
def save_answers(service, call: ApiCall, attempt_id):
    return service.training.save_answers(attempt_id, call.body, people_in_view(service.db, call.principal))


@router.api("POST", "/api/v1/training/attempts/<int:attempt_id>/submission", roles=EXAM_TAKERS,
            body=contract.AnswersSchema, response=contract.AttemptSchema,
            summary="Submit an attempt with any last answers; after the time limit only answers saved in time count")
def submit_attempt(service, call: ApiCall, attempt_id):
    return service.training.submit_attempt(attempt_id, call.body, people_in_view(service.db, call.principal))


@router.api("POST", "/api/v1/training/attempts/<int:attempt_id>/assessment", roles=TRAINERS,
            body=contract.AssessmentSchema, response=contract.AttemptSchema,
            summary="Score the practical and customer-evaluation parts and the short answers")
def assess_attempt(service, call: ApiCall, attempt_id):
    return service.training.assess_attempt(attempt_id, call.body)


@router.api("GET", "/api/v1/training/certifications", roles=STAFF, query=contract.CertificationListQuerySchema,
            response=contract.CertificationPageSchema,
            summary="Certifications: an agent sees their own, a supervisor their teams'")
def list_certifications(service, call: ApiCall):
    return service.training.list_certifications(call.query, people_in_view(service.db, call.principal))


@router.api("POST", "/api/v1/training/certifications/<int:certification_id>/revocation", roles=TRAINERS,
            body=contract.RevocationSchema, response=contract.CertificationSchema,
            summary="Revoke a certification (publishes training.certification_revoked; routing stops at once)")
def revoke_certification(service, call: ApiCall, certification_id):
    return service.training.revoke_certification(certification_id, call.body)


@router.api("GET", "/api/v1/training/career-levels", roles=STAFF, response=contract.CareerLevelListSchema,
            summary="Career levels, specialist to director, and the certifications each requires")
def list_career_levels(service, call: ApiCall):
    return service.training.list_career_levels()


@router.api("PUT", "/api/v1/training/career-levels/<level>", roles=TRAINERS, body=contract.CareerLevelUpdateSchema,
            response=contract.CareerLevelSchema,
            summary="Set what a level requires; the specialist level's clear for duty")
def set_career_level(service, call: ApiCall, level):
    return service.training.set_career_level(level, call.body)


@router.api("GET", "/api/v1/training/agents/<username>/standing", roles=STAFF, response=contract.StandingSchema,
            summary="An agent's certifications, whether they are cleared for duty, the levels they qualify for")
def agent_standing(service, call: ApiCall, username):
    check_standing(service.db, call.principal, username)
    return service.training.agent_standing(username)


def agents_to_enrol(session, request):
    """One agent, or every active agent of a team, as account usernames."""
    if "agent" in request:
        if request["agent"] not in {account.username for account in accounts.active_agents(session)}:
            raise ApiError(400, "invalid_input", "no such active agent", {"agent": ["no active agent of that name"]})
        return [request["agent"]]
    members = sorted(a.username for a in accounts.active_agents(session) if request["team"] in a.teams)
    if not members:
        raise ApiError(400, "invalid_input", "the team has no active agents", {"team": ["no active agents"]})
    return members
