"""Training: everything it answers over RPC, the events it handles and its
timers (R1-R5), each handed to the use case in its feature package:
``courses``, ``questions``, ``exams``, ``enrolment``, ``certification``.
Each change happens in one transaction that also records its events in the
outbox (``events.py``)."""
from plumbing.consumer import event_handler
from plumbing.rpc import rpc
from plumbing.service import PlatformService
from plumbing.timing import timer
from plumbing.unit_of_work import UnitOfWork
from training import models
from training.certification import handlers as certification
from training.courses import handlers as courses
from training.enrolment import handlers as enrolment
from training.exams import handlers as exams
from training.questions import handlers as questions


class TrainingService(PlatformService):
    name = "training"

    uow = UnitOfWork(models.outbox, models.inbox)

    # -- courses and their modules ----------------------------------------------------------
    @rpc
    def create_course(self, data):
        return courses.create_course(self.uow, data)

    @rpc
    def get_course(self, course_id):
        return courses.get_course(self.uow, course_id)

    @rpc
    def list_courses(self, query=None):
        return courses.list_courses(self.uow, query)

    @rpc
    def missing_courses(self, course_ids):
        return courses.missing_courses(self.uow, course_ids)

    @rpc
    def add_module(self, course_id, data):
        return courses.add_module(self.uow, course_id, data)

    @rpc
    def update_module(self, module_id, data):
        return courses.update_module(self.uow, module_id, data)

    @rpc
    def delete_module(self, module_id):
        return courses.delete_module(self.uow, module_id)

    # -- the question bank --------------------------------------------------------------------
    @rpc
    def create_category(self, data):
        return questions.create_category(self.uow, data)

    @rpc
    def list_categories(self):
        return questions.list_categories(self.uow)

    @rpc
    def create_question(self, data):
        return questions.create_question(self.uow, data)

    @rpc
    def list_questions(self, query=None):
        return questions.list_questions(self.uow, query)

    @rpc
    def set_question_active(self, question_id, data):
        return questions.set_question_active(self.uow, question_id, data)

    # -- enrolment ----------------------------------------------------------------------------
    @rpc
    def enrol(self, course_id, data):
        return enrolment.enrol(self.uow, course_id, data)

    @event_handler("appraisal", "appraisal.retraining_requested")
    def on_retraining_requested(self, event):
        enrolment.enrol_for_retraining(self.uow, event)

    @rpc
    def list_enrolments(self, query=None, agents=None):
        return enrolment.list_enrolments(self.uow, query, agents)

    @rpc
    def get_enrolment(self, enrolment_id, agents=None):
        return enrolment.get_enrolment(self.uow, enrolment_id, agents)

    @rpc
    def record_attendance(self, enrolment_id, data):
        return enrolment.record_attendance(self.uow, enrolment_id, data)

    @rpc
    def record_progress(self, enrolment_id, data, agents=None):
        return enrolment.record_progress(self.uow, enrolment_id, data, agents)

    @rpc
    def grant_override(self, enrolment_id, data):
        return enrolment.grant_override(self.uow, enrolment_id, data)

    # -- exams --------------------------------------------------------------------------------
    @rpc
    def start_attempt(self, enrolment_id, data, agents=None):
        return exams.start_attempt(self.uow, enrolment_id, data, agents)

    @rpc
    def get_attempt(self, attempt_id, agents=None):
        return exams.get_attempt(self.uow, attempt_id, agents)

    @rpc
    def save_answers(self, attempt_id, data, agents=None):
        return exams.save_answers(self.uow, attempt_id, data, agents)

    @rpc
    def submit_attempt(self, attempt_id, data, agents=None):
        return exams.submit_attempt(self.uow, attempt_id, data, agents)

    @rpc
    def assess_attempt(self, attempt_id, data):
        return exams.assess_attempt(self.uow, attempt_id, data)

    @timer("TRAINING_DEADLINE_SWEEP_SECONDS", exams.DEADLINE_SWEEP_SECONDS)
    def sweep_deadlines(self):
        return exams.sweep_deadlines(self.uow)

    # -- certification and career levels ------------------------------------------------------
    @rpc
    def list_certifications(self, query=None, agents=None):
        return certification.list_certifications(self.uow, query, agents)

    @rpc
    def revoke_certification(self, certification_id, data):
        return certification.revoke_certification(self.uow, certification_id, data)

    @rpc
    def agent_standing(self, agent):
        return certification.agent_standing(self.uow, agent)

    @rpc
    def list_career_levels(self):
        return certification.list_career_levels(self.uow)

    @rpc
    def set_career_level(self, level, data):
        return certification.set_career_level(self.uow, level, data)

    @timer("TRAINING_EXPIRY_SWEEP_SECONDS", certification.EXPIRY_SWEEP_SECONDS)
    def sweep_expiry(self):
        return certification.sweep_expiry(self.uow)
