"""The ticketing API's shapes: validated at the gateway and again by the
service, and the source of the OpenAPI document."""
from marshmallow import Schema, fields, validate

from plumbing.paging import PageQuerySchema, StrictSchema, page_schema
from ticketing.tickets import CHANNELS, KINDS, MAX_TAGS, PRIORITIES, STATES


class CustomerSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(1, 200))
    contact = fields.String(required=True, validate=validate.Length(1, 200),
                            metadata={"description": "phone number, email or social handle"})


class TicketCreateSchema(StrictSchema):
    subject = fields.String(required=True, validate=validate.Length(1, 200))
    description = fields.String(load_default="", validate=validate.Length(max=20000))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    priority = fields.String(load_default="normal", validate=validate.OneOf(PRIORITIES))
    customer = fields.Nested(CustomerSchema, required=True)
    tags = fields.List(fields.String(validate=validate.Length(1, 50)), load_default=list,
                       validate=validate.Length(max=MAX_TAGS))
    assignee = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64),
                             metadata={"description": "username of the agent to assign at once"})


class TicketSchema(Schema):
    id = fields.Integer()
    subject = fields.String()
    description = fields.String()
    channel = fields.String()
    kind = fields.String()
    priority = fields.String()
    state = fields.String(validate=validate.OneOf(STATES))
    customer = fields.Method("dump_customer")
    assignee = fields.String(allow_none=True)
    tags = fields.List(fields.String())
    created_at = fields.DateTime()
    updated_at = fields.DateTime()

    def dump_customer(self, ticket):
        return {"name": ticket.customer_name, "contact": ticket.customer_contact}


class TicketListQuerySchema(PageQuerySchema):
    state = fields.String(validate=validate.OneOf(STATES))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    kind = fields.String(validate=validate.OneOf(KINDS))
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    assignee = fields.String(validate=validate.Length(1, 64))


TicketPageSchema = page_schema(TicketSchema, "TicketPageSchema")


class TicketCreatedDataSchema(Schema):
    """``data`` of ``ticket.created`` v1: no customer contact details (X6)."""
    ticket_id = fields.Integer(attribute="id")
    subject = fields.String()
    channel = fields.String()
    kind = fields.String()
    priority = fields.String()
    state = fields.String()
    assignee = fields.String(allow_none=True)
    tags = fields.List(fields.String())
    created_at = fields.DateTime()
