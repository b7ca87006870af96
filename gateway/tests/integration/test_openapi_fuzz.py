"""Schemathesis against the gateway's own OpenAPI document, every operation,
with the real services behind it on PostgreSQL: no 5xx, and every answer
(status, media type, headers, body) is one the document promises, while
input the document forbids is refused (X1; issue 8, bad input).

CI tries a few examples per operation, the same ones each run; for a longer
hunt, ``FUZZ_EXAMPLES=200 .venv/bin/python -m pytest <this file>``, and
``FUZZ_COVERAGE=1`` adds schemathesis's boundary cases of every parameter
(about two minutes more).
"""
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "5"))
CONFIG = {
    "generation": {"deterministic": True, "database": "none"},
    # The examples and fuzzing phases; coverage's boundary cases would double CI's time.
    "phases": {"coverage": {"enabled": os.environ.get("FUZZ_COVERAGE") == "1"}},
    "checks": {
        # 413 and 414 are refusals too: a generated body or query can outgrow the limits; and 428, a
        # conditional route's answer to a request left without its required If-Match header.
        "negative_data_rejection": {"expected-statuses": [400, 401, 403, 404, 409, 413, 414, 428]},
        # Off: rules across fields (an agent or a team; until after since; weights summing to 100) and
        # on dictionary keys are beyond what OpenAPI 3.0 can say, so a schema-valid request may rightly be a 400.
        "positive_data_acceptance": {"enabled": False},
    },
}
# a URL near the 8 KiB request line of eventlet's HTTP server (its 414), less the method and version
HTTP_SERVER_REQUEST_LINE = 8000
# operations that revoke the caller's tokens (or may, given the right password): an account of their own
SESSION_ENDERS = {"sign_out", "change_own_password"}
# one of each main resource, so that the small ids generated for paths often name something real
SEED = [
    ("/api/v1/tickets", {"subject": "Parcel damaged", "channel": "phone", "kind": "complaint",
                         "customer": {"name": "Li Lei", "contact": "li@example.com"}}),
    ("/api/v1/kb/articles", {"title": "Refunds", "body": "Refunds take three days.", "category": "billing"}),
    ("/api/v1/training/courses", {"title": "Onboarding", "kind": "onboarding", "mode": "online",
                                  "duration_hours": 8, "target_role": "agent"}),
    ("/api/v1/training/question-categories", {"name": "products"}),
    ("/api/v1/monitoring/rules", {"name": "brand", "query": "refund OR 退款"}),
    ("/api/v1/monitoring/posts", {"platform": "weibo", "external_id": "p1", "text": "退款太慢了 refund",
                                  "posted_at": "2026-11-02T09:00:00+00:00", "author": {"id": "a1", "name": "Wang"}}),
]


@pytest.fixture
def platform_databases(postgres_platform_databases):
    return postgres_platform_databases


@pytest.fixture
def fuzzed_api(start_platform, client, make_account, base_url):
    """The served document, aimed at a running platform; each operation is
    called with a token whose roles it accepts (admin's where it may)."""
    start_platform()
    tokens = {"admin": client.login().headers["Authorization"],
              "agent": make_account("fuzzy", ["agent"]).headers["Authorization"],
              "leaving": make_account("leaving", ["agent"]).headers["Authorization"]}
    for path, body in SEED:
        assert client.post(client.url(path), json=body).status_code == 201, path
    schema = schemathesis.openapi.from_url(base_url + "/api/v1/openapi.json",
                                           config=SchemathesisConfig.from_dict(CONFIG))
    schema.config.update(base_url=base_url)
    schema.hook(filter_query)
    schema.tokens = tokens
    return schema


def filter_query(context, query):
    """A parameter whose value is an empty list is not sent at all (by requests), so
    a query made "invalid" by one is valid on the wire: not a case."""
    return not query or all(value != [] for value in query.values())


# a piped mail's body (POST /api/v1/channels/mailboxes/{id}/inbound) is bytes, as any binary body is
schemathesis.serializer.alias("message/rfc822", "application/octet-stream")
api = schemathesis.pytest.from_fixture("fuzzed_api")


@api.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case, fuzzed_api):
    roles = case.operation.definition.raw.get("x-roles", ["admin"])
    token = fuzzed_api.tokens["leaving" if case.operation.definition.raw["operationId"] in SESSION_ENDERS
                              else "admin" if "admin" in roles else "agent"]
    response = case.call(headers={"Authorization": token})
    if response.status_code == 414 and len(response.request.url) > HTTP_SERVER_REQUEST_LINE:
        return  # the HTTP server's own bodyless refusal, which the document states once (info), not per operation
    case.validate_response(response)
