"""``batched_writes`` (migration 0018): one ``INSERT`` writing rows of several tables, each row
stored exactly as a direct insert of the same values stores it (both databases)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import JSON, Table, Text, cast, create_engine, delete, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from node.services.context import NodeContext
from node.store import activities as activity_store
from node.store import deliveries as delivery_store
from node.store import feed as feed_store
from node.store import search as search_store
from node.store.batched import Batch
from node.store.contexts import CONTEXTS
from node.store.migrate import downgrade, sync_url, upgrade
from node.store.schema import activities, deliveries, feed, search_docs, search_themes
from node.store.search import SearchDoc
from tests import dbs

NOW = datetime(2026, 12, 4, 21, 0, 0, 123456, tzinfo=UTC)
ITEM = "https://fryslan.test/items/1"
ANNOUNCE = "https://drenthe.test/activities/a1"
THEME = "https://drenthe.test/actors/theme-meals"


def _doc() -> SearchDoc:
    return SearchDoc(
        ap_id=ITEM, doc_type="item", kind="story", is_local=False, host="fryslan.test",
        province="PV21", legal_form=None, phase=None, status=None, latitude=53.12,
        longitude=5.78, url=ITEM, title="Glasvezel in Reduzum", text="Sinds 2004.",
        themes=["meals", "broadband"], published=NOW, terms_title="glasvezel reduzum",
        terms_summary="", terms_body="sind 2004", terms_parts="glas vezel", answered=1)


def _activity() -> tuple[dict[str, Any], None, dict[str, Any]]:
    document = {"@context": orjson.loads(CONTEXTS[1]), "id": ANNOUNCE, "type": "Announce",
                "actor": THEME, "object": ITEM, "published": "2026-12-04T21:00:00Z"}
    return document, None, {"ap_id": ANNOUNCE, "actor": THEME, "type": "Announce",
                            "object_ap_id": ITEM, "published": NOW}


def _feed(via: str = THEME) -> dict[str, Any]:
    return {"owner": "https://drenthe.test/actors/drenthe", "object_ap_id": ITEM, "via": via,
            "created_at": NOW}


def _deliveries(signer: str = THEME) -> list[dict[str, object]]:
    return delivery_store.rows(activity_ap_id=ANNOUNCE, signer=signer,
                               inboxes=[("https://groningen.test/inbox", "groningen.test")],
                               now=NOW)


TABLES = (search_docs, search_themes, activities, feed, deliveries)


async def _stored(session: AsyncSession) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables written, as stored (JSON as its text), without their ids, in
    a fixed order (a table read without ORDER BY has none: PostgreSQL gave two theme rows either
    way round)."""

    def columns(table: Table) -> list[Any]:
        return [cast(c, Text) if isinstance(c.type, JSON) or c.name == "tsv" else c
                for c in table.c if c.name not in ("id", "doc_id")]

    stored = {table.name: sorted((tuple(row) for row in (await session.execute(
        select(*columns(table)))).all()), key=repr) for table in TABLES}
    if session.bind is not None and session.bind.dialect.name == "sqlite":  # the FTS5 side
        for name, query in (("search_fts", "SELECT count(*) FROM search_fts "
                                           "WHERE search_fts MATCH 'glasvezel'"),
                            ("search_fts_facets", "SELECT facets, themes FROM search_fts_facets")):
            stored[name] = [tuple(row) for row in (await session.execute(text(query))).all()]
    return stored


async def test_each_row_is_stored_as_a_direct_insert_stores_it(ctx: NodeContext) -> None:
    async with ctx.db.transaction() as session:
        batch = Batch()
        batch.search(_doc())
        batch.add("activities", activity_store.stored_rows([_activity()]))
        batch.add("feed", [_feed()])
        batch.add("deliveries", _deliveries())
        assert len(batch) == 4
        await batch.write(session)
        assert len(batch) == 0
    async with ctx.db.sessions() as session:
        batched = await _stored(session)
    assert all(batched.values()), batched  # the index's triggers ran too
    assert batched.get("search_fts", [(1,)]) == [(1,)]
    async with ctx.db.transaction() as session:
        for table in TABLES:
            await session.execute(delete(table))
        await search_store.put(session, _doc())
        await activity_store.insert_all(session, [_activity()])
        await feed_store.add_rows(session, [_feed()])
        await delivery_store.enqueue_rows(session, _deliveries())
    async with ctx.db.sessions() as session:
        assert await _stored(session) == batched


async def test_a_feed_entry_or_delivery_already_there_is_kept(ctx: NodeContext) -> None:
    async with ctx.db.transaction() as session:
        await feed_store.add_rows(session, [_feed()])
        await delivery_store.enqueue_rows(session, _deliveries())
    async with ctx.db.sessions() as session:
        before = await _stored(session)
    async with ctx.db.transaction() as session:
        batch = Batch()
        batch.add("feed", [_feed(via="https://fryslan.test/actors/fryslan")] * 2)
        batch.add("deliveries", _deliveries(signer="https://drenthe.test/actors/drenthe"))
        await batch.write(session)
    async with ctx.db.sessions() as session:
        assert await _stored(session) == before


async def test_rows_are_written_in_order_and_an_unknown_target_fails(ctx: NodeContext) -> None:
    rows = []
    for n in range(3):
        document, _, values = _activity()
        ap_id = f"{ANNOUNCE}-{n}"
        rows.append(({**document, "id": ap_id}, None, {**values, "ap_id": ap_id}))
    async with ctx.db.transaction() as session:
        batch = Batch()
        batch.add("activities", activity_store.stored_rows(rows))
        await batch.write(session)
    async with ctx.db.sessions() as session:
        ordered = (await session.execute(
            select(activities.c.ap_id).order_by(activities.c.id))).scalars().all()
    assert ordered == [f"{ANNOUNCE}-{n}" for n in range(3)]
    with pytest.raises(DBAPIError, match="batched_writes: unknown target"):
        async with ctx.db.transaction() as session:
            await session.execute(text("INSERT INTO batched_writes (target) VALUES ('objects')"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def at_0017(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database migrated up to 0017, the revision before."""
    yield from dbs.migrated_to(request.param, "0017", tmp_path, "kk_batched")


_SCHEMA = {
    "sqlite": "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name",
    "postgresql": """
        SELECT 'relation', c.relname, c.relkind::text FROM pg_class AS c
            JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
        UNION ALL SELECT 'function', p.proname, pg_get_functiondef(p.oid) FROM pg_proc AS p
            JOIN pg_namespace AS n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
        UNION ALL SELECT 'trigger', t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger AS t
            WHERE NOT t.tgisinternal
        ORDER BY 1, 2""",
}


def _schema(url: str) -> list[tuple[Any, ...]]:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(_SCHEMA[engine.dialect.name]))]
    finally:
        engine.dispose()


def test_the_downgrade_leaves_the_schema_of_0017(at_0017: str) -> None:
    before = _schema(at_0017)
    upgrade(at_0017, "0018")
    added = [row for row in _schema(at_0017) if row not in before]
    assert {row[1] for row in added} >= {"batched_writes"}
    downgrade(at_0017, "0017")
    assert _schema(at_0017) == before
