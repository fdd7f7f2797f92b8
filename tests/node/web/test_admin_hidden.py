"""Hiding a received item (``/beheer/verborgen``, the item page, ``/api/admin/hidden``): gone for
the public everywhere, shown to admins with a banner, kept in step with its origin, logged."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from node.services import search_index
from node.services.apply import apply
from node.services.context import NodeContext
from node.store import activities as activity_store
from node.store import objects as object_store
from node.store.blocks import HostRule
from node.store.objects import StoredObject
from node.store.schema import objects
from protocol.parse import parse_activity
from tests.node.conftest import BASE_URL
from tests.node.web import BROWSER, make_initiative, make_item
from tests.node.web.api_helpers import bearer, insert_remote_item
from tests.node.web.test_ui_auth import csrf_of

WHEN = datetime(2026, 11, 1, tzinfo=UTC)
AUTHOR = "https://fryslan.test/actors/doarpswurk"


async def _received(ctx: NodeContext, local_id: str = "terp", **fields: Any) -> StoredObject:
    item = await insert_remote_item(ctx, local_id, published=WHEN, title="Terpdorp Hegebeintum",
                                    themes=("energy-generation",), **fields)
    async with ctx.db.transaction() as session:
        await search_index.index_item(session, item)
    return item


def _page(item: StoredObject) -> str:
    return f"/kennis/item?id={item.ap_id}"


async def _hide(client: httpx.AsyncClient, item: StoredObject) -> httpx.Response:
    page = (await client.get(_page(item), headers=BROWSER)).text
    return await client.post("/beheer/verborgen/verbergen",
                             data={"csrf_token": csrf_of(page), "item": item.ap_id})


async def _public_traces(client: httpx.AsyncClient, item: StoredObject) -> dict[str, bool]:
    """Where a visitor (no session) finds the item."""
    anonymous = httpx.AsyncClient(transport=client._transport, base_url=BASE_URL)
    async with anonymous:
        search = (await anonymous.get("/api/search", params={"q": "hegebeintum"})).json()
        facets = (await anonymous.get("/api/search", params={"q": "terpdorp"})).json()["facets"]
        items = (await anonymous.get("/api/items", params={"origin": "remote"})).json()
        return {
            "page": (await anonymous.get(_page(item), headers=BROWSER)).status_code == 200,
            "api": (await anonymous.get("/api/items/by-id",
                                        params={"id": item.ap_id})).status_code == 200,
            "search": [r["id"] for r in search["results"]] == [item.ap_id],
            "facets": facets["origin"].get("remote", 0) == 1,
            "list": item.ap_id in [i["id"] for i in items["items"]],
            "html_list": "Terpdorp Hegebeintum" in (await anonymous.get(
                "/kennis", headers=BROWSER)).text,
            "atom": "Terpdorp Hegebeintum" in (await anonymous.get("/feeds/items.atom")).text,
            "theme": "Terpdorp Hegebeintum" in (await anonymous.get(
                "/thema/energy-generation", headers=BROWSER)).text,
        }


async def test_an_admin_hides_a_received_item_from_its_page_and_shows_it_again(
        admin_client: httpx.AsyncClient, ctx: NodeContext,
        caplog: pytest.LogCaptureFixture) -> None:
    # Given a received item that the public finds everywhere
    item = await _received(ctx)
    assert set((await _public_traces(admin_client, item)).values()) == {True}
    page = (await admin_client.get(_page(item), headers=BROWSER)).text
    assert "Verbergen op dit knooppunt" in page
    # When the admin hides it from its page
    with caplog.at_level(logging.INFO, logger="kennisknoop.admin"):
        response = await _hide(admin_client, item)
    # Then it is listed as hidden, logged with the admin's name, and gone for the public
    assert response.status_code == 303
    assert response.headers["location"].startswith("/beheer/verborgen?verborgen=")
    assert f"admin beheerder hid received item {item.ap_id}" in caplog.text
    listing = (await admin_client.get(response.headers["location"])).text
    assert "Terpdorp Hegebeintum is verborgen." in listing
    assert "<td>beheerder</td>" in listing
    assert set((await _public_traces(admin_client, item)).values()) == {False}
    # And the admin still sees its page, with the banner and "show again"
    page = (await admin_client.get(_page(item), headers=BROWSER)).text
    assert "Verborgen door beheerder op" in page
    # When the admin shows it again, everything is back
    with caplog.at_level(logging.INFO, logger="kennisknoop.admin"):
        shown = await admin_client.post("/beheer/verborgen/tonen", data={
            "csrf_token": csrf_of(page), "item": item.ap_id})
    assert shown.status_code == 303
    assert "showed received item" in caplog.text
    assert set((await _public_traces(admin_client, item)).values()) == {True}


async def test_a_hidden_item_stays_hidden_after_an_update_and_a_delete_still_deletes(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    item = await _received(ctx)
    assert (await _hide(admin_client, item)).status_code == 303
    update = parse_activity({
        "id": "https://fryslan.test/activities/u2", "type": "Update", "actor": AUTHOR,
        "object": {"id": item.ap_id, "type": "Article", "attributedTo": AUTHOR,
                   "name": "Terpdorp Hegebeintum, nu met zonnedak", "version": 2,
                   "content": "<p>Nieuw</p>", "published": WHEN.isoformat()}})
    assert (await apply(ctx, update, sender=AUTHOR)).changed
    async with ctx.db.sessions() as session:
        stored = await object_store.get(session, item.ap_id)
    assert stored is not None and stored.version == 2 and stored.hidden
    assert set((await _public_traces(admin_client, item)).values()) == {False}
    delete = parse_activity({"id": "https://fryslan.test/activities/d3", "type": "Delete",
                             "actor": AUTHOR, "object": item.ap_id})
    assert (await apply(ctx, delete, sender=AUTHOR)).changed
    async with ctx.db.sessions() as session:
        stored = await object_store.get(session, item.ap_id)
    assert stored is not None and stored.deleted
    listing = (await admin_client.get("/beheer/verborgen")).text
    assert "verwijderd bij de bron" in listing


async def test_a_local_item_is_not_hidden(admin_client: httpx.AsyncClient,
                                          ctx: NodeContext) -> None:
    await make_initiative(ctx)
    local = await make_item(ctx)
    page = (await admin_client.get("/beheer/verborgen")).text
    response = await admin_client.post("/beheer/verborgen/verbergen", data={
        "csrf_token": csrf_of(page), "item": local.ap_id})
    assert response.status_code == 422
    assert "bewerk of verwijder het" in response.text
    assert f'value="{local.ap_id}"' in response.text
    item_page = (await admin_client.get(local.ap_id, headers=BROWSER)).text
    assert "Verbergen op dit knooppunt" not in item_page


async def test_an_editor_may_not_hide(editor_client: httpx.AsyncClient,
                                      ctx: NodeContext) -> None:
    item = await _received(ctx)
    page = (await editor_client.get(_page(item), headers=BROWSER)).text
    assert "Verbergen op dit knooppunt" not in page
    response = await editor_client.post("/beheer/verborgen/verbergen", data={
        "csrf_token": csrf_of(page), "item": item.ap_id})
    assert response.status_code == 403
    assert (await editor_client.get("/beheer/verborgen")).status_code == 403


async def test_hiding_is_refused_without_the_csrf_token(admin_client: httpx.AsyncClient,
                                                        ctx: NodeContext) -> None:
    item = await _received(ctx)
    response = await admin_client.post("/beheer/verborgen/verbergen", data={"item": item.ap_id})
    assert response.status_code == 403
    async with ctx.db.sessions() as session:
        stored = await object_store.get(session, item.ap_id)
    assert stored is not None and not stored.hidden


async def test_the_api_lists_hides_and_shows_again(client: httpx.AsyncClient, ctx: NodeContext,
                                                   auth: dict[str, str],
                                                   editor_token: str) -> None:
    item = await _received(ctx)
    path = "/api/admin/hidden"
    assert (await client.post(path, json={"item": item.ap_id},
                              headers=bearer(editor_token))).status_code == 403
    first = await client.post(path, json={"item": item.ap_id}, headers=auth)
    assert first.status_code == 201, first.text
    assert first.json()["hidden_by"] == "beheerder" and first.json()["id"] == item.ap_id
    assert (await client.post(path, json={"item": item.ap_id}, headers=auth)).status_code == 200
    listed = (await client.get(path, headers=auth)).json()["items"]
    assert [i["id"] for i in listed] == [item.ap_id]
    assert (await client.get("/api/items/by-id", params={"id": item.ap_id})).status_code == 404
    assert (await client.delete(path, params={"item": item.ap_id},
                                headers=auth)).status_code == 204
    gone = await client.delete(path, params={"item": item.ap_id}, headers=auth)
    assert gone.status_code == 404 and gone.json()["error"] == "not_found"
    assert (await client.get("/api/items/by-id", params={"id": item.ap_id})).status_code == 200


@pytest.mark.parametrize(("body", "status", "reason"), [
    ({}, 422, "missing_field"),
    ({"item": "https://fryslan.test/items/nergens"}, 404, "not_found"),
    ({"item": "x", "reden": "spam"}, 422, "unknown_field"),
])
async def test_the_api_refuses_bad_input(client: httpx.AsyncClient, ctx: NodeContext,
                                         auth: dict[str, str], body: dict[str, str],
                                         status: int, reason: str) -> None:
    response = await client.post("/api/admin/hidden", json=body, headers=auth)
    assert response.status_code == status
    assert response.json()["error"] == reason


async def test_the_api_refuses_a_local_item(client: httpx.AsyncClient, ctx: NodeContext,
                                            auth: dict[str, str]) -> None:
    await make_initiative(ctx)
    local = await make_item(ctx)
    response = await client.post("/api/admin/hidden", json={"item": local.ap_id}, headers=auth)
    assert response.status_code == 422
    assert response.json()["error"] == "local_item"
    async with ctx.db.sessions() as session:
        stored = await object_store.get(session, local.ap_id)
    assert stored is not None and not stored.hidden


async def test_outboxes_leave_out_the_announces_of_a_hidden_item(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    item = await _received(ctx)
    feed = f"{BASE_URL}/actors/energie"
    relayed_update = {"type": "Update", "actor": AUTHOR,
                      "object": {"id": item.ap_id, "type": "Article"}}
    async with ctx.db.transaction() as session:
        for n, obj in enumerate(({"id": item.ap_id, "type": "Article"}, relayed_update)):
            await activity_store.insert(
                session, ap_id=f"{BASE_URL}/activities/a{n}", actor=feed, type="Announce",
                object_ap_id=obj.get("id", "https://fryslan.test/activities/u2"),
                published=WHEN, document={"type": "Announce", "object": obj})

    async def outbox() -> int:
        async with ctx.db.sessions() as session:
            return await activity_store.count_by_actor(session, feed, hosts=HostRule())

    assert await outbox() == 2
    assert (await _hide(admin_client, item)).status_code == 303
    assert await outbox() == 0


async def test_a_hidden_answer_leaves_its_question_page_and_count(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    question = await make_item(ctx, kind="question", title="Wie weet raad met subsidie?",
                               content="Voor een dorpshuis.")
    answer = await _received(ctx, "antwoord", kind="answer")
    async with ctx.db.transaction() as session:
        await session.execute(objects.update().where(objects.c.ap_id == answer.ap_id)
                              .values(in_reply_to=question.ap_id))
        stored = await object_store.get(session, answer.ap_id)
        assert stored is not None
        await search_index.index_item(session, stored)

    async def shown() -> tuple[bool, int]:
        page = (await admin_client.get(question.ap_id, headers=BROWSER)).text
        listed = (await admin_client.get("/api/questions")).json()["questions"]
        return "Een coöperatie in Reduzum." in page, listed[0]["answer_count"]

    assert await shown() == (True, 1)
    assert (await _hide(admin_client, answer)).status_code == 303
    assert await shown() == (False, 0)
