"""Backfill and anti-entropy across nodes: history on follow, repair after loss and partitions.

DESIGN.md "Federation semantics": on an accepted Follow the follower pages the followee's whole
outbox (every embedded proof must verify); a periodic anti-entropy pass repairs gaps, so a node
that was partitioned, or whose deliveries were lost or given up, converges without anyone
acting. The flow also runs on PostgreSQL (``-m postgres``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from node.services.actors import create_initiative
from node.services.follow import follow
from node.services.inputs import InitiativeInput, Patch, item_input
from node.services.items import create_item, delete_item, update_item
from node.services.permissions import SYSTEM
from node.store import activities as activity_store
from node.store.objects import StoredObject
from node.store.schema import activities, objects
from tests.federation.harness import (
    Federation,
    Node,
    delivery_rows,
    federation,
    inbox_rows,
    postgres,
    stored,
)

Database = Callable[[Path, str], str] | None
SYNC_INTERVAL = 3600  # federation.sync_interval_seconds in the harness


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Iterator[Database]:
    if request.param == "sqlite":
        yield None
        return
    with postgres() as make:
        yield make


async def _follow(fed: Federation, follower: str, followee: str) -> None:
    await follow(fed[follower].ctx, fed[followee].ctx.urls.actor(followee))
    await fed.settle()


async def _story(node: Node, title: str, initiative: str | None = None) -> StoredObject:
    return await create_item(node.ctx, item_input(kind="story", title=title, content="Tekst.",
                                                 initiative=initiative), SYSTEM)


async def _versions(node: Node, host: str) -> set[tuple[str, int, bool]]:
    """(ap_id, version, deleted) of every object ``node`` holds from ``host``."""
    async with node.ctx.db.sessions() as session:
        rows = (await session.execute(select(objects.c.ap_id, objects.c.version,
                                             objects.c.deleted_at)
                                      .where(objects.c.host == host))).all()
    return {(a, int(v), d is not None) for a, v, d in rows}


def _outbox_gets(fed: Federation, source: str, outbox: str) -> list[str]:
    return [u for s, m, u in fed.network.history if s == source and m == "GET"
            and u.startswith(outbox)]


def _flip(value: str) -> str:
    """One character of a base58 string changed (still base58)."""
    middle = len(value) // 2
    return value[:middle] + ("2" if value[middle] != "2" else "3") + value[middle + 1:]


async def _tamper_proof(node: Node, ap_id: str) -> None:
    """Corrupt the stored proof of ``ap_id`` at its origin: the item and its Create activity."""
    async with node.ctx.db.transaction() as session:
        row = (await session.execute(select(objects.c.document).where(
            objects.c.ap_id == ap_id))).scalar_one()
        document: dict[str, Any] = {**row, "proof": {**row["proof"]}}
        document["proof"]["proofValue"] = _flip(document["proof"]["proofValue"])
        await session.execute(update(objects).where(objects.c.ap_id == ap_id)
                              .values(document=document))
        for act_id in (await session.execute(select(activities.c.ap_id).where(
                activities.c.object_ap_id == ap_id))).scalars().all():
            whole = await activity_store.get(session, act_id)
            assert whole is not None
            await session.execute(update(activities).where(activities.c.ap_id == act_id).values(
                document={**whole.document, "object": document}, embeds=None, version_id=None,
                shares_context=None))


async def test_backfill_pages_the_whole_outbox_and_asks_the_origin_about_a_failing_proof(
        tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"]) as fed:
        drenthe, fryslan = fed["drenthe"], fed["fryslan"]
        page_size = drenthe.ctx.settings.limits.page_size
        # Given more than two pages of history, one item's stored proof corrupted at the origin
        items = [await _story(drenthe, f"Verhaal {n}") for n in range(2 * page_size + 5)]
        victim = items[7]
        await _tamper_proof(drenthe, victim.ap_id)
        # When Fryslân follows Drenthe
        await _follow(fed, "fryslan", "drenthe")
        # Then the backfill paged through the whole outbox
        outbox = drenthe.url + "/actors/drenthe/outbox"
        assert len([u for u in _outbox_gets(fed, "fryslan.test", outbox) if "max_id=" in u]) >= 2
        # And stored every item; the one whose proof fails only after asking its origin, whose
        # copy decides (a proof that does not verify counts as no proof)
        held = {ap_id for ap_id, _, _ in await _versions(fryslan, "drenthe.test")}
        assert held == {i.ap_id for i in items}
        object_gets = [url for source, method, url in fed.network.history
                       if source == "fryslan.test" and method == "GET" and "/items/" in url]
        assert object_gets == [victim.ap_id]


async def test_anti_entropy_reads_only_what_is_new(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"]) as fed:
        drenthe = fed["drenthe"]
        outbox = drenthe.url + "/actors/drenthe/outbox"
        for n in range(2 * drenthe.ctx.settings.limits.page_size + 5):
            await _story(drenthe, f"Verhaal {n}")
        # Given a follower that has backfilled three pages of history
        await _follow(fed, "fryslan", "drenthe")
        backfill = len(_outbox_gets(fed, "fryslan.test", outbox))
        # When the next anti-entropy pass runs
        fed.clock.advance(SYNC_INTERVAL)
        await fed.settle()
        # Then it stopped at the mark of the last complete pass: one page, not the history
        again = _outbox_gets(fed, "fryslan.test", outbox)[backfill:]
        assert len([u for u in again if "page=" in u]) == 1


async def test_acknowledged_but_lost_delivery_is_repaired_by_anti_entropy(
        tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "lvkk"]) as fed:
        drenthe, lvkk = fed["drenthe"], fed["lvkk"]
        await _follow(fed, "lvkk", "drenthe")
        # Given a delivery the receiving side answered 202 to and then lost
        fed.faults.hold = True
        item = await _story(drenthe, "Verloren bericht")
        await fed.run_workers(names=["drenthe"])
        fed.network.held.clear()
        fed.faults.hold = False
        assert [r.state for r in await delivery_rows(drenthe, host="lvkk.test")][-1] == "sent"
        await fed.settle()
        assert await stored(lvkk, item.ap_id) is None
        # When the next anti-entropy pass is due
        fed.clock.advance(SYNC_INTERVAL)
        await fed.settle()
        # Then the follower has the item, and recorded its Create as received
        got = await stored(lvkk, item.ap_id)
        assert got is not None and got.title == "Verloren bericht"
        assert [r.state for r in await inbox_rows(lvkk) if r.type == "Create"] == ["done"]


async def test_partition_heals_by_anti_entropy_after_deliveries_gave_up(
        tmp_path: Path, database: Database) -> None:
    overrides = {"drenthe": {"federation__give_up_after_hours": 1}}
    async with federation(tmp_path, ["drenthe", "lvkk"], database=database,
                          overrides=overrides) as fed:
        drenthe, lvkk = fed["drenthe"], fed["lvkk"]
        await create_initiative(drenthe.ctx, InitiativeInput(handle="dorpshuis-eext",
                                                             name="Dorpshuis Eext"), SYSTEM)
        await _follow(fed, "lvkk", "drenthe")
        sent_before = len(await delivery_rows(drenthe, host="lvkk.test"))
        # Given LVKK cut off while items are created, updated and deleted in Drenthe
        fed.faults.partitioned.add("lvkk.test")
        made = [await _story(drenthe, f"Verhaal {n}", "dorpshuis-eext") for n in range(3)]
        await update_item(drenthe.ctx, made[0].ap_id, Patch({"title": "Bijgewerkt"}), SYSTEM)
        await delete_item(drenthe.ctx, made[1].ap_id, SYSTEM)
        # And two hours of retries, so every delivery to LVKK gave up (give_up_after_hours=1)
        for _ in range(12):
            fed.clock.advance(600)
            await fed.run_workers()
        rows = (await delivery_rows(drenthe, host="lvkk.test"))[sent_before:]
        assert rows and {r.state for r in rows} == {"failed"}
        assert await _versions(lvkk, "drenthe.test") == set()
        # When the partition heals and time passes without anyone acting
        await fed.heal(hours=2, step_seconds=600)
        # Then LVKK holds exactly what Drenthe holds: versions, the tombstone, nothing more
        truth = await _versions(drenthe, "drenthe.test")
        assert len(truth) == 3 and (made[1].ap_id, 2, True) in truth
        assert await _versions(lvkk, "drenthe.test") == truth


@pytest.mark.postgres
async def test_follow_backfill_update_and_delete_on_postgresql(tmp_path: Path) -> None:
    with postgres() as make:
        async with federation(tmp_path, ["fryslan", "drenthe"], database=make) as fed:
            fryslan, drenthe = fed["fryslan"], fed["drenthe"]
            # Given an item in Fryslân published before anyone follows
            old = await _story(fryslan, "De molen draait")
            # When Drenthe follows Fryslân
            await _follow(fed, "drenthe", "fryslan")
            # Then the backfill brought it, and a new item, its update and delete follow
            assert await stored(drenthe, old.ap_id) is not None
            new = await _story(fryslan, "Hoe financieren?")
            await fed.settle()
            await update_item(fryslan.ctx, new.ap_id, Patch({"title": "Hoe financieren wij?"}),
                              SYSTEM)
            await fed.settle()
            got = await stored(drenthe, new.ap_id)
            assert got is not None and (got.title, got.version) == ("Hoe financieren wij?", 2)
            await delete_item(fryslan.ctx, new.ap_id, SYSTEM)
            await fed.settle()
            assert await _versions(drenthe, "fryslan.test") == await _versions(fryslan,
                                                                                "fryslan.test")


async def test_relayed_answer_is_not_lost_while_its_author_is_unreachable(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan", "lvkk"]) as fed:
        drenthe, fryslan, lvkk = fed["drenthe"], fed["fryslan"], fed["lvkk"]
        # Given LVKK follows only a Drenthe initiative, whose question Fryslân follows
        await create_initiative(drenthe.ctx, InitiativeInput(handle="dorpshuis-eext",
                                                             name="Dorpshuis Eext"), SYSTEM)
        await create_initiative(fryslan.ctx, InitiativeInput(handle="ried-reduzum",
                                                             name="Ried Reduzum"), SYSTEM)
        await follow(lvkk.ctx, drenthe.ctx.urls.actor("dorpshuis-eext"))
        await _follow(fed, "fryslan", "drenthe")
        question = await create_item(drenthe.ctx, item_input(
            kind="question", title="Wie heeft een rooster?", content="Graag tips.",
            initiative="dorpshuis-eext"), SYSTEM)
        await fed.settle()
        # And LVKK cannot reach Fryslân (so not fetch the answer's author key) for a while
        fed.faults.links_down.add(frozenset(("lvkk.test", "fryslan.test")))
        # When a Fryslân initiative answers and the question's author re-announces the answer,
        # and anti-entropy passes run while the link is down
        answer = await create_item(fryslan.ctx, item_input(
            kind="answer", title="Wij wel", content="Zie bijlage.", initiative="ried-reduzum",
            in_reply_to=question.ap_id), SYSTEM)
        for _ in range(6):
            await fed.run_workers()
            fed.clock.advance(SYNC_INTERVAL / 2)
        assert await stored(lvkk, answer.ap_id) is None
        # Then once the link is back, LVKK gets the answer without anyone acting
        await fed.heal(hours=3, step_seconds=600)
        got = await stored(lvkk, answer.ap_id)
        assert got is not None and got.in_reply_to == question.ap_id


async def test_a_long_backfill_goes_on_where_it_stopped(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"]) as fed:
        drenthe, fryslan = fed["drenthe"], fed["fryslan"]
        for n in range(2 * drenthe.ctx.settings.limits.page_size + 5):
            await _story(drenthe, f"Verhaal {n}")
        await follow(fryslan.ctx, drenthe.ctx.urls.actor("drenthe"))
        # Given a pass that may read one page per round
        monkeypatch.setattr("node.services.sync.MAX_PAGES", 1)
        await fed.run_workers(names=["fryslan"])  # the Follow goes out
        await fed.run_workers(names=["drenthe"])  # the Accept comes back
        await fed.run_workers(names=["fryslan"])  # Accept applied; the backfill reads page 1
        assert 0 < len(await _held(fryslan, "drenthe.test")) < 45  # page 1 only
        # When the worker runs a few more rounds (no time passes: the interval is not involved)
        for _ in range(4):
            await fed.run_workers(names=["fryslan"])
        # Then every page was read, one round after the other
        titles = {o.title for o in await _held(fryslan, "drenthe.test")}
        assert {f"Verhaal {n}" for n in range(45)} <= titles


async def _held(node: Node, host: str) -> list[StoredObject]:
    from node.store import objects as object_store
    from node.store.objects import ItemFilter

    async with node.ctx.db.sessions() as session:
        return await object_store.list_page(session, ItemFilter(origin=host), limit=1000)
