"""Whatever goes wrong, the client gets the JSON error shape and no internals."""
import json

from kombu.exceptions import OperationalError as KombuOperationalError
from nameko.exceptions import RemoteError, UnknownService
from sqlalchemy.exc import OperationalError as DatabaseError

from gateway.api import ApiEntrypoint
from gateway.errors import ApiError, ServiceUnavailable
from plumbing.errors import Conflict, InvalidInput, NotFound, Unavailable


def answer(exc):
    endpoint = ApiEntrypoint("GET", "/api/v1/things")
    response = endpoint.response_from_exception(exc)
    return response.status_code, json.loads(response.get_data())["error"]


def test_domain_errors_map_to_their_status_with_details():
    assert answer(InvalidInput("bad", {"subject": ["required"]})) == (
        400, {"code": "invalid_input", "message": "bad", "details": {"subject": ["required"]}})
    assert answer(NotFound("ticket 9 does not exist"))[0] == 404
    assert answer(Conflict("already taken"))[0] == 409


def test_a_missing_or_silent_service_is_503():
    assert answer(UnknownService("training"))[1]["code"] == "service_unavailable"
    status, error = answer(ServiceUnavailable("training", "no answer in 10s"))
    assert status == 503 and error["details"] == {"service": "training"}


def test_a_server_that_does_not_answer_is_503_saying_which():
    status, error = answer(Unavailable("ticketing's database does not answer; ask again shortly"))
    assert (status, error["code"]) == (503, "unavailable") and "ticketing's database" in error["message"]
    status, error = answer(KombuOperationalError("[Errno 111] Connection refused"))
    assert (status, error["message"]) == (503, "the message broker is unreachable; try again shortly")
    status, error = answer(DatabaseError("SELECT 1", {}, Exception("connection refused")))
    assert (status, error["message"]) == (503, "the gateway's database is unreachable; try again shortly")


def test_an_unexpected_error_is_a_500_that_reveals_nothing(caplog):
    status, error = answer(RemoteError("OperationalError", "password authentication failed for user csops"))
    assert status == 500
    assert error == {"code": "internal_error", "message": "internal error; quote the X-Request-Id when reporting it",
                     "details": {}}
    assert "password authentication failed" in caplog.text  # the operator still sees it in the log


def test_api_errors_keep_their_own_status():
    assert answer(ApiError(413, "payload_too_large", "too big"))[0] == 413
