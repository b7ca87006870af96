"""Every service's database backed up and restored as docs/operations.md says
(``python -m plumbing.backup``, X6): PostgreSQL by pg_dump and pg_restore,
SQLite by its online backup while a writer holds it open; data changed and a
table dropped after the backup are as they were once restored."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import MetaData, insert, select, text

import plumbing.backup
from plumbing.backup import DATABASES
from plumbing.db import make_engine

PROCESSED_AT = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


def backup(action, directory, capsys):
    """``python -m plumbing.backup <action> <directory>``; what it printed."""
    plumbing.backup.main([action, str(directory)])
    return capsys.readouterr().out


def contents(engine):
    """Every table's rows, in a comparable form."""
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        return {name: sorted(map(tuple, connection.execute(select(table)).all()), key=repr)
                for name, table in metadata.tables.items()}


def write_data(engine, service):
    """Rows in the service's inbox (every service has one), in Chinese too."""
    metadata = MetaData()
    metadata.reflect(engine, only=["inbox"])
    with engine.begin() as connection:
        connection.execute(insert(metadata.tables["inbox"]), [
            {"event_id": f"{service}-{n}", "consumer": f"{service}.处理 {n}", "processed_at": PROCESSED_AT}
            for n in range(3)])


def damage(engine):
    """What a restore must undo: a row changed, one added, a table dropped."""
    with engine.begin() as connection:
        connection.execute(text("UPDATE inbox SET consumer = 'changed' WHERE event_id LIKE '%-0'"))
        connection.execute(text("INSERT INTO inbox VALUES ('late', 'after the backup', '2026-11-24 00:00:00+00')"))
        connection.execute(text("DROP TABLE outbox"))


@pytest.fixture
def databases(request, new_postgres_database, migrated, tmp_path, monkeypatch):
    """Every service's database, migrated, holding data and named by ``<SERVICE>_DATABASE_URL``:
    their engines by service."""
    engines = {}
    for service in DATABASES:
        url = new_postgres_database() if request.param == "postgres" else f"sqlite:///{tmp_path / service}.db"
        monkeypatch.setenv(f"{service.upper()}_DATABASE_URL", url)
        engines[service] = make_engine(migrated(service, url))
        write_data(engines[service], service)
    yield engines
    for engine in engines.values():
        engine.dispose()


@pytest.mark.parametrize("databases", ["postgres", "sqlite"], indirect=True)
def test_each_services_database_is_restored_as_it_was_backed_up(databases, tmp_path, capsys):
    before = {service: contents(engine) for service, engine in databases.items()}
    assert all(rows["inbox"] and "outbox" in rows for rows in before.values())

    saved = backup("save", tmp_path / "backup", capsys)   # SQLite: while the engines hold their files open
    assert saved.count("saved to") == len(DATABASES)
    assert saved.splitlines()[-1].startswith("attachments: ")  # the files, after every database
    for engine in databases.values():
        damage(engine)
        engine.dispose()  # the services are stopped for a restore

    restored = backup("restore", tmp_path / "backup", capsys)
    assert restored.count("restored from") == len(DATABASES)
    assert {service: contents(engine) for service, engine in databases.items()} == before


def test_the_attachments_files_are_saved_after_the_databases_and_only_the_new_ones_copied(tmp_path, monkeypatch,
                                                                                           capsys):
    import io

    from plumbing.blobs import BlobStore
    from plumbing.backup import BLOBS

    monkeypatch.setenv("BLOB_DIR", str(tmp_path / "store"))
    store = BlobStore()
    first, second = (store.put(io.BytesIO(content), max_bytes=100) for content in (b"photo", "报告".encode()))
    assert "attachments: 2 new files copied into" in backup_of(["save", str(tmp_path / "backup"), BLOBS], capsys)
    third = store.put(io.BytesIO(b"later"), max_bytes=100)
    assert "attachments: 1 new files copied into" in backup_of(["save", str(tmp_path / "backup"), BLOBS], capsys)
    store.path(first.sha256).unlink()
    assert "attachments: 1 new files copied back from" in backup_of(["restore", str(tmp_path / "backup"), BLOBS],
                                                                    capsys)
    for ref, content in ((first, b"photo"), (second, "报告".encode()), (third, b"later")):
        with store.open(ref.sha256) as stored:
            assert stored.read() == content


def backup_of(argv, capsys):
    plumbing.backup.main(argv)
    return capsys.readouterr().out
