"""JSON API, item lists: newest first, local and received items, filters, cursor paging."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from node.services.context import NodeContext
from tests.node.conftest import BASE_URL, Clock
from tests.node.web.api_helpers import (
    HANDLE,
    REMOTE_HOST,
    create_initiative,
    create_item,
    insert_remote_item,
)


async def _ids(client: httpx.AsyncClient, **params: str) -> list[str]:
    response = await client.get("/api/items", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_list_is_newest_first(client: httpx.AsyncClient, auth: dict[str, str],
                                    clock: Clock) -> None:
    created = []
    for n in range(3):
        created.append((await create_item(client, auth, title=f"Verhaal {n}"))["id"])
        clock.advance(60)
    assert await _ids(client) == created[::-1]


async def test_list_of_an_empty_node_is_empty(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/items")).json() == {"items": [], "next": None}


async def test_list_filters_by_kind(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await create_item(client, auth)
    question = await create_item(client, auth, kind="question", title="Wie?", content="Vraag.")
    assert await _ids(client, kind="question") == [question["id"]]


async def test_theme_filter_finds_narrower_themes(client: httpx.AsyncClient,
                                                  auth: dict[str, str]) -> None:
    energy = await create_item(client, auth, themes=["energy-generation"])
    broad = await create_item(client, auth, themes=["sustainability"])
    await create_item(client, auth, themes=["meals"])
    assert set(await _ids(client, theme="sustainability")) == {energy["id"], broad["id"]}
    assert await _ids(client, theme="energy-generation") == [energy["id"]]


async def test_list_filters_by_province(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    drenthe = await create_item(client, auth, place={"name": "Anloo", "province_code": "PV22"})
    await create_item(client, auth, place={"name": "Reduzum", "province_code": "PV21"})
    placeless = await create_item(client, auth)  # the Drenthe node's: in Drenthe too
    assert await _ids(client, province="PV22") == [placeless["id"], drenthe["id"]]
    assert await _ids(client, province="pv22") == [placeless["id"], drenthe["id"]]


async def test_q_matches_all_words_with_dutch_stemming(client: httpx.AsyncClient,
                                                       auth: dict[str, str]) -> None:
    insurance = await create_item(client, auth, title="Verzekeringen voor dorpshuizen",
                                  content="Twee coöperaties regelden het samen.")
    await create_item(client, auth, title="Dorpshuis", content="Een nieuw dak.")
    assert await _ids(client, q="verzekering") == [insurance["id"]]
    assert await _ids(client, q="Coöperatie verzekering") == [insurance["id"]]
    assert await _ids(client, q="cooperatie dak") == []


async def test_list_filters_by_initiative_handle_or_iri(
        client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    initiative = await create_initiative(client, auth)
    own = await create_item(client, auth, initiative=HANDLE)
    await create_item(client, auth)
    assert await _ids(client, initiative=HANDLE) == [own["id"]]
    assert await _ids(client, initiative=initiative["id"]) == [own["id"]]


async def test_received_items_are_listed_with_their_origin(
        client: httpx.AsyncClient, auth: dict[str, str], ctx: NodeContext,
        clock: Clock) -> None:
    local = await create_item(client, auth)
    clock.advance(60)
    remote = await insert_remote_item(ctx, "f1", published=clock.now)
    items = (await client.get("/api/items")).json()["items"]
    assert [i["id"] for i in items] == [remote.ap_id, local["id"]]
    received = items[0]
    assert (received["origin"], received["local"], received["local_id"]) == (
        REMOTE_HOST, False, None)
    assert received["content"] == "Een coöperatie in Reduzum."
    assert received["content_html"] == "<p>Een coöperatie in Reduzum.</p>\n"
    assert (received["place"], received["province"]) == (None, "PV21")
    assert received["initiative_handle"] is None


@pytest.mark.parametrize(("origin", "expected"), [
    ("local", {"local"}), ("remote", {REMOTE_HOST, "lvkk.test"}),
    (REMOTE_HOST, {REMOTE_HOST}), ("lvkk.test", {"lvkk.test"}), ("elders.test", set()),
])
async def test_origin_filter(client: httpx.AsyncClient, auth: dict[str, str],
                             ctx: NodeContext, clock: Clock, origin: str,
                             expected: set[str]) -> None:
    await create_item(client, auth)
    await insert_remote_item(ctx, "f1", published=clock.now)
    await insert_remote_item(ctx, "l1", published=clock.now, host="lvkk.test")
    items = (await client.get("/api/items", params={"origin": origin})).json()["items"]
    assert {"local" if i["local"] else i["origin"] for i in items} == expected


@pytest.mark.parametrize("origin", ["LVKK.test", "lvkk.test.", "lvkk.test:443",
                                    "https://lvkk.test", "ｌｖｋｋ.test"])
async def test_origin_filter_takes_any_spelling_of_a_host(
        client: httpx.AsyncClient, ctx: NodeContext, clock: Clock, origin: str) -> None:
    await insert_remote_item(ctx, "l1", published=clock.now, host="lvkk.test")
    items = (await client.get("/api/items", params={"origin": origin})).json()["items"]
    assert [i["origin"] for i in items] == ["lvkk.test"]


async def test_origin_filter_refuses_an_invalid_host(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/items", params={"origin": "xn--zz.test"})
    assert response.status_code == 422
    assert response.json()["error"] == "bad_value"


async def test_received_item_reads_by_iri(client: httpx.AsyncClient, ctx: NodeContext,
                                          clock: Clock) -> None:
    remote = await insert_remote_item(ctx, "f1", published=clock.now)
    response = await client.get("/api/items/by-id", params={"id": remote.ap_id})
    assert response.status_code == 200
    assert response.json()["title"] == "Verhaal uit Fryslân"


async def test_cursor_pages_through_everything_once(client: httpx.AsyncClient,
                                                    auth: dict[str, str], clock: Clock) -> None:
    # Given five items, two of them published in the same second
    created = []
    for n in range(5):
        created.append((await create_item(client, auth, title=f"Verhaal {n}"))["id"])
        if n != 2:
            clock.advance(1)
    # When the list is read two at a time, following "next"
    seen: list[str] = []
    pages = 0
    url: str | None = "/api/items?limit=2"
    while url is not None:
        body: dict[str, Any] = (await client.get(url)).json()
        seen += [item["id"] for item in body["items"]]
        url = body["next"]
        pages += 1
        assert url is None or url.startswith(f"{BASE_URL}/api/items?")
    # Then every item comes once, newest first, in three pages
    assert seen == created[::-1]
    assert pages == 3


async def test_next_keeps_the_filters(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    for _ in range(3):
        await create_item(client, auth, kind="question", title="Wie?", content="Vraag.")
    await create_item(client, auth)
    first = (await client.get("/api/items", params={"kind": "question", "limit": "2"})).json()
    second = (await client.get(first["next"])).json()
    assert [i["kind"] for i in first["items"] + second["items"]] == ["question"] * 3
    assert second["next"] is None


async def test_limit_defaults_to_the_page_size(client: httpx.AsyncClient,
                                               auth: dict[str, str]) -> None:
    for _ in range(21):
        await create_item(client, auth)
    body = (await client.get("/api/items")).json()
    assert len(body["items"]) == 20
    assert body["next"] is not None


@pytest.mark.parametrize(("query", "reason"), [
    ("limit=0", "bad_value"), ("limit=101", "bad_value"), ("limit=-1", "bad_value"),
    ("limit=tien", "bad_value"), ("limit=%C2%B2", "bad_value"), ("limit=" + "9" * 5000, "bad_value"),
    ("kind=poem", "bad_value"), ("theme=weather", "bad_value"), ("province=PV99", "bad_value"),
    ("cursor=bm9wZQ", "bad_value"), ("themes=meals", "unknown_parameter"),
    ("q=" + "woord" * 50, "too_long"),
])
async def test_bad_list_parameters_are_422(client: httpx.AsyncClient, query: str,
                                           reason: str) -> None:
    response = await client.get(f"/api/items?{query}")
    assert response.status_code == 422
    assert response.json()["error"] == reason


async def test_received_item_cannot_be_changed_here(client: httpx.AsyncClient,
                                                   auth: dict[str, str], ctx: NodeContext,
                                                   clock: Clock) -> None:
    remote = await insert_remote_item(ctx, "f1", published=clock.now)
    patched = await client.patch("/api/items/by-id", params={"id": remote.ap_id}, headers=auth,
                                 json={"title": "Overschreven"})
    deleted = await client.delete("/api/items/by-id", params={"id": remote.ap_id}, headers=auth)
    assert (patched.status_code, patched.json()["error"]) == (403, "not_local")
    assert (deleted.status_code, deleted.json()["error"]) == (403, "not_local")
    assert (await client.get("/api/items/by-id", params={"id": remote.ap_id})).json()["version"] == 1
