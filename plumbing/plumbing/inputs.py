"""What input must be, beyond what a marshmallow schema checks. Every
``StrictSchema`` makes these checks of what it loads (``plumbing.schemas``),
so a service's RPC gets them as the gateway's routes do.

JSON lets a client send what no service can store or give back: nesting
deep enough to exhaust the stack, text no database stores (NUL, unpaired
surrogates: ``plumbing.text``), integers beyond a database's INTEGER
column, and NaN or Infinity (not JSON at all, though Python's json reads and
writes them, the broker's messages included). marshmallow also converts
where the OpenAPI document promises a type: it truncates 2.5 to the integer
2 and reads 0 or "yes" as a boolean. Each is refused naming the field (a 400
at the gateway), in marshmallow's shape: field -> reasons, or a nested tree
of them, list positions as strings.
"""
import math
import re

from marshmallow import fields, validate

from plumbing.text import text_problem

MAX_DEPTH = 32
INT32 = range(-2**31, 2**31)
NOT_AN_INTEGER = "Not a valid integer."
BEYOND_INT32 = "Not a valid integer: beyond 32 bits (the field sets no bound of its own)."
NOT_FINITE = "must be a finite number (NaN and Infinity are not JSON)"
NOT_TEXT = re.compile("[\x00\ud800-\udfff]")  # what text_problem names: in a str, any surrogate is unpaired


def not_json(constant):
    """``json.loads(..., parse_constant=not_json)``: NaN and Infinity are Python's, not JSON's."""
    raise ValueError(f"{constant} is not a JSON value")


def hostile(value) -> dict:
    """Errors for what must not reach marshmallow or a service: fields (or
    list items) nested too deep, then NUL and unpaired surrogates anywhere
    (keys too, named with escapes) and numbers that are not finite. Empty
    when there are none."""
    if storable(value):
        return {}
    too_deep = {str(key): [f"nested deeper than {MAX_DEPTH} levels"]
                for key, item in entries(value) if deeper_than(item, MAX_DEPTH)}
    return too_deep or unstorable(value) or {}


def storable(value) -> bool:
    """Whether ``hostile`` finds nothing, as most input is: one pass, level by level, that names
    nothing and so spares a batch of a thousand posts the walks that name where a problem is."""
    level = [value]
    for _ in range(MAX_DEPTH + 2):  # the value, its fields, and MAX_DEPTH levels below them
        below = []
        for item in level:
            kind = type(item)
            if kind is int or kind is bool or item is None:
                continue
            if isinstance(item, str):
                if NOT_TEXT.search(item):
                    return False
            elif isinstance(item, dict):
                if NOT_TEXT.search("".join(key for key in item if isinstance(key, str))):
                    return False
                below.extend(item.values())
            elif isinstance(item, list):
                below.extend(item)
            elif isinstance(item, float) and not math.isfinite(item):
                return False
        if not below:
            return True
        level = below
    return False


def entries(value):
    return value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()


def deeper_than(value, limit) -> bool:
    level = [value]
    for _ in range(limit + 1):
        level = [child for item in level for _, child in entries(item)]
        if not level:
            return False
    return True


def unstorable(value):
    if isinstance(value, str):
        problem = text_problem(value)
        return [problem] if problem else None
    if isinstance(value, float):
        return None if math.isfinite(value) else [NOT_FINITE]
    errors = {}
    for key, item in entries(value):
        key_problem = text_problem(key) if isinstance(key, str) else None
        if key_problem:
            errors[key.encode("unicode_escape").decode("ascii")] = [f"this key {key_problem}"]
        elif (problem := unstorable(item)) is not None:
            errors[str(key)] = problem
    return errors or None


def type_errors(data: dict, schema) -> dict:
    """Numbers and booleans that are not what ``schema``'s fields declare, which
    marshmallow would otherwise convert."""
    errors = {}
    for key, field in typed_fields(schema):
        if key in data and (problem := field_problem(field, data[key])):
            errors[key] = problem
    return errors


def typed_fields(schema):
    """(key, field) of the fields whose values ``field_problem`` checks, found once per schema:
    a batch of posts is a thousand loads of one schema, most of whose fields are text."""
    found = vars(schema).get("_typed_fields")
    if found is None:
        found = schema._typed_fields = tuple((field.data_key or name, field)
                                             for name, field in schema.load_fields.items() if typed(field))
    return found


def typed(field) -> bool:
    if isinstance(field, fields.List):
        return typed(field.inner)
    if isinstance(field, fields.Dict):
        return field.value_field is not None and typed(field.value_field)
    return isinstance(field, (fields.Boolean, fields.Number, fields.Nested))


def field_problem(field, value):
    if value is None:
        return None  # allowed or not, marshmallow says so
    if isinstance(field, fields.Boolean) and not isinstance(value, bool):
        return [field.error_messages["invalid"]]
    if isinstance(field, fields.Integer):
        return integer_problem(field, value)
    if isinstance(field, fields.Number) and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return [field.error_messages["invalid"]]
    if isinstance(field, fields.Nested) and isinstance(value, (dict, list)):
        items = value if field.many else [value]
        errors = {str(i): type_errors(item, field.schema) for i, item in enumerate(items) if isinstance(item, dict)}
        errors = {i: error for i, error in errors.items() if error}
        return (errors if field.many else errors.get("0")) or None
    if isinstance(field, fields.List) and isinstance(value, list):
        return children_problems(field.inner, enumerate(value))
    if isinstance(field, fields.Dict) and field.value_field and isinstance(value, dict):
        return children_problems(field.value_field, value.items(), value_errors=True)
    return None


def children_problems(field, children, value_errors=False):
    errors = {str(key): problem for key, item in children if (problem := field_problem(field, item))}
    if value_errors:  # marshmallow names a dict's bad value as <key>.value
        errors = {key: {"value": problem} for key, problem in errors.items()}
    return errors or None


def integer_problem(field, value):
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON Schema's integer: 1.0 is one
    if isinstance(value, bool) or not isinstance(value, int):
        return [NOT_AN_INTEGER]
    return None if value in INT32 or bounded(field) else [BEYOND_INT32]


def bounded(field) -> bool:
    """Whether an integer field sets its own maximum; if not, it holds what an
    INTEGER column does, 32 bits (the OpenAPI document says int32)."""
    return any(isinstance(validator, validate.Range) and validator.max is not None for validator in field.validators)


def query_integer_errors(loaded: dict, schema) -> dict:
    """Integers of a loaded query string beyond 32 bits, in fields with no bound of their own."""
    return {name: [BEYOND_INT32] for name, field in schema.load_fields.items()
            if isinstance(field, fields.Integer) and not bounded(field)
            and isinstance(loaded.get(name), int) and loaded[name] not in INT32}


def string_keys(messages):
    """marshmallow's error tree with list positions as strings, as they read once sent as JSON."""
    if isinstance(messages, dict):
        return {str(key): string_keys(value) for key, value in messages.items()}
    return messages


def merged(first, second):
    """Two error trees as one."""
    if isinstance(first, dict) and isinstance(second, dict):
        return {key: merged(first[key], second[key]) if key in first and key in second
                else first.get(key, second.get(key)) for key in {**first, **second}}
    if isinstance(first, list) and isinstance(second, list):
        return first + [message for message in second if message not in first]
    return first

