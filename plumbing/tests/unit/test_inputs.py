"""The checks every StrictSchema makes of its input beyond its fields' own (the gateway's bodies and
queries, every service's RPC)."""
from functools import reduce

import pytest
from marshmallow import ValidationError, fields, validate

from plumbing.inputs import MAX_DEPTH, hostile, merged, query_integer_errors, string_keys, type_errors
from plumbing.schemas import StrictSchema


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
    first = fields.Nested(Line)
    codes = fields.List(fields.Integer())
    stock = fields.Dict(keys=fields.String(), values=fields.Integer())
    extra = fields.Dict()


def test_numbers_and_booleans_must_be_of_the_declared_json_type():
    assert type_errors({"count": 2.5, "share": "0.5", "paid": 0}, Order()) == {
        "count": ["Not a valid integer."], "share": ["Not a valid number."], "paid": ["Not a valid boolean."]}
    assert type_errors({"count": "7", "bounded": True}, Order()) == {
        "count": ["Not a valid integer."], "bounded": ["Not a valid integer."]}
    assert type_errors({"count": 3.0, "share": 1, "paid": False, "bounded": None}, Order()) == {}


def test_integers_without_a_bound_of_their_own_hold_32_bits():
    beyond = ["Not a valid integer: beyond 32 bits (the field sets no bound of its own)."]
    assert type_errors({"count": 2**31, "bounded": 2**40}, Order()) == {"count": beyond}
    assert type_errors({"count": -2**31}, Order()) == {}
    assert query_integer_errors({"count": 2**31, "bounded": 2**40, "share": None}, Order()) == {"count": beyond}


def test_nested_lists_and_dictionaries_are_named_as_marshmallow_names_them():
    body = {"lines": [{"quantity": 1}, {"quantity": 1.5}], "first": {"quantity": "x"}, "codes": [1, "2"],
            "stock": {"a": 1, "b": False}}
    assert type_errors(body, Order()) == {
        "lines": {"1": {"quantity": ["Not a valid integer."]}}, "first": {"quantity": ["Not a valid integer."]},
        "codes": {"1": ["Not a valid integer."]}, "stock": {"b": {"value": ["Not a valid integer."]}}}


def test_hostile_input_is_named_where_it_is():
    deep = "x"
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    assert hostile({"ok": [[["fine"]]], "deep": deep, "text": "a\x00"}) == {
        "deep": [f"nested deeper than {MAX_DEPTH} levels"]}  # depth first: nothing deeper is walked
    assert hostile({"a": [{"b": "\ud800"}], "k\x00": 1}) == {
        "a": {"0": {"b": ["must not contain unpaired surrogates (not valid Unicode)"]}},
        "k\\x00": ["this key must not contain NUL characters"]}
    assert hostile({"a": {"b": ["退货 🎉", "\u202e", 1, None]}}) == {}


def test_error_trees_merge_without_repeating_a_reason():
    assert merged({"a": ["x"], "b": {"c": ["y"]}}, {"a": ["x", "z"], "b": {"d": ["w"]}, "e": ["v"]}) == {
        "a": ["x", "z"], "b": {"c": ["y"], "d": ["w"]}, "e": ["v"]}
    assert merged({}, {"a": ["x"]}) == {"a": ["x"]}


# -- StrictSchema makes these checks of what it loads: every service's RPC gets them (issue 16) ------
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
