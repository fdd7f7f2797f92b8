"""Backfill stores runs of new, verified objects together (issue 13): a follower that backfills
in batches ends with exactly what a follower applying one activity at a time holds — objects,
search entries and facets, feed entries, received activities, relaying Announces — with far
fewer statements. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from node.services import sync
from node.services.actors import create_initiative
from node.services.context import NodeContext
from node.services.follow import follow
from node.services.inputs import InitiativeInput, item_input
from node.services.items import create_item
from node.services.permissions import SYSTEM
from node.store.schema import activities, feed, inbox, objects, search_docs
from tests.federation.harness import Federation, Node, federation
from tests.federation.test_sync import Database, database  # noqa: F401 (the fixture)


async def _history(origin: Node, count: int) -> None:
    """Stories by the node and by an initiative (the node announces those), with themes and a
    place, and a question with an answer from the initiative."""
    await create_initiative(origin.ctx, InitiativeInput(handle="dorpshuis-eext",
                                                        name="Dorpshuis Eext"), SYSTEM)
    question = await create_item(origin.ctx, item_input(
        kind="question", title="Wie heeft ervaring met een zonnedak?", content="Graag tips.",
        themes=("energy-generation",)), SYSTEM)
    await create_item(origin.ctx, item_input(
        kind="answer", title="Wij", content="Begin klein.", initiative="dorpshuis-eext",
        in_reply_to=question.ap_id), SYSTEM)
    for n in range(count):
        await create_item(origin.ctx, item_input(
            kind="story", title=f"Verhaal {n}", content=f"Over de molen, deel {n}.",
            themes=(("energy-generation",), ("meals", "village-hall"))[n % 2],
            initiative="dorpshuis-eext" if n % 3 else None), SYSTEM)


async def _rows(ctx: NodeContext, query: Any) -> list[tuple[Any, ...]]:
    async with ctx.db.sessions() as session:
        return [tuple(r) for r in (await session.execute(query)).all()]


async def _footprint(node: Node, origin: str) -> dict[str, Any]:
    """What a backfill left on ``node``, without what is the node's own (ids, its actors, its
    Follow and the Accept it received)."""
    ctx, o = node.ctx, objects.c
    received = o.host == origin
    own = ctx.urls.host
    return {
        "objects": sorted(await _rows(ctx, select(
            o.ap_id, o.kind, o.version, o.title, o.content_html, o.themes, o.province_code,
            o.in_reply_to, o.attributed_to).where(received))),
        "search": sorted(await _rows(ctx, select(
            search_docs.c.ap_id, search_docs.c.kind, search_docs.c.answered,
            search_docs.c.province, search_docs.c.themes, search_docs.c.title).where(
            search_docs.c.host == origin))),
        "feed": sorted((obj, via) for _, obj, via in await _rows(ctx, select(
            feed.c.owner, feed.c.object_ap_id, feed.c.via))),
        "inbox": sorted(await _rows(ctx, select(inbox.c.activity_ap_id, inbox.c.type,
                                                inbox.c.state).where(inbox.c.type != "Accept"))),
        "relayed": Counter((obj, actor.replace(own, "")) for obj, actor in await _rows(
            ctx, select(activities.c.object_ap_id, activities.c.actor).where(
                activities.c.type == "Announce"))),
    }


class _Statements:
    def __init__(self, ctx: NodeContext) -> None:
        self.count = 0
        event.listen(ctx.db.engine.sync_engine, "before_cursor_execute", self._hit)

    def _hit(self, *_: Any) -> None:
        self.count += 1


async def _follow(fed: Federation, follower: str, followee: str) -> int:
    """Statements ``follower`` sent while following and backfilling ``followee``."""
    statements = _Statements(fed[follower].ctx)
    await follow(fed[follower].ctx, fed[followee].ctx.urls.actor(followee))
    await fed.settle()
    return statements.count


async def test_a_batched_backfill_holds_what_one_at_a_time_holds(
        tmp_path: Path, database: Database,  # noqa: F811 (the imported fixture)
        monkeypatch: pytest.MonkeyPatch) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan", "lvkk"], database=database) as fed:
        drenthe, fryslan, lvkk = fed["drenthe"], fed["fryslan"], fed["lvkk"]
        await _history(drenthe, 2 * drenthe.ctx.settings.limits.page_size + 5)
        # Given LVKK applying every outbox activity one at a time (as before batches)
        real = sync._verified_new

        async def one_at_a_time(ctx: NodeContext, *args: Any) -> Any:
            return None if ctx is lvkk.ctx else await real(ctx, *args)

        monkeypatch.setattr(sync, "_verified_new", one_at_a_time)
        # When both follow Drenthe and backfill its outbox
        batched = await _follow(fed, "fryslan", "drenthe")
        single = await _follow(fed, "lvkk", "drenthe")
        # Then both hold the same: objects, index entries, feeds, inbox records, relays
        ours, theirs = (await _footprint(fryslan, "drenthe.test"),
                        await _footprint(lvkk, "drenthe.test"))
        assert len(ours["objects"]) == 2 * drenthe.ctx.settings.limits.page_size + 7
        assert ours == theirs
        assert {row[2] for row in ours["search"] if row[1] == "question"} == {1}
        assert ours["relayed"]  # the theme feeds relay what they received
        # With far fewer statements
        assert batched * 2 < single, (batched, single)


async def test_a_backfill_that_dies_mid_batch_is_completed_by_the_next_pass(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"]) as fed:
        drenthe, fryslan = fed["drenthe"], fed["fryslan"]
        await _history(drenthe, 2 * drenthe.ctx.settings.limits.page_size + 5)
        # Given a backfill in batches of 10 whose second batch dies before it commits
        real, calls = sync.store_new_objects, []

        async def dying(*args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            if len(calls) == 2:
                raise RuntimeError("the process died")
            return await real(*args, **kwargs)

        monkeypatch.setattr(sync, "BATCH", 10)
        monkeypatch.setattr(sync, "store_new_objects", dying)
        await follow(fryslan.ctx, drenthe.ctx.urls.actor("drenthe"))
        await fed.settle()
        held = await _rows(fryslan.ctx, select(objects.c.ap_id).where(
            objects.c.host == "drenthe.test"))
        assert 0 < len(held) < 2 * drenthe.ctx.settings.limits.page_size + 7
        # When the next pass runs
        monkeypatch.setattr(sync, "store_new_objects", real)
        fed.clock.advance(3600)
        await fed.settle()
        # Then every item is there once, indexed once, its activity recorded once
        ours = await _footprint(fryslan, "drenthe.test")
        assert len(ours["objects"]) == 2 * drenthe.ctx.settings.limits.page_size + 7
        assert len([r for r in ours["search"] if r[1] is not None]) == len(ours["objects"])
        received = [row[0] for row in ours["inbox"]]
        assert len(received) == len(set(received)) >= len(ours["objects"])
