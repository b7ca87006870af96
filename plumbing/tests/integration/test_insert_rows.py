"""plumbing.db.insert_rows, insert_integer_columns and update_by_id: many rows, one statement, on both databases."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import JSON, BigInteger, Column, Integer, MetaData, String, Table, create_engine, event, select
from sqlalchemy.orm import Session

from plumbing.db import UTCDateTime, insert_integer_columns, insert_rows, update_by_id, upsert_insert

metadata = MetaData()
counters = Table("counters", metadata, Column("name", Integer, primary_key=True), Column("total", Integer),
                 Column("seen_at", UTCDateTime()), Column("labels", JSON), Column("note", String(50)))
AT = datetime(2026, 11, 23, 8, 30, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", "postgres"])
def session(request):
    engine = create_engine(request.getfixturevalue(f"{request.param}_url"))
    metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    metadata.drop_all(engine)
    engine.dispose()


def statements_sent(session, action):
    sent = []
    event.listen(session.connection(), "before_cursor_execute", lambda *args: sent.append(args[2]))
    action()
    return sent


def stored(session):
    return {row.name: row for row in session.execute(select(counters))}


def test_an_upsert_of_many_rows_is_one_statement_and_each_row_is_written(session):
    session.execute(counters.insert(), [{"name": 1, "total": 10}])
    add = upsert_insert(session)(counters)
    upsert = add.on_conflict_do_update(index_elements=["name"], set_={"total": counters.c.total + add.excluded.total})
    rows = [{"name": name, "total": 1, "seen_at": AT + timedelta(minutes=name), "labels": {"n": [name, "x"]},
             "note": "引号 ' \" \\ ok"} for name in range(1, 301)]

    sent = statements_sent(session, lambda: insert_rows(session, upsert, rows))

    # one statement holding every row (an executemany would send the one-row statement per row)
    [statement] = sent
    if session.get_bind().dialect.name == "sqlite":
        assert statement.count("), (") == len(rows) - 1
    after = stored(session)
    assert {name: row.total for name, row in after.items()} == {**{name: 1 for name in range(2, 301)}, 1: 11}
    assert after[7].seen_at == AT + timedelta(minutes=7) and after[7].labels == {"n": [7, "x"]}
    assert after[7].note == "引号 ' \" \\ ok"


def test_insert_rows_returns_the_asked_columns_of_each_row_written_and_nothing_for_no_rows(session):
    session.execute(counters.insert(), [{"name": 2, "total": 1}])
    skip_known = upsert_insert(session)(counters).on_conflict_do_nothing()

    written = insert_rows(session, skip_known, [{"name": name, "total": 10 * name} for name in (1, 2, 3)],
                          counters.c.name, counters.c.total)

    assert sorted(map(tuple, written)) == [(1, 10), (3, 30)]
    assert insert_rows(session, skip_known, [], counters.c.name) == []


def test_update_by_id_sets_each_rows_own_values_in_one_statement(session):
    table = Table("counters_by_id", MetaData(), Column("id", Integer, primary_key=True), Column("total", Integer),
                  Column("seen_at", UTCDateTime()), Column("labels", JSON))
    table.create(session.connection())
    session.execute(table.insert(), [{"id": row_id, "total": 0, "seen_at": AT, "labels": []} for row_id in (1, 2, 3)])
    changes = [{"id": 1, "total": 5, "seen_at": AT + timedelta(hours=1), "labels": ["a"]},
               {"id": 3, "total": 7, "seen_at": AT + timedelta(hours=3), "labels": ["c", {"d": 1}]}]

    sent = statements_sent(session, lambda: update_by_id(session, table, changes))

    if session.get_bind().dialect.name == "postgresql":
        assert len(sent) == 1
    rows = {row.id: (row.total, row.seen_at, row.labels) for row in session.execute(select(table))}
    assert rows == {1: (5, AT + timedelta(hours=1), ["a"]), 2: (0, AT, []), 3: (7, AT + timedelta(hours=3), ["c", {"d": 1}])}


def test_insert_integer_columns_writes_each_row_in_one_statement(session):
    table = Table("band_keys", MetaData(), Column("key", BigInteger, primary_key=True), Column("cluster", Integer))
    table.create(session.connection())
    keys = [-2**63, 2**63 - 1, 0, *range(1, 298)]

    sent = statements_sent(session, lambda: insert_integer_columns(
        session, table, {"key": keys, "cluster": [key % 7 for key in keys]}))

    if session.get_bind().dialect.name == "postgresql":
        assert len(sent) == 1
    assert dict(session.execute(select(table.c.key, table.c.cluster)).all()) == {key: key % 7 for key in keys}
    insert_integer_columns(session, table, {"key": [], "cluster": []})  # nothing to write: no statement
    with pytest.raises((TypeError, ValueError)):  # only integers go into the array literal
        insert_integer_columns(session, table, {"key": ["1}; DROP TABLE band_keys; --"], "cluster": [1]})
