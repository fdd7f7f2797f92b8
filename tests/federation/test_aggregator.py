"""The aggregator role: it follows the configured nodes at start-up, offers (never follows) the
nodes they follow, and the provinces do not depend on it (node.services.aggregator)."""

from __future__ import annotations

from pathlib import Path

from node.services.actors import create_initiative, ensure_node_actor
from node.services.follow import follow
from node.services.inputs import InitiativeInput, item_input
from node.services.items import create_item
from node.services.permissions import SYSTEM
from node.services.users import add_user, create_token
from node.store import follows as follow_store
from tests.federation.harness import Federation, federation, stored

PROVINCES = ("https://drenthe.test/actors/drenthe", "fryslan@fryslan.test")


async def _lvkk_followees(fed: Federation) -> list[str]:
    ctx = fed["lvkk"].ctx
    async with ctx.db.sessions() as session:
        return await follow_store.followees(session, ctx.urls.actor("lvkk"))


async def test_aggregator_follows_configured_nodes_at_start_up(tmp_path: Path) -> None:
    overrides = {"lvkk": {"aggregator__follow": PROVINCES}}
    async with federation(tmp_path, ["drenthe", "fryslan", "lvkk"], overrides=overrides) as fed:
        await create_initiative(fed["fryslan"].ctx, InitiativeInput(
            handle="doarpshus", name="Doarpshûs Reduzum"), SYSTEM)
        # Given fryslan down when the aggregator starts
        fed.faults.partitioned.add("fryslan.test")
        await fed.settle()
        assert await _lvkk_followees(fed) == ["https://drenthe.test/actors/drenthe"]
        # When fryslan is back, the durable job follows it too; a restart changes nothing
        await fed.heal(hours=2)
        await ensure_node_actor(fed["lvkk"].ctx)
        await fed.settle()
        assert sorted(await _lvkk_followees(fed)) == ["https://drenthe.test/actors/drenthe",
                                                      "https://fryslan.test/actors/fryslan"]
        response = await fed.http.get("https://lvkk.test/api/initiatives")
        assert [e["name"] for e in response.json()["initiatives"]] == ["Doarpshûs Reduzum"]


async def test_aggregator_offers_nodes_its_nodes_follow_without_following(
        tmp_path: Path) -> None:
    overrides = {"lvkk": {"aggregator__follow": ("https://drenthe.test/actors/drenthe",)}}
    async with federation(tmp_path, ["drenthe", "fryslan", "lvkk"], overrides=overrides) as fed:
        # Given drenthe follows fryslan, and the aggregator follows drenthe only
        await follow(fed["drenthe"].ctx, "https://fryslan.test/actors/fryslan")
        await fed.settle()
        ctx = fed["lvkk"].ctx
        await add_user(ctx, "beheer", "correct horse battery", "admin")
        token = await create_token(ctx, "beheer")
        # When an admin asks for suggestions
        response = await fed.http.get("https://lvkk.test/api/aggregator/suggestions",
                                      headers={"Authorization": f"Bearer {token}"})
        # Then fryslan is offered, and not followed
        assert response.status_code == 200, response.text
        [offer] = response.json()["suggestions"]
        assert (offer["actor"], offer["host"], offer["followed_by"]) == (
            "https://fryslan.test/actors/fryslan", "fryslan.test",
            ["https://drenthe.test/actors/drenthe"])
        assert await _lvkk_followees(fed) == ["https://drenthe.test/actors/drenthe"]
        anonymous = await fed.http.get("https://lvkk.test/api/aggregator/suggestions")
        assert anonymous.status_code == 401


async def test_provinces_keep_federating_with_the_aggregator_down(tmp_path: Path) -> None:
    overrides = {"lvkk": {"aggregator__follow": PROVINCES}}
    async with federation(tmp_path, ["drenthe", "fryslan", "lvkk"], overrides=overrides) as fed:
        await follow(fed["drenthe"].ctx, "https://fryslan.test/actors/fryslan")
        await fed.settle()
        # Given the aggregator gone
        fed.faults.partitioned.add("lvkk.test")
        # When fryslan publishes, drenthe still gets it directly
        item = await create_item(fed["fryslan"].ctx, item_input(
            kind="story", title="Us doarpshûs", content="Tekst."), SYSTEM)
        await fed.settle()
        assert await stored(fed["drenthe"], item.ap_id) is not None
