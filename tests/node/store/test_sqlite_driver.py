"""SQLite statements in one thread hand-off each (node.store._sqlite_driver), with everything a
cursor tells SQLAlchemy intact: rows, row counts, last row ids, many-row inserts, errors,
transactions and streamed results."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiosqlite.core
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from node.store.db import Database

meta = MetaData()
things = Table("things", meta, Column("id", Integer, primary_key=True),
               Column("name", String, unique=True))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database.connect(f"sqlite:///{tmp_path / 'd.db'}")
    async with database.engine.begin() as conn:
        await conn.run_sync(meta.create_all)
    yield database
    await database.dispose()


@pytest.fixture
def hand_offs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many functions were sent to aiosqlite's thread."""
    sent = [0]
    original = aiosqlite.core.Connection._execute

    async def counting(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        sent[0] += 1
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counting)
    yield sent


async def test_a_statement_is_one_hand_off(db: Database, hand_offs: list[int]) -> None:
    async with db.transaction() as session:
        await session.execute(insert(things), [{"name": "a"}, {"name": "b"}])
    async with db.sessions() as session:
        await session.execute(text("SELECT 1"))  # the connection is checked out and warm
        before = hand_offs[0]
        rows = (await session.execute(select(things.c.name).order_by(things.c.id))).all()
        assert hand_offs[0] - before == 1  # SQLAlchemy's adapter: cursor, execute, fetch, close
    assert [r[0] for r in rows] == ["a", "b"]


async def test_counts_ids_errors_and_transactions_are_kept(db: Database) -> None:
    async with db.transaction() as session:
        result = await session.execute(insert(things).values(name="a"))
        assert result.inserted_primary_key == (1,)  # the cursor's lastrowid
        result = await session.execute(insert(things), [{"name": "b"}, {"name": "c"}])
        changed = await session.execute(update(things).where(things.c.id > 1).values(name=None))
        assert changed.rowcount == 2  # type: ignore[attr-defined]
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await session.execute(insert(things).values(name="d"))
            await session.execute(insert(things).values(name="a"))  # unique: refused
    async with db.sessions() as session:
        names = (await session.execute(select(things.c.name).order_by(things.c.id))).scalars()
        assert list(names) == ["a", None, None]  # "d" was rolled back with the failed insert
        returned = await session.execute(
            update(things).where(things.c.id == 1).values(name="z").returning(things.c.name))
        assert returned.scalar_one() == "z"
        await session.rollback()
        streamed = await session.stream(select(things.c.id).order_by(things.c.id))
        assert [row[0] async for row in streamed] == [1, 2, 3]
