"""``INSERT … ON CONFLICT DO NOTHING`` for both dialects, returning how many rows went in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_ignore(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]],
                        conflict: Sequence[str]) -> int:
    """Insert ``rows``, silently skipping those that clash on the ``conflict`` columns."""
    if not rows:
        return 0
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    module: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(table).values(list(rows)).on_conflict_do_nothing(
        index_elements=list(conflict))
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)
