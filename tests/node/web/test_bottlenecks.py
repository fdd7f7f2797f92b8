"""Bottlenecks on one node: endorsing through the API and the forms, status and outcome, the
ranking of /knelpunten and /api/bottlenecks (docs/bottlenecks.md)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from node.services.context import NodeContext
from node.services.users import add_user, create_token, grant
from node.store.schema import activities, endorsements
from tests.node.web import local_id, make_initiative, make_item
from tests.node.web.test_ui_auth import PASSWORD, count_rows, csrf_of, sign_in


@pytest.fixture
async def knelpunt(ctx: NodeContext) -> str:
    await make_initiative(ctx, "zorgcooperatie", name="Zorgcoöperatie Sleen")
    await make_initiative(ctx, "dorpsmolen", name="Dorpsmolen Reduzum")
    item = await make_item(ctx, "zorgcooperatie", kind="bottleneck",
                           title="Vennootschapsbelasting", regulation_area="tax",
                           themes=["care-wellbeing"])
    return item.ap_id


async def _editor_token(ctx: NodeContext, handle: str) -> dict[str, str]:
    await add_user(ctx, f"editor-{handle}", PASSWORD, "editor")
    await grant(ctx, f"editor-{handle}", handle)
    return {"Authorization": f"Bearer {await create_token(ctx, f'editor-{handle}')}"}


async def _tally(client: httpx.AsyncClient, iri: str) -> dict[str, Any]:
    body = (await client.get("/api/items/by-id", params={"id": iri})).json()
    tally: dict[str, Any] = body["endorsements"]
    return tally


# --- the API -----------------------------------------------------------------------------------


async def test_a_local_endorsement_counts_at_once_and_twice_is_once(
        client: httpx.AsyncClient, ctx: NodeContext, knelpunt: str) -> None:
    auth = await _editor_token(ctx, "dorpsmolen")
    body = {"item": knelpunt, "as": "dorpsmolen", "note": "Ook bij ons"}
    first = await client.post("/api/endorsements", json=body, headers=auth)
    again = await client.post("/api/endorsements", json=body, headers=auth)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == {"item": knelpunt, "initiative": "https://drenthe.test/actors/dorpsmolen",
                            "note": "Ook bij ons", "province": "PV22",
                            "created_at": first.json()["created_at"]}
    assert await _tally(client, knelpunt) == {"count": 1, "provinces": ["PV22"], "support": 0}
    # No Like leaves the node for its own bottleneck; the tally went out in one Update
    async with ctx.db.sessions() as session:
        types = list((await session.execute(select(activities.c.type).where(
            activities.c.actor == "https://drenthe.test/actors/zorgcooperatie")
            .order_by(activities.c.id))).scalars())
    assert types == ["Create", "Update"]
    withdrawn = await client.request("DELETE", "/api/endorsements",
                                     params={"item": knelpunt, "as": "dorpsmolen"}, headers=auth)
    assert withdrawn.status_code == 204
    assert await _tally(client, knelpunt) == {"count": 0, "provinces": [], "support": 0}


async def test_endorsing_for_an_initiative_not_yours_is_403_and_stores_nothing(
        client: httpx.AsyncClient, ctx: NodeContext, knelpunt: str) -> None:
    auth = await _editor_token(ctx, "zorgcooperatie")
    before = await count_rows(ctx, endorsements), await count_rows(ctx, activities)
    response = await client.post("/api/endorsements", json={"item": knelpunt, "as": "dorpsmolen"},
                                 headers=auth)
    assert (response.status_code, response.json()["error"]) == (403, "forbidden")
    anonymous = await client.post("/api/endorsements", json={"item": knelpunt, "as": "dorpsmolen"})
    assert anonymous.status_code == 401
    assert (await count_rows(ctx, endorsements), await count_rows(ctx, activities)) == before


async def test_status_and_outcome_are_set_by_the_origin_and_filtered(
        client: httpx.AsyncClient, ctx: NodeContext, knelpunt: str, auth: dict[str, str]) -> None:
    await make_item(ctx, "dorpsmolen", kind="bottleneck", title="Windmolens")
    response = await client.patch("/api/items/by-id", params={"id": knelpunt}, headers=auth,
                                  json={"bottleneck_status": "rejected",
                                        "bottleneck_outcome": "De minister zegt nee."})
    assert response.status_code == 200, response.text
    assert (response.json()["bottleneck_status"], response.json()["bottleneck_outcome"]) == (
        "rejected", "De minister zegt nee.")
    filtered = await client.get("/api/items", params={"kind": "bottleneck",
                                                      "bottleneck_status": "rejected"})
    assert [i["title"] for i in filtered.json()["items"]] == ["Vennootschapsbelasting"]
    still_open = await client.get("/api/items", params={"bottleneck_status": "open"})
    assert [i["title"] for i in still_open.json()["items"]] == ["Windmolens"]
    bad = await client.get("/api/items", params={"bottleneck_status": "closed"})
    assert (bad.status_code, bad.json()["error"]) == (422, "bad_value")


async def test_the_ranking_puts_the_most_endorsed_first(
        client: httpx.AsyncClient, ctx: NodeContext, knelpunt: str, auth: dict[str, str]) -> None:
    await make_item(ctx, "dorpsmolen", kind="bottleneck", title="Windmolens",
                    regulation_area="energy")  # newer, but not endorsed
    await client.post("/api/endorsements", json={"item": knelpunt, "as": "dorpsmolen"},
                      headers=auth)
    ranked = (await client.get("/api/bottlenecks", params={"sort": "endorsements"})).json()
    assert [b["title"] for b in ranked["bottlenecks"]] == ["Vennootschapsbelasting", "Windmolens"]
    assert ranked["total"] == 2 and ranked["next"] is None
    newest = (await client.get("/api/bottlenecks", params={"sort": "newest", "limit": "1"})).json()
    assert [b["title"] for b in newest["bottlenecks"]] == ["Windmolens"]
    assert newest["next"] is not None
    energy = (await client.get("/api/bottlenecks", params={"regulation_area": "energy"})).json()
    assert [b["title"] for b in energy["bottlenecks"]] == ["Windmolens"]
    unknown = await client.get("/api/bottlenecks", params={"sort": "likes"})
    assert (unknown.status_code, unknown.json()["error"]) == (422, "bad_value")


# --- the pages ---------------------------------------------------------------------------------


async def test_knelpunten_is_linked_and_ranks_with_filters(
        client: httpx.AsyncClient, ctx: NodeContext, knelpunt: str) -> None:
    await make_item(ctx, "dorpsmolen", kind="bottleneck", title="Windmolens",
                    regulation_area="energy")
    home = await client.get("/")
    assert '<a href="/knelpunten">Knelpunten</a>' in home.text
    page = await client.get("/knelpunten")
    assert page.status_code == 200
    assert "<h1>Knelpunten</h1>" in page.text  # a provincial node: not the national agenda
    filtered = await client.get("/knelpunten", params={"regulation_area": "tax",
                                                       "bottleneck_status": "open"})
    assert "Vennootschapsbelasting" in filtered.text and "Windmolens" not in filtered.text


async def test_knelpunten_pages_to_the_end_keeping_its_filters(
        client: httpx.AsyncClient, ctx: NodeContext, knelpunt: str) -> None:
    for n in range(20):
        await make_item(ctx, "dorpsmolen", kind="bottleneck", title=f"Knelpunt {n:02d}",
                        regulation_area="tax")
    first = await client.get("/knelpunten", params={"regulation_area": "tax"})
    assert "Pagina 1 van 2" in first.text
    assert 'href="/knelpunten?regulation_area=tax&amp;pagina=2" rel="next"' in first.text
    second = await client.get("/knelpunten", params={"regulation_area": "tax", "pagina": "2"})
    assert "Pagina 2 van 2" in second.text
    assert '<ol class="item-list agenda" start="21">' in second.text
    # Ranked by endorsements, then newest: the oldest, not endorsed, comes last
    assert "Vennootschapsbelasting" in second.text


async def test_an_editor_endorses_and_withdraws_with_the_forms(
        client: httpx.AsyncClient, ctx: NodeContext, knelpunt: str) -> None:
    await add_user(ctx, "redacteur", PASSWORD, "editor")
    await grant(ctx, "redacteur", "dorpsmolen")
    assert (await sign_in(client, "redacteur")).status_code == 303
    item_page = await client.get(f"/items/{local_id(knelpunt)}")
    assert "Wij lopen hier ook tegenaan" in item_page.text
    assert '<option value="dorpsmolen">Dorpsmolen Reduzum</option>' in item_page.text
    token = csrf_of(item_page.text)
    # When the editor posts the form with a note
    endorsed = await client.post("/knelpunten/onderschrijven", data={
        "csrf_token": token, "id": knelpunt, "as": "dorpsmolen", "note": "Ook in Reduzum"})
    assert endorsed.status_code == 303
    page = await client.get(endorsed.headers["location"])
    # Then the page counts it, names the initiative with its note, and offers to withdraw
    assert "1 initiatieven lopen hier ook tegenaan" in page.text
    assert "Ook in Reduzum" in page.text
    assert "Dorpsmolen Reduzum loopt hier ook tegenaan." in page.text
    withdrawn = await client.post("/knelpunten/intrekken", data={
        "csrf_token": csrf_of(page.text), "id": knelpunt, "as": "dorpsmolen"})
    assert withdrawn.status_code == 303
    assert await count_rows(ctx, endorsements) == 1  # kept, withdrawn
    assert await _tally(client, knelpunt) == {"count": 0, "provinces": [], "support": 0}


async def test_a_form_without_its_token_or_for_another_initiative_stores_nothing(
        client: httpx.AsyncClient, ctx: NodeContext, knelpunt: str) -> None:
    await add_user(ctx, "redacteur", PASSWORD, "editor")
    await grant(ctx, "redacteur", "zorgcooperatie")
    await sign_in(client, "redacteur")
    page = await client.get(f"/knelpunten/onderschrijven?id={knelpunt}")
    no_token = await client.post("/knelpunten/onderschrijven",
                                 data={"id": knelpunt, "as": "zorgcooperatie"})
    not_yours = await client.post("/knelpunten/onderschrijven", data={
        "csrf_token": csrf_of(page.text), "id": knelpunt, "as": "dorpsmolen"})
    assert (no_token.status_code, not_yours.status_code) == (403, 403)
    too_long = await client.post("/knelpunten/onderschrijven", data={
        "csrf_token": csrf_of(page.text), "id": knelpunt, "as": "zorgcooperatie",
        "note": "x" * 1001})
    assert too_long.status_code == 422
    assert "Dit is te lang" in too_long.text
    assert await count_rows(ctx, endorsements) == 0


async def test_the_edit_form_sets_status_area_and_outcome(
        client: httpx.AsyncClient, ctx: NodeContext, knelpunt: str) -> None:
    await add_user(ctx, "beheerder", PASSWORD, "admin")
    await sign_in(client)
    form_url = f"/items/{local_id(knelpunt)}/bewerken"
    form = await client.get(form_url)
    assert '<option value="rejected">Afgewezen</option>' in form.text
    assert '<option value="tax" selected>Belastingen</option>' in form.text
    saved = await client.post(form_url, data={
        "csrf_token": csrf_of(form.text), "title": "Vennootschapsbelasting",
        "content": "Uitleg.", "bottleneck_status": "raised", "regulation_area": "tax",
        "bottleneck_outcome": "Besproken met de Tweede Kamer"})
    assert saved.status_code == 303, saved.text
    page = await client.get(f"/items/{local_id(knelpunt)}")
    assert "Aangekaart" in page.text and "Besproken met de Tweede Kamer" in page.text
