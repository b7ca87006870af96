"""Training: what it answers over RPC. Rules live in ``courses.py``."""
from datetime import datetime, timezone

from nameko.rpc import rpc
from sqlalchemy import func, select

from plumbing.context import RequestContext
from plumbing.db import Database
from plumbing.errors import NotFound, load_or_invalid as load
from plumbing.metrics import Metrics
from plumbing.outbox import Outbox
from training import courses, models
from training.schemas import CourseCreateSchema, CourseListQuerySchema, CoursePageSchema, CourseSchema


class TrainingService:
    name = "training"

    db = Database()
    events = Outbox(models.outbox)
    context = RequestContext()
    metrics = Metrics()

    @rpc
    def ping(self):
        return "pong"

    @rpc
    def create_course(self, data):
        course = models.Course(**load(CourseCreateSchema(), data), created_at=datetime.now(timezone.utc))
        with self.db.begin():
            self.db.add(course)
        return CourseSchema().dump(course)

    @rpc
    def get_course(self, course_id):
        course = self.db.get(models.Course, course_id)
        if course is None:
            raise NotFound(f"course {course_id} does not exist")
        return CourseSchema().dump(course)

    @rpc
    def list_courses(self, query=None):
        criteria = load(CourseListQuerySchema(), query or {})
        page = courses.Page(criteria.pop("page"), criteria.pop("per_page"))
        filters = [getattr(models.Course, name) == value for name, value in criteria.items()]
        total = self.db.execute(select(func.count()).select_from(models.Course).where(*filters)).scalar_one()
        rows = self.db.scalars(
            select(models.Course).where(*filters).order_by(models.Course.id.desc())
            .offset(page.offset).limit(page.size)
        ).all()
        return CoursePageSchema().dump({"items": rows, "total": total, "page": page.number, "per_page": page.size})
