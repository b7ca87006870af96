"""Shapes the gateway owns: authentication, accounts, health, errors."""
from marshmallow import RAISE, Schema, fields, validate

from gateway.auth import ROLES


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class TokenRequestSchema(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(1, 64))
    password = fields.String(required=True, validate=validate.Length(1, 256), load_only=True)


class TokenSchema(Schema):
    access_token = fields.String()
    token_type = fields.String(metadata={"example": "Bearer"})
    expires_in = fields.Integer(metadata={"description": "seconds"})


class AccountCreateSchema(StrictSchema):
    username = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z0-9][a-z0-9._-]{1,63}$", error="2-64 lowercase letters, digits, '.', '_' or '-'"))
    password = fields.String(required=True, validate=validate.Length(8, 256), load_only=True)
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), required=True,
                        validate=validate.Length(min=1))


class AccountSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    roles = fields.List(fields.String())
    active = fields.Boolean()
    created_at = fields.DateTime()


class AccountListSchema(Schema):
    items = fields.List(fields.Nested(AccountSchema))


class HealthSchema(Schema):
    status = fields.String(validate=validate.OneOf(("ok", "degraded")))
    services = fields.Dict(keys=fields.String(), values=fields.String(),
                           metadata={"description": "service name -> 'ok' or why it did not answer"})


class ErrorBodySchema(Schema):
    code = fields.String(metadata={"example": "invalid_input"})
    message = fields.String()
    details = fields.Dict(metadata={"description": "for invalid_input: field name -> list of reasons"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema)
