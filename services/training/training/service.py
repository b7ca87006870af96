"""Training: what it answers over RPC. Rules live in ``courses.py``."""
from datetime import datetime, timezone

from nameko.rpc import rpc

from plumbing.db import get_or_not_found
from plumbing.errors import load_or_invalid as load
from plumbing.outbox import Outbox
from plumbing.paging import fetch_page, shared
from plumbing.service import PlatformService
from training import models
from training.schemas import CourseCreateSchema, CourseListQuerySchema, CoursePageSchema, CourseSchema


class TrainingService(PlatformService):
    name = "training"

    events = Outbox(models.outbox)

    @rpc
    def create_course(self, data):
        course = models.Course(**load(CourseCreateSchema, data), created_at=datetime.now(timezone.utc))
        with self.db.begin():
            self.db.add(course)
        return shared(CourseSchema).dump(course)

    @rpc
    def get_course(self, course_id):
        return shared(CourseSchema).dump(get_or_not_found(self.db, models.Course, course_id))

    @rpc
    def list_courses(self, query=None):
        criteria = load(CourseListQuerySchema, query or {})
        return shared(CoursePageSchema).dump(fetch_page(self.db, models.Course, criteria, [models.Course.id.desc()]))
