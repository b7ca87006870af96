"""Back up and restore the services' databases (X6), PostgreSQL or SQLite alike.

    python -m plumbing.backup save backup/2026-11-23                 # every service's database
    python -m plumbing.backup restore backup/2026-11-23 ticketing    # ticketing's, with ticketing stopped

Each database is the one its service uses (``<SERVICE>_DATABASE_URL``, else
the SQLite file under ``CSOPS_VAR_DIR``). PostgreSQL: ``pg_dump`` in its
custom format to ``<service>.dump``, and ``pg_restore`` in one transaction
that replaces what is there (the PostgreSQL client tools, no older than the
server). SQLite: SQLite's online backup to ``<service>.db``, a consistent
snapshot while the service runs, and back the same way into the live file.

The attachments' files (``blobs``, plumbing.blobs' ``BLOB_DIR``) are saved
after the databases, into ``<directory>/blobs``: a file is written before the
row that names it commits and is never changed or deleted, so every file a
saved database names is there. Only files the backup lacks are copied (a
file's name is its content's hash), so saving into the same directory again
copies what is new; a restore copies back the files the store lacks.
"""
import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from plumbing.blobs import blob_dir, is_sha256
from plumbing.config import database_url
from plumbing.services import NAMES as DATABASES  # each process owns one database

BLOBS = "blobs"  # the attachments' files, backed up after the databases


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


def save_blobs(directory: Path) -> int:
    return copy_new_blobs(blob_dir(), directory / BLOBS)


def restore_blobs(directory: Path) -> int:
    return copy_new_blobs(directory / BLOBS, blob_dir())


def copy_new_blobs(source: Path, target: Path) -> int:
    """Copy the blobs (``ab/cd/<sha256>``) under ``source`` that ``target`` lacks; how many were."""
    copied = 0
    for path in sorted(source.glob("??/??/*")) if source.is_dir() else ():
        destination = target / path.relative_to(source)
        if not is_sha256(path.name) or destination.exists():
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(f"{path.name}.partial")
        shutil.copyfile(path, partial)
        os.replace(partial, destination)  # a file under its hash is whole
        copied += 1
    return copied


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
    parser.add_argument("services", nargs="*", default=[*DATABASES, BLOBS],
                        help=f"default: all of them, then {BLOBS} (the attachments' files)")
    args = parser.parse_args(argv)
    if args.action == "save":
        args.directory.mkdir(parents=True, exist_ok=True)
    for service in args.services:
        if service == BLOBS:
            count = (save_blobs if args.action == "save" else restore_blobs)(args.directory)
            print(f"attachments: {count} new files copied {'into' if args.action == 'save' else 'back from'} "
                  f"{args.directory / BLOBS}")
            continue
        try:
            path = (save if args.action == "save" else restore)(service, args.directory)
        except (FileNotFoundError, subprocess.CalledProcessError) as exc:
            sys.exit(f"{service}: {args.action} failed: {exc}")
        print(f"{service}: {'saved to' if args.action == 'save' else 'restored from'} {path}")


if __name__ == "__main__":
    main()
