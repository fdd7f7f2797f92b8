"""``INSERT … ON CONFLICT`` for both dialects (PostgreSQL and SQLite have the same clause)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_name(session: AsyncSession) -> str:
    """The session's dialect name ("sqlite" when it has no bind)."""
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def dialect_insert_for(dialect: str, table: Table) -> Any:
    """``INSERT`` with ``dialect``'s ``ON CONFLICT`` clauses (PostgreSQL or SQLite)."""
    module: Any = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table)


def dialect_insert(session: AsyncSession, table: Table) -> Any:
    """``INSERT`` with the session's dialect's ``ON CONFLICT`` clauses."""
    return dialect_insert_for(dialect_name(session), table)


# (dialect, table, conflict columns) -> ``INSERT … ON CONFLICT (…) DO NOTHING`` without values
_IGNORING: dict[tuple[str, Table, tuple[str, ...]], Any] = {}


def _ignoring(dialect: str, table: Table, conflict: Sequence[str]) -> Any:
    """The statement built once: an immutable statement also memoises its cache key, so the
    compiled form is found without walking a freshly built statement on every call."""
    key = (dialect, table, tuple(conflict))
    stmt = _IGNORING.get(key)
    if stmt is None:
        # ``preserve_rowcount``: psycopg's cursor is closed after an INSERT without RETURNING,
        # and SQLAlchemy then reports -1 unless asked to keep the count.
        stmt = _IGNORING[key] = dialect_insert_for(dialect, table).on_conflict_do_nothing(
            index_elements=list(conflict)).execution_options(preserve_rowcount=True)
    return stmt


async def insert_ignore(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]],
                        conflict: Sequence[str]) -> int:
    """Insert ``rows``, silently skipping those that clash on the ``conflict`` columns; the
    number inserted.

    One row (most calls, e.g. on the apply path) is the prebuilt statement executed with the
    row as its parameters: the same SQL as ``.values(row)`` compiles to, one ``execute``, so
    the row count is the statement's own. Several rows stay one multi-row ``VALUES`` (one
    statement whose row count is the number inserted; an ``executemany`` would not promise
    that on every driver)."""
    if not rows:
        return 0
    stmt = _ignoring(dialect_name(session), table, conflict)
    if len(rows) == 1:
        result = await session.execute(stmt, dict(rows[0]))
    else:
        result = await session.execute(stmt.values(list(rows)))
    return int(getattr(result, "rowcount", 0) or 0)


async def insert_ignore_many(session: AsyncSession, table: Table,
                             rows: Sequence[dict[str, Any]], conflict: Sequence[str]) -> None:
    """:func:`insert_ignore` for many rows whose count nobody needs: one ``executemany`` of the
    prebuilt statement (compiled once), instead of a multi-row ``VALUES`` SQLAlchemy compiles
    anew for every call (a backfill's 500 feed entries: tens of milliseconds each time)."""
    if rows:
        await session.execute(_ignoring(dialect_name(session), table, conflict),
                              [dict(row) for row in rows])
