"""Keyset paging (``plumbing.paging``) on SQLite and PostgreSQL: a walk by cursors meets every row
once in the list's order, whatever keys are equal or NULL; a cursor is good only for its own query."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Float, String, create_engine, func
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from plumbing.db import TYPE_ANNOTATIONS, UTCDateTime, make_engine
from plumbing.errors import InvalidInput
from plumbing.paging import fetch_page, make_cursor, read_cursor

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = TYPE_ANNOTATIONS


class Row(Base):
    __tablename__ = "paged_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    group: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    score: Mapped[float | None] = mapped_column(Float)


ROWS = [Row(id=n, group="ab"[n % 2], at=START + timedelta(hours=n % 4), score=None if n % 5 == 0 else n % 3)
        for n in range(1, 48)]


@pytest.fixture(params=["sqlite", "postgres"])
def session(request, tmp_path):
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'paging.db'}")
    else:
        engine = make_engine(request.getfixturevalue("postgres_url"))
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([Row(id=row.id, group=row.group, at=row.at, score=row.score) for row in ROWS])
        session.commit()
        yield session
    engine.dispose()


def walk(session, order_by, per_page=5, conditions=(), **criteria):
    """Every page from the first by cursors: the ids in order, and the pages."""
    query = {"page": 1, "per_page": per_page, **criteria}
    pages = [fetch_page(session, Row, query, order_by, conditions)]
    while pages[-1]["next_cursor"]:
        assert len(pages) < 100
        pages.append(fetch_page(session, Row, dict(query, cursor=pages[-1]["next_cursor"]), order_by, conditions))
    return [row.id for page in pages for row in page["items"]], pages


def expected(rows, key):
    return [row.id for row in sorted(rows, key=key)]


def test_a_walk_by_cursors_meets_every_row_once_in_order_and_ends_with_no_cursor(session):
    ids, pages = walk(session, [Row.id.desc()])
    assert ids == list(range(47, 0, -1))
    assert [page["page"] for page in pages] == list(range(1, 11))
    assert [len(page["items"]) for page in pages] == [5] * 9 + [2]
    assert pages[-1]["next_cursor"] is None
    assert {(page["total"], page["total_exact"]) for page in pages} == {(47, True)}


def test_equal_sort_keys_keep_a_stable_order_by_the_primary_key_in_either_direction(session):
    ids, _ = walk(session, [Row.at.desc(), Row.id], per_page=4)
    assert ids == expected(ROWS, lambda row: (-row.at.timestamp(), row.id))
    ids, _ = walk(session, [Row.group, Row.at, Row.id], per_page=3, conditions=[Row.id > 10])
    assert ids == expected([row for row in ROWS if row.id > 10], lambda row: (row.group, row.at, row.id))


def test_null_sort_keys_come_where_the_database_puts_them_and_nothing_repeats_or_goes_missing(session):
    nulls_high = session.get_bind().dialect.name == "postgresql"  # NULL sorts above every value there
    for descending in (False, True):
        order = [Row.score.desc() if descending else Row.score, Row.id.desc()]
        ids, _ = walk(session, order, per_page=4)

        def key(row):
            rank = (row.score is None) == nulls_high, row.score or 0
            return (tuple(-part for part in rank) if descending else rank), -row.id
        assert ids == expected(ROWS, key)


def test_filters_count_and_the_cursor_belongs_to_its_query(session):
    ids, pages = walk(session, [Row.id.desc()], group="a")
    assert ids == [n for n in range(47, 0, -1) if n % 2 == 0]
    with pytest.raises(InvalidInput) as refused:  # the same cursor with another filter
        fetch_page(session, Row, {"page": 1, "per_page": 5, "group": "b", "cursor": pages[0]["next_cursor"]},
                   [Row.id.desc()])
    assert "cursor" in refused.value.details
    with pytest.raises(InvalidInput):  # or another order
        fetch_page(session, Row, {"page": 1, "per_page": 5, "group": "a", "cursor": pages[0]["next_cursor"]},
                   [Row.id])
    with pytest.raises(InvalidInput):  # or with a page number
        fetch_page(session, Row, {"page": 3, "per_page": 5, "group": "a", "cursor": pages[0]["next_cursor"]},
                   [Row.id.desc()])
    # the query a handler turned into conditions counts too
    asked = {"page": 1, "per_page": 5, "group": "a", "above": 3}
    first = fetch_page(session, Row, {"page": 1, "per_page": 5}, [Row.id.desc()], [Row.id > 3], query=asked)
    with pytest.raises(InvalidInput):
        fetch_page(session, Row, {"page": 1, "per_page": 5, "cursor": first["next_cursor"]}, [Row.id.desc()],
                   [Row.id > 4], query=dict(asked, above=4))


@pytest.mark.parametrize("tampered", [
    "not-base64!", "e30", "W10", "WyJ4IiwyLFs1XV0",  # {}, [], a hash of nothing
    lambda cursor: cursor[:-2], lambda cursor: cursor + "AAAA"])
def test_a_tampered_cursor_is_refused_naming_the_cursor(session, tampered):
    first = fetch_page(session, Row, {"page": 1, "per_page": 5}, [Row.id.desc()])
    cursor = tampered(first["next_cursor"]) if callable(tampered) else tampered
    with pytest.raises(InvalidInput) as refused:
        fetch_page(session, Row, {"page": 1, "per_page": 5, "cursor": cursor}, [Row.id.desc()])
    assert list(refused.value.details) == ["cursor"]


def test_a_cursor_reads_back_as_made_and_one_for_another_number_of_keys_is_refused():
    """A cursor is not signed: one edited by hand with the right hash pages from the row it names,
    which the caller may read anyway (the filters still apply)."""
    cursor = make_cursor("abc", 2, [START, 5])
    assert read_cursor(cursor, "abc", [None, None]) == (2, [START, 5])
    with pytest.raises(InvalidInput):
        read_cursor(cursor, "abc", [None])


def test_the_total_is_exact_up_to_the_cap_then_says_more(session, monkeypatch):
    monkeypatch.setenv("PAGE_TOTAL_CAP", "10")
    page = fetch_page(session, Row, {"page": 1, "per_page": 5}, [Row.id.desc()])
    assert (page["total"], page["total_exact"]) == (10, False)
    page = fetch_page(session, Row, {"page": 1, "per_page": 5}, [Row.id.desc()], [Row.id <= 10])
    assert (page["total"], page["total_exact"]) == (10, True)
    ids, _ = walk(session, [Row.id.desc()], per_page=20)  # the cap limits the count, not the list
    assert len(ids) == 47


def test_offset_pages_still_work_and_give_a_cursor_on_from_there(session):
    third = fetch_page(session, Row, {"page": 3, "per_page": 5}, [Row.id.desc()])
    assert [row.id for row in third["items"]] == [37, 36, 35, 34, 33]
    fourth = fetch_page(session, Row, {"page": 1, "per_page": 5, "cursor": third["next_cursor"]}, [Row.id.desc()])
    assert [row.id for row in fourth["items"]] == [32, 31, 30, 29, 28] and fourth["page"] == 4
    beyond = fetch_page(session, Row, {"page": 30, "per_page": 5}, [Row.id.desc()])
    assert beyond["items"] == [] and beyond["next_cursor"] is None


def test_an_order_that_does_not_end_in_the_primary_key_is_a_programming_error(session):
    with pytest.raises(ValueError):
        fetch_page(session, Row, {"page": 1, "per_page": 5}, [Row.at.desc()])


def test_an_order_by_an_expression_pages_by_offset_behind_the_same_cursor(session):
    # a search's relevance is a score, not a column: its cursor carries the page number only
    distance = func.abs(Row.id - 20)
    ids, pages = walk(session, [distance.asc(), Row.id.desc()], per_page=7)
    assert ids == expected(ROWS, lambda row: (abs(row.id - 20), -row.id))
    assert [page["page"] for page in pages] == list(range(1, 8))
    other = {"page": 1, "per_page": 7, "cursor": pages[0]["next_cursor"], "group": "a"}
    with pytest.raises(InvalidInput):
        fetch_page(session, Row, other, [distance.asc(), Row.id.desc()])
