"""SQLite statements through node.store._sqlite_driver: short ones in-line on the event loop, the
rest (scans, FTS5, a write's commit, a statement that would wait for a lock) in one thread
hand-off each, with everything a cursor tells SQLAlchemy intact: rows, row counts, last row ids,
many-row inserts, errors, transactions and streamed results."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from node.store.db import Database
from tests.statements import hand_offs

__all__ = ["hand_offs"]  # the fixture, imported for pytest

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


async def test_a_statement_is_one_hand_off(db: Database, hand_offs: list[str]) -> None:
    async with db.transaction() as session:
        await session.execute(insert(things), [{"name": "a"}, {"name": "b"}])
    async with db.sessions() as session:
        await session.execute(text("SELECT 1"))  # the connection is checked out and warm
        before = len(hand_offs)
        rows = (await session.execute(select(things.c.name).order_by(things.c.id))).all()
        assert len(hand_offs) - before == 1  # SQLAlchemy's adapter: cursor, execute, fetch, close
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


async def _warm(db: Database) -> None:
    """Every statement below asked of SQLite once (its query plan), the connection open."""
    async with db.transaction() as session:
        await session.execute(insert(things), [{"name": "a"}, {"name": "b"}])
        await session.execute(select(things.c.name).where(things.c.id == 1))
        await session.execute(update(things).where(things.c.id == 2).values(name="b"))
        await session.execute(insert(things).values([{"name": "m1"}, {"name": "m2"}]))


async def test_a_write_transaction_of_keyed_statements_is_one_hand_off(
        db: Database, hand_offs: list[str]) -> None:
    await _warm(db)
    before = len(hand_offs)
    async with db.transaction() as session:
        await session.execute(insert(things).values(name="c"))
        await session.execute(insert(things).values([{"name": "m3"}, {"name": "m4"}]))
        name = (await session.execute(select(things.c.name).where(things.c.id == 1))).scalar()
        await session.execute(update(things).where(things.c.id == 2).values(name="z"))
        assert len(hand_offs) == before  # in-line on the loop: lookups by key, an insert
    assert len(hand_offs) - before == 1  # the commit (it may checkpoint the WAL)
    assert name == "a"
    async with db.sessions() as session:  # a read: no hand-off at all, not even to finish
        found = (await session.execute(select(things.c.name).where(things.c.id == 2))).scalar()
    assert found == "z" and len(hand_offs) - before == 1


async def test_scans_and_virtual_tables_go_to_the_thread(
        db: Database, hand_offs: list[str]) -> None:
    async with db.transaction() as session:
        await session.execute(text("CREATE VIRTUAL TABLE words USING fts5(w)"))
        await session.execute(insert(things), [{"name": f"n{i}"} for i in range(3)])
        await session.execute(text(
            "CREATE TRIGGER indexed AFTER INSERT ON things BEGIN "
            "INSERT INTO words(rowid, w) VALUES (new.id, new.name); END"))
        await session.execute(text("CREATE VIEW staged AS SELECT NULL AS name WHERE 0"))
        await session.execute(text(
            "CREATE TRIGGER staged_things INSTEAD OF INSERT ON staged BEGIN "
            "INSERT INTO things(name) VALUES (new.name); END"))
    before = len(hand_offs)
    async with db.transaction() as session:  # its trigger writes the FTS5 table
        await session.execute(insert(things).values(name="n3"))
    assert len(hand_offs) - before == 2  # the insert, the commit
    before = len(hand_offs)
    async with db.transaction() as session:  # its trigger writes things, whose trigger FTS5
        await session.execute(text("INSERT INTO staged (name) VALUES ('n4')"))
    assert len(hand_offs) - before == 2  # the insert, the commit
    async with db.sessions() as session:
        for statement, rows in [
                (select(things.c.id).where(things.c.name.like("n%")), 5),  # SCAN things
                (text("SELECT rowid FROM words WHERE words MATCH 'n3'"), 1)]:  # FTS5
            before = len(hand_offs)
            assert len((await session.execute(statement)).all()) == rows
            assert len(hand_offs) - before == 1, statement


async def test_a_wide_index_range_is_stopped_and_run_on_the_thread(
        db: Database, hand_offs: list[str]) -> None:
    async with db.transaction() as session:
        await session.execute(insert(things), [{"name": f"n{i}"} for i in range(20_000)])
    wide = select(things.c.name).where(things.c.id > 0)  # SEARCH ... (rowid>?): looks short
    async with db.transaction() as session:
        await session.execute(insert(things).values(name="kept"))
        for rows in (20_001, 20_001):  # first stopped in-line by its step budget, then sent at once
            before = len(hand_offs)
            assert len((await session.execute(wide)).all()) == rows
            assert len(hand_offs) - before == 1
        narrow = (await session.execute(  # the progress handler is gone again
            select(things.c.name).where(things.c.id == 7))).scalar()
    assert narrow == "n6"
    async with db.sessions() as session:  # the stopped read left the transaction as it was
        assert (await session.execute(
            select(things.c.id).where(things.c.name == "kept"))).scalar() == 20_001


async def test_a_write_waiting_for_another_connections_lock_does_not_stop_the_loop(
        db: Database, hand_offs: list[str], tmp_path: Path) -> None:
    """Another connection (the worker process, say) holds the write lock; it lets go only when
    the loop has seen the update sent to aiosqlite's thread. An in-line try that waited for the
    lock would hold the loop until the holder gave up waiting for that (30 s) and let go anyway."""
    async with db.sessions() as session:  # patience longer than the holder's: 60 s
        await session.execute(text("PRAGMA busy_timeout=60000"))
    await _warm(db)
    locked, go, by_signal = threading.Event(), threading.Event(), []

    def hold() -> None:
        holder = sqlite3.connect(tmp_path / "d.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        locked.set()
        by_signal.append(go.wait(30))
        holder.execute("COMMIT")
        holder.close()

    thread = threading.Thread(target=hold)
    thread.start()
    await asyncio.to_thread(locked.wait)
    before = len(hand_offs)

    async def write() -> None:
        async with db.transaction() as session:
            await session.execute(update(things).where(things.c.id == 1).values(name="w"))

    task = asyncio.create_task(write())
    while len(hand_offs) == before and not task.done():
        await asyncio.sleep(0.01)  # the loop runs: the in-line try did not wait
    go.set()
    await task
    await asyncio.to_thread(thread.join)
    assert by_signal == [True]  # let go because the loop went on, not after 30 s
    assert len(hand_offs) - before == 2  # the update (after its in-line try), the commit
    async with db.sessions() as session:
        assert (await session.execute(select(things.c.name).where(things.c.id == 1))).scalar() == "w"


async def test_an_in_line_statement_on_a_core_connection(db: Database,
                                                         hand_offs: list[str]) -> None:
    await _warm(db)
    async with db.engine.connect() as conn:  # AsyncConnection.execute wants one await at least
        before = len(hand_offs)
        row = (await conn.execute(select(things.c.name).where(things.c.id == 1))).first()
        assert row is not None and row[0] == "a" and len(hand_offs) == before
