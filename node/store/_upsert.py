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


async def insert_ignore(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]],
                        conflict: Sequence[str]) -> int:
    """Insert ``rows``, silently skipping those that clash on the ``conflict`` columns."""
    if not rows:
        return 0
    stmt = dialect_insert(session, table).values(list(rows)).on_conflict_do_nothing(
        index_elements=list(conflict))
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)
