"""plumbing.db.insert_rows: many rows, few statements, on both databases."""
import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, event, select
from sqlalchemy.orm import Session

from plumbing.db import insert_rows, upsert_insert

metadata = MetaData()
counters = Table("counters", metadata, Column("name", Integer, primary_key=True), Column("total", Integer))


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


def test_an_upsert_of_many_rows_is_one_statement_and_each_row_is_written(session):
    session.execute(counters.insert(), [{"name": 1, "total": 10}])
    add = upsert_insert(session)(counters)
    upsert = add.on_conflict_do_update(index_elements=["name"], set_={"total": counters.c.total + add.excluded.total})
    rows = [{"name": name, "total": 1} for name in range(1, 301)]

    sent = statements_sent(session, lambda: insert_rows(session, upsert, rows, counters.c.name))

    # one statement holding every row (an executemany would send the one-row statement per row)
    [statement] = sent
    assert statement.count("), (") == len(rows) - 1
    totals = dict(session.execute(select(counters.c.name, counters.c.total)).all())
    assert totals == {**{name: 1 for name in range(2, 301)}, 1: 11}
