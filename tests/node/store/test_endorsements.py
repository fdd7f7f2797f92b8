"""The endorsements store: one per (bottleneck, actor), replays and early Undos count once."""

from __future__ import annotations

from datetime import timedelta

from node.services.context import NodeContext
from node.store import endorsements as store
from node.store import objects as object_store
from node.store.endorsements import Tally
from tests.clock import Clock

ITEM = "https://drenthe.test/items/knelpunt"
A = "https://fryslan.test/actors/doarpshus"
B = "https://overijssel.test/actors/hoonhorst"
M = "https://mastodon.test/users/anna"


async def _like(ctx: NodeContext, actor: str, n: int, *, kind: str = store.ENDORSEMENT,
                province: str | None = "PV21", note: str | None = None) -> str:
    async with ctx.db.transaction() as session:
        return await store.like(session, object_ap_id=ITEM, actor=actor, kind=kind,
                                activity_ap_id=f"{actor}/likes/{n}", note=note,
                                province_code=province, now=ctx.now())


async def _withdraw(ctx: NodeContext, actor: str, n: int | None, *,
                    object_ap_id: str | None = ITEM) -> bool:
    async with ctx.db.transaction() as session:
        return await store.withdraw(
            session, actor=actor, object_ap_id=object_ap_id,
            activity_ap_id=f"{actor}/likes/{n}" if n is not None else None, now=ctx.now())


async def _tally(ctx: NodeContext) -> Tally:
    async with ctx.db.sessions() as session:
        return await store.tally(session, ITEM)


async def test_an_initiative_counts_once_however_often_it_likes(ctx: NodeContext) -> None:
    assert await _like(ctx, A, 1) == "added"
    assert await _like(ctx, A, 1) == "unchanged"
    assert await _like(ctx, A, 2, note="Ook bij ons") == "updated"
    assert await _like(ctx, B, 1, province="PV23") == "added"
    assert await _like(ctx, M, 1, kind=store.SUPPORT, province=None) == "added"
    assert await _tally(ctx) == Tally(count=2, provinces=("PV21", "PV23"), support=1)
    async with ctx.db.sessions() as session:
        row = await store.get(session, ITEM, A)
    assert row is not None and (row.note, row.activity_ap_id) == ("Ook bij ons", f"{A}/likes/2")


async def test_a_withdrawn_like_replayed_does_not_count_again(ctx: NodeContext) -> None:
    await _like(ctx, A, 1)
    assert await _withdraw(ctx, A, 1)
    assert not await _withdraw(ctx, A, 1)  # the Undo again
    assert await _like(ctx, A, 1) == "replayed"
    assert await _tally(ctx) == Tally()
    # A new Like endorses again
    assert await _like(ctx, A, 2) == "added"
    assert (await _tally(ctx)).count == 1


async def test_an_undo_before_its_like_keeps_the_like_out(ctx: NodeContext) -> None:
    assert not await _withdraw(ctx, A, 1)
    assert await _like(ctx, A, 1) == "replayed"
    assert await _tally(ctx) == Tally()


async def test_an_old_undo_does_not_withdraw_a_newer_like(ctx: NodeContext) -> None:
    await _like(ctx, A, 1)
    await _withdraw(ctx, A, 1)
    await _like(ctx, A, 2)
    assert not await _withdraw(ctx, A, 1)
    assert (await _tally(ctx)).count == 1
    assert await _withdraw(ctx, A, 2, object_ap_id=None)  # an Undo naming its Like by IRI
    assert (await _tally(ctx)).count == 0


async def test_another_actor_cannot_withdraw(ctx: NodeContext) -> None:
    await _like(ctx, A, 1)
    async with ctx.db.transaction() as session:
        assert not await store.withdraw(session, actor=B, object_ap_id=None,
                                        activity_ap_id=f"{A}/likes/1", now=ctx.now())
    assert (await _tally(ctx)).count == 1


async def test_received_lists_who_endorsed_which_bottleneck_newest_first(
        ctx: NodeContext, clock: Clock) -> None:
    author = "https://drenthe.test/actors/bokd"
    now = ctx.now()
    async with ctx.db.transaction() as session:
        await object_store.insert(
            session, ap_id=ITEM, is_local=True, host="drenthe.test", kind="bottleneck",
            type="Article", attributed_to=author, title="Vennootschapsbelasting", version=1,
            published=now, updated=now, received_at=now, document={}, themes=[], fields={})
    await _like(ctx, A, 1)
    clock.advance(60)
    await _like(ctx, B, 1, note="Wij ook")
    await _like(ctx, M, 1, kind=store.SUPPORT)
    async with ctx.db.sessions() as session:
        found = await store.received(session, authors=[author])
        later = await store.received(session, authors=[author], since=now + timedelta(seconds=1))
        nobody = await store.received(session, authors=["https://drenthe.test/actors/x"])
    assert [(r.endorsement.actor, r.bottleneck_title) for r in found] == [
        (B, "Vennootschapsbelasting"), (A, "Vennootschapsbelasting")]
    assert [r.endorsement.note for r in later] == ["Wij ook"]
    assert nobody == []
