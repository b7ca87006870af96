"""Training: what it answers over RPC and the events it handles (R1-R5).

Rules live in plain modules (``courses.py``, ``questions.py``, ``exams.py``,
``certifications.py``); the entrypoints are split by subject into mixins
(``enrolling.py``, ``sittings.py``, ``certifying.py``). Each change happens
in one transaction that also records its events in the outbox. The event
contract is described in ``events.py``.
"""
from datetime import datetime, timezone

from nameko.dependency_providers import Config
from sqlalchemy import func, select

from plumbing.db import get_or_not_found
from plumbing.errors import Conflict, InvalidInput, load_or_invalid as load
from plumbing.outbox import Inbox, Outbox
from plumbing.paging import fetch_page
from plumbing.schemas import shared
from plumbing.rpc import rpc
from plumbing.service import PlatformService
from training import events, models
from training.certifying import Certifying
from training.enrolling import Enrolments
from training.models import Course, CourseModule, Question, QuestionCategory
from training.contract import (
    CategoryCreateSchema, CategoryListSchema, CategorySchema, CourseCreateSchema, CourseDetailSchema,
    CourseListQuerySchema, CoursePageSchema, CourseSchema, ModuleCreateSchema, ModuleSchema,
    QuestionCreateSchema, QuestionListQuerySchema, QuestionPageSchema, QuestionRetireSchema, QuestionSchema,
)
from training.sittings import Sittings


class TrainingService(PlatformService, Enrolments, Sittings, Certifying):
    name = "training"

    events = Outbox(models.outbox)
    inbox = Inbox(models.inbox)
    config = Config()

    def now(self):
        return datetime.now(timezone.utc)

    def publish(self, event_type, agent, data):
        """An event about ``agent`` into the outbox, in the caller's transaction."""
        self.events.record(self.db, event_type, events.AGGREGATE, agent, data)

    def agents_page(self, model, query_schema, page_schema, query, agents):
        """A page of ``model`` rows, newest first, only those of ``agents`` unless that is None."""
        criteria = load(query_schema, query or {})
        conditions = [] if agents is None else [model.agent.in_(agents)]
        return shared(page_schema).dump(fetch_page(self.db, model, criteria, [model.id.desc()], conditions))

    # -- courses and their modules ------------------------------------------------------
    @rpc
    def create_course(self, data):
        course = Course(**load(CourseCreateSchema, data), created_at=self.now())
        with self.db.begin():
            self.db.add(course)
        return shared(CourseSchema).dump(course)

    @rpc
    def get_course(self, course_id):
        course = get_or_not_found(self.db, Course, course_id)
        return shared(CourseDetailSchema).dump(dict(vars(course), modules=self.modules_of(course_id)))

    @rpc
    def list_courses(self, query=None):
        criteria = load(CourseListQuerySchema, query or {})
        return shared(CoursePageSchema).dump(fetch_page(self.db, Course, criteria, [Course.id.desc()]))

    @rpc
    def add_module(self, course_id, data):
        """Append a module to a course; an exam's draws must name existing categories."""
        fields = load(ModuleCreateSchema, data)
        with self.db.begin():
            get_or_not_found(self.db, Course, course_id)
            if fields["exam"]:
                self.check_draw_categories(fields["exam"])
            last = self.db.scalar(select(func.max(CourseModule.position)).where(CourseModule.course_id == course_id))
            module = CourseModule(course_id=course_id, position=(last or 0) + 1, **fields)
            self.db.add(module)
        return shared(ModuleSchema).dump(module)

    def check_draw_categories(self, exam):
        known = set(self.db.scalars(select(QuestionCategory.id)))
        errors = {}
        for p, part in enumerate(exam["parts"]):
            for d, draw in enumerate(part["draws"] or ()):
                if draw["category_id"] not in known:
                    errors.setdefault(str(p), {"draws": {}})["draws"][str(d)] = {"category_id": ["does not exist"]}
        if errors:
            raise InvalidInput("an exam draws from a category that does not exist", {"exam": {"parts": errors}})

    def modules_of(self, course_id):
        return self.db.scalars(select(CourseModule).where(CourseModule.course_id == course_id)
                               .order_by(CourseModule.position)).all()

    # -- the question bank -------------------------------------------------------------------
    @rpc
    def create_category(self, data):
        category = QuestionCategory(**load(CategoryCreateSchema, data))
        with self.db.begin():
            if self.db.scalar(select(QuestionCategory.id).where(QuestionCategory.name == category.name)):
                raise Conflict(f"category {category.name!r} exists", {"name": ["already taken"]})
            self.db.add(category)
        return shared(CategorySchema).dump(dict(vars(category), active_questions=0))

    @rpc
    def list_categories(self):
        counts = dict(self.db.execute(select(Question.category_id, func.count()).where(Question.active.is_(True))
                                      .group_by(Question.category_id)).all())
        categories = self.db.scalars(select(QuestionCategory).order_by(QuestionCategory.name))
        return shared(CategoryListSchema).dump(
            {"items": [dict(vars(c), active_questions=counts.get(c.id, 0)) for c in categories]})

    @rpc
    def create_question(self, data):
        fields = load(QuestionCreateSchema, data)
        with self.db.begin():
            if self.db.get(QuestionCategory, fields["category_id"]) is None:
                raise InvalidInput("no such category", {"category_id": ["does not exist"]})
            question = Question(**fields, active=True, created_at=self.now())
            self.db.add(question)
        return shared(QuestionSchema).dump(question)

    @rpc
    def list_questions(self, query=None):
        criteria = load(QuestionListQuerySchema, query or {})
        return shared(QuestionPageSchema).dump(fetch_page(self.db, Question, criteria, [Question.id]))

    @rpc
    def set_question_active(self, question_id, data):
        """Retire a question from future draws (or bring it back)."""
        active = load(QuestionRetireSchema, data)["active"]
        with self.db.begin():
            question = get_or_not_found(self.db, Question, question_id)
            question.active = active
        return shared(QuestionSchema).dump(question)
