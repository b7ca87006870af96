"""Courses and their modules: create, read, list, append a module (R1)."""
from sqlalchemy import func, select

from plumbing.db import column_values, get_or_not_found
from plumbing.errors import InvalidInput, load_or_invalid as load
from plumbing.paging import fetch_page
from plumbing.schemas import shared
from training.contract import (
    CourseCreateSchema, CourseDetailSchema, CourseListQuerySchema, CoursePageSchema, CourseSchema, ModuleCreateSchema,
    ModuleSchema,
)
from training.models import Course, CourseModule, QuestionCategory


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


def add_module(uow, course_id, data):
    """Append a module to a course; an exam's draws must name existing categories."""
    fields = load(ModuleCreateSchema, data)
    with uow.transaction():
        get_or_not_found(uow.session, Course, course_id)
        if fields["exam"]:
            check_draw_categories(uow, fields["exam"])
        last = uow.session.scalar(select(func.max(CourseModule.position)).where(CourseModule.course_id == course_id))
        module = CourseModule(course_id=course_id, position=(last or 0) + 1, **fields)
        uow.session.add(module)
    return shared(ModuleSchema).dump(module)


def check_draw_categories(uow, exam):
    known = set(uow.session.scalars(select(QuestionCategory.id)))
    errors = {}
    for p, part in enumerate(exam["parts"]):
        for d, draw in enumerate(part["draws"] or ()):
            if draw["category_id"] not in known:
                errors.setdefault(str(p), {"draws": {}})["draws"][str(d)] = {"category_id": ["does not exist"]}
    if errors:
        raise InvalidInput("an exam draws from a category that does not exist", {"exam": {"parts": errors}})


def modules_of(uow, course_id):
    """A course's modules, in order."""
    return uow.session.scalars(select(CourseModule).where(CourseModule.course_id == course_id)
                               .order_by(CourseModule.position)).all()
