"""The inbox accept in-line on SQLite (docs/performance.md, "Inbox accept in-line"): a verified
activity from a sender seen before is checked against the backlog cap and stored on the event
loop — one statement (the count in the database is skipped while this process's figure is far
from the cap, ``PendingCounts``), nothing handed to aiosqlite's thread — and every check still
holds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from node.store import peers as peer_store
from tests.hardening.conftest import World
from tests.statements import counted, hand_offs, held_long

pytestmark = pytest.mark.usefixtures(held_long.__name__)
__all__ = ["hand_offs", "held_long"]  # fixtures, imported for pytest


async def _warm(world: World) -> None:
    """Two activities stored first: Mallory's actor is fetched and cached, her host known, and
    both are held in memory (read once after they were written)."""
    for n in ("0", "00"):
        assert (await world.post(world.activity(n=n))).status == 202


async def test_a_known_senders_activity_is_one_statement_and_no_hand_off(
        world: World, hand_offs: list[str]) -> None:
    await _warm(world)
    hand_offs.clear()
    with counted(world.ctx) as sent:
        assert (await world.post(world.activity(n="1"))).status == 202
    assert hand_offs == []
    # (the backlog was counted for the first of _warm's two: not again before RECOUNT_EVERY)
    assert len(sent) == 1, str(sent)
    assert sent[0].startswith("INSERT INTO inbox"), str(sent)
    assert sent.commits == 1
    assert await world.inbox_state(str(world.activity(n="1")["id"])) == "pending"


async def test_a_request_from_an_unavailable_peer_still_resumes_it(world: World) -> None:
    # Given Mallory's host marked unavailable, and its row held in memory as such
    await _warm(world)
    host = world.mallory.ap_id.split("/")[2]
    async with world.ctx.db.transaction() as session:
        await peer_store.set_values(session, host, unavailable_since=datetime.now(UTC),
                                    failure_days=["2026-12-01", "2026-12-02", "2026-12-03"])
    async with world.ctx.db.sessions() as session:
        await peer_store.get(session, host)
    held = peer_store.held(world.ctx.db, host)
    assert held is not None and held.unavailable_since is not None
    # When a verified activity comes from it
    assert (await world.post(world.activity(n="1"))).status == 202
    # Then the peer is available again (the in-line path declined: the peer's row needed a write)
    async with world.ctx.db.sessions() as session:
        peer = await peer_store.get(session, host)
    assert peer is not None and peer.unavailable_since is None and peer.failure_days == []


@pytest.mark.parametrize("node_overrides", [{"limits__inbox_pending_per_host": 3}])
async def test_the_backlog_cap_still_counts_in_the_database(world: World) -> None:
    await _warm(world)
    assert (await world.post(world.activity(n="1"))).status == 202
    refused = await world.post(world.activity(n="2"))
    assert refused.status == 503 and refused.json()["error"] == "inbox_backlog"
