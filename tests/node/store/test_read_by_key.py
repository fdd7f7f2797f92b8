"""``Database.first``: a read by key with no session (in-line on a SQLite file), always current."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import bindparam, select, update

from node.services.context import NodeContext
from node.store.db import Database
from node.store.migrate import upgrade
from node.store.schema import actors

BY_KEY = select(actors.c.handle, actors.c.version, actors.c.kind == "node").where(
    actors.c.ap_id == bindparam("ap_id"))


async def _node(ctx: NodeContext) -> str:
    async with ctx.db.sessions() as session:
        return str((await session.execute(select(actors.c.ap_id).where(
            actors.c.kind == "node"))).scalar_one())


async def test_a_read_by_key_gives_the_row_and_sees_every_commit(ctx: NodeContext) -> None:
    node = await _node(ctx)
    row = await ctx.db.first(BY_KEY, {"ap_id": node})
    assert row is not None and isinstance(row[0], str) and row[1] >= 1 and bool(row[2]) is True
    for n in (2, 3):  # a commit between two reads is seen by the second
        async with ctx.db.transaction() as session:
            await session.execute(update(actors).where(actors.c.ap_id == node).values(version=n))
        row = await ctx.db.first(BY_KEY, {"ap_id": node})
        assert row is not None and row[1] == n
    assert await ctx.db.first(BY_KEY, {"ap_id": "https://nowhere.test/x"}) is None
    if ctx.db.is_sqlite:  # in-line, on a connection of its own
        assert ctx.db._inline is not None and ctx.db._inline.usable


async def test_a_busy_file_falls_back_to_the_engine(ctx: NodeContext,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    if not ctx.db.is_sqlite:
        pytest.skip("in-line reads are SQLite's")
    node = await _node(ctx)
    expected = await ctx.db.first(BY_KEY, {"ap_id": node})
    assert ctx.db._inline is not None

    def busy(*_: Any, **__: Any) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(ctx.db._inline, "first", busy)
    assert await ctx.db.first(BY_KEY, {"ap_id": node}) == expected


async def test_an_in_memory_database_reads_through_the_engine() -> None:
    db = Database.connect("sqlite+aiosqlite://")
    try:
        assert await db.first(select(bindparam("x")), {"x": 1}) == (1,)
        assert db._inline is not None and not db._inline.usable
    finally:
        await db.dispose()


async def test_dispose_closes_the_in_line_connection(tmp_path: Any) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'n.db'}"
    upgrade(url)
    db = Database.connect(url)
    assert await db.first(BY_KEY, {"ap_id": "x"}) is None
    inline = db._inline
    assert inline is not None and inline.usable
    await db.dispose()
    assert not inline.usable and db._inline is None


async def test_a_kept_row_is_given_until_anyone_commits(ctx: NodeContext,
                                                       database_url: str) -> None:
    node = await _node(ctx)
    first = await ctx.db.first(BY_KEY, {"ap_id": node}, memo=True)
    assert first is not None
    if ctx.db.is_sqlite:
        assert ctx.db._inline is not None and ctx.db._inline.conn is not None
        sent: list[str] = []
        ctx.db._inline.conn.set_trace_callback(sent.append)
        # With nothing committed, the row is given again and the statement does not run
        assert await ctx.db.first(BY_KEY, {"ap_id": node}, memo=True) == first
        assert sent == ["PRAGMA data_version"]
    # A commit through this engine, another engine or another process is seen at the next read
    other = Database.connect(database_url)
    try:
        for n, db in ((first[1] + 1, ctx.db), (first[1] + 2, other)):
            async with db.transaction() as session:
                await session.execute(update(actors).where(actors.c.ap_id == node)
                                      .values(version=n))
            row = await ctx.db.first(BY_KEY, {"ap_id": node}, memo=True)
            assert row is not None and row[1] == n
    finally:
        await other.dispose()
    if ctx.db.is_sqlite:
        script = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("
                  "'UPDATE actors SET version = 99 WHERE ap_id = ?', (sys.argv[2],)); c.commit()")
        subprocess.run([sys.executable, "-c", script, str(ctx.db.engine.url.database), node],
                       check=True)
        row = await ctx.db.first(BY_KEY, {"ap_id": node}, memo=True)
        assert row is not None and row[1] == 99
