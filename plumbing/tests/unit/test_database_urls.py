"""A database URL as operators write it works: ``postgresql://`` and ``postgres://`` go to the
driver the platform installs (psycopg2); SQLAlchemy 2.1 alone reads the first as psycopg 3,
which is not installed, and does not know the second."""
import pytest

from plumbing.config import database_url, with_driver
from plumbing.db import make_engine


@pytest.mark.parametrize("written, meant", [
    ("postgresql://ops:s3cret@db.internal:5432/ticketing", "postgresql+psycopg2://ops:s3cret@db.internal:5432/ticketing"),
    ("postgres://ops@db.internal/ticketing?sslmode=require", "postgresql+psycopg2://ops@db.internal/ticketing?sslmode=require"),
    ("postgresql+psycopg2://ops@db.internal/ticketing", "postgresql+psycopg2://ops@db.internal/ticketing"),
    ("sqlite:///var/ticketing.db", "sqlite:///var/ticketing.db"),
])
def test_a_postgres_url_as_operators_write_it_gets_the_installed_driver(written, meant):
    assert with_driver(written) == meant


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_the_service_setting_and_the_engine_take_the_plain_form(monkeypatch, scheme):
    monkeypatch.setenv("TICKETING_DATABASE_URL", f"{scheme}://ops@127.0.0.1:5432/ticketing")
    assert database_url("ticketing") == "postgresql+psycopg2://ops@127.0.0.1:5432/ticketing"
    engine = make_engine(f"{scheme}://ops@127.0.0.1:5432/ticketing")  # the DATABASE_URL config key's way
    assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg2")
    engine.dispose()
