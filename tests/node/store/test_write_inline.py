"""``Database.write_inline`` and the inbox's in-line insert: a short write on the event loop,
on a plain ``sqlite3`` connection, or not at all (the caller then writes through a session)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select, text

from node.store import db as db_module
from node.store import inbox as inbox_store
from node.store.db import Database, json_text_of
from node.store.migrate import upgrade
from node.store.schema import inbox
from protocol.context import build_context
from tests.statements import Statements, counted_engine

NOW = datetime(2026, 12, 4, 21, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
async def db(tmp_path: Path) -> Any:
    url = f"sqlite+aiosqlite:///{tmp_path / 'n.db'}"
    upgrade(url)
    database = Database.connect(url)
    yield database
    await database.dispose()


def _row(n: int, **values: Any) -> dict[str, Any]:
    return {**inbox_store.row(
        activity_ap_id=f"https://a.test/activities/{n}", actor="https://a.test/actors/x",
        type="Create", recipient=None, now=NOW, host="a.test",
        document={"@context": "https://www.w3.org/ns/activitystreams", "n": n, "big": 2**60,
                  "text": "één \"quoted\" \\ line\n"}), **values}


async def _raw_rows(db: Database) -> list[tuple[Any, ...]]:
    async with db.engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(
            "SELECT activity_ap_id, actor, type, recipient, document, received_at, state, "
            "attempts, next_attempt_at, locked_until, last_error, host FROM inbox ORDER BY id"
        ))).all()]


async def test_the_inline_insert_stores_what_the_session_insert_stores(
        db: Database, tmp_path: Path) -> None:
    # Given the same rows written through a session on another database
    other_url = f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
    upgrade(other_url)
    other = Database.connect(other_url)
    rows = [_row(1), _row(2, recipient="https://b.test/actors/y")]
    try:
        async with other.transaction() as session:
            assert await inbox_store.add_many(session, rows) == {r["activity_ap_id"] for r in rows}
        expected = await _raw_rows(other)
    finally:
        await other.dispose()
    # When they are written in-line
    done = await db.write_inline(lambda conn: inbox_store.add_many_inline(db, conn, rows))
    # Then the stored columns are the same, byte for byte, and read back alike
    assert done == ({r["activity_ap_id"] for r in rows},)
    assert await _raw_rows(db) == expected
    async with db.sessions() as session:
        documents = (await session.execute(select(inbox.c.document).order_by(inbox.c.id))).scalars()
        assert list(documents) == [r["document"] for r in rows]


async def test_the_inline_insert_skips_ids_stored_before_and_given_twice(db: Database) -> None:
    assert await db.write_inline(
        lambda conn: inbox_store.add_many_inline(db, conn, [_row(1)])) == ({_row(1)[
            "activity_ap_id"]},)
    rows = [_row(1), _row(2), _row(2, actor="https://a.test/actors/z")]
    done = await db.write_inline(lambda conn: inbox_store.add_many_inline(db, conn, rows))
    assert done == ({_row(2)["activity_ap_id"]},)
    stored = await _raw_rows(db)
    assert [r[0] for r in stored] == [_row(1)["activity_ap_id"], _row(2)["activity_ap_id"]]
    assert stored[1][1] == "https://a.test/actors/x"  # the first of the two is kept


async def test_a_failing_inline_write_is_rolled_back(db: Database) -> None:
    def fails(conn: sqlite3.Connection) -> None:
        inbox_store.add_many_inline(db, conn, [_row(1)])
        raise RuntimeError("after the insert")

    with pytest.raises(RuntimeError):
        await db.write_inline(fails)
    assert await _raw_rows(db) == []
    assert await db.write_inline(lambda conn: inbox_store.add_many_inline(db, conn, [_row(1)]))


async def test_another_writer_makes_the_inline_write_decline(db: Database) -> None:
    # Given another connection (another process) holding the write lock
    path = db.engine.url.database
    assert path is not None
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        # Then the in-line write does not wait: it declines, writing nothing
        assert await db.write_inline(
            lambda conn: inbox_store.add_many_inline(db, conn, [_row(1)])) is None
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert await _raw_rows(db) == []


async def test_every_so_many_writes_go_through_the_engine_to_checkpoint(db: Database) -> None:
    outcomes = [await db.write_inline(lambda conn: None)
                for _ in range(2 * db_module.CHECKPOINT_EVERY)]
    declined = [i for i, done in enumerate(outcomes) if done is None]
    assert declined == [db_module.CHECKPOINT_EVERY - 1, 2 * db_module.CHECKPOINT_EVERY - 1]
    assert db._writer is not None and db._writer.conn is not None
    assert db._writer.conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)


async def test_inline_statements_and_commits_are_shown_to_the_engine(db: Database) -> None:
    with counted_engine(db) as sent:
        assert await db.write_inline(
            lambda conn: inbox_store.add_many_inline(db, conn, [_row(1), _row(2)]))
    assert isinstance(sent, Statements) and len(sent) == 1
    assert sent[0].startswith("INSERT INTO inbox") and sent.commits == 1


async def test_an_in_memory_database_declines() -> None:
    db = Database.connect("sqlite+aiosqlite://")
    try:
        assert await db.write_inline(lambda conn: 1) is None
    finally:
        await db.dispose()


async def test_a_document_given_as_the_body_it_came_in_is_stored_as_its_value_would_be(
        db: Database) -> None:
    # Given a received body that is orjson's own serialisation (a known context, a contentMap
    # repeating the content: both stored packed)
    document = {"@context": build_context(), "id": "https://a.test/activities/9",
                "content": "<p>één</p>", "contentMap": {"nl": "<p>één</p>"}}
    body = orjson.dumps(document)

    def row(n: int, stored: Any) -> dict[str, Any]:
        return {**_row(n), "document": stored}
    # When it is stored as its value, as its text in-line, and as its text through a session
    await db.write_inline(lambda conn: inbox_store.add_many_inline(db, conn, [
        row(1, document), row(2, json_text_of(body))]))
    async with db.transaction() as session:
        await inbox_store.add_many(session, [row(3, json_text_of(body))])
    # Then the three stored texts are the same (packed), and read back as the document
    texts = [r[4] for r in await _raw_rows(db)]
    assert len(texts) == 3 and texts[0].startswith(" ") and texts == [texts[0]] * 3
    async with db.sessions() as session:
        documents = (await session.execute(select(inbox.c.document).order_by(inbox.c.id))).scalars()
        assert list(documents) == [document] * 3
