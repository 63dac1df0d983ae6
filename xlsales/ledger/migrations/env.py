"""Alembic's environment for the ledger: always run on the connection xlsales hands over
(``config.attributes["connection"]``), never from an ini file."""

from __future__ import annotations

from alembic import context

from xlsales.ledger.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
