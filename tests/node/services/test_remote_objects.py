"""Received objects keep their newest version, decided by one statement, also under concurrency.

The version rule (a higher ``version`` wins, else a later ``updated``) is the ``WHERE`` of the
statement that writes, so two workers applying different versions of one object at the same
time end with the higher version in either order (on PostgreSQL they really run at once; on
SQLite write transactions take turns).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest

from node.services import remote_objects
from node.services.context import NodeContext
from node.store import objects as object_store
from node.store.objects import StoredObject
from protocol.parse import parse_object
from tests.clock import Clock

AUTHOR = "https://fryslan.test/actors/doarpswurk"
AP_ID = "https://fryslan.test/items/molen"
ROUNDS = 25


def _raw(version: int | None, *, ap_id: str = AP_ID, author: str = AUTHOR,
         updated: datetime | None = None) -> dict[str, Any]:
    raw: dict[str, Any] = {"id": ap_id, "type": "Article", "attributedTo": author,
                           "name": f"Versie {version}", "content": f"<p>Versie {version}</p>",
                           "published": "2026-01-01T12:00:00Z"}
    if version is not None:
        raw["version"] = version
    if updated is not None:
        raw["updated"] = updated.isoformat().replace("+00:00", "Z")
    return raw


async def _apply(ctx: NodeContext, raw: dict[str, Any]) -> StoredObject | None:
    # One applier: its own session and transaction, as each worker task has.
    async with ctx.db.transaction() as session:
        return await remote_objects.upsert(ctx, session, parse_object(raw))


async def _stored(ctx: NodeContext, ap_id: str = AP_ID) -> StoredObject:
    async with ctx.db.sessions() as session:
        found = await object_store.get(session, ap_id)
    assert found is not None
    return found


async def test_two_appliers_racing_on_a_stored_object_end_with_the_higher_version(
        ctx: NodeContext) -> None:
    for n in range(ROUNDS):
        # Given version 1 of an object is stored
        ap_id = f"{AP_ID}-{n}"
        await _apply(ctx, _raw(1, ap_id=ap_id))
        # When versions 2 and 3 are applied at the same time (both orders, alternately)
        pair = [_raw(3, ap_id=ap_id), _raw(2, ap_id=ap_id)]
        await asyncio.gather(*(_apply(ctx, raw) for raw in pair[:: 1 if n % 2 else -1]))
        # Then version 3 is what is stored, every time
        stored = await _stored(ctx, ap_id)
        assert (stored.version, stored.title) == (3, "Versie 3"), f"round {n}"


async def test_two_appliers_racing_on_a_new_object_end_with_the_higher_version(
        ctx: NodeContext) -> None:
    for n in range(ROUNDS):
        ap_id = f"{AP_ID}-new-{n}"
        pair = [_raw(2, ap_id=ap_id), _raw(1, ap_id=ap_id)]
        results = await asyncio.gather(*(_apply(ctx, raw) for raw in pair[:: 1 if n % 2 else -1]))
        assert (await _stored(ctx, ap_id)).version == 2, f"round {n}"
        assert any(result is not None for result in results)


async def test_an_older_or_equal_version_changes_nothing(ctx: NodeContext) -> None:
    await _apply(ctx, _raw(3))
    assert await _apply(ctx, _raw(2)) is None
    assert await _apply(ctx, _raw(3)) is None
    assert (await _stored(ctx)).title == "Versie 3"


async def test_without_versions_the_later_updated_wins(ctx: NodeContext, clock: Clock) -> None:
    first = clock.now
    await _apply(ctx, _raw(None, updated=first + timedelta(minutes=5)))
    assert await _apply(ctx, _raw(None, updated=first + timedelta(minutes=1))) is None
    assert await _apply(ctx, _raw(None, updated=first + timedelta(minutes=9))) is not None
    assert (await _stored(ctx)).updated == first + timedelta(minutes=9)


async def test_an_update_by_another_author_is_not_applied(ctx: NodeContext) -> None:
    await _apply(ctx, _raw(1))
    assert await _apply(ctx, _raw(2, author="https://fryslan.test/actors/ander")) is None
    assert (await _stored(ctx)).attributed_to == AUTHOR


@pytest.mark.parametrize("first", ["delete", "update"])
async def test_a_delete_racing_an_update_leaves_a_tombstone(ctx: NodeContext, clock: Clock,
                                                            first: str) -> None:
    await _apply(ctx, _raw(1))

    async def delete() -> None:
        async with ctx.db.transaction() as session:
            await remote_objects.tombstone(ctx, session, ap_id=AP_ID, actor=AUTHOR,
                                           deleted=clock.now, version=None, document=None)

    steps = [delete(), _apply(ctx, _raw(2))]
    await asyncio.gather(*(steps if first == "delete" else steps[::-1]))
    stored = await _stored(ctx)
    assert stored.deleted and stored.version >= 2


async def test_the_upsert_statement_is_built_once_and_reused(ctx: NodeContext,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no upsert statement built yet
    monkeypatch.setattr(object_store, "_UPSERTS", {})
    # When two objects of the same shape are applied, then a newer version of one
    await _apply(ctx, _raw(1, ap_id=f"{AP_ID}-a"))
    built = dict(object_store._UPSERTS)
    await _apply(ctx, _raw(1, ap_id=f"{AP_ID}-b"))
    await _apply(ctx, _raw(2, ap_id=f"{AP_ID}-a"))
    # Then one statement served all three, the very same object each time
    assert len(built) == 1
    assert built == object_store._UPSERTS
    assert next(iter(object_store._UPSERTS.values())) is next(iter(built.values()))
    # And each stored what it was given, the newer version replacing the older
    assert ((await _stored(ctx, f"{AP_ID}-a")).title, (await _stored(ctx, f"{AP_ID}-b")).title) \
        == ("Versie 2", "Versie 1")


async def test_the_upserted_object_returned_holds_the_document_as_stored(ctx: NodeContext) -> None:
    # Given a received object with floats and non-ASCII text, stored, then replaced by a newer
    # version
    for version in (1, 2):
        raw = {**_raw(version), "latitude": 53.2, "longitude": 6.0, "name": "Mûne \U0001f602"}
        returned = await _apply(ctx, raw)
        # Then what the upsert returns (not read back) is the stored row, document included
        assert returned is not None and returned == await _stored(ctx)
        assert returned.document == raw and returned.version == version
