"""Alembic environment of the history store: migrations run on the connection `HistoryStore.open` hands over.

There is no ``alembic.ini``: `tidegate.store.history.migrate` builds the `Config` in code, sets
``script_location`` to this directory and passes its open connection as ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
