"""``insert_ignore``: one prebuilt statement per dialect, table and conflict columns, and the
number of rows inserted (callers such as ``insert_tombstone`` and ``flags.add`` depend on it)."""

from __future__ import annotations

from sqlalchemy import select

from node.services.context import NodeContext
from node.store import _upsert
from node.store.schema import blocks


async def test_one_statement_serves_every_call_and_counts_what_it_inserted(
        ctx: NodeContext) -> None:
    now = ctx.now()
    _upsert._IGNORING.clear()
    async with ctx.db.transaction() as session:
        one = await _upsert.insert_ignore(session, blocks, [
            {"host": "a.test", "created_at": now, "reason": "first"}], ["host"])
        again = await _upsert.insert_ignore(session, blocks, [
            {"host": "a.test", "created_at": now, "reason": "second"}], ["host"])
        several = await _upsert.insert_ignore(session, blocks, [
            {"host": "a.test", "created_at": now, "reason": "third"},
            {"host": "b.test", "created_at": now, "reason": "b"},
            {"host": "c.test", "created_at": now, "reason": "c"}], ["host"])
        none = await _upsert.insert_ignore(session, blocks, [], ["host"])
        rows = (await session.execute(
            select(blocks.c.host, blocks.c.reason).order_by(blocks.c.host))).all()
    # On PostgreSQL the counts were -1 before (psycopg's closed cursor, no preserve_rowcount).
    assert (one, again, several, none) == (1, 0, 2, 0)
    assert [tuple(r) for r in rows] == [("a.test", "first"), ("b.test", "b"), ("c.test", "c")]
    assert len(_upsert._IGNORING) == 1
