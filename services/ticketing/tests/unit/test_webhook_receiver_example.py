"""The receiver integrators copy (docs/events/webhook_receiver_example.py)
accepts what ticketing signs, and refuses a wrong secret, a changed body and
a replayed (old) timestamp."""
import importlib.util
import io
import json
import time
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import pytest

from ticketing.webhooks.rules import signature_header

EXAMPLE = Path(__file__).resolve().parents[4] / "docs" / "events" / "webhook_receiver_example.py"
SECRET = "whsec_" + "ab" * 32
BODY = json.dumps({"id": "evt-1", "type": "ticket.created", "subject": "ticket/7", "data": {}}).encode()


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("webhook_receiver_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_request_ticketing_signed_just_now_is_accepted(example):
    now = int(time.time())
    assert example.verify(SECRET, signature_header(SECRET, now, BODY), BODY, now=now + 2)


@pytest.mark.parametrize("secret, body, age", [
    ("whsec_" + "cd" * 32, BODY, 0),               # signed with another webhook's secret
    (SECRET, BODY.replace(b"7", b"8"), 0),          # the body changed on the way
    (SECRET, BODY, 301),                            # captured and replayed after the tolerance
    (SECRET, BODY, -301),                           # dated in the future
], ids=["wrong secret", "changed body", "replayed", "future"])
def test_a_wrong_secret_a_changed_body_or_a_stale_timestamp_is_refused(example, secret, body, age):
    now = int(time.time())
    assert not example.verify(secret, signature_header(SECRET, now - age, BODY), body, now=now)


@pytest.mark.parametrize("header", [None, "", "v1=00", f"t={int(time.time())}", "t=abc,v1=00"])
def test_a_missing_or_malformed_header_is_refused(example, header):
    assert not example.verify(SECRET, header, BODY, now=time.time())


def test_the_receiver_answers_401_to_a_stale_request_and_handles_a_retried_delivery_once(example, capsys):
    handled = set()
    app = example.receiver(SECRET, handled)

    def post(timestamp):
        environ = {"REQUEST_METHOD": "POST", "wsgi.input": io.BytesIO(BODY), "CONTENT_LENGTH": str(len(BODY)),
                   "HTTP_X_CSOPS_SIGNATURE": signature_header(SECRET, timestamp, BODY),
                   "HTTP_X_CSOPS_DELIVERY": "delivery-1"}
        setup_testing_defaults(environ)
        statuses = []
        app(environ, lambda status, headers: statuses.append(status))
        return statuses[0]

    assert post(int(time.time()) - 3600) == "401 Unauthorized"
    assert [post(int(time.time())) for _ in range(2)] == ["200 OK", "200 OK"]   # a retry of the same delivery
    assert handled == {"delivery-1"}
    assert capsys.readouterr().out.count("ticket.created ticket/7 id=evt-1") == 1
