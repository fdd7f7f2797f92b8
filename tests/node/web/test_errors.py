"""Error answers nobody's handler gave: a browser gets the site's Dutch page, machines keep JSON."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from starlette.applications import Starlette

from node.services.context import NodeContext
from node.services.users import add_user
from tests.node.conftest import BASE_URL
from tests.node.web import AS_JSON, BROWSER, make_initiative, make_item

LAYOUT = ('<html lang="nl">', 'class="site-header"', 'action="/zoeken"', 'class="site-footer"')


def assert_dutch_page(response: httpx.Response, status: int, title: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'none'" in response.headers["content-security-policy"]
    for part in LAYOUT:
        assert part in response.text
    assert f"<h1>{title}</h1>" in response.text


def assert_json_error(response: httpx.Response, status: int, reason: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == reason


async def test_unknown_path_in_a_browser_is_the_dutch_404_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/bestaat/niet", headers=BROWSER)
    assert_dutch_page(response, 404, "Niet gevonden")
    assert "Not Found" not in response.text
    assert "zoekvak" in response.text


async def test_unknown_api_path_is_json_even_for_a_browser(client: httpx.AsyncClient) -> None:
    assert_json_error(await client.get("/api/bestaat-niet", headers=BROWSER), 404, "not_found")


async def test_unknown_path_without_html_in_accept_is_json(client: httpx.AsyncClient) -> None:
    assert_json_error(await client.get("/bestaat/niet", headers=AS_JSON), 404, "not_found")
    assert_json_error(await client.get("/bestaat/niet"), 404, "not_found")


async def test_missing_static_file_is_404(client: httpx.AsyncClient) -> None:
    assert_json_error(await client.get("/static/geen.css"), 404, "not_found")


async def test_unknown_path_page_shows_who_is_signed_in(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    # Given a signed-in editor
    await add_user(ctx, "redacteur", "correct horse battery", "editor")
    form = await client.get("/aanmelden")
    token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    signed_in = await client.post("/aanmelden", data={
        "username": "redacteur", "password": "correct horse battery", "csrf_token": token},
        headers={"Origin": BASE_URL})
    assert signed_in.status_code == 303
    # When they follow a bad link, the page still has their account menu
    response = await client.get("/kennis/oud", headers=BROWSER)
    assert_dutch_page(response, 404, "Niet gevonden")
    assert "<strong>redacteur</strong>" in response.text
    assert response.headers["cache-control"] == "no-store"


async def test_wrong_method_on_a_page_is_the_dutch_405_page_with_allow(
        client: httpx.AsyncClient) -> None:
    response = await client.post("/kennis", headers=BROWSER)
    assert_dutch_page(response, 405, "Dit kan hier niet")
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD"}


async def test_wrong_method_on_the_api_stays_json(client: httpx.AsyncClient) -> None:
    response = await client.put("/api/items", headers=BROWSER)
    assert_json_error(response, 405, "method_not_allowed")


async def test_wrong_method_on_an_activitypub_url_is_json(client: httpx.AsyncClient) -> None:
    response = await client.post("/actors/drenthe", headers=AS_JSON)
    assert_json_error(response, 405, "method_not_allowed")
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD"}


async def test_deleted_item_in_a_browser_is_the_dutch_410_page(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    from node.services.items import delete_item
    from node.services.permissions import SYSTEM

    await make_initiative(ctx)
    item = await make_item(ctx)
    await delete_item(ctx, item.ap_id, SYSTEM)
    assert_dutch_page(await client.get(item.ap_id, headers=BROWSER), 410, "Verwijderd")
    assert (await client.get(item.ap_id, headers=AS_JSON)).json()["type"] == "Tombstone"


async def test_editing_without_rights_in_a_browser_is_the_dutch_403_page(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    # Given an item, and a signed-in editor with no grant on its initiative
    await make_initiative(ctx)
    item = await make_item(ctx)
    await add_user(ctx, "lezer", "correct horse battery", "editor")
    form = await client.get("/aanmelden")
    token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    await client.post("/aanmelden", data={"username": "lezer", "password": "correct horse battery",
                                          "csrf_token": token}, headers={"Origin": BASE_URL})
    # When they open its edit form, they get the Dutch 403 page
    local = item.ap_id.rsplit("/", 1)[1]
    response = await client.get(f"/items/{local}/bewerken", headers=BROWSER)
    assert_dutch_page(response, 403, "Geen toegang")


@pytest.fixture
async def faulty_client(app: Starlette, ctx: NodeContext) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a node whose ``objects`` table went missing: every read of items fails.
    (The app raises past its 500 answer so the server logs it; the transport must not.)"""
    async with ctx.db.engine.begin() as connection:
        await connection.execute(text("ALTER TABLE objects RENAME TO objects_away"))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
            yield c
    finally:
        async with ctx.db.engine.begin() as connection:
            await connection.execute(text("ALTER TABLE objects_away RENAME TO objects"))


async def test_a_fault_in_a_browser_is_the_dutch_500_page(
        faulty_client: httpx.AsyncClient) -> None:
    response = await faulty_client.get("/", headers=BROWSER)
    assert_dutch_page(response, 500, "Er ging iets mis bij ons")
    assert "Traceback" not in response.text and "objects" not in response.text


async def test_a_fault_on_the_api_is_a_json_500_without_details(
        faulty_client: httpx.AsyncClient) -> None:
    response = await faulty_client.get("/api/items", headers=BROWSER)
    assert_json_error(response, 500, "internal_error")
    assert "objects" not in response.text
