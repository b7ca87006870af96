"""Paged lists read from the database, the same in every service."""
from sqlalchemy import func, select


def fetch_page(session, model, criteria, order_by, conditions=()):
    """One page of ``model`` rows that meet ``conditions`` and equal every
    remaining criterion, ordered by ``order_by``; ``criteria`` is a loaded
    PageQuerySchema whose other fields name columns."""
    criteria = dict(criteria)
    number, size = criteria.pop("page"), criteria.pop("per_page")
    filters = [getattr(model, name) == value for name, value in criteria.items()] + list(conditions)
    total = session.execute(select(func.count()).select_from(model).where(*filters)).scalar_one()
    rows = session.scalars(
        select(model).where(*filters).order_by(*order_by).offset((number - 1) * size).limit(size)).all()
    return {"items": rows, "total": total, "page": number, "per_page": size}


def contains_text(column, text):
    """Case-insensitive substring match, with LIKE's wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")
