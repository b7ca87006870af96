"""Enrolments: who is on which course, how far they are, extra attempts,
and enrolment on appraisal's request (R2).

Enrolling someone already enrolled changes nothing. Enrolling someone who
completed the course or failed its exam for good starts a new cycle: a
retake keeps the modules done but the exams, anything else starts over.
"""
from sqlalchemy import delete, select

from plumbing.consumer import event_handler
from plumbing.db import get_or_not_found
from plumbing.errors import Conflict, InvalidInput, NotFound, UnprocessableEvent, load_event_data
from plumbing.errors import load_or_invalid as load
from plumbing.schemas import shared
from plumbing.rpc import rpc
from training import courses, events, exams
from training.models import AttemptOverride, Course, CourseModule, Enrolment, ModuleProgress
from training.contract import (
    AttendanceSchema, EnrolmentCreateSchema, EnrolmentDetailSchema, EnrolmentListQuerySchema, EnrolmentListSchema,
    EnrolmentPageSchema, OverrideCreateSchema, OverrideSchema, ProgressSchema, RetrainingRequestedSchema,
)

ENROLLED, COMPLETED = "enrolled", "completed"


class Enrolments:
    """Mixed into TrainingService: needs its ``db``, ``context``, ``now``, ``publish``, ``agents_page``
    and ``certify``."""

    @rpc
    def enrol(self, course_id, data):
        """Enrol each agent (a team resolved by the gateway); returns their enrolments."""
        fields = load(EnrolmentCreateSchema, data)
        with self.db.begin():
            course = get_or_not_found(self.db, Course, course_id)
            enrolled = [self.enrol_agent(course, agent, fields["reason"], self.context.actor)
                        for agent in dict.fromkeys(fields["agents"])]
        return shared(EnrolmentListSchema).dump({"items": enrolled})

    @event_handler("appraisal", "appraisal.retraining_requested")
    def on_retraining_requested(self, event):
        request = load_event_data(RetrainingRequestedSchema(), event)
        with self.db.begin():
            if not self.inbox.first_time(self.db, event):
                return
            course = self.db.get(Course, request["course_id"])
            if course is None:
                raise UnprocessableEvent(f"course {request['course_id']} does not exist")
            self.enrol_agent(course, request["agent"], request["reason"], "appraisal")

    def enrol_agent(self, course, agent, reason, enrolled_by):
        enrolment = self.db.scalars(select(Enrolment).where(Enrolment.course_id == course.id, Enrolment.agent == agent)
                                    .with_for_update()).first()
        if enrolment is not None and enrolment.status == ENROLLED:
            return enrolment
        if enrolment is None:
            enrolment = Enrolment(course_id=course.id, agent=agent, cycle=1)
            self.db.add(enrolment)
        else:
            self.start_cycle(enrolment)
        enrolment.status, enrolment.reason, enrolment.enrolled_by = ENROLLED, reason, enrolled_by
        enrolment.enrolled_at, enrolment.completed_at = self.now(), None
        self.db.flush()
        self.update_completion(enrolment, course)
        self.publish(events.ENROLLED, agent, dict(vars(enrolment), enrolment_id=enrolment.id))
        return enrolment

    def start_cycle(self, enrolment):
        """A new cycle: attempts and overrides of the old one stop counting (they carry its number)."""
        forgotten = select(CourseModule.id).where(CourseModule.course_id == enrolment.course_id)
        if enrolment.status == exams.RETAKE:
            forgotten = forgotten.where(CourseModule.kind == courses.EXAM)
        self.db.execute(delete(ModuleProgress).where(ModuleProgress.enrolment_id == enrolment.id,
                                                     ModuleProgress.module_id.in_(forgotten)))
        enrolment.cycle += 1

    @rpc
    def list_enrolments(self, query=None, agents=None):
        """``agents``: only theirs (the gateway's scope for agents and supervisors)."""
        return self.agents_page(Enrolment, EnrolmentListQuerySchema, EnrolmentPageSchema, query, agents)

    @rpc
    def get_enrolment(self, enrolment_id, agents=None):
        return self.enrolment_detail(self.enrolment_for(enrolment_id, agents))

    @rpc
    def record_attendance(self, enrolment_id, data):
        fields = load(AttendanceSchema, data)
        with self.db.begin():
            enrolment = self.enrolment_for(enrolment_id, lock=True)
            module = self.module_of(enrolment, fields["module_id"], courses.SESSION)
            self.set_module_percent(enrolment, module, courses.DONE if fields["attended"] else 0.0,
                                    attended=fields["attended"])
            return self.enrolment_detail(enrolment)

    @rpc
    def record_progress(self, enrolment_id, data, agents=None):
        fields = load(ProgressSchema, data)
        with self.db.begin():
            enrolment = self.enrolment_for(enrolment_id, agents, lock=True)
            module = self.module_of(enrolment, fields["module_id"], courses.CONTENT)
            self.set_module_percent(enrolment, module, fields["percent"])
            return self.enrolment_detail(enrolment)

    @rpc
    def grant_override(self, enrolment_id, data):
        """Extra attempts at one exam for this agent, in the current cycle only.
        Granted after a final failure, it reopens the enrolment."""
        fields = load(OverrideCreateSchema, data)
        with self.db.begin():
            enrolment = self.enrolment_for(enrolment_id, lock=True)
            self.module_of(enrolment, fields["module_id"], courses.EXAM)
            if enrolment.status == COMPLETED:
                raise Conflict("the course is completed; enrol the agent again for a new cycle",
                               {"status": [enrolment.status]})
            override = AttemptOverride(enrolment_id=enrolment.id, cycle=enrolment.cycle, granted_by=self.context.actor,
                                       granted_at=self.now(), **fields)
            self.db.add(override)
            enrolment.status = ENROLLED
        return shared(OverrideSchema).dump(override)

    # -- the steps -----------------------------------------------------------------------
    def enrolment_for(self, enrolment_id, agents=None, lock=False):
        """The enrolment, if it is one of ``agents`` (None: anyone's); others' are not found."""
        enrolment = self.db.get(Enrolment, enrolment_id, with_for_update=lock)
        if enrolment is None or (agents is not None and enrolment.agent not in agents):
            raise NotFound(f"enrolment {enrolment_id} does not exist")
        return enrolment

    def module_of(self, enrolment, module_id, kind):
        module = self.db.get(CourseModule, module_id)
        if module is None or module.course_id != enrolment.course_id:
            raise InvalidInput("not a module of this course", {"module_id": ["not a module of this course"]})
        if module.kind != kind:
            raise InvalidInput(f"module {module_id} is a {module.kind} module",
                               {"module_id": [f"a {module.kind} module, not a {kind} module"]})
        return module

    def set_module_percent(self, enrolment, module, percent, attended=None):
        if enrolment.status != ENROLLED:
            raise Conflict(f"the enrolment is {enrolment.status}", {"status": [enrolment.status]})
        progress = self.db.get(ModuleProgress, (enrolment.id, module.id))
        if progress is None:
            progress = ModuleProgress(enrolment_id=enrolment.id, module_id=module.id)
            self.db.add(progress)
        progress.percent, progress.attended, progress.updated_at = percent, attended, self.now()
        self.db.flush()
        self.update_completion(enrolment, self.db.get(Course, enrolment.course_id))

    def update_completion(self, enrolment, course):
        """Completion from the modules; all done completes the course and certifies."""
        percents = [percent for _, percent, _ in self.module_standing(enrolment)]
        enrolment.completion_percent = courses.completion_percent(percents)
        if enrolment.status == ENROLLED and courses.is_complete(percents):
            enrolment.status, enrolment.completed_at = COMPLETED, self.now()
            self.publish(events.COMPLETED, enrolment.agent, dict(vars(enrolment), enrolment_id=enrolment.id))
            if course.certification:
                self.certify(enrolment.agent, course)

    def module_standing(self, enrolment):
        """(module, percent, attended) for every module of the course, in order."""
        progress = {p.module_id: p for p in self.db.scalars(
            select(ModuleProgress).where(ModuleProgress.enrolment_id == enrolment.id))}
        standing = []
        for module in self.modules_of(enrolment.course_id):
            done = progress.get(module.id)
            standing.append((module, done.percent if done else 0.0, done.attended if done else None))
        return standing

    def enrolment_detail(self, enrolment):
        modules = [{"module_id": module.id, "kind": module.kind, "title": module.title, "percent": percent,
                    "attended": attended} for module, percent, attended in self.module_standing(enrolment)]
        return shared(EnrolmentDetailSchema).dump(dict(vars(enrolment), modules=modules))
