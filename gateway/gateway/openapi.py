"""The OpenAPI 3 document, generated from the route table and its schemas."""
import re
from functools import lru_cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields, validate

from gateway.api import routes
from gateway.schemas import ErrorSchema
from plumbing import inputs

PATH_PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")
PARAMETER_TYPES = {"int": "integer", None: "string", "string": "string"}
ERROR_DESCRIPTIONS = {
    400: "Malformed JSON, or fields that are missing, unknown or of the wrong type (details name them)",
    401: "Missing, invalid, expired or revoked bearer token",
    403: "The token's roles may not use this route, or may not do this to what it names (the message says "
         "which rule: whom you may rate, separation of duties)",
    404: "No such resource, in the path or named in the body",
    409: "The request conflicts with the resource's current state (details say how)",
    413: "Body larger than the route accepts (1 MiB; 20 MiB for imports; for files, the message names the "
         "limit: a file's size or their number; a raw mail's size)",
    415: "The body is not of the media type the route takes (the message names it)",
    422: "Well-formed, but what it names cannot be carried out (details name the part that failed: a macro's "
         "action)",
    428: "The route changes only the version you read: send its ETag as If-Match",
    429: "Too many failed attempts: try again after Retry-After seconds",
    503: "A backing service did not answer",
}

IDEMPOTENCY_KEY = {
    "in": "header", "name": "Idempotency-Key", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[\x21-\x7e]+$"},
    "description": "Your id for this request (a UUID, say). Sent again by the same account, as a retry after "
                   "a timeout or a dropped connection, it answers with what the first request made instead of "
                   "making it again; sent with a different body, 409"}


IF_MATCH = {
    "in": "header", "name": "If-Match", "required": True, "schema": {"type": "string", "minLength": 1},
    "description": "The ETag of the resource as you read it (GET answers it), or * for whatever version it is at. "
                   "Without it, 428; when the resource changed since, 409 naming the fields changed and their "
                   "current values (docs/workspace.md)"}
ETAG_HEADER = {"ETag": {"description": "the version of what is answered: send it back as If-Match to change it",
                        "schema": {"type": "string"}}}


def path_and_parameters(url):
    parameters = [
        {"in": "path", "name": name, "required": True, "schema": {"type": PARAMETER_TYPES.get(kind, "string")}}
        for kind, name in PATH_PARAMETER.findall(url)
    ]
    return PATH_PARAMETER.sub(r"{\2}", url), parameters


def error_statuses(entrypoint, path_parameters):
    statuses = {400} if (entrypoint.body_schema or entrypoint.query_schema) else set()
    statuses |= set(entrypoint.errors)
    if entrypoint.conditional:
        statuses |= {409, 428}
    if entrypoint.roles is not None:
        statuses |= {401, 403}
    if path_parameters:
        statuses.add(404)
    if entrypoint.body_schema or entrypoint.raw:
        statuses.add(413)
    if entrypoint.raw:
        statuses |= {400, 415}
    if entrypoint.url.startswith("/api/v1/") and (entrypoint.roles is not None or path_parameters):
        # the data behind the route: a service may refuse the input, not find what it names,
        # find it in a state that forbids the change, or not answer
        statuses |= {400, 404, 409, 503}
    return sorted(statuses)


def multipart_schema(entrypoint, converter) -> dict:
    """The body of a route that takes files: its body schema's fields as form fields, and the files."""
    fields_schema = converter.schema2jsonschema(entrypoint.body_schema)
    uploads = entrypoint.uploads
    files = {"type": "array", "maxItems": uploads.max_files, "items": {"type": "string", "format": "binary"},
             "description": f"the files, at most {uploads.max_files}, each at most {uploads.max_file_bytes} bytes "
                            f"({uploads.max_file_bytes / 2**20:g} MiB); their type is detected from the content"}
    return {"type": "object", "properties": {**fields_schema["properties"], uploads.field: files},
            "required": fields_schema.get("required", [])}


def operation(name, entrypoint, converter=None):
    path, parameters = path_and_parameters(entrypoint.url)
    if entrypoint.query_schema:
        parameters.append({"in": "query", "schema": entrypoint.query_schema})
    if entrypoint.idempotent:
        parameters.append(IDEMPOTENCY_KEY)
    if entrypoint.conditional:
        parameters.append(IF_MATCH)
    binary = entrypoint.media_type.startswith("image/") or entrypoint.media_type == "application/octet-stream"
    body = ({"type": "string", "format": "binary"} if binary
            else {"type": "string"} if entrypoint.media_type.startswith("text/")
            else entrypoint.response_schema or {"type": "object"})
    content = {entrypoint.media_type: {"schema": body}}
    responses = {str(status): {"description": description, **({"content": content} if status != 204 else {}),
                               **({"headers": ETAG_HEADER} if entrypoint.etag else {})}
                 for status, description in {entrypoint.status: "Success", **entrypoint.alternatives}.items()}
    for status in error_statuses(entrypoint, parameters):
        responses[str(status)] = {"description": ERROR_DESCRIPTIONS[status]}
        responses[str(status)]["content"] = {"application/json": {"schema": "Error"}}
    op = {"operationId": name, "summary": entrypoint.summary, "parameters": parameters,
          "responses": responses, "tags": [entrypoint.url.split("/")[3] if "/api/v1/" in entrypoint.url else "platform"]}
    if entrypoint.body_schema:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": entrypoint.body_schema}}}
        if entrypoint.uploads is not None:
            op["requestBody"]["content"]["multipart/form-data"] = {"schema": multipart_schema(entrypoint, converter)}
    if entrypoint.raw is not None:
        op["requestBody"] = {"required": True, "content": {entrypoint.raw.media_type: {
            "schema": {"type": "string", "format": "binary",
                       "description": f"at most {entrypoint.raw.max_bytes} bytes"}}}}
    if entrypoint.roles is not None:
        op["security"] = [{"bearerAuth": []}]
        op["x-roles"] = list(entrypoint.roles)
    return path, op


def int32_unless_bounded(converter, field, **kwargs) -> dict:
    return {"format": "int32"} if isinstance(field, fields.Integer) and not inputs.bounded(field) else {}


def exclusive_bounds(converter, field, **kwargs) -> dict:
    """apispec leaves out that a Range excludes its ends; OpenAPI 3.0 says so with booleans."""
    bounds = {}
    for validator in field.validators:
        if isinstance(validator, validate.Range):
            if validator.min is not None and not validator.min_inclusive:
                bounds["exclusiveMinimum"] = True
            if validator.max is not None and not validator.max_inclusive:
                bounds["exclusiveMaximum"] = True
    return bounds


def object_sizes(converter, field, ret, **kwargs) -> dict:
    """apispec gives a Dict's Length as minLength/maxLength, which bind strings only."""
    if not isinstance(field, fields.Dict):
        return {}
    sizes = {"minLength": "minProperties", "maxLength": "maxProperties"}
    return {sizes[name]: ret.pop(name) for name in list(ret) if name in sizes}


def null_as_a_choice(converter, field, ret, **kwargs) -> dict:
    """A nullable nested schema or enum, as OpenAPI 3.0 says it so that generated clients type it
    ``Model | None``: anyOf the schema and a null. apispec's ``anyOf`` of the schema and any nullable
    object makes openapi-python-client add a free-form model beside it, and an enum listing null
    makes it three enum classes."""
    if not field.allow_none:
        return {}
    if "enum" in ret:
        kind = {"type": ret.pop("type")} if "type" in ret else {}
        choices = [choice for choice in ret.pop("enum") if choice is not None]
        ret.pop("nullable", None)
        return {"anyOf": [{**kind, "enum": choices}, {**kind, "nullable": True, "enum": [None]}]}
    if "anyOf" in ret:
        schemas = [schema for schema in ret.pop("anyOf") if schema != {"type": "object", "nullable": True}]
        return {"anyOf": [*schemas, {"type": "object", "nullable": True, "enum": [None]}]}
    return {}


@lru_cache(maxsize=None)
def document(service_cls) -> dict:
    marshmallow = MarshmallowPlugin()
    spec = APISpec(
        title="CS Ops Platform API", version="1.0.0", openapi_version="3.0.3", plugins=[marshmallow],
        info={"description": "Ticketing, training, appraisal, public-opinion monitoring and channels (mail) behind one gateway. "
                             "Every /api/v1 route except /api/v1/auth/token needs `Authorization: Bearer <token>`. "
                             # said once, not per operation: a bodyless status in each would make every
                             # generated client's return type `Any | Error | Model`
                             "Any route may answer 414, with no body, to a request line longer than the HTTP "
                             "server's 8 KiB."},
    )
    for attributes in (exclusive_bounds, int32_unless_bounded, object_sizes, null_as_a_choice):
        marshmallow.converter.add_attribute_function(attributes)
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.schema("Error", schema=ErrorSchema)
    for name, entrypoint in routes(service_cls):
        if entrypoint.page:  # HTML for people, not the API (gateway.pages)
            continue
        path, op = operation(name, entrypoint, marshmallow.converter)
        for method in entrypoint.method.split(","):
            spec.path(path=path, operations={method.lower(): op})
    return spec.to_dict()
