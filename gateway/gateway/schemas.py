"""Shapes the gateway owns: authentication, accounts, health, errors."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from gateway.auth import ROLES
from plumbing.schemas import ResponseSchema, StrictSchema, required


class TokenRequestSchema(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(1, 64))
    password = fields.String(required=True, validate=validate.Length(1, 256), load_only=True)


class TokenSchema(ResponseSchema):
    access_token = fields.String()
    token_type = fields.String(metadata={"example": "Bearer"})
    expires_in = fields.Integer(metadata={"description": "seconds"})


def password_field():
    return fields.String(required=True, validate=validate.Length(8, 256), load_only=True)


def names(description):
    return fields.List(fields.String(validate=validate.Length(1, 64)), validate=validate.Length(max=50),
                       metadata={"description": description})


class AccountCreateSchema(StrictSchema):
    username = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z0-9][a-z0-9._-]{1,63}$", error="2-64 lowercase letters, digits, '.', '_' or '-'"))
    password = password_field()
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), required=True,
                        validate=validate.Length(min=1))
    teams = names("teams whose tickets routing may give this agent")
    skills = names("skills a ticket may need, e.g. en, billing")
    capacity = fields.Integer(validate=validate.Range(0, 1000), metadata={
        "description": "open tickets routing may give them at once (default 10)"})


class AccountUpdateSchema(StrictSchema):
    """Roles, activation and a supervisor's teams are for admins; supervisors change skills,
    capacity and, within their own teams, their teams' agents' teams (``routes.accounts``)."""
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), validate=validate.Length(min=1))
    active = fields.Boolean(metadata={"description": "false deactivates: every token stops working"})
    teams = names("teams")
    skills = names("skills")
    capacity = fields.Integer(validate=validate.Range(0, 1000))

    @validates_schema
    def not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("name at least one field to change")


class PasswordChangeSchema(StrictSchema):
    current_password = fields.String(required=True, validate=validate.Length(1, 256), load_only=True)
    new_password = password_field()


class PasswordResetSchema(StrictSchema):
    new_password = password_field()


class DutySchema(StrictSchema):
    on_duty = fields.Boolean(required=True)


class AccountSchema(ResponseSchema):
    id = fields.Integer()
    username = fields.String()
    roles = fields.List(fields.String())
    active = fields.Boolean()
    teams = fields.List(fields.String())
    skills = fields.List(fields.String())
    capacity = fields.Integer()
    on_duty = fields.Boolean()
    created_at = fields.DateTime()


class StaffDataSchema(Schema):
    """``data`` of staff.* events: a full snapshot, never the password hash."""
    username = required(fields.String())
    roles = required(fields.List(fields.String(validate=validate.OneOf(ROLES))))
    teams = required(fields.List(fields.String()))
    skills = required(fields.List(fields.String()))
    capacity = required(fields.Integer())
    on_duty = required(fields.Boolean())
    active = required(fields.Boolean())


class AccountListSchema(ResponseSchema):
    items = fields.List(fields.Nested(AccountSchema))


class HealthSchema(ResponseSchema):
    status = fields.String(validate=validate.OneOf(("ok", "degraded")))
    services = fields.Dict(keys=fields.String(), values=fields.String(),
                           metadata={"description": "service name -> 'ok' or why it did not answer"})


class ErrorBodySchema(ResponseSchema):
    code = fields.String(metadata={"example": "invalid_input"})
    message = fields.String()
    details = fields.Dict(metadata={"description": "for invalid_input: field name -> list of reasons"})


class ErrorSchema(ResponseSchema):
    error = fields.Nested(ErrorBodySchema)
