"""plumbing.schemas.StrictSchema: unknown fields refused, date-times kept in UTC, and the checks of
plumbing.inputs made of whatever it loads."""
from datetime import datetime, timedelta, timezone
from functools import reduce

import pytest
from marshmallow import ValidationError, fields, validate

from plumbing.inputs import MAX_DEPTH, string_keys
from plumbing.schemas import StrictSchema


class Window(StrictSchema):
    since = fields.AwareDateTime(required=True)
    until = fields.DateTime(data_key="to", attribute="until_at", load_default=None)
    label = fields.String(load_default="2026-05-01T10:00:00+08:00")


def test_every_date_time_field_is_converted_to_utc_and_nothing_else_is_touched():
    loaded = Window().load({"since": "2026-05-01T10:00:00+08:00", "to": "2026-05-01T23:30:00-05:00"})
    assert loaded["since"] == datetime(2026, 5, 1, 2, 0, tzinfo=timezone.utc)
    assert loaded["since"].utcoffset() == timedelta(0)
    assert loaded["until_at"] == datetime(2026, 5, 2, 4, 30, tzinfo=timezone.utc)
    assert loaded["until_at"].tzinfo == timezone.utc
    assert loaded["label"] == "2026-05-01T10:00:00+08:00"


def test_a_naive_or_missing_date_time_is_left_as_it_is():
    loaded = Window().load({"since": "2026-05-01T10:00:00Z", "to": "2026-05-01T10:00:00"})
    assert loaded["until_at"] == datetime(2026, 5, 1, 10, 0) and loaded["until_at"].tzinfo is None
    assert Window().load({"since": "2026-05-01T10:00:00Z"})["until_at"] is None


def test_unknown_fields_are_refused():
    with pytest.raises(ValidationError) as refused:
        Window().load({"since": "2026-05-01T10:00:00Z", "sinse": "x"})
    assert "sinse" in refused.value.messages


# -- the checks every service's input gets, by RPC as through the gateway (issue 16) ----------
class Line(StrictSchema):
    quantity = fields.Integer()
    label = fields.String()


class Order(StrictSchema):
    count = fields.Integer()
    bounded = fields.Integer(validate=validate.Range(0, 10**12))
    share = fields.Float()
    paid = fields.Boolean()
    note = fields.String()
    lines = fields.List(fields.Nested(Line))
    extra = fields.Dict()


NESTED_TOO_DEEP = reduce(lambda inner, _: [inner], range(MAX_DEPTH + 1), "deep")


@pytest.mark.parametrize("data, errors", [
    ({"note": "a\x00b"}, {"note": ["must not contain NUL characters"]}),
    ({"lines": [{"label": "ok"}, {"label": "\ud800"}]},
     {"lines": {"1": {"label": ["must not contain unpaired surrogates (not valid Unicode)"]}}}),
    ({"extra": {"k\x00": 1}}, {"extra": {"k\\x00": ["this key must not contain NUL characters"]}}),
    ({"extra": {"x": NESTED_TOO_DEEP}}, {"extra": [f"nested deeper than {MAX_DEPTH} levels"]}),
    ({"share": float("nan")}, {"share": ["must be a finite number (NaN and Infinity are not JSON)"]}),
    ({"extra": {"x": [float("-inf")]}},
     {"extra": {"x": {"0": ["must be a finite number (NaN and Infinity are not JSON)"]}}}),
    ({"paid": "yes"}, {"paid": ["Not a valid boolean."]}),
    ({"paid": 1}, {"paid": ["Not a valid boolean."]}),
    ({"count": 2.5}, {"count": ["Not a valid integer."]}),
    ({"count": "7"}, {"count": ["Not a valid integer."]}),
    ({"count": 2**31}, {"count": ["Not a valid integer: beyond 32 bits (the field sets no bound of its own)."]}),
    ({"lines": [{"quantity": True}]}, {"lines": {"0": {"quantity": ["Not a valid integer."]}}}),
    ({"share": "0.5"}, {"share": ["Not a valid number."]}),
], ids=["NUL", "lone surrogate", "NUL in a key", "too deep", "NaN", "-Infinity in a value", "yes as true",
        "1 as true", "2.5 as an integer", "text as an integer", "beyond 32 bits", "true as an integer",
        "text as a number"])
def test_what_the_gateway_refuses_a_strict_schema_refuses_too_naming_the_field(data, errors):
    with pytest.raises(ValidationError) as refused:
        Order().load(data)
    assert string_keys(refused.value.normalized_messages()) == errors


def test_json_types_pass_and_mistyped_ones_are_named_beside_marshmallows_own_errors():
    assert Order().load({"count": 3.0, "share": 1, "paid": False, "bounded": 2**39, "lines": [{"quantity": -2**31}],
                         "extra": {"a": [1.5, None, "退货 🎉"]}})["count"] == 3
    with pytest.raises(ValidationError) as refused:
        Order().load({"count": 2.5, "bounded": -1, "colour": "red"})
    assert string_keys(refused.value.normalized_messages()) == {
        "count": ["Not a valid integer."], "bounded": ["Must be greater than or equal to 0 and less than or equal to "
                                                       "1000000000000."], "colour": ["Unknown field."]}


def test_a_query_strings_text_is_converted_and_its_integers_bounded():
    assert Order().load({"count": "7", "paid": "true"}, query_string=True) == {"count": 7, "paid": True}
    for data, errors in [({"note": "a\x00"}, {"note": ["must not contain NUL characters"]}),
                         ({"count": str(2**31)},
                          {"count": ["Not a valid integer: beyond 32 bits (the field sets no bound of its own)."]})]:
        with pytest.raises(ValidationError) as refused:
            Order().load(data, query_string=True)
        assert refused.value.normalized_messages() == errors
