"""Enrolments: who is on which course, how far they are, attendance, extra
attempts, and enrolment on appraisal's request (R2).

Enrolling someone already enrolled changes nothing; anyone else starts a
new cycle (``enrolment/rules.py``). Completing every module completes the
course and issues its certification.
"""
from marshmallow import fields, validate
from sqlalchemy import delete, select

from plumbing.db import column_values, get_or_not_found
from plumbing.errors import Conflict, Forbidden, InvalidInput, NotFound, load_event_data
from plumbing.errors import load_or_invalid as load, separate_duties
from plumbing.paging import fetch_page
from plumbing.schemas import TolerantSchema, shared
from plumbing.text import with_article
from training import events
from training.certification import handlers as certification
from training.contract import (
    COMPLETED, CONTENT, ENROLLED, EXAM, SESSION, AttendanceSchema, EnrolmentCreateSchema, EnrolmentDetailSchema,
    EnrolmentListQuerySchema, EnrolmentListSchema, EnrolmentPageSchema, OverrideCreateSchema, OverrideSchema,
    ProgressSchema,
)
from training.courses import handlers as courses
from training.courses.rules import DONE, completion_percent, is_complete
from training.enrolment import rules
from training.models import AttemptOverride, Course, CourseModule, Enrolment, ModuleProgress


class RetrainingRequestedSchema(TolerantSchema):
    """``appraisal.retraining_requested`` data as training reads it."""
    agent = fields.String(required=True, validate=validate.Length(1, 64))
    course_id = fields.Integer(required=True)
    cycle_id = fields.Integer(load_default=None, allow_none=True)
    reason = fields.String(load_default="")


def enrol(uow, course_id, data):
    """Enrol each agent (a team resolved by the gateway); returns their enrolments."""
    given = load(EnrolmentCreateSchema, data)
    with uow.transaction():
        course = get_or_not_found(uow.session, Course, course_id)
        enrolled = [enrol_agent(uow, course, agent, given["reason"], uow.actor)
                    for agent in dict.fromkeys(given["agents"])]
    return shared(EnrolmentListSchema).dump({"items": enrolled})


def enrol_for_retraining(uow, event):
    """Appraisal asks for an agent's retraining: enrol them as a trainer would, once per event.
    A course that does not exist is refused by an event appraisal shows on the cycle, not a dead letter."""
    request = load_event_data(shared(RetrainingRequestedSchema), event)
    with uow.transaction():
        if not uow.first_time(event):
            return
        course = uow.session.get(Course, request["course_id"])
        if course is None:
            uow.record(events.RETRAINING_REFUSED, events.AGGREGATE, request["agent"], {
                "agent": request["agent"], "course_id": request["course_id"], "cycle_id": request["cycle_id"],
                "reason": f"course {request['course_id']} does not exist"})
            return
        enrol_agent(uow, course, request["agent"], request["reason"], "appraisal")


def list_enrolments(uow, query, agents):
    """``agents``: only theirs (the gateway's scope for agents and supervisors)."""
    criteria = load(EnrolmentListQuerySchema, query or {})
    conditions = [] if agents is None else [Enrolment.agent.in_(agents)]
    return shared(EnrolmentPageSchema).dump(
        fetch_page(uow.session, Enrolment, criteria, [Enrolment.id.desc()], conditions))


def get_enrolment(uow, enrolment_id, agents):
    return enrolment_detail(uow, enrolment_for(uow, enrolment_id, agents))


def record_attendance(uow, enrolment_id, data):
    given = load(AttendanceSchema, data)
    with uow.transaction():
        enrolment = enrolment_for(uow, enrolment_id, lock=True)
        separate_duties(uow.actor, enrolment.agent, "record their own attendance")
        module = module_of(uow, enrolment, given["module_id"], SESSION)
        set_module_percent(uow, enrolment, module, DONE if given["attended"] else 0.0, attended=given["attended"])
        return enrolment_detail(uow, enrolment)


def record_progress(uow, enrolment_id, data, agents):
    given = load(ProgressSchema, data)
    with uow.transaction():
        enrolment = enrolment_for(uow, enrolment_id, agents, lock=True)
        if not rules.may_record_progress(uow.actor, uow.roles, enrolment.agent):
            raise Forbidden("an agent records their own progress (a trainer anyone's): enrolment "
                            f"{enrolment.id} is {enrolment.agent}'s", {"agent": [f"{enrolment.agent}, not you"]})
        module = module_of(uow, enrolment, given["module_id"], CONTENT)
        set_module_percent(uow, enrolment, module, given["percent"])
        return enrolment_detail(uow, enrolment)


def grant_override(uow, enrolment_id, data):
    """Extra attempts at one exam for this agent, in the current cycle only.
    Granted after a final failure, it reopens the enrolment."""
    given = load(OverrideCreateSchema, data)
    with uow.transaction():
        enrolment = enrolment_for(uow, enrolment_id, lock=True)
        separate_duties(uow.actor, enrolment.agent, "grant themselves extra attempts")
        module_of(uow, enrolment, given["module_id"], EXAM)
        if enrolment.status == COMPLETED:
            raise Conflict("the course is completed; enrol the agent again for a new cycle",
                           {"status": [enrolment.status]})
        override = AttemptOverride(enrolment_id=enrolment.id, cycle=enrolment.cycle, granted_by=uow.actor,
                                   granted_at=uow.now(), **given)
        uow.session.add(override)
        enrolment.status = ENROLLED
    return shared(OverrideSchema).dump(override)


# -- the steps ---------------------------------------------------------------------------
def enrol_agent(uow, course, agent, reason, enrolled_by):
    enrolment = uow.session.scalars(select(Enrolment).where(Enrolment.course_id == course.id,
                                                            Enrolment.agent == agent).with_for_update()).first()
    if enrolment is not None and not rules.starts_new_cycle(enrolment.status):
        return enrolment
    if enrolment is None:
        enrolment = Enrolment(course_id=course.id, agent=agent, cycle=1)
        uow.session.add(enrolment)
    else:
        start_cycle(uow, enrolment)
    enrolment.status, enrolment.reason, enrolment.enrolled_by = ENROLLED, reason, enrolled_by
    enrolment.enrolled_at, enrolment.completed_at = uow.now(), None
    uow.session.flush()
    update_completion(uow, enrolment, course)
    uow.record(events.ENROLLED, events.AGGREGATE, agent, dict(vars(enrolment), enrolment_id=enrolment.id))
    return enrolment


def start_cycle(uow, enrolment):
    """A new cycle: what it does not keep is forgotten; attempts and overrides
    of the old one stop counting (they carry its number)."""
    forgotten = [module.id for module in courses.modules_of(uow, enrolment.course_id)
                 if not rules.keeps_progress(enrolment.status, module.kind)]
    uow.session.execute(delete(ModuleProgress).where(ModuleProgress.enrolment_id == enrolment.id,
                                                     ModuleProgress.module_id.in_(forgotten)))
    enrolment.cycle += 1


def enrolment_for(uow, enrolment_id, agents=None, lock=False):
    """The enrolment, if it is one of ``agents`` (None: anyone's); others' are not found."""
    enrolment = uow.session.get(Enrolment, enrolment_id, with_for_update=lock)
    if enrolment is None or (agents is not None and enrolment.agent not in agents):
        raise NotFound(f"enrolment {enrolment_id} does not exist")
    return enrolment


def module_of(uow, enrolment, module_id, kind):
    module = uow.session.get(CourseModule, module_id)
    if module is None or module.course_id != enrolment.course_id:
        raise InvalidInput("not a module of this course", {"module_id": ["not a module of this course"]})
    if module.retired_at is not None:
        successor = courses.current_version(uow, module)
        raise InvalidInput(f"module {module_id} was replaced by module {successor.id}",
                           {"module_id": [f"replaced by module {successor.id}"]})
    if module.kind != kind:
        raise InvalidInput(f"module {module_id} is {with_article(module.kind)} module",
                           {"module_id": [f"{with_article(module.kind)} module, not {with_article(kind)} module"]})
    return module


def set_module_percent(uow, enrolment, module, percent, attended=None):
    if enrolment.status != ENROLLED:
        raise Conflict(f"the enrolment is {enrolment.status}", {"status": [enrolment.status]})
    progress = uow.session.get(ModuleProgress, (enrolment.id, module.id))
    if progress is None:
        progress = ModuleProgress(enrolment_id=enrolment.id, module_id=module.id)
        uow.session.add(progress)
    progress.percent, progress.attended, progress.updated_at = percent, attended, uow.now()
    uow.session.flush()
    update_completion(uow, enrolment, uow.session.get(Course, enrolment.course_id))


def update_completion(uow, enrolment, course):
    """Completion from the modules; all done completes the course and certifies."""
    percents = [percent for _, percent, _ in module_standing(uow, enrolment)]
    enrolment.completion_percent = completion_percent(percents)
    if enrolment.status == ENROLLED and is_complete(percents):
        enrolment.status, enrolment.completed_at = COMPLETED, uow.now()
        uow.record(events.COMPLETED, events.AGGREGATE, enrolment.agent,
                   dict(vars(enrolment), enrolment_id=enrolment.id))
        if course.certification:
            certification.certify(uow, enrolment.agent, course)


def module_standing(uow, enrolment):
    """(module, percent, attended) for every module of the course, in order."""
    progress = {p.module_id: p for p in uow.session.scalars(
        select(ModuleProgress).where(ModuleProgress.enrolment_id == enrolment.id))}
    standing = []
    for module in courses.modules_of(uow, enrolment.course_id):
        done = progress.get(module.id)
        standing.append((module, done.percent if done else 0.0, done.attended if done else None))
    return standing


def enrolment_detail(uow, enrolment):
    modules = [{"module_id": module.id, "kind": module.kind, "title": module.title, "percent": percent,
                "attended": attended} for module, percent, attended in module_standing(uow, enrolment)]
    return shared(EnrolmentDetailSchema).dump(dict(column_values(enrolment), modules=modules))

