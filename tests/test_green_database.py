"""Database waits overlap under eventlet instead of queueing (psycogreen).

Four concurrent RPC calls each hold a PostgreSQL query for 0.3 s; every
call's wait must have started before any of them ended. psycopg2 cooperates
through the wait callback ``eventlet.monkey_patch()`` installs; without it
the calls run one after another, as the control test shows.
"""
import time

import eventlet
import pytest
from psycopg2 import extensions
from nameko.rpc import rpc
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import text

from plumbing.db import Database

CALLS = 4


class Sleeper:
    name = "sleeper"
    db = Database()

    @rpc
    def wait_in_database(self, seconds):
        started = time.monotonic()
        self.db.execute(text("SELECT pg_sleep(:seconds)"), {"seconds": seconds})
        return started, time.monotonic()


@pytest.fixture
def database_windows(container_factory, rabbit_config, postgres_url):
    """Run CALLS concurrent calls; return (start, end) of each one's database wait."""
    container = container_factory(Sleeper, dict(rabbit_config, DATABASE_URL=postgres_url))
    container.start()

    def run():
        with ServiceRpcProxy("sleeper", rabbit_config) as sleeper:
            replies = [sleeper.wait_in_database.call_async(0.3) for _ in range(CALLS)]
            with eventlet.Timeout(30):
                return [reply.result() for reply in replies]
    return run


def overlap(windows) -> bool:
    return max(start for start, _ in windows) < min(end for _, end in windows)


def test_concurrent_requests_overlap_their_database_waits(database_windows):
    windows = database_windows()
    assert overlap(windows), windows


def test_without_the_green_wait_callback_the_same_calls_queue(database_windows):
    """The control: the measurement above does tell blocking from green I/O."""
    green_wait = extensions.get_wait_callback()
    assert green_wait is not None, "eventlet.monkey_patch() should have installed it"
    extensions.set_wait_callback(None)
    try:
        windows = database_windows()
    finally:
        extensions.set_wait_callback(green_wait)
    assert not overlap(windows), windows
