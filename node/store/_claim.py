"""Picking the due rows of a work queue (inbox, deliveries, jobs) for one worker to lease.

``picked(session, column, due)`` is the WHERE clause of the leasing ``UPDATE … RETURNING``:
``column`` is one of the ids the ``due`` query selects (ordered, limited). On PostgreSQL the pick
locks its rows and skips rows other workers hold (``FOR UPDATE SKIP LOCKED``); on SQLite the
single statement runs under SQLite's one write lock.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, ColumnElement, Select
from sqlalchemy.ext.asyncio import AsyncSession


def picked(session: AsyncSession, column: Column[Any], due: Select[Any]) -> ColumnElement[bool]:
    """``column`` is among the ids ``due`` picks (locked, skipping locked rows, on PostgreSQL)."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # A MATERIALIZED CTE runs once. As ``IN (subquery)`` the planner may choose a semi join
        # that rescans the ``LIMIT … FOR UPDATE SKIP LOCKED`` subquery for every outer row; each
        # rescan skips the rows this statement already updated, so the LIMIT slides on and the
        # worker leases every due row instead of a batch.
        ids = due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        return column == ids.c[column.name]
    return column.in_(due.scalar_subquery())
