"""Errors a service raises to say what went wrong with a request.

They are registered with nameko so an RPC caller (the gateway) gets the same
type back instead of a ``RemoteError``, and maps each to its HTTP status.
"""
import logging

from nameko.exceptions import deserialize_to_instance

from plumbing.inputs import string_keys


class DomainError(Exception):
    code = "error"
    status = 400  # the HTTP status the gateway answers it with

    def __init__(self, message, details=None):
        super().__init__(message, details or {})
        self.message = message
        self.details = details or {}


@deserialize_to_instance
class InvalidInput(DomainError):
    """Input broke a rule; ``details`` maps each field to its reasons."""
    code = "invalid_input"


@deserialize_to_instance
class NotFound(DomainError):
    code = "not_found"
    status = 404


@deserialize_to_instance
class Forbidden(DomainError):
    """The caller sees the object, but a rule forbids them this act on it (separation of
    duties: nobody assesses their own exam, decides their own appeal, rates themselves...).
    An object outside the caller's scope is NotFound instead, as if it did not exist."""
    code = "forbidden"
    status = 403


def separate_duties(actor, owner, deed):
    """Forbidden when the caller is the one the act concerns: ``deed`` says what nobody may do."""
    if actor is not None and actor == owner:
        raise Forbidden(f"separation of duties: nobody may {deed}", {"agent": [f"is you ({actor})"]})


@deserialize_to_instance
class Conflict(DomainError):
    """The request is valid but not in the current state of the resource."""
    code = "conflict"
    status = 409


@deserialize_to_instance
class Unprocessable(DomainError):
    """A well-formed request that cannot be carried out on what it names (one action of several
    failed: ``details`` says which and why)."""
    code = "unprocessable"
    status = 422


@deserialize_to_instance
class PreconditionRequired(DomainError):
    """A change that must say which version of the resource it was made on (If-Match) did not."""
    code = "precondition_required"
    status = 428


@deserialize_to_instance
class Unavailable(DomainError):
    """A server the service needs (its database) does not answer: ask again shortly."""
    code = "unavailable"
    status = 503


def is_client_error(exc) -> bool:
    """An answer to a bad request (a 4xx), not a fault of ours."""
    return 400 <= getattr(exc, "status", 500) < 500


class ClientErrorLogFilter(logging.Filter):
    """nameko logs every exception a worker raises at ERROR with its
    traceback; a refused request (404, 409, a failed sign-in) is routine, so
    its line becomes one INFO line without the traceback."""

    def filter(self, record):
        exc = record.exc_info[1] if record.exc_info else None
        if record.name == "nameko.containers" and exc is not None and is_client_error(exc):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = "refused a request: %s: %s", (type(exc).__name__, exc)
            record.exc_info = record.exc_text = None
        return True


def invalid_from_marshmallow(error) -> InvalidInput:
    """Turn a marshmallow ValidationError into InvalidInput naming the fields
    (list positions as strings, as they read once sent as JSON)."""
    return InvalidInput("request failed validation", string_keys(error.normalized_messages()))


def load_or_invalid(schema, data):
    """``schema.load(data)`` (a schema class or instance), raising InvalidInput (a 400 at the gateway)."""
    from marshmallow import ValidationError

    from plumbing.schemas import shared

    try:
        return (shared(schema) if isinstance(schema, type) else schema).load(data)
    except ValidationError as error:
        raise invalid_from_marshmallow(error) from None


class UnprocessableEvent(Exception):
    """An event that can never be handled (its data breaks the schema):
    dead-lettered at once instead of retried."""


def load_event_data(schema, event):
    """Read an event's ``data`` with ``schema``, or raise UnprocessableEvent."""
    from marshmallow import ValidationError

    from plumbing.schemas import shared

    schema = shared(schema) if isinstance(schema, type) else schema
    try:
        return schema.load(event["data"])
    except ValidationError as error:
        raise UnprocessableEvent(f"data breaks {type(schema).__name__}: {error.normalized_messages()}") from None
