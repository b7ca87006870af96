"""Run a service's alembic migrations against its own database.

    python -m plumbing.migrate                      # every database of plumbing.services, to head
    python -m plumbing.migrate ticketing            # one of them
    python -m plumbing.migrate ticketing --revision "add tags"   # autogenerate

Each service keeps its revisions in ``<package>/migrations/``; the alembic
environment is shared (``plumbing/migration_env``). On PostgreSQL an advisory
lock serialises replicas that start together.
"""
import argparse
import importlib
import sys
import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from plumbing.config import database_url
from plumbing.db import DatabaseUnavailable, check_reachable, make_engine
from plumbing.services import NAMES

ENV_DIR = Path(__file__).parent / "migration_env"


def alembic_config(service: str, connection) -> Config:
    models = importlib.import_module(f"{service}.models")
    config = Config()
    config.set_main_option("script_location", str(ENV_DIR))
    config.set_main_option("version_locations", str(Path(models.__file__).parent / "migrations"))
    config.set_main_option("version_table", "alembic_version")
    config.attributes["connection"] = connection
    config.attributes["target_metadata"] = models.Base.metadata
    return config


def upgrade(service: str, url: str | None = None) -> None:
    engine = make_engine(url or database_url(service))
    check_reachable(engine)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(service.encode())})
        command.upgrade(alembic_config(service, connection), "head")
    engine.dispose()


def is_at_head(service: str, engine) -> bool:
    with engine.connect() as connection:
        config = alembic_config(service, connection)
        heads = set(ScriptDirectory.from_config(config).get_heads())
        return set(MigrationContext.configure(connection).get_current_heads()) == heads


def revision(service: str, message: str, url: str | None = None) -> None:
    engine = make_engine(url or database_url(service))
    with engine.begin() as connection:
        command.revision(alembic_config(service, connection), message=message, autogenerate=True)
    engine.dispose()


def main(argv=None):
    parser = argparse.ArgumentParser(description="Migrate a service's database.")
    parser.add_argument("services", nargs="*", help=f"default: all of them ({' '.join(NAMES)})")
    parser.add_argument("--revision", metavar="MESSAGE", help="autogenerate a new revision instead")
    args = parser.parse_args(argv)
    if args.revision and not args.services:
        parser.error("--revision needs the service whose models changed")
    try:
        for service in args.services or NAMES:
            if args.revision:
                revision(service, args.revision)
            else:
                upgrade(service)
                print(f"{service}: database at head")
    except DatabaseUnavailable as exc:
        sys.exit(f"{service}: {exc}")


if __name__ == "__main__":
    main()
