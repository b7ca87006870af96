"""The one alembic environment every service's migrations run in.

``plumbing.migrate`` passes the open connection and the service's metadata
in ``config.attributes``; SQLite gets batch mode so ALTERs work.
"""
from alembic import context

from plumbing.db import UTCDateTime


def render_item(kind, value, autogen_context):
    """Migrations store plain timezone-aware DateTime columns."""
    if kind == "type" and isinstance(value, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=config.attributes["target_metadata"],
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
