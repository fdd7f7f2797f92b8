"""Every item has a province (issue 8): its place's, else its initiative's, else the node's.

The node of these tests is BOKD Drenthe (``node.province_code = PV22``); ``province=`` filters on
the effective province, so it finds items without a place too.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.node.web.api_helpers import create_initiative, create_item

FRYSLAN, DRENTHE, OVERIJSSEL = "PV21", "PV22", "PV23"


async def _listed(client: httpx.AsyncClient, province: str) -> set[str]:
    response = await client.get("/api/items", params={"province": province, "limit": 100})
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


async def _read(client: httpx.AsyncClient, item: dict[str, Any]) -> dict[str, Any]:
    response = await client.get(f"/api/items/{item['local_id']}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_item_of_the_node_without_a_place_has_the_nodes_province(
        client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    item = await create_item(client, auth)
    assert (item["province"], item["place"]) == (DRENTHE, None)
    assert await _listed(client, DRENTHE) == {item["id"]}


async def test_item_without_a_place_has_its_initiatives_province(
        client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    # Given an initiative of the Drenthe node that lies in Fryslân
    await create_initiative(client, auth, place={"name": "Reduzum", "province_code": FRYSLAN})
    # When it publishes an item without a place
    item = await create_item(client, auth, initiative="dorpsmolen-reduzum")
    # Then the item is in Fryslân, and only a Fryslân filter finds it
    assert (await _read(client, item))["province"] == FRYSLAN
    assert await _listed(client, FRYSLAN) == {item["id"]}
    assert await _listed(client, DRENTHE) == set()


async def test_an_items_own_place_decides_its_province(
        client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await create_initiative(client, auth, place={"name": "Reduzum", "province_code": FRYSLAN})
    item = await create_item(client, auth, initiative="dorpsmolen-reduzum",
                             place={"name": "Ommen", "province_code": OVERIJSSEL})
    assert item["province"] == OVERIJSSEL
    assert await _listed(client, OVERIJSSEL) == {item["id"]}
    assert await _listed(client, FRYSLAN) == set()


async def test_removing_the_place_falls_back_to_the_initiatives_province(
        client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await create_initiative(client, auth, place={"name": "Reduzum", "province_code": FRYSLAN})
    item = await create_item(client, auth, initiative="dorpsmolen-reduzum",
                             place={"name": "Ommen", "province_code": OVERIJSSEL})
    response = await client.patch(f"/api/items/{item['local_id']}", headers=auth,
                                  json={"place": None})
    assert response.status_code == 200, response.text
    assert (response.json()["place"], response.json()["province"]) == (None, FRYSLAN)
    assert await _listed(client, FRYSLAN) == {item["id"]}


async def test_the_items_document_carries_its_effective_province(
        client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    item = await create_item(client, auth)
    response = await client.get(item["id"], headers={"Accept": "application/activity+json"})
    document = response.json()
    assert document["provinceCode"] == DRENTHE
    assert "location" not in document
