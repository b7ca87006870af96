"""The receiver integrators copy (docs/events/webhook_receiver_example.py)
accepts what ticketing signs (Standard Webhooks), and refuses a wrong secret,
a changed body, another delivery id and a replayed (old) timestamp."""
import base64
import importlib.util
import io
import json
import time
from datetime import datetime, timezone
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import pytest
from standardwebhooks import Webhook

from ticketing.webhooks.rules import signed_headers

EXAMPLE = Path(__file__).resolve().parents[4] / "docs" / "events" / "webhook_receiver_example.py"
SECRET = "whsec_" + base64.b64encode(b"a webhook's 32 bytes of secret!!").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another webhook's 32 bytes, too!").decode()
BODY = json.dumps({"id": "evt-1", "type": "ticket.created", "subject": "ticket/7", "data": {}}).encode()
DELIVERY = "0b7e6a51-5f0c-4f4e-8d55-3f1c0a2b9e77"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("webhook_receiver_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def headers(timestamp, secret=SECRET, delivery=DELIVERY, body=BODY):
    return signed_headers(secret, delivery, timestamp, body, legacy=False)


def test_a_request_ticketing_signed_just_now_is_accepted(example):
    now = int(time.time())
    assert example.verify(SECRET, headers(now), BODY, now=now + 2)


def test_it_accepts_what_a_standard_webhooks_library_signs_and_the_library_what_it_accepts(example):
    now = int(time.time())
    signature = Webhook(SECRET).sign(DELIVERY, datetime.fromtimestamp(now, timezone.utc), BODY)
    library_signed = {"webhook-id": DELIVERY, "webhook-timestamp": str(now), "webhook-signature": signature}
    assert example.verify(SECRET, library_signed, BODY, now=now)
    assert Webhook(SECRET).verify(BODY, headers(now)) == json.loads(BODY)


def test_one_matching_signature_among_several_is_enough(example):
    now = int(time.time())
    signed = headers(now)
    rotated = dict(signed, **{"webhook-signature": "v1,AAAA " + signed["webhook-signature"]})
    assert example.verify(SECRET, rotated, BODY, now=now)


@pytest.mark.parametrize("secret, body, delivery, age", [
    (OTHER_SECRET, BODY, DELIVERY, 0),                         # signed with another webhook's secret
    (SECRET, BODY.replace(b"7", b"8"), DELIVERY, 0),           # the body changed on the way
    (SECRET, BODY, "a-new-id-for-a-captured-request", 0),     # replayed as another delivery
    (SECRET, BODY, DELIVERY, 301),                             # captured and replayed after the tolerance
    (SECRET, BODY, DELIVERY, -301),                            # dated in the future
], ids=["wrong secret", "changed body", "another delivery id", "replayed", "future"])
def test_a_wrong_secret_a_changed_body_or_id_or_a_stale_timestamp_is_refused(example, secret, body, delivery, age):
    now = int(time.time())
    received = dict(headers(now - age), **{"webhook-id": delivery})
    assert not example.verify(secret, received, body, now=now)


@pytest.mark.parametrize("drop_or_change", [
    {"webhook-signature": None}, {"webhook-id": None}, {"webhook-timestamp": None},
    {"webhook-timestamp": "abc"}, {"webhook-signature": "v1"}, {"webhook-signature": "v2,abc"},
    {"webhook-signature": ""},
])
def test_a_missing_or_malformed_header_is_refused(example, drop_or_change):
    now = int(time.time())
    received = {name: value for name, value in dict(headers(now), **drop_or_change).items() if value is not None}
    assert not example.verify(SECRET, received, BODY, now=now)


def test_the_receiver_answers_401_to_a_stale_request_and_handles_a_retried_delivery_once(example, capsys):
    handled = set()
    app = example.receiver(SECRET, handled)

    def post(timestamp):
        environ = {"REQUEST_METHOD": "POST", "wsgi.input": io.BytesIO(BODY), "CONTENT_LENGTH": str(len(BODY)),
                   **{"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers(timestamp).items()}}
        setup_testing_defaults(environ)
        statuses = []
        app(environ, lambda status, response_headers: statuses.append(status))
        return statuses[0]

    assert post(int(time.time()) - 3600) == "401 Unauthorized"
    assert [post(int(time.time())) for _ in range(2)] == ["200 OK", "200 OK"]   # a retry of the same delivery
    assert handled == {DELIVERY}
    assert capsys.readouterr().out.count("ticket.created ticket/7 id=evt-1") == 1
