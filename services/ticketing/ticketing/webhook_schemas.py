"""Shapes of the webhook API (X2): validated at the gateway and again by the
service, and the source of the OpenAPI document."""
from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, validate

from plumbing.schemas import PageQuerySchema, StrictSchema, page_schema
from ticketing.events import PUBLISHED
from ticketing.webhook_models import DELIVERY_STATUSES
from ticketing.webhooks import is_valid_pattern, matches

MAX_EVENT_TYPES = 50
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
PUBLISHED_TYPES = tuple(event_type.name for event_type in PUBLISHED)


def check_url(url):
    parts = urlsplit(url)
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ValidationError("must be https; plain http is allowed only for localhost and 127.0.0.1")


def check_event_type(pattern):
    if not is_valid_pattern(pattern):
        raise ValidationError(
            "must be an event type such as ticket.created, a pattern such as ticket.*, or * for every type")
    if not any(matches([pattern], name) for name in PUBLISHED_TYPES):
        raise ValidationError(f"{pattern!r} matches no event type ticketing publishes")


def check_no_duplicates(values):
    if len(set(values)) != len(values):
        raise ValidationError("lists a type twice")


class WebhookCreateSchema(StrictSchema):
    """A new subscription; the server makes its secret and shows it once."""
    url = fields.String(required=True, validate=[
        validate.Length(1, 2000), validate.URL(schemes={"http", "https"}, require_tld=False), check_url],
        metadata={"description": "where events are POSTed; https (http only for localhost)"})
    event_types = fields.List(
        fields.String(validate=[validate.Length(1, 128), check_event_type]), required=True,
        validate=[validate.Length(1, MAX_EVENT_TYPES), check_no_duplicates], metadata={"description": (
            "event types (ticket.created), patterns where * stands for one segment (ticket.*), "
            "or * for every type")})
    description = fields.String(load_default="", validate=validate.Length(max=500))


class WebhookSchema(Schema):
    id = fields.Integer()
    url = fields.String()
    event_types = fields.List(fields.String())
    active = fields.Boolean()
    description = fields.String()
    created_by = fields.String(allow_none=True)
    created_at = fields.DateTime()


class WebhookCreatedSchema(WebhookSchema):
    secret = fields.String(metadata={"description": (
        "signs every request (X-CSOPS-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">); "
        "shown only now, keep it")})


class WebhookListSchema(Schema):
    items = fields.List(fields.Nested(WebhookSchema))


class DeliverySchema(Schema):
    id = fields.String(metadata={"description": "the X-CSOPS-Delivery header, the same on every attempt"})
    webhook_id = fields.Integer(attribute="subscription_id")
    event_id = fields.String()
    event_type = fields.String()
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime(allow_none=True, metadata={"description": "null once delivered or failed"})
    last_attempt_at = fields.DateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True, metadata={"description": "HTTP status of the last attempt"})
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)


DeliveryPageSchema = page_schema(DeliverySchema, "DeliveryPageSchema")


class DeliveryListQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
