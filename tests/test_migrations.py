"""Every database's migrations build exactly what its models describe (X3)."""
import importlib

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from plumbing.db import make_engine
from plumbing.migrate import alembic_config
from plumbing.services import NAMES as DATABASES


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@pytest.mark.parametrize("service", DATABASES)
def test_migrations_match_the_models_and_downgrade_cleanly(request, migrated, service, backend):
    url = migrated(service, request.getfixturevalue(f"{backend}_url"))
    metadata = importlib.import_module(f"{service}.models").Base.metadata
    engine = make_engine(url)
    with engine.begin() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []
        command.downgrade(alembic_config(service, connection), "base")
        assert connection.dialect.get_table_names(connection) == ["alembic_version"]
    engine.dispose()
