"""JSON API, initiatives: create, read (by handle and IRI), list, update, delete."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from node.services.context import NodeContext
from tests.node.conftest import BASE_URL, Clock
from tests.node.web.api_helpers import HANDLE, create_initiative, row_counts


async def test_minimal_initiative_is_created_with_its_actor_iri(
        client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.post("/api/initiatives", headers=auth,
                                 json={"handle": HANDLE, "name": "Dorpsmolen Reduzum"})
    assert response.status_code == 201
    body = response.json()
    assert body["id"] == f"{BASE_URL}/actors/{HANDLE}"
    assert response.headers["location"] == f"/api/initiatives/{HANDLE}"
    assert (body["handle"], body["acct"], body["name"]) == (
        HANDLE, f"{HANDLE}@drenthe.test", "Dorpsmolen Reduzum")
    assert (body["version"], body["status"], body["themes"], body["local"]) == (
        1, "active", [], True)


async def test_initiative_profile_fields_read_back(client: httpx.AsyncClient,
                                                   auth: dict[str, str]) -> None:
    fields = {
        "summary": "Een molen van en voor het dorp.", "description": "## Doel\n\nStroom.",
        "legal_form": "cooperative", "themes": ["energy-generation", "local-economy"],
        "phase": "mature", "status": "active", "founded": "2012-05-01",
        "place": {"name": "Reduzum", "latitude": 53.1234, "longitude": 5.7812,
                  "province_code": "PV21", "municipality_code": "GM1900"},
        "goals": "Eigen stroom.", "open_questions": ["Hoe vinden we vrijwilligers?"],
        "website": "https://dorpsmolen.example", "contact": "info@dorpsmolen.example",
        "networks": ["Energie VanOns"], "members_count": 312,
    }
    created = await create_initiative(client, auth, **fields)
    read = (await client.get(f"/api/initiatives/{HANDLE}")).json()
    assert read == created
    expected = {**fields, "place": {**fields["place"], "latitude": 53.12, "longitude": 5.78,
                                    "exact": False}}
    assert {k: read[k] for k in fields} == expected
    assert "<h2>Doel</h2>" in read["description_html"]


async def test_initiative_reads_the_same_by_iri(client: httpx.AsyncClient,
                                                auth: dict[str, str]) -> None:
    created = await create_initiative(client, auth)
    response = await client.get("/api/initiatives/by-id", params={"id": created["id"]})
    assert response.status_code == 200
    assert response.json() == created


async def test_unknown_initiative_is_404(client: httpx.AsyncClient) -> None:
    for response in (await client.get("/api/initiatives/onbekend"),
                     await client.get("/api/initiatives/by-id",
                                      params={"id": f"{BASE_URL}/actors/onbekend"})):
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


async def test_node_actor_is_not_an_initiative(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/initiatives/drenthe")).status_code == 404


async def test_initiatives_are_listed_by_name_and_paged(client: httpx.AsyncClient,
                                                        auth: dict[str, str]) -> None:
    for handle, name in (("zorg-anloo", "Zorgcoöperatie Anloo"), ("dorpshuis-eext", "Dorpshuis"),
                         ("molen-gieten", "Molen Gieten")):
        await create_initiative(client, auth, handle=handle, name=name)
    first = (await client.get("/api/initiatives", params={"limit": "2"})).json()
    assert [i["handle"] for i in first["initiatives"]] == ["dorpshuis-eext", "molen-gieten"]
    second = (await client.get(first["next"])).json()
    assert [i["handle"] for i in second["initiatives"]] == ["zorg-anloo"]
    assert second["next"] is None


async def test_patch_initiative_changes_given_fields_and_adds_one_to_version(
        client: httpx.AsyncClient, auth: dict[str, str], clock: Clock) -> None:
    created = await create_initiative(client, auth, phase="starting", summary="Oud.")
    clock.advance(60)
    response = await client.patch(f"/api/initiatives/{HANDLE}", headers=auth,
                                  json={"phase": "active", "name": "Molen Reduzum"})
    assert response.status_code == 200
    patched = response.json()
    assert (patched["phase"], patched["name"], patched["summary"]) == (
        "active", "Molen Reduzum", "Oud.")
    assert patched["version"] == created["version"] + 1
    assert patched["updated"] > created["updated"]


async def test_patch_initiative_by_iri(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    created = await create_initiative(client, auth)
    response = await client.patch("/api/initiatives/by-id", params={"id": created["id"]},
                                  headers=auth, json={"themes": ["meals"]})
    assert response.json()["themes"] == ["meals"]
    assert response.json()["version"] == 2


async def test_patch_initiative_with_null_clears_a_field(client: httpx.AsyncClient,
                                                         auth: dict[str, str]) -> None:
    await create_initiative(client, auth, website="https://dorpsmolen.example")
    response = await client.patch(f"/api/initiatives/{HANDLE}", headers=auth,
                                  json={"website": None})
    assert response.json()["website"] is None


async def test_deleted_initiative_answers_410_and_leaves_the_list(
        client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    created = await create_initiative(client, auth)
    response = await client.delete("/api/initiatives/by-id", params={"id": created["id"]},
                                   headers=auth)
    assert response.status_code == 204
    gone = await client.get(f"/api/initiatives/{HANDLE}")
    assert (gone.status_code, gone.json()["error"]) == (410, "gone")
    assert (await client.get("/api/initiatives")).json()["initiatives"] == []


async def test_deleted_initiative_cannot_author_items(client: httpx.AsyncClient,
                                                      auth: dict[str, str]) -> None:
    await create_initiative(client, auth)
    await client.delete(f"/api/initiatives/{HANDLE}", headers=auth)
    response = await client.post("/api/items", headers=auth, json={
        "kind": "story", "title": "Na het einde", "content": "…", "initiative": HANDLE})
    assert response.status_code == 410


@pytest.mark.parametrize("change", [
    {"name": "Dorpsmolen Reduzum"}, {"phase": "mature"}, {"summary": None},
    {"themes": ["energy-generation"], "phase": "mature"},
])
async def test_an_initiative_patch_that_changes_nothing_makes_no_version_and_no_activity(
        client: httpx.AsyncClient, auth: dict[str, str], ctx: NodeContext,
        change: dict[str, Any]) -> None:
    created = await create_initiative(client, auth, themes=["energy-generation"], phase="mature")
    before = await row_counts(ctx)
    for _ in range(2):
        response = await client.patch(f"/api/initiatives/{HANDLE}", headers=auth, json=change)
        assert response.status_code == 200, response.text
        assert response.json()["version"] == created["version"]
    assert await row_counts(ctx) == before
