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
    models = importlib.import_module(f"{service}.models")
    # tables outside the models by design (a service's full-text index: tsvector or FTS5 tables)
    unmapped = getattr(models, "is_search_table", lambda name: False)
    engine = make_engine(url)
    with engine.begin() as connection:
        context = MigrationContext.configure(connection, opts={
            "include_name": lambda name, kind, parent: not (kind == "table" and unmapped(name))})
        assert compare_metadata(context, models.Base.metadata) == []
        command.downgrade(alembic_config(service, connection), "base")
        assert connection.dialect.get_table_names(connection) == ["alembic_version"]
    engine.dispose()
