"""The directory of initiatives across nodes: the aggregator lists those of two provinces.

Each node publishes its initiatives (the node actor's ``kk:initiatives`` collection, and an
``Update`` announced by the node when a profile changes); a follower keeps them right through
delivery, backfill and anti-entropy (node.services.directory).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from node.services.actors import create_initiative, delete_initiative, update_initiative
from node.services.follow import follow
from node.services.inputs import InitiativeInput, Patch
from node.services.outbox import publish_activity
from node.services.permissions import SYSTEM
from node.services.policy import block
from node.services.resolve import node_actor
from protocol.context import build_context
from tests.federation.harness import Federation, Node, federation, postgres

ACTIVITY_JSON = "application/activity+json"

SYNC_INTERVAL = 3600
Database = Callable[[Path, str], str] | None


async def _initiative(node: Node, handle: str, name: str, **values: Any) -> None:
    await create_initiative(node.ctx, InitiativeInput(handle=handle, name=name, **values), SYSTEM)


async def _directory(fed: Federation, node: str, **params: str) -> dict[str, dict[str, Any]]:
    response = await fed.http.get(f"{fed[node].url}/api/initiatives",
                                  params={"limit": "100", **params})
    assert response.status_code == 200, response.text
    return {entry["name"]: entry for entry in response.json()["initiatives"]}


async def _two_provinces(fed: Federation) -> None:
    await _initiative(fed["drenthe"], "molen", "Dorpsmolen Zuidlaren", legal_form="cooperative",
                      themes=("energy-generation",))
    await _initiative(fed["drenthe"], "zorgcoop", "Zorgcoöperatie Westerbork",
                      themes=("care-wellbeing",))
    await _initiative(fed["fryslan"], "doarpshus", "Doarpshûs Reduzum", phase="starting")
    for province in ("drenthe", "fryslan"):
        await follow(fed["lvkk"].ctx, fed[province].ctx.urls.actor(province))
    await fed.settle()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Iterator[Database]:
    if request.param == "sqlite":
        yield None
        return
    with postgres() as make:
        yield make


async def test_aggregator_directory_holds_initiatives_of_two_provinces(
        tmp_path: Path, database: Database) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan", "lvkk"], database=database) as fed:
        # Given two provinces with initiatives, followed by the aggregator (backfill)
        await _two_provinces(fed)
        # Then its directory lists all three, with origin and province
        listed = await _directory(fed, "lvkk")
        assert set(listed) == {"Dorpsmolen Zuidlaren", "Zorgcoöperatie Westerbork",
                               "Doarpshûs Reduzum"}
        molen = listed["Dorpsmolen Zuidlaren"]
        assert (molen["origin"], molen["province"], molen["legal_form"], molen["themes"],
                molen["local"]) == ("drenthe.test", "PV22", "cooperative",
                                    ["energy-generation"], False)
        assert listed["Doarpshûs Reduzum"]["province"] == "PV21"
        assert listed["Doarpshûs Reduzum"]["phase"] == "starting"
        assert set(await _directory(fed, "lvkk", province="PV21")) == {"Doarpshûs Reduzum"}
        assert set(await _directory(fed, "lvkk", theme="energy-generation")) == {"Dorpsmolen Zuidlaren"}
        assert await _directory(fed, "lvkk", origin="local") == {}
        assert set(await _directory(fed, "drenthe", origin="local")) == {
            "Dorpsmolen Zuidlaren", "Zorgcoöperatie Westerbork"}


async def test_initiatives_of_a_blocked_host_are_hidden(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan", "lvkk"]) as fed:
        await _two_provinces(fed)
        await block(fed["lvkk"].ctx, "fryslan.test")
        assert set(await _directory(fed, "lvkk")) == {"Dorpsmolen Zuidlaren",
                                                      "Zorgcoöperatie Westerbork"}


async def test_a_new_initiative_reaches_the_aggregator_at_once(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan", "lvkk"]) as fed:
        await _two_provinces(fed)
        # When a province creates an initiative (no sync interval passes)
        await _initiative(fed["fryslan"], "nij", "Nij inisjatyf")
        await fed.settle()
        # Then the node's Announce of its profile put it in the aggregator's directory
        assert "Nij inisjatyf" in await _directory(fed, "lvkk")


async def test_rename_and_delete_reach_the_aggregator(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan", "lvkk"]) as fed:
        await _two_provinces(fed)
        # When one initiative is renamed and another deleted at their origin
        await update_initiative(fed["drenthe"].ctx, "molen",
                                Patch({"name": "Energiecoöperatie Zuidlaren"}), SYSTEM)
        await delete_initiative(fed["fryslan"].ctx, "doarpshus", SYSTEM)
        await fed.settle()
        # Then the aggregator's directory follows (Update and Delete, announced by the node)
        listed = await _directory(fed, "lvkk")
        assert set(listed) == {"Energiecoöperatie Zuidlaren", "Zorgcoöperatie Westerbork"}
        assert listed["Energiecoöperatie Zuidlaren"]["version"] == 2


async def test_anti_entropy_repairs_a_missed_update_and_delete(
        tmp_path: Path, database: Database) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan", "lvkk"], database=database) as fed:
        await _two_provinces(fed)
        # Given the aggregator cut off while one profile changes and another is deleted
        fed.faults.partitioned.add("lvkk.test")
        await update_initiative(fed["drenthe"].ctx, "zorgcoop",
                                Patch({"status": "stopped"}), SYSTEM)
        await delete_initiative(fed["fryslan"].ctx, "doarpshus", SYSTEM)
        await _initiative(fed["fryslan"], "nij", "Nij inisjatyf")
        for _ in range(12):  # every delivery gives up while it is away
            await fed.run_workers()
            fed.clock.advance(6 * 3600)
        # When it is back, the next anti-entropy pass repairs its directory
        await fed.heal(hours=2 * SYNC_INTERVAL / 3600)
        listed = await _directory(fed, "lvkk")
        assert set(listed) == {"Dorpsmolen Zuidlaren", "Zorgcoöperatie Westerbork",
                               "Nij inisjatyf"}
        assert listed["Zorgcoöperatie Westerbork"]["status"] == "stopped"
        assert set(await _directory(fed, "lvkk", status="stopped")) == {
            "Zorgcoöperatie Westerbork"}


async def test_update_of_an_initiative_by_another_host_is_refused(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan", "lvkk"]) as fed:
        await _two_provinces(fed)
        ctx = fed["fryslan"].ctx
        molen = fed["drenthe"].ctx.urls.actor("molen")
        genuine = (await fed.http.get(molen, headers={"Accept": ACTIVITY_JSON})).json()
        forged = {k: v for k, v in genuine.items() if k != "proof"}
        forged.update(name="Gekaapt", version=genuine["version"] + 5)
        # When Fryslân's node sends an Update of Drenthe's initiative (signed by fryslan.test),
        # and announces an unsigned Update claiming to be the initiative's own
        async with ctx.db.transaction() as session:
            fryslan = await node_actor(ctx)
            await publish_activity(ctx, session, actor=fryslan, type="Update", obj=forged)
            await publish_activity(ctx, session, actor=fryslan, type="Announce", obj={
                "@context": build_context(), "id": f"{molen}#forged-update", "type": "Update",
                "actor": molen, "object": forged})
        await fed.settle()
        # Then the aggregator's directory still shows the origin's profile
        listed = await _directory(fed, "lvkk")
        assert "Gekaapt" not in listed
        assert listed["Dorpsmolen Zuidlaren"]["version"] == genuine["version"]


async def test_stale_profiles_are_marked_after_a_year(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "lvkk"]) as fed:
        await _initiative(fed["drenthe"], "oud", "Oud initiatief")
        await follow(fed["lvkk"].ctx, fed["drenthe"].ctx.urls.actor("drenthe"))
        await fed.settle()
        assert await _directory(fed, "lvkk", stale="true") == {}
        assert 'class="stale"' not in (await fed.http.get(f"{fed['lvkk'].url}/initiatieven")).text
        fed.clock.advance(400 * 86400)
        stale = await _directory(fed, "lvkk", stale="true")
        assert set(stale) == {"Oud initiatief"}
        assert stale["Oud initiatief"]["stale"] is True
        page = await fed.http.get(f"{fed['lvkk'].url}/initiatieven")
        assert 'class="stale"' in page.text


async def test_directory_rejects_an_unknown_filter_value(tmp_path: Path) -> None:
    async with federation(tmp_path, ["lvkk"]) as fed:
        response = await fed.http.get(f"{fed['lvkk'].url}/api/initiatives",
                                      params={"origin": "elsewhere"})
        assert response.status_code == 422
        assert response.json()["error"] == "bad_value"
