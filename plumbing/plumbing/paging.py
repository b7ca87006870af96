"""Paged lists read from the database, the same in every service.

A page is ``{items, total, total_exact, page, per_page, next_cursor}``:

- ``next_cursor`` (null on the last page) is opaque: the next page starts after the last row of this
  one (keyset paging), so page 500 costs what page 1 does, and rows added or removed meanwhile
  neither repeat nor skip one. It holds the last row's values of the order (which always ends in the
  primary key: a stable order even where other keys are equal) and a hash of the query; a cursor sent
  with other filters or another order, or altered, is refused (400 naming ``cursor``).
- ``total`` is exact up to a cap (``PAGE_TOTAL_CAP``, 10,000): past it the count stops,
  ``total`` is the cap and ``total_exact`` false, which a client shows as "10,000+". No list counts a
  million rows to say how many pages there are.
- An order that is not plain columns (a search's relevance score, NULLS LAST) pages by offset
  behind the same opaque cursor: such lists are short (a search ranks at most its newest 1,000
  matches), and the client walks every list the same way.
- ``page=N`` still works (offset paging, what clients before issue 21 send): its cost grows with
  ``N``, its count is capped the same way. It is deprecated for deep pages: follow ``next_cursor``.
"""
import base64
import binascii
import hashlib
import json
import os
from datetime import datetime

from sqlalchemy import and_, false, func, inspect, literal, or_, select, tuple_
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from plumbing.errors import InvalidInput

TOTAL_CAP = 10_000
NOT_PAGING = ("page", "per_page", "cursor")  # what a cursor may differ in from the query that made it


def total_cap():
    """How far a page's total is counted exactly (``PAGE_TOTAL_CAP``, default 10,000)."""
    return int(os.environ.get("PAGE_TOTAL_CAP") or TOTAL_CAP)


def fetch_page(session, model, criteria, order_by, conditions=(), query=None):
    """One page of ``model`` rows that meet ``conditions`` and equal every remaining criterion,
    ordered by ``order_by`` (which must end in the primary key); ``criteria`` is a loaded
    PageQuerySchema whose other fields name columns. ``query``: the whole query the client sent,
    as loaded (default ``criteria``), which a cursor must have been made for."""
    criteria = dict(criteria)
    number, size, cursor = criteria.pop("page"), criteria.pop("per_page"), criteria.pop("cursor", None)
    keys = order_keys(model, order_by)  # None: an order by more than columns, paged by offset
    filters = [getattr(model, name) == value for name, value in criteria.items()] + list(conditions)
    fingerprint = query_hash(model, keys or [], criteria if query is None else query)
    statement = select(model).where(*filters).order_by(*order_by).limit(size + 1)
    if cursor is not None:
        if number != 1:
            raise InvalidInput("give either cursor or page, not both", {"cursor": ["not with page"]})
        number, after = read_cursor(cursor, fingerprint, keys or [])
        statement = (statement.where(after_condition(session, keys, after)) if keys
                     else statement.offset((number - 1) * size))
    else:
        statement = statement.offset((number - 1) * size)
    rows = session.scalars(statement).all()
    more, rows = len(rows) > size, rows[:size]
    total, exact = capped_count(session, model, filters)
    next_cursor = make_cursor(fingerprint, number + 1, [key.value_of(rows[-1]) for key in keys or []]) if more else None
    return {"items": rows, "total": total, "total_exact": exact, "page": number, "per_page": size,
            "next_cursor": next_cursor}


def capped_count(session, model, filters, cap=None):
    """``(count, exact)``: the rows meeting ``filters``, counted up to ``cap`` (then ``(cap, False)``)."""
    cap = total_cap() if cap is None else cap
    limited = select(literal(1)).select_from(model).where(*filters).limit(cap + 1).subquery()
    count = session.execute(select(func.count()).select_from(limited)).scalar_one()
    return min(count, cap), count <= cap


def is_plain_column(model, expression):
    """``expression`` is a mapped column of ``model``, ascending or descending (nothing else a cursor can hold)."""
    element = expression.__clause_element__() if hasattr(expression, "__clause_element__") else expression
    if isinstance(element, UnaryExpression):
        if element.modifier not in (operators.desc_op, operators.asc_op):
            return False
        element = element.element
    return getattr(element, "table", None) is model.__table__


class OrderKey:
    """One column of a list's order: the column, its direction, and how its value is read from a row."""

    def __init__(self, model, expression):
        element = expression.__clause_element__() if hasattr(expression, "__clause_element__") else expression
        self.descending = False
        if isinstance(element, UnaryExpression):
            self.descending = element.modifier is operators.desc_op
            element = element.element
        self.column = element
        self.attribute = inspect(model).get_property_by_column(element).key
        self.nullable = bool(getattr(element, "nullable", True)) and not element.primary_key

    def value_of(self, row):
        return getattr(row, self.attribute)


def order_keys(model, order_by):
    """The order's keys for keyset paging, or None when it orders by more than plain columns."""
    if not all(is_plain_column(model, expression) for expression in order_by):
        return None
    keys = [OrderKey(model, expression) for expression in order_by]
    primary = [column.key for column in inspect(model).primary_key]
    if [key.column.key for key in keys[-len(primary):]] != primary:
        raise ValueError(f"a paged order must end in {model.__name__}'s primary key: a stable order")
    return keys


def query_hash(model, keys, query):
    """What a cursor is valid for: the list, its order and its filters (not page, size or cursor)."""
    filters = {name: value for name, value in dict(query).items() if name not in NOT_PAGING}
    text = json.dumps([model.__tablename__, [(key.column.key, key.descending) for key in keys], filters],
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def make_cursor(fingerprint, number, values):
    text = json.dumps([fingerprint, number, [encoded(value) for value in values]], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def read_cursor(cursor, fingerprint, keys):
    """``(page number, the last row's order values)`` from a cursor made for this query; else 400."""
    try:
        made_for, number, values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        values = [decoded(value) for value in values]
        valid = isinstance(number, int) and number > 1 and len(values) == len(keys)
    except (ValueError, TypeError, KeyError, binascii.Error):
        valid = False
    if not valid:
        raise InvalidInput("cursor is not one this list gave", {"cursor": ["not a cursor of this list"]})
    if made_for != fingerprint:
        raise InvalidInput("cursor was given for other filters or another order: start again without it",
                           {"cursor": ["made for another query"]})
    return number, values


def encoded(value):
    return {"t": value.isoformat()} if isinstance(value, datetime) else value


def decoded(value):
    if isinstance(value, dict):
        return datetime.fromisoformat(value["t"])
    if value is None or isinstance(value, (int, float, str)):
        return value
    raise TypeError(value)


def after_condition(session, keys, values):
    """Rows after ``values`` in the order of ``keys``. Columns that cannot be NULL compare as a row
    value when they share one direction (an index range scan); otherwise one column at a time, with
    NULLs where the database sorts them (PostgreSQL: above every value; SQLite: below)."""
    if all(not key.nullable for key in keys) and len({key.descending for key in keys}) == 1:
        if len(keys) == 1:
            columns, bound = keys[0].column, values[0]
        else:
            columns = tuple_(*(key.column for key in keys))
            bound = tuple_(*(literal(value, key.column.type) for key, value in zip(keys, values)))
        return columns < bound if keys[0].descending else columns > bound
    nulls_high = session.get_bind().dialect.name == "postgresql"
    alternatives, equal = [], []
    for key, value in zip(keys, values):
        alternatives.append(and_(*equal, beyond(key, value, nulls_high)))
        equal.append(key.column.is_(None) if value is None else key.column == value)
    return or_(*alternatives)


def beyond(key, value, nulls_high):
    """``key``'s column strictly after ``value`` in its direction."""
    upward = not key.descending  # later rows have higher values
    if value is None:
        return key.column.is_not(None) if upward != nulls_high else false()
    later = key.column > value if upward else key.column < value
    if key.nullable and upward == nulls_high:
        return or_(later, key.column.is_(None))
    return later


def contains_text(column, text):
    """Case-insensitive substring match, with LIKE's wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")
