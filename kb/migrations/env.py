"""Alembic environment: migrations run on the connection the caller hands in.

``kb.db.migrate`` passes its connection through ``config.attributes``; the
``alembic`` command line is not needed (and not configured) for normal use.
"""

from alembic import context

from kb.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through kb.db.migrate(engine), which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
