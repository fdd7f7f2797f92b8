"""Following in the browser: the follow box on actor and theme pages, ``/volgen``, remote follow
through a WebFinger subscribe template (a peer on loopback), and the ``/volgend`` feed page.

Runs on SQLite and PostgreSQL (the ``ctx``/``client`` fixtures).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest

from node.app import create_app
from node.services.context import NodeContext
from node.services.follow import follow
from node.services.users import add_user
from node.store import follows as follow_store
from node.store.schema import follows
from tests.clock import FAST_HASHER, Clock
from tests.keys import pool_keygen
from tests.node.conftest import BASE_URL, make_settings
from tests.node.web import BROWSER, make_initiative, make_item
from tests.node.web.test_ui_auth import PASSWORD, count_rows, csrf_of, sign_in

SUBSCRIBE = "http://ostatus.org/schema/1.0/subscribe"
MOLEN = f"{BASE_URL}/actors/dorpsmolen"
ZORG = f"{BASE_URL}/actors/zorgcoop"


async def page(client: httpx.AsyncClient, url: str) -> str:
    response = await client.get(url, headers=BROWSER)
    assert response.status_code == 200, response.text
    return unescape(response.text)


async def post_follow(client: httpx.AsyncClient, page_url: str, **data: str) -> httpx.Response:
    token = csrf_of((await client.get(page_url, headers=BROWSER)).text)
    return await client.post("/volgen", data={"csrf_token": token, **data})


async def state(ctx: NodeContext, follower: str, followee: str) -> str | None:
    async with ctx.db.sessions() as session:
        found = await follow_store.get(session, follower, followee)
    return found.state if found else None


# --- the follow box ----------------------------------------------------------------------------


async def test_signed_out_visitor_gets_the_remote_follow_form(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    html = await page(client, "/actors/dorpsmolen")
    assert '<form method="get" action="/volgen/op-afstand"' in html
    assert f'<input type="hidden" name="uri" value="{MOLEN}">' in html
    assert "Uw account in de fediverse" in html


async def test_editor_follows_as_their_initiative_from_the_actor_page(
        editor_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    html = await page(editor_client, "/actors/zorgcoop")
    assert '<option value="dorpsmolen">Dorpsmolen Reduzum</option>' in html
    assert '<option value="drenthe">' not in html  # only admins act as the node
    response = await post_follow(editor_client, "/actors/zorgcoop", uri=ZORG, **{"as": "dorpsmolen"},
                                 terug="/actors/zorgcoop", action="follow")
    assert response.status_code == 303
    assert response.headers["location"] == "/actors/zorgcoop?gevolgd=1"
    assert await state(ctx, MOLEN, ZORG) == "accepted"  # both here: holds at once
    html = await page(editor_client, "/actors/zorgcoop?gevolgd=1")
    assert "Dorpsmolen Reduzum volgt dit" in html
    assert "Niet meer volgen" in html
    assert '<select name="as"' not in html  # nothing left to follow as


async def test_editor_undoes_a_follow(editor_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await follow(ctx, ZORG, as_handle="dorpsmolen")
    response = await post_follow(editor_client, "/actors/zorgcoop", uri=ZORG, **{"as": "dorpsmolen"},
                                 terug="/actors/zorgcoop", action="unfollow")
    assert response.headers["location"] == "/actors/zorgcoop?ontvolgd=1"
    assert await state(ctx, MOLEN, ZORG) is None
    assert "U volgt dit niet meer." in await page(editor_client, "/actors/zorgcoop?ontvolgd=1")


async def test_following_as_an_initiative_not_granted_is_403_and_stores_nothing(
        editor_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx, "kerk", name="Kerk")
    before = await count_rows(ctx, follows)
    response = await post_follow(editor_client, "/actors/kerk", uri=f"{BASE_URL}/actors/kerk",
                                 **{"as": "zorgcoop"}, action="follow")
    assert response.status_code == 403
    response = await post_follow(editor_client, "/actors/kerk", uri=f"{BASE_URL}/actors/kerk",
                                 **{"as": "drenthe"}, action="follow")
    assert response.status_code == 403
    assert await count_rows(ctx, follows) == before


async def test_follow_form_without_a_token_is_403(editor_client: httpx.AsyncClient,
                                                  ctx: NodeContext) -> None:
    response = await editor_client.post("/volgen", data={"uri": ZORG, "as": "dorpsmolen"})
    assert response.status_code == 403
    assert await count_rows(ctx, follows) == 0


async def test_admin_may_follow_as_the_node(client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await add_user(ctx, "beheerder", PASSWORD, "admin")
    await make_initiative(ctx)
    await sign_in(client)
    html = await page(client, "/actors/dorpsmolen")
    assert '<option value="drenthe">BOKD Drenthe</option>' in html
    await post_follow(client, "/actors/dorpsmolen", uri=MOLEN, **{"as": "drenthe"},
                      terug="/actors/dorpsmolen")
    assert await state(ctx, f"{BASE_URL}/actors/drenthe", MOLEN) == "accepted"


# --- /volgen: this node's remote-follow page ---------------------------------------------------


async def test_webfinger_names_our_remote_follow_page(client: httpx.AsyncClient,
                                                      ctx: NodeContext) -> None:
    jrd = (await client.get("/.well-known/webfinger?resource=acct:drenthe@drenthe.test")).json()
    [link] = [link for link in jrd["links"] if link["rel"] == SUBSCRIBE]
    assert link["template"] == f"{BASE_URL}/volgen?uri={{uri}}"


async def test_follow_page_sends_a_signed_out_visitor_to_sign_in_and_back(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await add_user(ctx, "beheerder", PASSWORD, "admin")
    await make_initiative(ctx)
    response = await client.get(f"/volgen?uri={quote(MOLEN, safe='')}", headers=BROWSER)
    assert response.status_code == 303
    back = parse_qs(urlsplit(response.headers["location"]).query)["volgende"][0]
    assert back == f"/volgen?uri={quote(MOLEN, safe='')}"
    signed_in = await sign_in(client, volgende=back)
    assert signed_in.headers["location"] == back
    html = await page(client, back)
    assert "Dorpsmolen Reduzum volgen" in html
    assert '<option value="drenthe">' in html


async def test_follow_page_takes_a_handle_too(editor_client: httpx.AsyncClient) -> None:
    html = await page(editor_client, "/volgen?uri=acct:zorgcoop@drenthe.test")
    assert f'<input type="hidden" name="uri" value="{ZORG}">' in html


async def test_follow_page_of_an_unknown_actor_is_404(editor_client: httpx.AsyncClient) -> None:
    response = await editor_client.get(f"/volgen?uri={BASE_URL}/actors/niemand", headers=BROWSER)
    assert response.status_code == 404


# --- remote follow from another server ---------------------------------------------------------


@asynccontextmanager
async def webfinger_peer(jrd: dict[str, object] | None) -> AsyncIterator[str]:
    """An HTTP server on 127.0.0.1 answering WebFinger with ``jrd`` (404 when None); a TLS
    ClientHello is hung up on at once, so the client falls back to http quickly."""
    asked: list[str] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            first = await reader.read(1)
            if first == b"\x16":  # TLS: this peer speaks plain HTTP only
                return
            head = (first + await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            asked.append(head.split(" ")[1])
            body = json.dumps(jrd).encode() if jrd is not None else b"{}"
            status = "200 OK" if jrd is not None else "404 Not Found"
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: application/jrd+json\r\n"
                         f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                         + body)
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def open_client(tmp_path: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A node whose guarded client may reach loopback (as a demo or test node), ``dorpsmolen``
    on it; the node's own outbound client is the real one."""
    settings = make_settings(tmp_path, database_url, node__allow_private_network=True)
    app = create_app(settings, clock=Clock(), keygen=pool_keygen(), password_hasher=FAST_HASHER)
    async with app.router.lifespan_context(app):
        from node.services.actors import ensure_node_actor

        await ensure_node_actor(app.state.ctx)
        await make_initiative(app.state.ctx)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url=BASE_URL) as client:
            yield client


async def test_remote_follow_redirects_to_the_subscribe_template_of_the_peer(
        open_client: httpx.AsyncClient) -> None:
    jrd = {"subject": "acct:anna@peer", "links": [
        {"rel": "self", "type": "application/activity+json", "href": "http://peer/users/anna"},
        {"rel": SUBSCRIBE, "template": "http://peer.example/authorize_interaction?uri={uri}"}]}
    async with webfinger_peer(jrd) as host:
        response = await open_client.get(
            "/volgen/op-afstand", params={"uri": MOLEN, "handle": f"@anna@{host}"})
    assert response.status_code == 303
    assert response.headers["location"] == (
        "http://peer.example/authorize_interaction?uri="
        "https%3A%2F%2Fdrenthe.test%2Factors%2Fdorpsmolen")


NO_TEMPLATE = {"subject": "acct:anna@peer", "links": [
    {"rel": "self", "type": "application/activity+json", "href": "http://peer/users/anna"}]}


@pytest.mark.parametrize(("jrd", "message"), [
    (NO_TEMPLATE, "Uw server biedt geen pagina om op afstand te volgen"),
    (None, "Uw server kon niet gevonden worden"),  # 404: no such account there
])
async def test_remote_follow_that_cannot_go_ahead_says_why(
        open_client: httpx.AsyncClient, jrd: dict[str, object] | None, message: str) -> None:
    async with webfinger_peer(jrd) as host:
        response = await open_client.get(
            "/volgen/op-afstand", params={"uri": MOLEN, "handle": f"anna@{host}"})
    assert response.status_code == 422
    assert message in unescape(response.text)


@pytest.mark.parametrize("handle", ["", "anna", "anna@", "@@x", "anna@exa mple.org"])
async def test_remote_follow_with_a_bad_handle_asks_again_and_stores_nothing(
        client: httpx.AsyncClient, ctx: NodeContext, handle: str) -> None:
    await make_initiative(ctx)
    response = await client.get("/volgen/op-afstand", params={"uri": MOLEN, "handle": handle})
    assert response.status_code == 422
    html = unescape(response.text)
    assert "Dit is geen account in de vorm naam@server." in html
    assert 'aria-invalid="true"' in html
    assert await count_rows(ctx, follows) == 0


async def test_remote_follow_of_a_private_address_is_refused_without_a_request(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    response = await client.get("/volgen/op-afstand",
                                params={"uri": MOLEN, "handle": "anna@127.0.0.1:9"})
    assert response.status_code == 422
    assert "Uw server kon niet gevonden worden" in unescape(response.text)


async def test_remote_follow_from_an_account_here_goes_to_our_own_follow_page(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    response = await client.get("/volgen/op-afstand",
                                params={"uri": MOLEN, "handle": "zorgcoop@drenthe.test"})
    assert response.status_code == 303
    assert response.headers["location"] == f"{BASE_URL}/volgen?uri={quote(MOLEN, safe='')}"


async def test_remote_follow_of_something_not_here_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/volgen/op-afstand", params={
        "uri": "https://elders.example/actors/x", "handle": "anna@mastodon.example"})
    assert response.status_code == 404


# --- the feed of what an initiative follows ---------------------------------------------------


async def test_following_feed_pages_the_items_of_followed_actors_newest_first(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx, "dorpsmolen")
    await make_initiative(ctx, "zorgcoop", name="Zorgcoop")
    for n in range(23):
        await make_item(ctx, "zorgcoop", title=f"Verhaal {n:02}")
    await make_item(ctx, "dorpsmolen", title="Eigen verhaal")  # its own: not in its feed
    await follow(ctx, ZORG, as_handle="dorpsmolen")
    await make_item(ctx, "zorgcoop", title="Verhaal 23")  # arrives after the follow
    first = await page(client, "/actors/dorpsmolen/volgend")
    titles = re.findall(r'<h3><a href="[^"]+">(Verhaal \d+)</a></h3>', first)
    assert titles == [f"Verhaal {n:02}" for n in range(23, 3, -1)]
    assert "Eigen verhaal" not in first
    older = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert older is not None
    second = await page(client, older[1])
    assert re.findall(r'<h3><a href="[^"]+">(Verhaal \d+)</a></h3>', second) == [
        "Verhaal 03", "Verhaal 02", "Verhaal 01", "Verhaal 00"]
    assert 'rel="next"' not in second
    assert '<a href="/actors/dorpsmolen/volgend" rel="first">' in second


async def test_following_feed_of_an_actor_that_follows_nobody_says_so(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    html = await page(client, "/actors/dorpsmolen/volgend")
    assert "Nog niets: Dorpsmolen Reduzum volgt niemand" in html
    assert '<a href="/actors/dorpsmolen/volgend">' in await page(client, "/actors/dorpsmolen")


async def test_following_feed_of_an_unknown_actor_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/actors/niemand/volgend", headers=BROWSER)
    assert response.status_code == 404


# --- theme pages ---------------------------------------------------------------------------


async def test_theme_page_pages_its_followers_and_has_the_follow_box(
        editor_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    for n in range(21):
        await make_initiative(ctx, f"volger{n:02}", name=f"Volger {n:02}")
        await follow(ctx, f"{BASE_URL}/actors/zorg", as_handle=f"volger{n:02}")
    first = await page(editor_client, "/thema/care-wellbeing")
    assert "Volgers (21)" in first
    assert "Volger 20" in first and "Volger 00" not in first
    assert '<a href="/thema/care-wellbeing?volgers=2#volgers" rel="next">' in first
    second = await page(editor_client, "/thema/care-wellbeing?volgers=2")
    assert "Volger 00" in second and "Volger 20" not in second
    assert f'<input type="hidden" name="uri" value="{BASE_URL}/actors/zorg">' in first
    await post_follow(editor_client, "/thema/care-wellbeing", uri=f"{BASE_URL}/actors/zorg",
                      **{"as": "dorpsmolen"}, terug="/thema/care-wellbeing")
    assert await state(ctx, MOLEN, f"{BASE_URL}/actors/zorg") == "accepted"


async def test_every_theme_chip_links_to_its_theme_page(client: httpx.AsyncClient,
                                                        ctx: NodeContext) -> None:
    await make_initiative(ctx, themes=["energy-generation"])
    item = await make_item(ctx, themes=["care-wellbeing"])
    chip = '<a href="/thema/{}" rel="tag">'
    for url, theme in [("/actors/dorpsmolen", "energy-generation"),
                       ("/initiatieven", "energy-generation"),
                       ("/kennis", "care-wellbeing"), ("/", "care-wellbeing"),
                       (urlsplit(item.ap_id).path, "care-wellbeing")]:
        assert chip.format(theme) in await page(client, url), url
