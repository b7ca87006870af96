"""Courses and their modules: create, read, list; append, edit and delete a module (R1).

An exam's draws are checked against the question bank whenever a module is
saved. A course nobody has started (no progress, attempt or extra attempts on
any enrolment) has its modules edited in place and deleted; once started, an
edit retires the module and puts a new version in its place (same position,
``version`` one more, ``replaces_module_id``): the attempts taken stay on the
version they were taken on, progress on the module carries over to the new
version, and a module of a started course is not deleted (409) nor changes
its kind (409: add a new module instead).
"""
from sqlalchemy import exists, func, select, update

from plumbing.db import column_values, get_or_not_found
from plumbing.errors import Conflict, InvalidInput, NotFound, load_or_invalid as load
from plumbing.paging import fetch_page
from plumbing.schemas import shared
from training.contract import (
    CourseCreateSchema, CourseDetailSchema, CourseListQuerySchema, CoursePageSchema, CourseSchema, MissingCoursesSchema,
    ModuleCreateSchema, ModuleSchema, ModuleUpdateSchema, module_errors,
)
from training.models import (
    Attempt, AttemptOverride, Course, CourseModule, Enrolment, ModuleProgress, Question, QuestionCategory,
)

MODULE_FIELDS = ("title", "kind", "description", "scheduled_at", "exam")


def create_course(uow, data):
    course = Course(**load(CourseCreateSchema, data), created_at=uow.now())
    with uow.transaction():
        uow.session.add(course)
    return shared(CourseSchema).dump(course)


def get_course(uow, course_id):
    course = get_or_not_found(uow.session, Course, course_id)
    return shared(CourseDetailSchema).dump(dict(column_values(course), modules=modules_of(uow, course_id)))


def list_courses(uow, query):
    criteria = load(CourseListQuerySchema, query or {})
    return shared(CoursePageSchema).dump(fetch_page(uow.session, Course, criteria, [Course.id.desc()]))


def missing_courses(uow, course_ids):
    """Which of ``course_ids`` name no course (a list of integers, else 400)."""
    if not isinstance(course_ids, list) or not all(type(i) is int for i in course_ids):
        raise InvalidInput("course_ids is a list of course ids", {"course_ids": ["a list of integers"]})
    known = set(uow.session.scalars(select(Course.id).where(Course.id.in_(course_ids))))
    return shared(MissingCoursesSchema).dump({"missing": sorted(set(course_ids) - known)})


def add_module(uow, course_id, data):
    """Append a module to a course; an exam's draws must name existing categories holding enough questions."""
    fields = load(ModuleCreateSchema, data)
    with uow.transaction():
        get_or_not_found(uow.session, Course, course_id)
        if fields["exam"]:
            check_draws(uow, fields["exam"])
        last = uow.session.scalar(select(func.max(CourseModule.position)).where(CourseModule.course_id == course_id))
        module = CourseModule(course_id=course_id, position=(last or 0) + 1, version=1, **fields)
        uow.session.add(module)
    return shared(ModuleSchema).dump(module)


def update_module(uow, module_id, data):
    """Change a module: in place while nobody has started its course, else as a new version."""
    given = load(ModuleUpdateSchema, data)
    with uow.transaction():
        module = live_module(uow, module_id, lock=True)
        fields = {name: getattr(module, name) for name in MODULE_FIELDS} | given
        errors = module_errors(fields["kind"], fields["exam"], fields["scheduled_at"])
        if errors:
            raise InvalidInput("the module as changed is not a whole module", errors)
        if fields["exam"]:
            check_draws(uow, fields["exam"])
        if not started(uow, module.course_id):
            for name, value in fields.items():
                setattr(module, name, value)
            return shared(ModuleSchema).dump(module)
        if fields["kind"] != module.kind:  # its progress would not mean the same: add a module instead
            raise Conflict(f"course {module.course_id} is started: module {module.id} stays a {module.kind} "
                           "module (add a new module instead)", {"kind": [f"stays {module.kind} once started"]})
        module.retired_at = uow.now()
        successor = CourseModule(course_id=module.course_id, position=module.position, version=module.version + 1,
                                 replaces_module_id=module.id, **fields)
        uow.session.add(successor)
        uow.session.flush()
        uow.session.execute(update(ModuleProgress).where(ModuleProgress.module_id == module.id)
                            .values(module_id=successor.id))
        return shared(ModuleSchema).dump(successor)


def delete_module(uow, module_id):
    """Delete a module of a course nobody has started (409 once somebody has: edit it instead)."""
    with uow.transaction():
        module = live_module(uow, module_id, lock=True)
        if started(uow, module.course_id):
            raise Conflict(f"course {module.course_id} is started (an agent has progress or attempts): its modules "
                           "are not deleted; edit the module for a new version",
                           {"course_id": [f"course {module.course_id} is started"]})
        uow.session.delete(module)


def live_module(uow, module_id, lock=False):
    """A module as its course now has it; a replaced one is 409 naming its successor."""
    module = uow.session.get(CourseModule, module_id, with_for_update=lock)
    if module is None:
        raise NotFound(f"module {module_id} does not exist")
    if module.retired_at is not None:
        successor = current_version(uow, module)
        raise Conflict(f"module {module_id} was replaced by module {successor.id} (version {successor.version})",
                       {"module_id": [f"replaced by module {successor.id}"]})
    return module


def current_version(uow, module):
    """The version of ``module`` its course has now (itself unless it was replaced)."""
    while module.retired_at is not None:
        module = uow.session.scalars(select(CourseModule).where(CourseModule.replaces_module_id == module.id)).one()
    return module


def started(uow, course_id) -> bool:
    """Has any agent begun the course: progress, an attempt or extra attempts on an enrolment of it."""
    enrolments = select(Enrolment.id).where(Enrolment.course_id == course_id)
    return any(uow.session.scalar(select(exists().where(column.in_(enrolments)))) for column in (
        ModuleProgress.enrolment_id, Attempt.enrolment_id, AttemptOverride.enrolment_id))


def check_draws(uow, exam):
    """Every draw names a category that exists and holds at least as many active questions as it draws."""
    known = set(uow.session.scalars(select(QuestionCategory.id)))
    active = dict(uow.session.execute(select(Question.category_id, func.count()).where(Question.active.is_(True))
                                      .group_by(Question.category_id)).all())
    errors, short = {}, False
    for p, part in enumerate(exam["parts"]):
        for d, draw in enumerate(part["draws"] or ()):
            category, held = draw["category_id"], active.get(draw["category_id"], 0)
            if category not in known:
                problem = {"category_id": ["does not exist"]}
            elif held < draw["count"]:
                problem, short = {"count": [f"category {category} holds {held} active questions, not "
                                            f"{draw['count']}"]}, True
            else:
                continue
            errors.setdefault(str(p), {"draws": {}})["draws"][str(d)] = problem
    if errors:
        raise InvalidInput("an exam draws more questions than its category holds" if short
                           else "an exam draws from a category that does not exist", {"exam": {"parts": errors}})


def modules_of(uow, course_id):
    """A course's modules as it now has them (no replaced versions), in order."""
    return uow.session.scalars(select(CourseModule).where(CourseModule.course_id == course_id,
                                                          CourseModule.retired_at.is_(None))
                               .order_by(CourseModule.position)).all()


def modules_drawing_from(uow, category_id):
    """The live exam modules whose draws take from ``category_id``: [(module, count)]."""
    found = []
    for module in uow.session.scalars(select(CourseModule).where(CourseModule.exam.is_not(None),
                                                                 CourseModule.retired_at.is_(None))
                                      .order_by(CourseModule.id)):
        for part in module.exam["parts"]:
            found.extend((module, draw["count"]) for draw in part.get("draws") or ()
                         if draw["category_id"] == category_id)
    return found
