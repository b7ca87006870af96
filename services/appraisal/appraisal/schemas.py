from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema


class TicketCountQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    agent = fields.String(validate=validate.Length(1, 64))
    date_from = fields.Date(metadata={"description": "first UTC day, inclusive"})
    date_to = fields.Date(metadata={"description": "last UTC day, inclusive"})

    @validates_schema
    def check_range(self, data, **kwargs):
        if "date_from" in data and "date_to" in data and data["date_from"] > data["date_to"]:
            raise ValidationError("must not be before date_from", "date_to")


class TicketCountSchema(Schema):
    agent = fields.String(allow_none=True, metadata={"description": "null for tickets not yet assigned"})
    day = fields.Date()
    tickets = fields.Integer()


class TicketCountListSchema(Schema):
    items = fields.List(fields.Nested(TicketCountSchema))


class TicketCreatedDataSchema(Schema):
    """What appraisal reads of ticket.created v1 (a tolerant reader: other fields are ignored)."""

    class Meta:
        unknown = "exclude"

    ticket_id = fields.Integer(required=True)
    assignee = fields.String(allow_none=True, load_default=None)
    created_at = fields.String(required=True)
