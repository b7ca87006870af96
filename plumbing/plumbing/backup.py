"""Back up and restore the services' databases (X6), PostgreSQL or SQLite alike.

    python -m plumbing.backup save backup/2026-11-23                 # every service's database
    python -m plumbing.backup restore backup/2026-11-23 ticketing    # ticketing's, with ticketing stopped

Each database is the one its service uses (``<SERVICE>_DATABASE_URL``, else
the SQLite file under ``CSOPS_VAR_DIR``). PostgreSQL: ``pg_dump`` in its
custom format to ``<service>.dump``, and ``pg_restore`` in one transaction
that replaces what is there (the PostgreSQL client tools, no older than the
server). SQLite: SQLite's online backup to ``<service>.db``, a consistent
snapshot while the service runs, and back the same way into the live file.
"""
import argparse
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from plumbing.config import database_url
from plumbing.services import NAMES as DATABASES  # each process owns one database


def save(service: str, directory: Path) -> Path:
    url = make_url(database_url(service))
    if url.get_backend_name() == "sqlite":
        return copy_sqlite(Path(url.database), directory / f"{service}.db")
    target = directory / f"{service}.dump"
    pg_tool("pg_dump", url, "--format=custom", f"--file={target}")
    return target


def restore(service: str, directory: Path) -> Path:
    url = make_url(database_url(service))
    if url.get_backend_name() == "sqlite":
        return copy_sqlite(directory / f"{service}.db", Path(url.database))
    source = directory / f"{service}.dump"
    pg_tool("pg_restore", url, "--clean", "--if-exists", "--single-transaction", str(source))
    return source


def copy_sqlite(source: Path, target: Path) -> Path:
    if not source.exists():
        raise FileNotFoundError(f"no SQLite database at {source}")
    reader, writer = sqlite3.connect(source), sqlite3.connect(target)
    try:
        reader.backup(writer)
    finally:
        reader.close()
        writer.close()
    return target


def pg_tool(tool, url, *arguments):
    """Run a PostgreSQL client tool on the database ``url`` names; the password goes by environment."""
    uri = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    environment = dict(os.environ, **({"PGPASSWORD": url.password} if url.password else {}))
    try:
        subprocess.run([tool, f"--dbname={uri}", *arguments], env=environment, check=True)
    except FileNotFoundError:
        raise SystemExit(f"{tool} is not installed: install the PostgreSQL client tools (postgresql-client)")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Back up or restore the services' databases.")
    parser.add_argument("action", choices=("save", "restore"))
    parser.add_argument("directory", type=Path)
    parser.add_argument("services", nargs="*", default=DATABASES, help="default: all of them")
    args = parser.parse_args(argv)
    if args.action == "save":
        args.directory.mkdir(parents=True, exist_ok=True)
    for service in args.services:
        try:
            path = (save if args.action == "save" else restore)(service, args.directory)
        except (FileNotFoundError, subprocess.CalledProcessError) as exc:
            sys.exit(f"{service}: {args.action} failed: {exc}")
        print(f"{service}: {'saved to' if args.action == 'save' else 'restored from'} {path}")


if __name__ == "__main__":
    main()
