"""Hostile input through the gateway, with the real services on PostgreSQL
(X1; issue 8, bad input): oversized and deeply nested bodies, unicode edge
cases, SQL and script injection in every free-text field of seven create
routes (test_openapi_fuzz.py sends random text to every route). Refused with
a 400 (413, 404) that names the field and why, or stored and returned
exactly; never a 5xx, never an effect on other rows."""
import json
from functools import reduce

import pytest
from marshmallow import fields, validate

from gateway.api import IMPORT_MAX_BYTES, MAX_BODY_BYTES, routes
from gateway.service import GatewayService
from plumbing.inputs import MAX_DEPTH
from ticketing.tickets.rules import normalise_tags

INJECTIONS = [
    "'; DROP TABLE tickets; --",
    "' OR '1'='1",
    "Robert'); DELETE FROM inbox WHERE ('1'='1",
    "1 UNION SELECT password_hash FROM accounts --",
    "<script>alert(document.cookie)</script>",
    "\"><img src=x onerror=alert(1)>",
    "{{7*7}} ${7*7} %s %n %(x)s",
    "\\'; \\\"; \\\\",
    "100% of _all_ refunds",
]
UNICODE = [
    "\u202eRTL override\u202c and \u200fRLM\u200e marks, \u0627\u0644\u0639\u0631\u0628\u064a\u0629",
    "emoji \U0001F600 \U0001F469\u200d\U0001F4BB \U0001F1E8\U0001F1F3 \u2764\ufe0f",
    "e\u0301 \u1100\u1161 combining, \ufeffBOM, \u200bzero width, \u2028line\u2029paragraph",
    "退货退款 ＶＩＰ１５ 𠀋𪚲 astral CJK",
    "\t tabs, \r\nnew lines, trailing spaces   ",
    "0" * 100_000,  # one word, as long as each field allows
]
# free-text fields of these routes are filled; (route, body, how to read it back); ids come from the answer
CREATES = [
    ("POST /api/v1/tickets", {"subject": "s", "channel": "email", "kind": "inquiry",
                              "customer": {"name": "n", "contact": "c"}}, "/api/v1/tickets/{id}"),
    ("POST /api/v1/tickets/{ticket}/messages", {"kind": "note", "body": "b"}, None),
    ("POST /api/v1/kb/articles", {"title": "t", "body": "b", "category": "c"}, "/api/v1/kb/articles/{id}"),
    ("POST /api/v1/monitoring/posts", {"platform": "weibo", "external_id": "e", "text": "t",
                                       "posted_at": "2026-11-02T09:00:00+00:00",
                                       "author": {"id": "a", "name": "n"}}, "/api/v1/monitoring/posts/{id}"),
    ("POST /api/v1/training/courses", {"title": "t", "kind": "special", "mode": "online", "duration_hours": 1,
                                       "target_role": "agent"}, "/api/v1/training/courses/{id}"),
    ("POST /api/v1/training/question-categories", {"name": "n"}, None),
    ("POST /api/v1/monitoring/rules", {"name": "n", "query": "refund"}, None),
]
# text that is not free: an agent's name (an unknown one is a 409), a watch rule's query (parsed)
NOT_FREE = {"assignee", "query"}
# what the service makes of a value: tags compare case-insensitively
NORMALISED = {(route, ("tags",)): normalise_tags for route in ["POST /api/v1/tickets", "POST /api/v1/kb/articles"]}


@pytest.fixture
def platform_databases(postgres_platform_databases):
    return postgres_platform_databases


@pytest.fixture
def admin(start_platform, client):
    start_platform()
    return client.login()


def body_schema(route):
    method, url = route.split()
    [schema] = [entrypoint.body_schema for _, entrypoint in routes(GatewayService)
                if entrypoint.method == method and entrypoint.url.replace("<int:ticket_id>", "{ticket}") == url]
    return schema()


def text_fields(schema, path=()):
    """(path, is a list, longest allowed) of each free-text field: no choices or pattern."""
    for name, field in schema.load_fields.items():
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested):
            yield from text_fields(inner.schema, path + (name,))
        elif type(inner) is fields.String and name not in NOT_FREE and not any(
                isinstance(v, (validate.OneOf, validate.Regexp)) for v in inner.validators):
            longest = min((v.max for v in inner.validators if isinstance(v, validate.Length) and v.max), default=None)
            yield path + (name,), inner is not field, longest


def with_value(body, path, value):
    body = json.loads(json.dumps(body))
    reduce(lambda node, key: node.setdefault(key, {}), path[:-1], body)[path[-1]] = value
    return body


def value_at(document, path):
    return reduce(lambda node, key: node[key], path, document)


def error_of(response, status):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    return response.json()["error"]


def test_bodies_over_the_limit_are_413_naming_it_and_imports_may_be_larger(admin):
    for headers, data in [({}, b"x" * (MAX_BODY_BYTES + 1)),  # told by Content-Length
                          ({"Transfer-Encoding": "chunked"}, iter([b"x" * MAX_BODY_BYTES, b"x"]))]:  # found reading
        error = error_of(admin.post(admin.url("/api/v1/tickets"), data=data, headers=headers), 413)
        assert error["code"] == "payload_too_large" and "1 MiB" in error["message"]
        assert error["details"] == {"limit_bytes": MAX_BODY_BYTES}
    big_import = {"source": "old-desk", "tickets": [], "padding": "x" * (2 * MAX_BODY_BYTES)}
    error = error_of(admin.post(admin.url("/api/v1/tickets/import"), json=big_import), 400)
    assert error["details"]["padding"] == ["Unknown field."]  # read and validated: under its 20 MiB
    assert IMPORT_MAX_BYTES == 20 * MAX_BODY_BYTES


def test_deep_nesting_nan_and_mistyped_numbers_are_400_naming_the_field(admin):
    ticket = CREATES[0][1]
    error = error_of(admin.post(admin.url("/api/v1/tickets"), data=b"[" * 100_000 + b"]" * 100_000), 400)
    assert error["code"] == "malformed_json"
    nested = reduce(lambda inner, _: [inner], range(MAX_DEPTH + 1), "deep")
    error = error_of(admin.post(admin.url("/api/v1/tickets"), json=dict(ticket, custom_fields={"x": nested})), 400)
    assert error["details"] == {"custom_fields": [f"nested deeper than {MAX_DEPTH} levels"]}
    for constant in [b"NaN", b"Infinity", b"-Infinity"]:
        response = admin.post(admin.url("/api/v1/training/courses"), data=json.dumps(
            dict(CREATES[4][1], duration_hours="X")).encode().replace(b'"X"', constant))
        assert error_of(response, 400)["message"] == f"body is not valid JSON: {constant.decode()} is not a JSON value"
    bad = {"capacity": 2.5, "on_duty": 0, "teams": ["a"], "skills": "x"}
    error = error_of(admin.patch(admin.url("/api/v1/accounts/admin"), json=bad), 400)
    assert error["details"]["capacity"] == ["Not a valid integer."]  # not silently 2
    assert error["details"]["on_duty"] == ["Unknown field."] and "skills" in error["details"]
    error = error_of(admin.put(admin.url("/api/v1/me/duty"), json={"on_duty": "yes"}), 400)
    assert error["details"] == {"on_duty": ["Not a valid boolean."]}
    error = error_of(admin.post(admin.url("/api/v1/training/courses"),
                                json=dict(CREATES[4][1], sessions_per_month=2**31)), 400)
    assert error["details"]["sessions_per_month"][0] == (
        "Not a valid integer: beyond 32 bits (the field sets no bound of its own).")
    error = error_of(admin.get(admin.url("/api/v1/tickets"), params={"page": 2**40}), 400)
    assert set(error["details"]) == {"page"}
    # a query's integers come as digits in text (a strict field refused them all)
    assert admin.get(admin.url("/api/v1/appraisal/appeals"), params={"cycle_id": 1}).json() == {"items": []}
    assert admin.get(admin.url("/api/v1/tickets")).json()["total"] == 0


def test_text_no_database_stores_is_400_naming_where_it_is(admin):
    ticket = CREATES[0][1]
    cases = [
        (dict(ticket, subject="a\x00b"), {"subject": ["must not contain NUL characters"]}),
        (dict(ticket, customer={"name": "\ud800", "contact": "c"}),
         {"customer": {"name": ["must not contain unpaired surrogates (not valid Unicode)"]}}),
        (dict(ticket, tags=["ok", "\udfff"]),
         {"tags": {"1": ["must not contain unpaired surrogates (not valid Unicode)"]}}),
        (dict(ticket, custom_fields={"k\ud800": "v"}),
         {"custom_fields": {"k\\ud800": ["this key must not contain unpaired surrogates (not valid Unicode)"]}}),
        (dict(ticket, subject="x" * 201), {"subject": ["Length must be between 1 and 200."]}),
    ]
    for body, details in cases:
        # json.dumps escapes the surrogates, as any client's JSON would carry them
        assert error_of(admin.post(admin.url("/api/v1/tickets"), json=body), 400)["details"] == details
    assert error_of(admin.get(admin.url("/api/v1/tickets"), params={"assignee": "a\x00b"}), 400)["details"] == {
        "assignee": ["must not contain NUL characters"]}
    assert error_of(admin.get(admin.url("/api/v1/training/agents/a%00b/standing")), 404)["code"] == "not_found"
    assert admin.get(admin.url("/api/v1/tickets")).json()["total"] == 0
    response = admin.delete(admin.url("/api/v1/tickets"))
    assert error_of(response, 405)["code"] == "method_not_allowed" and response.headers["Allow"] == "GET, HEAD, POST"


def test_injection_and_unicode_in_every_free_text_field_are_stored_and_returned_exactly(admin):
    def untouched():  # the sentinel ticket but for its SLA clocks' running times
        ticket = admin.get(admin.url(f"/api/v1/tickets/{sentinel}")).json()
        return {name: value for name, value in ticket.items() if name != "sla"}
    sentinel, target = (admin.post(admin.url("/api/v1/tickets"), json=dict(CREATES[0][1], subject=subject)).json()["id"]
                        for subject in ["sentinel", "messages go here"])
    before = untouched()
    created = 2
    for route, base, read_back in CREATES:
        schema = body_schema(route)
        url = admin.url(route.split()[1].format(ticket=target))
        for payload in INJECTIONS + UNICODE:
            body = base
            for path, is_list, longest in text_fields(schema):
                text = payload[:longest]
                body = with_value(body, path, [text] if is_list else text)
            response = admin.post(url, json=body)
            assert response.status_code in (200, 201), (route, payload, response.text)
            assert response.headers["Content-Type"] == "application/json"
            answers = [response.json()]
            if read_back:
                answers.append(admin.get(admin.url(read_back.format(id=answers[0]["id"]))).json())
            for answer in answers:
                for path, is_list, longest in text_fields(schema):
                    expected = NORMALISED.get((route, path), lambda sent: sent)(value_at(body, path))
                    assert value_at(answer, path) == expected, (route, path, payload)
            created += route == "POST /api/v1/tickets"
    assert untouched() == before
    assert admin.get(admin.url("/api/v1/tickets")).json()["total"] == created
    for injection in INJECTIONS:  # as search text, each finds the tickets holding it and no others
        found = admin.get(admin.url("/api/v1/tickets"), params={"text": injection}).json()
        assert found["total"] == 1 and injection in found["items"][0]["subject"], injection
