"""Monitoring under test, alone or with ticketing on the same broker (its own database)."""
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from monitoring import models
from monitoring.service import MonitoringService
from plumbing.db import make_engine
from plumbing.unit_of_work import Unit
from ticketing.service import TicketingService

TOPIC = {"name": "外卖", "query": '(外卖 OR "food delivery") NOT 招聘'}


@pytest.fixture
def monitoring(start_service):
    return start_service(MonitoringService)


@pytest.fixture
def topic(monitoring):
    """The watch rule the tests' posts are about."""
    from plumbing.testing import call

    return call(monitoring, "create_rule", TOPIC)


@pytest.fixture
def another_database_url(database_url, tmp_path):
    """A second empty database on the same backend as ``database_url``."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'another.db'}"
        return
    admin_url, name = database_url.rsplit("/", 1)[0], f"csops_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"{admin_url}/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def ticketing(container_factory, service_config, another_database_url, migrated):
    """Ticketing on the same vhost as monitoring, on a database of its own."""
    url = migrated("ticketing", another_database_url)
    container = container_factory(TicketingService, dict(service_config, DATABASE_URL=url))
    container.start()
    return container


@pytest.fixture
def unit(sqlite_url, migrated):
    """``unit(actor)``: a unit on a session of its own, as each call gets one in the service."""
    engine = make_engine(migrated("monitoring", sqlite_url))
    sessions = []

    def make(actor="admin"):
        sessions.append(sessionmaker(engine, expire_on_commit=False)())
        return Unit.on_session(sessions[-1], "monitoring", outbox=models.outbox, inbox=models.inbox, actor=actor)
    yield make
    for session in sessions:
        session.close()
    engine.dispose()
