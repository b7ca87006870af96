"""Refused requests log one INFO line; faults keep their ERROR and traceback."""
import logging

from plumbing.errors import ClientErrorLogFilter, NotFound


class ApiLikeError(Exception):
    def __init__(self, status):
        super().__init__(f"status {status}")
        self.status = status


def logged_by_nameko(exc):
    """The record nameko's container writes when a worker raises ``exc``."""
    try:
        raise exc
    except Exception as raised:
        record = logging.getLogger("nameko.containers").makeRecord(
            "nameko.containers", logging.ERROR, __file__, 1, "error handling worker %s: %s",
            ("<worker>", raised), exc_info=(type(raised), raised, raised.__traceback__))
    ClientErrorLogFilter().filter(record)
    return record


def test_a_refused_request_is_one_info_line_without_a_traceback():
    for exc in (NotFound("ticket 7 not found"), ApiLikeError(401)):
        record = logged_by_nameko(exc)
        assert (record.levelname, record.exc_info) == ("INFO", None)
        assert type(exc).__name__ in record.getMessage() and str(exc) in record.getMessage()


def test_a_fault_keeps_its_error_level_and_traceback():
    for exc in (RuntimeError("database is gone"), ApiLikeError(503)):
        record = logged_by_nameko(exc)
        assert record.levelname == "ERROR" and record.exc_info[1] is exc
