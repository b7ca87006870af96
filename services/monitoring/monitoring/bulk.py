"""Writes of many rows in one statement, on SQLite and PostgreSQL."""
import json
from datetime import datetime

from sqlalchemy import JSON, Text, bindparam, cast, column, func, update

from plumbing.db import is_postgres


def update_by_id(session, table, rows):
    """UPDATE ``table`` SET each row's other columns WHERE id = its ``id``
    (every row has the same keys; datetimes aware, in UTC)."""
    if not rows:
        return
    names = [name for name in rows[0] if name != "id"]
    if is_postgres(session):
        # psycopg2 sends an executemany as one statement per row: the rows go as one JSON document instead
        given = func.json_to_recordset(cast(bindparam("rows", type_=Text), JSON)).table_valued(
            *(column(name, table.c[name].type) for name in ["id", *names])).render_derived("given", with_types=True)
        session.execute(update(table).where(table.c.id == given.c.id).values({name: given.c[name] for name in names}),
                        {"rows": json.dumps(rows, default=datetime.isoformat)})
    else:  # an executemany runs in process
        session.execute(update(table).where(table.c.id == bindparam("row_id")),
                        [dict({name: row[name] for name in names}, row_id=row["id"]) for row in rows])
