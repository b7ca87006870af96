"""The training API's shapes: validated at the gateway and again by the
service, and the source of the OpenAPI document."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from plumbing.paging import PageQuerySchema, StrictSchema, page_schema
from training.courses import KINDS, MODES, schedule_errors


class CourseCreateSchema(StrictSchema):
    title = fields.String(required=True, validate=validate.Length(1, 200))
    description = fields.String(load_default="", validate=validate.Length(max=20000))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    mode = fields.String(required=True, validate=validate.OneOf(MODES),
                         metadata={"description": "in_person, online (self-paced) or external"})
    duration_hours = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    target_role = fields.String(required=True, validate=validate.Length(1, 64),
                                metadata={"description": "role the course is for, e.g. agent or supervisor"})
    certification_validity_days = fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(min=1),
        metadata={"description": "days a certification earned by this course stays valid; none: no expiry"})
    sessions_per_month = fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(min=1),
        metadata={"description": "required for periodic courses, refused for the others"})

    @validates_schema
    def check_schedule(self, data, **kwargs):
        errors = schedule_errors(data["kind"], data.get("sessions_per_month"))
        if errors:
            raise ValidationError(errors)


class CourseSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    description = fields.String()
    kind = fields.String(validate=validate.OneOf(KINDS))
    mode = fields.String(validate=validate.OneOf(MODES))
    duration_hours = fields.Float()
    target_role = fields.String()
    certification_validity_days = fields.Integer(allow_none=True)
    sessions_per_month = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class CourseListQuerySchema(PageQuerySchema):
    kind = fields.String(validate=validate.OneOf(KINDS))
    mode = fields.String(validate=validate.OneOf(MODES))


CoursePageSchema = page_schema(CourseSchema, "CoursePageSchema")
