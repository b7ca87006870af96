"""The marshmallow helpers every contract uses: strict input, answers that always
carry their fields, tolerant reading of other services' events, one shared
instance per schema, paged lists."""
import copy
from contextvars import ContextVar
from datetime import datetime, timezone
from functools import lru_cache

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, missing, post_load, validate

from plumbing import inputs

MAX_PER_PAGE = 100
MAX_PAGE = 2**31 - 1  # keeps the row offset within a database integer
MAX_CURSOR = 2000

in_checked_load = ContextVar("in_checked_load", default=False)  # its input is checked whole already


class StrictSchema(Schema):
    """Unknown fields are an error, so a typo never passes silently; times
    given with any zone are kept in UTC, as everything is stored; and the input
    gets ``plumbing.inputs``' checks (the same at the gateway and by RPC)."""

    class Meta:
        unknown = RAISE

    def load(self, data, *, query_string=False, **kwargs):
        """marshmallow's load, refusing first what no service can store (nesting too deep, NUL,
        unpaired surrogates, NaN) and then numbers and booleans that are not of their field's JSON
        type, beside marshmallow's own errors. The outermost strict schema checks the whole input,
        its nested ones add nothing. ``query_string``: the values are a query string's text, which
        marshmallow converts; only integers beyond a database's are refused once loaded."""
        if in_checked_load.get():
            return super().load(data, **kwargs)
        if refused := inputs.hostile(data):
            raise ValidationError(refused)
        entered = in_checked_load.set(True)
        try:
            loaded = super().load(data, **kwargs)
        except ValidationError as error:
            if query_string or not (mistyped := self.type_errors(data, kwargs.get("many"))):
                raise
            raise ValidationError(inputs.merged(mistyped, inputs.string_keys(error.normalized_messages()))) from None
        finally:
            in_checked_load.reset(entered)
        if mistyped := (inputs.query_integer_errors(loaded, self) if query_string
                        else self.type_errors(data, kwargs.get("many"))):
            raise ValidationError(mistyped)
        return loaded

    def type_errors(self, data, many=None):
        if not (self.many if many is None else many):
            return inputs.type_errors(data, self) if isinstance(data, dict) else {}
        items = enumerate(data) if isinstance(data, list) else ()
        return {str(index): errors for index, item in items
                if isinstance(item, dict) and (errors := inputs.type_errors(item, self))}

    @post_load
    def times_in_utc(self, data, **kwargs):
        for name in time_fields(type(self)):  # only these: a batch of posts loads thousands of schemas
            value = data.get(name)
            if isinstance(value, datetime) and value.tzinfo:
                data[name] = value.astimezone(timezone.utc)
        return data


class ResponseSchema(Schema):
    """What the API answers: every field is in every answer (null where it allows None), so the
    OpenAPI document marks them all required and a client generated from it (openapi-python-client,
    openapi-typescript) types them as always there. Dumping ignores ``required``: this is what the
    document promises, checked against real answers by the gateway's integration tests."""

    def on_bind_field(self, field_name, field_obj):
        field_obj.required = True


def answer_of(input_schema, name, **nested):
    """The answer's shape of ``input_schema`` (settings stored as sent, then shown): the same fields,
    each always there once its default is filled in. ``nested`` replaces the fields that nest other
    input shapes with their answers'. ``name`` is the OpenAPI component's (less "Schema")."""
    return type(name, (ResponseSchema, input_schema), nested)


class TolerantSchema(Schema):
    """The data of another service's event, read as a tolerant reader: fields this
    consumer does not use are ignored, so the publisher may add fields in the same version."""

    class Meta:
        unknown = EXCLUDE


@lru_cache(maxsize=None)
def time_fields(schema_cls) -> tuple[str, ...]:
    """Where a schema's loaded data holds its date-times."""
    return tuple(field.attribute or name for name, field in schema_cls._declared_fields.items()
                 if isinstance(field, fields.DateTime))


class PageQuerySchema(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(1, MAX_PAGE), metadata={
        "description": "offset paging, kept for existing clients: its cost grows with the page number; "
                       "prefer cursor (next_cursor of the page before)"})
    per_page = fields.Integer(load_default=20, validate=validate.Range(1, MAX_PER_PAGE))
    cursor = fields.String(validate=validate.Length(1, MAX_CURSOR), metadata={
        "description": "the next_cursor of the page before, with the same filters: the page after it"})


@lru_cache(maxsize=None)
def shared(schema_cls):
    """One instance per schema class: building a marshmallow schema deep-copies
    its fields, which costs more than using it; instances are reusable."""
    return schema_cls()


def required(field):
    """Mark a field of an event's data as always present, so its generated JSON Schema says so."""
    field.required = True
    return field


def page_schema(item_schema, name):
    """The schema of one page of ``item_schema`` items, with the total (``plumbing.paging``)."""
    return ResponseSchema.from_dict({
        "items": fields.List(fields.Nested(item_schema)),
        "total": fields.Integer(metadata={
            "description": "items matching the filters, on all pages, counted up to 10,000: when total_exact "
                           "is false there are more than total (show \"10,000+\")"}),
        "total_exact": fields.Boolean(metadata={"description": "false: total is the cap, not the count"}),
        "page": fields.Integer(metadata={"description": "this page's number, whether reached by page or cursor"}),
        "per_page": fields.Integer(),
        "next_cursor": fields.String(allow_none=True, metadata={
            "description": "pass as cursor (same filters) for the next page; null on the last page"}),
    }, name=name)


def every_field_optional(schema_cls, name, doc):
    """``schema_cls`` with no field required or defaulted: an edit (PATCH) of what it makes."""
    declared = {}
    for key, field in schema_cls._declared_fields.items():
        declared[key] = copy.copy(field)
        declared[key].required, declared[key].load_default = False, missing
    return type(name, (StrictSchema,), {**declared, "__doc__": doc})
