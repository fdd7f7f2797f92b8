"""Alembic environment: migrations run on a synchronous connection (same database, sync driver).

Running migrations synchronously lets them be called from a thread inside a running event loop
(tests, ``kennisknoop serve``) without nesting loops; the application itself is async throughout.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from node.store.schema import metadata

config = context.config
target_metadata = metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=True, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata,
                          render_as_batch=True, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
