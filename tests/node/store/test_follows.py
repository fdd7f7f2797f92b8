"""The follows store: one row per pair, answered by the Follow's id, removed by pair or activity."""

from __future__ import annotations

from node.services.context import NodeContext
from node.services.resolve import node_actor
from node.store import follows

REMOTE = "https://fryslan.test/actors/fryslan"
FOLLOW = "https://fryslan.test/activities/1"


async def test_upsert_keeps_one_row_per_pair_and_returns_it(ctx: NodeContext) -> None:
    node = (await node_actor(ctx)).ap_id
    now = ctx.now()
    async with ctx.db.transaction() as session:
        first = await follows.upsert(session, follower=REMOTE, followee=node, state="pending",
                                     activity_ap_id=FOLLOW, now=now)
        again = await follows.upsert(session, follower=REMOTE, followee=node, state="accepted",
                                     activity_ap_id=FOLLOW + "b", now=now)
        assert await follows.count(session, followee=node) == 1
    assert again.id == first.id
    assert (again.state, again.activity_ap_id) == ("accepted", FOLLOW + "b")


async def test_an_answer_finds_its_follow_by_id_or_else_by_the_embedded_pair(
        ctx: NodeContext) -> None:
    node = (await node_actor(ctx)).ap_id
    async with ctx.db.transaction() as session:
        ours = await follows.upsert(session, follower=node, followee=REMOTE, state="pending",
                                    activity_ap_id=FOLLOW, now=ctx.now())
        by_id = await follows.answered(session, follow_ap_id=FOLLOW, followee=REMOTE)
        by_pair = await follows.answered(session, follow_ap_id="https://x.test/other",
                                         followee=REMOTE, follower=node)
        unknown = await follows.answered(session, follow_ap_id="https://x.test/other",
                                         followee=REMOTE)
    assert by_id == by_pair == ours and unknown is None


async def test_a_sync_reads_the_local_followers_and_moves_their_head(ctx: NodeContext) -> None:
    node = (await node_actor(ctx)).ap_id
    now = ctx.now()
    async with ctx.db.transaction() as session:
        await follows.upsert(session, follower=node, followee=REMOTE, state="accepted",
                             activity_ap_id=FOLLOW, now=now)
        await follows.mark_synced(session, REMOTE, now=now, head="https://fryslan.test/a/9")
        await follows.mark_synced(session, REMOTE, now=now)  # an incomplete pass: head stays
        (follow,) = await follows.local_followers(session, REMOTE)
    assert (follow.follower, follow.sync_head, follow.last_synced_at) == (
        node, "https://fryslan.test/a/9", now)


async def test_undo_removes_by_pair_or_by_activity_and_says_whether_it_did(
        ctx: NodeContext) -> None:
    node = (await node_actor(ctx)).ap_id
    now = ctx.now()
    async with ctx.db.transaction() as session:
        await follows.upsert(session, follower=REMOTE, followee=node, state="accepted",
                             activity_ap_id=FOLLOW, now=now)
        assert not await follows.remove_by_activity(session, REMOTE, FOLLOW + "b")
        assert await follows.remove_by_activity(session, REMOTE, FOLLOW)
        await follows.upsert(session, follower=REMOTE, followee=node, state="accepted",
                             activity_ap_id=FOLLOW, now=now)
        assert await follows.remove_pair(session, REMOTE, node)
        assert not await follows.remove_pair(session, REMOTE, node)
