"""The checks every StrictSchema makes of its input beyond its fields' own (the gateway's bodies and
queries, every service's RPC)."""
from marshmallow import Schema, fields, validate

from plumbing.inputs import MAX_DEPTH, hostile, merged, query_integer_errors, type_errors


class Line(Schema):
    quantity = fields.Integer()


class Order(Schema):
    count = fields.Integer()
    bounded = fields.Integer(validate=validate.Range(0, 10**12))
    share = fields.Float()
    paid = fields.Boolean()
    lines = fields.List(fields.Nested(Line))
    first = fields.Nested(Line)
    codes = fields.List(fields.Integer())
    stock = fields.Dict(keys=fields.String(), values=fields.Integer())


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
