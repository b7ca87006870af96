"""Each process reaches PostgreSQL as its own role, owner of its own database only (issue 16).

deploy/postgres/init-databases.sh, as the postgres image runs it, on the local server, for databases
and roles named with a prefix of the test's (dropped after).
"""
import os
import subprocess
import uuid

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from tests.conftest import ROOT

ADMIN_URL = make_url(os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"))
SCRIPT = ROOT / "deploy/postgres/init-databases.sh"


@pytest.fixture
def admin():
    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture
def names(admin):
    """Two process names of the test's own; their databases and roles are dropped after."""
    prefix = f"csops_test_{uuid.uuid4().hex[:8]}_"
    made = [prefix + "ticketing", prefix + "training"]
    yield made
    with admin.connect() as connection:
        for name in made:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'DROP ROLE IF EXISTS "{name}"'))


def init_databases(names, passwords):
    """Run the script as the postgres image does (as POSTGRES_USER), against the local server."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("POSTGRES_")}
    env.update(CSOPS_DATABASES=" ".join(names), POSTGRES_USER=ADMIN_URL.username, PGHOST=ADMIN_URL.host,
               PGPORT=str(ADMIN_URL.port or 5432),
               **{f"POSTGRES_{name.upper()}_PASSWORD": password for name, password in passwords.items()})
    if ADMIN_URL.password:
        env["PGPASSWORD"] = ADMIN_URL.password
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


def connect(role, password, database):
    """Open and close a connection as ``role``; returns the error the server gave, or None."""
    engine = create_engine(ADMIN_URL.set(username=role, password=password, database=database))
    try:
        with engine.connect() as connection:
            connection.execute(text("CREATE TABLE IF NOT EXISTS probe (id int)"))
            connection.commit()
    except OperationalError as exc:
        return str(exc.orig)
    finally:
        engine.dispose()
    return None


def test_each_role_owns_its_database_and_cannot_connect_to_another_s(admin, names):
    passwords = {name: uuid.uuid4().hex for name in names}
    result = init_databases(names, passwords)
    assert result.returncode == 0, result.stderr
    ticketing, training = names
    assert connect(ticketing, passwords[ticketing], ticketing) is None
    assert "permission denied for database" in connect(ticketing, passwords[ticketing], training)
    assert "permission denied for database" in connect(training, passwords[training], ticketing)
    with admin.connect() as connection:
        owners = dict(connection.execute(text(
            "SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE datname = ANY(:names)"), {"names": names}).all())
        powers = connection.execute(text(
            "SELECT bool_or(rolsuper OR rolcreatedb OR rolcreaterole OR rolbypassrls) FROM pg_roles "
            "WHERE rolname = ANY(:names)"), {"names": names}).scalar_one()
    assert owners == {name: name for name in names}
    assert powers is False


def test_running_it_again_hands_an_existing_database_to_its_role_and_sets_the_password_again(admin, names):
    """A deployment from before the roles: the databases and their tables belong to the superuser."""
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    before = create_engine(ADMIN_URL.set(database=names[0]))
    with before.begin() as connection:
        connection.execute(text("CREATE TABLE tickets (id serial PRIMARY KEY)"))
    before.dispose()

    assert init_databases(names, {name: "first" for name in names}).returncode == 0
    with admin.connect() as connection:
        first = connection.execute(text("SELECT rolpassword FROM pg_authid WHERE rolname = :name"),
                                   {"name": names[0]}).scalar_one()
    result = init_databases(names, {name: "second" for name in names})
    assert result.returncode == 0, result.stderr
    with admin.connect() as connection:
        second = connection.execute(text("SELECT rolpassword FROM pg_authid WHERE rolname = :name"),
                                    {"name": names[0]}).scalar_one()
    assert first != second
    owned = create_engine(ADMIN_URL.set(database=names[0]))
    with owned.connect() as connection:
        owners = set(connection.execute(text(
            "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = 'public'::regnamespace")).scalars())
    owned.dispose()
    assert owners == {names[0]}, "the table, its sequence and its index belong to the role"
    assert connect(names[0], "second", names[0]) is None


def test_a_role_without_a_password_is_refused_in_one_line(names):
    result = init_databases(names, {names[0]: "set"})
    assert result.returncode != 0
    assert result.stderr.strip() == f"init-databases: set POSTGRES_{names[1].upper()}_PASSWORD (the password of role {names[1]})"
