"""What request input must be, beyond what each route's marshmallow schema checks.

JSON lets a client send what no service can store or give back: nesting
deep enough to exhaust the stack, text no database stores (NUL, unpaired
surrogates: ``plumbing.text``), integers beyond a database's INTEGER
column, and NaN or Infinity (not JSON at all). marshmallow also converts
where the OpenAPI document promises a type: it truncates 2.5 to the integer
2 and reads 0 or "yes" as a boolean. Each is refused with a 400 naming the
field, in marshmallow's shape: field -> reasons, or a nested tree of them,
list positions as strings.
"""
from marshmallow import fields, validate

from plumbing.text import text_problem

MAX_DEPTH = 32
INT32 = range(-2**31, 2**31)
NOT_AN_INTEGER = "Not a valid integer."
BEYOND_INT32 = "Not a valid integer: beyond 32 bits (the field sets no bound of its own)."


def not_json(constant):
    """``json.loads(..., parse_constant=not_json)``: NaN and Infinity are Python's, not JSON's."""
    raise ValueError(f"{constant} is not a JSON value")


def hostile(body: dict) -> dict:
    """Errors for what must not reach marshmallow or a service: fields nested
    too deep, then NUL and unpaired surrogates anywhere (keys too, named with
    escapes). Empty when there are none."""
    too_deep = {key: [f"nested deeper than {MAX_DEPTH} levels"]
                for key, value in body.items() if deeper_than(value, MAX_DEPTH)}
    return too_deep or text_errors(body) or {}


def deeper_than(value, limit) -> bool:
    level = [value]
    for _ in range(limit + 1):
        level = [child for item in level for child in children(item)]
        if not level:
            return False
    return True


def children(value):
    return value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()


def text_errors(value):
    if isinstance(value, str):
        problem = text_problem(value)
        return [problem] if problem else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    errors = {}
    for key, item in items:
        key_problem = text_problem(key) if isinstance(key, str) else None
        if key_problem:
            errors[key.encode("unicode_escape").decode("ascii")] = [f"this key {key_problem}"]
        elif (problem := text_errors(item)) is not None:
            errors[str(key)] = problem
    return errors or None


def type_errors(data: dict, schema) -> dict:
    """Numbers and booleans that are not what ``schema``'s fields declare, which
    marshmallow would otherwise convert."""
    errors = {}
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        if key in data and (problem := field_problem(field, data[key])):
            errors[key] = problem
    return errors


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
    return None if bounded(field) or value in INT32 else [BEYOND_INT32]


def bounded(field) -> bool:
    """Whether an integer field sets its own maximum; if not, it holds what an
    INTEGER column does, 32 bits (the OpenAPI document says int32)."""
    return any(isinstance(validator, validate.Range) and validator.max is not None for validator in field.validators)


def query_integer_errors(loaded: dict, schema) -> dict:
    """Integers of a loaded query string beyond 32 bits, in fields with no bound of their own."""
    return {name: [BEYOND_INT32] for name, field in schema.load_fields.items()
            if isinstance(field, fields.Integer) and not bounded(field)
            and isinstance(loaded.get(name), int) and loaded[name] not in INT32}


def merged(first, second):
    """Two error trees as one."""
    if isinstance(first, dict) and isinstance(second, dict):
        return {key: merged(first[key], second[key]) if key in first and key in second
                else first.get(key, second.get(key)) for key in {**first, **second}}
    if isinstance(first, list) and isinstance(second, list):
        return first + [message for message in second if message not in first]
    return first

