"""Errors a service raises to say what went wrong with a request.

They are registered with nameko so an RPC caller (the gateway) gets the same
type back instead of a ``RemoteError``, and maps each to its HTTP status.
"""
from nameko.exceptions import deserialize_to_instance


class DomainError(Exception):
    code = "error"

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


@deserialize_to_instance
class Conflict(DomainError):
    """The request is valid but not in the current state of the resource."""
    code = "conflict"


def invalid_from_marshmallow(error) -> InvalidInput:
    """Turn a marshmallow ValidationError into InvalidInput naming the fields
    (list positions as strings, as they read once sent as JSON)."""
    return InvalidInput("request failed validation", string_keys(error.normalized_messages()))


def string_keys(messages):
    if isinstance(messages, dict):
        return {str(key): string_keys(value) for key, value in messages.items()}
    return messages


def load_or_invalid(schema, data):
    """``schema.load(data)`` (a schema class or instance), raising InvalidInput (a 400 at the gateway)."""
    from marshmallow import ValidationError

    from plumbing.paging import shared

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

    from plumbing.paging import shared

    try:
        return (shared(schema) if isinstance(schema, type) else schema).load(event["data"])
    except ValidationError as error:
        raise UnprocessableEvent(f"data breaks {type(schema).__name__}: {error.normalized_messages()}") from None
