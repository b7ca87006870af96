"""Channels under test: its handlers on a unit over SQLite, without a container."""
import pytest
from sqlalchemy.orm import sessionmaker

from channels import models
from plumbing.db import make_engine
from plumbing.unit_of_work import Unit, utc_now


@pytest.fixture
def run(migrated, sqlite_url):
    """``run(handler, *args, at=None)``: the handler in a unit of its own (a session, the
    outbox, the clock), its after-commit actions run as a worker's would be."""
    engine = make_engine(migrated("channels", sqlite_url))
    sessions = sessionmaker(engine, expire_on_commit=False)

    def run(handler, *args, at=None, **kwargs):
        with sessions() as session:
            uow = Unit.on_session(session, service="channels", outbox=models.outbox, inbox=models.inbox,
                                  clock=(lambda: at) if at else utc_now)
            answer = handler(uow, *args, **kwargs)
            uow.run_after_commit()
            return answer
    run.sessions = sessions
    yield run
    engine.dispose()


class TicketingOnSqlite:
    """Ticketing's own handlers on a migrated SQLite database, called as mail in calls them by RPC
    (a unit per call, as a service worker has): the same validation, lifecycle and idempotency,
    without a broker. Handler tests only; the integration tests call the running service."""

    def __init__(self, sessions, config):
        self.sessions, self.config, self.calls = sessions, config, []

    def call(self, handler, *args):
        from ticketing import models as ticketing_models
        self.calls.append(handler.__name__)
        with self.sessions() as session:
            uow = Unit.on_session(session, service="ticketing", outbox=ticketing_models.outbox,
                                  inbox=ticketing_models.inbox, roles=None)
            return handler(uow, *args)

    def create_tickets(self, requests):
        from ticketing.tickets import handlers
        return self.call(handlers.create_tickets, requests, self.config)

    def add_message(self, ticket_id, data):
        from ticketing.tickets import handlers
        return self.call(handlers.add_message, ticket_id, data, self.config)

    def list_messages(self, ticket_id, query=None):
        from ticketing.tickets import handlers
        return self.call(handlers.list_messages, ticket_id, query)

    def get_ticket(self, ticket_id):
        from ticketing.tickets import handlers
        return self.call(handlers.get_ticket, ticket_id)

    def set_state(self, ticket_id, state):
        from ticketing.tickets import handlers
        return self.call(handlers.change_state, ticket_id, {"state": state})


@pytest.fixture
def ticketing(migrated, tmp_path):
    engine = make_engine(migrated("ticketing", f"sqlite:///{tmp_path / 'ticketing.db'}"))
    yield TicketingOnSqlite(sessionmaker(engine, expire_on_commit=False), {"BLOB_DIR": str(tmp_path / "blobs")})
    engine.dispose()
