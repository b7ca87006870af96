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
