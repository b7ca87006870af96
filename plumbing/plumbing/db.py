"""Database engine and a session per nameko worker.

PostgreSQL goes through psycopg2, which ``eventlet.monkey_patch()`` (run
first by ``plumbing.serve`` and the tests) gives a green wait callback: a
query waiting on the server yields to other green threads instead of
blocking the whole process. SQLite runs in WAL mode so readers do not wait for a writer.
"""
import json
from datetime import date, time, timezone
from decimal import Decimal
from functools import lru_cache

from nameko.extensions import DependencyProvider
from sqlalchemy import (
    JSON, DateTime, Float, Text, TypeDecorator, any_, bindparam, cast, column, create_engine, event, func, insert,
    inspect, select, update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from plumbing.config import database_url, with_driver
from plumbing.errors import NotFound

class UTCDateTime(TypeDecorator):
    """An aware UTC datetime on every backend (SQLite keeps no zone)."""
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


class DatabaseUnavailable(RuntimeError):
    """The database server cannot be reached; the message says how to start it."""


def make_engine(url: str) -> Engine:
    url = with_driver(url) if isinstance(url, str) else url  # an operator's postgresql:// too
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def check_reachable(engine: Engine) -> None:
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        url = engine.url.render_as_string(hide_password=True)
        hint = "start PostgreSQL (pg_ctlcluster <version> main start, or docker compose up postgres)"
        raise DatabaseUnavailable(
            f"database {url} is unreachable ({str(exc.orig).strip().splitlines()[0]}): {hint}"
        ) from None


# Python annotations -> column types in every service's models, as their migrations made them:
# SQLAlchemy 2.1 maps float to Double, which SQLite spells differently from the FLOAT created.
TYPE_ANNOTATIONS = {float: Float}


def is_postgres(engine_or_session) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "postgresql"


def upsert_insert(session):
    """The INSERT with ``on_conflict_do_*`` for the session's database."""
    return postgresql.insert if is_postgres(session) else sqlite.insert


def one_of(session, column, values):
    """``column IN (values)``; on PostgreSQL ``column = ANY(array)``, one parameter however many
    values, where an IN of thousands would be compiled with a parameter each."""
    if is_postgres(session):
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


def insert_rows(session, statement, rows, *returning) -> list:
    """Run an INSERT (``ON CONFLICT`` or not) of many rows (dicts with the same keys) as one
    statement; returns the ``returning`` columns of each row written. On PostgreSQL the rows go
    as one JSON document (``given_rows``); elsewhere as a multi-row VALUES, which SQLAlchemy builds
    only for a statement with RETURNING: an ``ON CONFLICT`` INSERT without goes one row at a time
    (sqlalchemy#13130)."""
    if not rows:
        return []
    if is_postgres(session):
        names = list(rows[0])
        given = given_rows(statement.table, tuple(names))
        statement = statement.from_select(names, select(*(given.c[name] for name in names)))
        result = session.execute(statement.returning(*returning) if returning else statement,
                                 {"rows": rows_as_json(rows)})
    else:
        result = session.execute(statement.returning(*(returning or statement.table.primary_key)), rows)
    return result.all() if returning else []


def insert_integer_columns(session, table, columns):
    """INSERT rows given column by column ({name: [integers]}, lists of one length) in one statement.
    On PostgreSQL each column goes as one array literal, unnested: for integer rows a fifth of the
    client's cost of ``insert_rows``'s JSON objects (which repeat every key in every row)."""
    columns = {name: list(map(int, values)) for name, values in columns.items()}  # nothing else in a literal
    if not any(columns.values()):
        return
    if is_postgres(session):
        session.execute(
            insert(table).from_select(list(columns), select(*(
                func.unnest(cast(bindparam(name, type_=Text), postgresql.ARRAY(table.c[name].type))) for name in columns))),
            {name: "{" + ",".join(map(str, values)) + "}" for name, values in columns.items()})
    else:
        session.execute(insert(table), [dict(zip(columns, row)) for row in zip(*columns.values())])


def update_by_id(session, table, rows):
    """UPDATE ``table`` SET each row's other columns WHERE id = its ``id``, in one statement
    (rows: dicts with the same keys)."""
    if not rows:
        return
    names = [name for name in rows[0] if name != "id"]
    if is_postgres(session):
        given = given_rows(table, ("id", *names))
        session.execute(update(table).where(table.c.id == given.c.id).values({name: given.c[name] for name in names}),
                        {"rows": rows_as_json(rows)})
    else:  # an executemany runs in process
        session.execute(update(table).where(table.c.id == bindparam("row_id")),
                        [dict({name: row[name] for name in names}, row_id=row["id"]) for row in rows])


@lru_cache(maxsize=256)
def given_rows(table, names):
    """The rows of the ``rows`` parameter (a JSON array of objects) as a table typed like ``table``'s
    columns ``names``. Thousands of rows as one parameter: psycopg2 would send an executemany one
    statement per row, and a multi-row VALUES costs far more to build and to parse."""
    return func.json_to_recordset(cast(bindparam("rows", type_=Text), JSON)).table_valued(
        *(column(name, table.c[name].type) for name in names)).render_derived("given", with_types=True)


def rows_as_json(rows) -> str:
    return json.dumps(rows, default=json_scalar, ensure_ascii=False)  # UTF-8 text, not \u escapes


def json_scalar(value):
    """Dates and times in ISO 8601 (aware datetimes keep their offset), decimals exact, bytes in
    PostgreSQL's hex form of bytea."""
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot go in a JSON row")


class Database(DependencyProvider):
    """Gives each worker its own Session; the entrypoint opens transactions.

    The URL comes from the ``DATABASE_URL`` config key, else from
    ``<SERVICE>_DATABASE_URL``, else an SQLite file under ``var/``.
    """

    def setup(self):
        url = self.container.config.get("DATABASE_URL") or database_url(self.container.service_name)
        self.engine = make_engine(url)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        self.sessions = {}

    def get_dependency(self, worker_ctx):
        session = self.session_factory()
        self.sessions[worker_ctx] = session
        return session

    def worker_teardown(self, worker_ctx):
        session = self.sessions.pop(worker_ctx, None)
        if session is not None:
            session.close()

    def stop(self):
        self.engine.dispose()


def database_of(container) -> Database:
    """The service's Database: a dependency of its own, or its unit of work's."""
    for dependency in container.dependencies:
        database = dependency if isinstance(dependency, Database) else getattr(dependency, "database", None)
        if isinstance(database, Database):
            return database
    raise LookupError(f"{container.service_name} declares no database")


def column_values(row) -> dict:
    """Every column of a mapped object, to dump with fields added: ``vars()`` holds only the
    attributes loaded or set, so a row just inserted lacks those nobody gave a value (null)."""
    return {column.key: getattr(row, column.key) for column in inspect(row).mapper.column_attrs}


def get_or_not_found(session, model, ident, lock=False):
    """The row of ``model`` with primary key ``ident``, or NotFound naming it;
    ``lock``: locked until commit (SELECT ... FOR UPDATE), so concurrent changes queue."""
    row = session.get(model, ident, with_for_update=lock or None)
    if row is None:
        raise NotFound(f"{model.__name__.lower()} {ident} does not exist")
    return row
