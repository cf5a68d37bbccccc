"""Alembic environment for the event index: runs online against the connection handed in by
:func:`datagora.index.schema.open_engine` (``config.attributes["connection"]``)."""

from __future__ import annotations

from alembic import context

from datagora.index.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
