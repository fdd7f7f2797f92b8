"""Search on the aggregator holds the initiatives and items of two provinces, and follows them
when an initiative is renamed or deleted and an item changes at its origin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from node.services.actors import create_initiative, delete_initiative, update_initiative
from node.services.follow import follow
from node.services.inputs import InitiativeInput, Patch, item_input
from node.services.items import create_item, delete_item
from node.services.permissions import SYSTEM
from tests.federation.harness import Federation, federation


async def _search(fed: Federation, node: str, **params: str) -> dict[str, Any]:
    response = await fed.http.get(f"{fed[node].url}/api/search", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _titles(body: dict[str, Any]) -> set[str]:
    return {r["title"] for r in body["results"]}


async def test_aggregator_search_holds_two_provinces_after_rename_and_delete(
        tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan", "lvkk"]) as fed:
        # Given initiatives and items in two provinces, followed by the aggregator
        await create_initiative(fed["drenthe"].ctx, InitiativeInput(
            handle="molen", name="Dorpsmolen Zuidlaren", legal_form="cooperative",
            themes=("energy-generation",)), SYSTEM)
        await create_initiative(fed["fryslan"].ctx, InitiativeInput(
            handle="doarpshus", name="Doarpshûs Reduzum", summary="Een dorpshuis vol energie."),
            SYSTEM)
        await create_item(fed["drenthe"].ctx, item_input(
            kind="story", title="Zonnedaken in Zuidlaren", content="Een dorpsenergieproject.",
            initiative="molen"), SYSTEM)
        fryslan_item = await create_item(fed["fryslan"].ctx, item_input(
            kind="guide", title="Mantelzorgers in Reduzum", content="Zorg voor elkaar."),
            SYSTEM)
        for province in ("drenthe", "fryslan"):
            await follow(fed["lvkk"].ctx, fed[province].ctx.urls.actor(province))
        await fed.settle()
        # Then the aggregator finds both provinces' initiatives and items, all received
        body = await _search(fed, "lvkk", q="energie")
        assert _titles(body) == {"Doarpshûs Reduzum", "Zonnedaken in Zuidlaren"}
        assert body["facets"]["origin"] == {"remote": 2}
        assert _titles(await _search(fed, "lvkk", q="zorg")) == {"Mantelzorgers in Reduzum"}
        assert _titles(await _search(fed, "lvkk", type="initiative", q="fryslan OR reduzum")) \
            == {"Doarpshûs Reduzum"}
        assert _titles(await _search(fed, "lvkk", type="initiative",
                                     legal_form="cooperative")) == {"Dorpsmolen Zuidlaren"}
        # When an initiative is renamed, another deleted, and an item deleted at their origins
        await update_initiative(fed["drenthe"].ctx, "molen",
                                Patch({"name": "Energiecoöperatie Zuidlaren"}), SYSTEM)
        await delete_initiative(fed["fryslan"].ctx, "doarpshus", SYSTEM)
        await delete_item(fed["fryslan"].ctx, fryslan_item.ap_id, SYSTEM)
        await fed.settle()
        # Then the aggregator's search follows
        assert _titles(await _search(fed, "lvkk", type="initiative")) == {
            "Energiecoöperatie Zuidlaren"}
        assert _titles(await _search(fed, "lvkk", q="energiecooperatie")) == {
            "Energiecoöperatie Zuidlaren"}
        assert _titles(await _search(fed, "lvkk", q="reduzum")) == set()
