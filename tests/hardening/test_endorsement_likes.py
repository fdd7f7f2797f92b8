"""Likes of a local bottleneck as real servers send them (docs/bottlenecks.md).

A Mastodon favourite (``Like`` with a fragment id ``#likes/N``, withdrawn by an ``Undo`` that
embeds it) counts as support, not as an endorsement; a Like from a Kennisknoop initiative (an
``Organization`` with ``kind: initiative``) is an endorsement with its province. Duplicates and
replays count once, and nobody withdraws someone else's Like.
"""

from __future__ import annotations

from typing import Any

import pytest

from node.services.inputs import item_input
from node.services.items import create_item
from node.services.permissions import SYSTEM
from node.store import endorsements as endorsement_store
from node.store.endorsements import Tally
from tests.hardening.conftest import AS, World


@pytest.fixture
async def bottleneck(world: World) -> str:
    item = await create_item(world.ctx, item_input(
        kind="bottleneck", title="Windmolenregels", content="Clustering."), SYSTEM)
    return item.ap_id


def _like(world: World, bottleneck: str, n: int = 1, **extra: Any) -> dict[str, Any]:
    """Mastodon's shape: the account's IRI with ``#likes/<id>``, the object by IRI."""
    return {"@context": AS, "id": f"{world.mallory.ap_id}#likes/{n}", "type": "Like",
            "actor": world.mallory.ap_id, "object": bottleneck, **extra}


def _undo(world: World, like: dict[str, Any]) -> dict[str, Any]:
    embedded = {k: v for k, v in like.items() if k != "@context"}
    return {"@context": AS, "id": f"{like['id']}/undo", "type": "Undo",
            "actor": like["actor"], "object": embedded}


async def _tally(world: World, bottleneck: str) -> Tally:
    async with world.ctx.db.sessions() as session:
        return await endorsement_store.tally(session, bottleneck)


async def _published(world: World, bottleneck: str) -> dict[str, Any]:
    stored = await world.stored(bottleneck)
    assert stored is not None
    tally: dict[str, Any] = stored.document["endorsements"]
    return tally


async def test_a_mastodon_favourite_counts_as_support_once(world: World,
                                                           bottleneck: str) -> None:
    # Given a Mastodon account's favourite of the bottleneck, sent three times, and another
    like = _like(world, bottleneck)
    wire = world.sign(like)
    for _ in range(3):
        assert (await world.send(wire)).status == 202
    assert (await world.post(_like(world, bottleneck, 2))).status == 202
    await world.work()
    # Then it is support, counted once, and published on the bottleneck as such
    assert await _tally(world, bottleneck) == Tally(count=0, provinces=(), support=1)
    assert await _published(world, bottleneck) == {"count": 0, "provinces": [], "support": 1}


async def test_a_mastodon_undo_withdraws_the_support(world: World, bottleneck: str) -> None:
    like = _like(world, bottleneck)
    await world.post(like)
    await world.work()
    undo = _undo(world, like)
    for _ in range(2):
        assert (await world.post(undo)).status == 202
    # the Like replayed after its Undo
    assert (await world.post(like)).status == 202
    await world.work()
    assert await _tally(world, bottleneck) == Tally()
    assert await _published(world, bottleneck) == {"count": 0, "provinces": [], "support": 0}


async def test_an_undo_of_someone_elses_like_changes_nothing(world: World,
                                                             bottleneck: str) -> None:
    like = _like(world, bottleneck)
    await world.post(like)
    await world.work()
    # When Alice sends an Undo embedding Mallory's Like: refused at the door
    forged = {**_undo(world, like), "id": f"{world.alice.ap_id}#undo/1",
              "actor": world.alice.ap_id}
    sent = await world.post(forged, signer=world.alice)
    assert (sent.status, sent.error) == (403, "not_author")
    # and when she names it by IRI only: accepted, applied, and it withdraws nothing of his
    by_iri = {"@context": AS, "id": f"{world.alice.ap_id}#undo/2", "type": "Undo",
              "actor": world.alice.ap_id, "object": like["id"]}
    assert (await world.post(by_iri, signer=world.alice)).status == 202
    await world.work()
    assert await _tally(world, bottleneck) == Tally(support=1)


async def test_a_like_from_a_kennisknoop_initiative_is_an_endorsement(
        world: World, bottleneck: str) -> None:
    # Given Mallory's actor is an initiative in Fryslân (kk:kind, an Organization)
    world.evil.serve(world.mallory.ap_id, world.mallory.document(
        type="Organization", kind="initiative", provinceCode="PV21"))
    await world.post(_like(world, bottleneck, content="<p>Wij lopen hier <b>ook</b> "
                                                      "tegenaan</p>"))
    await world.work()
    assert await _tally(world, bottleneck) == Tally(count=1, provinces=("PV21",))
    async with world.ctx.db.sessions() as session:
        [row] = await endorsement_store.active(session, bottleneck)
    assert (row.kind, row.note) == ("endorsement", "Wij lopen hier ook tegenaan")


async def test_a_like_of_anything_else_is_still_ignored(world: World) -> None:
    story = await create_item(world.ctx, item_input(
        kind="story", title="Verhaal", content="Tekst."), SYSTEM)
    assert (await world.post(_like(world, story.ap_id))).status == 202
    assert await world.inbox_state(_like(world, story.ap_id)["id"]) is None
    await world.work()
    assert await _tally(world, story.ap_id) == Tally()
