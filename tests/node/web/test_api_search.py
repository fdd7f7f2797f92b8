"""``GET /api/search``: the write paths keep the index, the answer's contract, bad queries."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from node.services import policy, remote_objects, search_index
from node.services.context import NodeContext
from node.store import search as search_store
from protocol.parse import parse_object
from tests.node.conftest import BASE_URL
from tests.node.web.api_helpers import HANDLE, create_initiative, create_item, insert_remote_item

FRYSLAN_ITEM = "https://fryslan.test/items/terp"
FRYSLAN_AUTHOR = "https://fryslan.test/actors/doarpswurk"


async def _search(client: httpx.AsyncClient, **params: str) -> dict[str, object]:
    response = await client.get("/api/search", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def _ids(body: dict[str, object]) -> list[str]:
    results = body["results"]
    assert isinstance(results, list)
    return [r["id"] for r in results]


async def _receive(ctx: NodeContext, version: int, name: str) -> None:
    raw = {"id": FRYSLAN_ITEM, "type": "Article", "attributedTo": FRYSLAN_AUTHOR, "name": name,
           "content": "<p>Een <b>terp</b> als dorpsplein.</p>", "version": version,
           "published": "2026-01-01T12:00:00Z"}
    async with ctx.db.transaction() as session:
        await remote_objects.upsert(ctx, session, parse_object(raw))


async def test_an_item_is_found_after_create_and_update_and_not_after_delete(
        client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    item = await create_item(client, auth, title="Dorpsmolen draait weer")
    assert _ids(await _search(client, q="dorpsmolen")) == [item["id"]]
    path = f"/api/items/{item['local_id']}"
    response = await client.patch(path, json={"title": "Zonnedak op de sporthal"}, headers=auth)
    assert response.status_code == 200, response.text
    assert _ids(await _search(client, q="dorpsmolen")) == []
    assert _ids(await _search(client, q="zonnedak")) == [item["id"]]
    assert (await client.delete(path, headers=auth)).status_code == 204
    assert _ids(await _search(client, q="zonnedak")) == []


async def test_an_initiative_is_found_renamed_and_removed(client: httpx.AsyncClient,
                                                          auth: dict[str, str]) -> None:
    initiative = await create_initiative(client, auth, legal_form="cooperative",
                                         themes=["energy-generation"], summary="Stroom uit wind.")
    body = await _search(client, q="wind", type="initiative", legal_form="cooperative")
    assert _ids(body) == [initiative["id"]]
    assert body["facets"] == {"kind": {}, "theme": {"energy-generation": 1},
                              "province": {"PV22": 1}, "legal_form": {"cooperative": 1},
                              "phase": {}, "status": {"active": 1}, "origin": {"local": 1}}
    path = f"/api/initiatives/{HANDLE}"
    assert (await client.patch(path, json={"name": "Windcoöperatie Reduzum"},
                               headers=auth)).status_code == 200
    assert _ids(await _search(client, q="windcooperatie")) == [initiative["id"]]
    assert (await client.delete(path, headers=auth)).status_code == 204
    assert _ids(await _search(client, q="windcooperatie")) == []


async def test_received_items_are_indexed_and_their_newer_versions_too(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await _receive(ctx, 1, "Terpdorp Hegebeintum")
    body = await _search(client, q="hegebeintum", origin="remote")
    assert _ids(body) == [FRYSLAN_ITEM]
    results = body["results"]
    assert isinstance(results, list)
    assert results[0]["origin"] == "remote" and results[0]["host"] == "fryslan.test"
    await _receive(ctx, 2, "Terpdorp Wierum")
    assert _ids(await _search(client, q="hegebeintum")) == []
    assert _ids(await _search(client, q="wierum")) == [FRYSLAN_ITEM]
    assert _ids(await _search(client, q="wierum", origin="local")) == []
    async with ctx.db.transaction() as session:
        await remote_objects.tombstone(ctx, session, ap_id=FRYSLAN_ITEM, actor=FRYSLAN_AUTHOR,
                                       deleted=datetime(2026, 2, 1, tzinfo=UTC), version=3,
                                       document=None)
    assert _ids(await _search(client, q="wierum")) == []


async def test_the_answer_has_the_contract_and_pages_by_next(client: httpx.AsyncClient,
                                                             auth: dict[str, str]) -> None:
    for n in range(3):
        await create_item(client, auth, title=f"Energie in het dorp, deel {n}",
                          content="Een <b>dorp</b> & zijn energie.")
    body = await _search(client, q="energie", limit="2")
    assert body["total"] == 3 and body["match"] == "all"
    results = body["results"]
    assert isinstance(results, list) and len(results) == 2
    assert set(results[0]) == {"id", "type", "kind", "title", "snippet", "url", "origin", "host",
                               "province", "themes", "score", "distance_km"}
    assert "<mark>energie</mark>" in results[0]["snippet"]
    assert "&lt;b&gt;" in results[0]["snippet"]
    assert isinstance(body["next"], str) and body["next"].startswith(f"{BASE_URL}/api/search?")
    rest = (await client.get(body["next"])).json()
    assert len(rest["results"]) == 1 and rest["next"] is None
    assert not set(_ids(rest)) & set(_ids(body))


@pytest.mark.parametrize(("params", "reason"), [
    ({"q": "w" * 201}, "too_long"),
    ({"q": " ".join(["w"] * 40)}, "too_many_terms"),
    ({"near": "52,abc"}, "bad_value"),
    ({"near": "52.1,6.5", "within_km": "-3"}, "bad_value"),
    ({"near": "52.1,6.5", "within_km": "veel"}, "bad_value"),
    ({"type": "person"}, "bad_value"),
    ({"origin": "elders"}, "bad_value"),
    ({"theme": "zorg"}, "bad_value"),
    ({"offset": "5000"}, "bad_value"),
    ({"zoek": "molen"}, "unknown_parameter"),
])
async def test_bad_queries_get_422_with_a_reason(client: httpx.AsyncClient,
                                                 params: dict[str, str], reason: str) -> None:
    response = await client.get("/api/search", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == reason


async def test_unbalanced_quotes_and_query_syntax_are_read_leniently(
        client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    item = await create_item(client, auth, title="Molen van Reduzum")
    for q in ('"molen', 'molen"', 'molen AND (', "molen*", "molen:", "NEAR(molen)", "'molen'"):
        response = await client.get("/api/search", params={"q": q})
        assert response.status_code == 200, (q, response.text)
        assert item["id"] in _ids(response.json()), q


# --- the HTML page -------------------------------------------------------------------------------


async def test_every_page_has_a_search_box(client: httpx.AsyncClient) -> None:
    for path in ("/", "/zoeken", "/aanmelden"):
        html = (await client.get(path)).text
        assert 'action="/zoeken"' in html and 'name="q"' in html, path


async def test_the_search_page_shows_marked_results_and_facet_links(
        client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await create_item(client, auth, title="Dorpsenergieproject Wapse & co",
                      content="Buren bundelen <script>alert(1)</script> hun energie.",
                      themes=["energy-generation"])
    response = await client.get("/zoeken", params={"q": "energie"})
    assert response.status_code == 200
    html = response.text
    assert "1 resultaten" in html
    assert "<mark>energie</mark>" in html
    assert "<script>alert" not in html and "Wapse &amp; co" in html
    assert 'href="/zoeken?q=energie&amp;theme=energy-generation"' in html
    assert "Energieopwekking" in html
    filtered = await client.get("/zoeken", params={"q": "energie", "theme": "energy-generation"})
    assert "Thema: Energieopwekking" in filtered.text


async def test_a_bad_search_on_the_page_is_explained_not_a_500(
        client: httpx.AsyncClient) -> None:
    response = await client.get("/zoeken", params={"q": "x" * 300, "onbekend": "1"})
    assert response.status_code == 422
    assert "200" in response.text and 'name="q"' in response.text


async def test_what_was_stored_before_the_index_existed_is_indexed_once(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    # Given an item stored without the index (as before the migration that made it)
    await insert_remote_item(ctx, "oud", published=datetime(2025, 5, 1, tzinfo=UTC),
                             title="Wierde van Ezinge")
    assert _ids(await _search(client, q="ezinge")) == []
    # When the index is filled (migrate and serve do this after migrating)
    assert await search_index.fill_if_empty(ctx) >= 1
    # Then it is found, and a second fill does nothing
    assert _ids(await _search(client, q="ezinge")) == ["https://fryslan.test/items/oud"]
    assert await search_index.fill_if_empty(ctx) == 0


async def test_a_blocked_host_is_not_found_and_a_purge_empties_its_entries(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await _receive(ctx, 1, "Terpdorp Hegebeintum")
    assert _ids(await _search(client, q="hegebeintum")) == [FRYSLAN_ITEM]
    await policy.block(ctx, "fryslan.test")
    body = await _search(client, q="hegebeintum")
    assert _ids(body) == [] and body["total"] == 0
    await policy.unblock(ctx, "fryslan.test")
    assert _ids(await _search(client, q="hegebeintum")) == [FRYSLAN_ITEM]
    await policy.block(ctx, "fryslan.test", purge=True)
    await policy.unblock(ctx, "fryslan.test")
    assert _ids(await _search(client, q="hegebeintum")) == []
    async with ctx.db.sessions() as session:
        assert await search_store.count(session) == 0


async def test_results_page_to_their_end_with_facets_over_all_of_them(
        client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    # Given 45 equally relevant items (ties are broken the same way on every page), 15 of them
    # guides about dementia, and one item that does not match
    for n in range(45):
        guide = n % 3 == 0
        await create_item(client, auth, kind="guide" if guide else "story",
                          title=f"Buurtmolen {n}", content="Over de buurtmolen.",
                          themes=["dementia"] if guide else ["energy-generation"])
    await create_item(client, auth, title="Iets anders", content="Niets hierover.")
    # When we follow next from the first page
    body = await _search(client, q="buurtmolen", limit="20")
    seen, pages = _ids(body), 1
    while body["next"] is not None:
        assert isinstance(body["next"], str)
        body = (await client.get(body["next"])).json()
        seen += _ids(body)
        pages += 1
    # Then three pages hold all 45, none twice, and every page had the same facets
    assert pages == 3 and len(seen) == 45 and len(set(seen)) == 45
    assert body["total"] == 45
    facets = body["facets"]
    assert isinstance(facets, dict)
    assert facets["kind"] == {"story": 30, "guide": 15}
    assert facets["theme"] == {"energy-generation": 30, "dementia": 15}
    assert facets["origin"] == {"local": 45}
    # And a broader theme takes in the narrower one, with counts for what is left
    care = await _search(client, q="buurtmolen", theme="care-wellbeing")
    assert care["total"] == 15 and care["facets"]["kind"] == {"guide": 15}  # type: ignore[index]


async def test_the_search_page_links_the_previous_and_next_results(
        client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    for n in range(3):
        await create_item(client, auth, title=f"Buurtmolen {n}")
    second = (await client.get("/zoeken", params={"q": "buurtmolen", "limit": "1",
                                                  "offset": "1"})).text
    assert '<a href="/zoeken?q=buurtmolen&amp;limit=1" rel="prev">' in second
    assert '<a href="/zoeken?q=buurtmolen&amp;limit=1&amp;offset=2" rel="next">' in second
