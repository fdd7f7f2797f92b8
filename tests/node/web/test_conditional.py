"""Conditional GET: a strong ETag on every document served to a GET, 304 on If-None-Match."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from node.services.context import NodeContext
from node.services.inputs import Patch
from node.services.items import update_item
from node.services.permissions import SYSTEM
from node.web import conditional
from node.web.conditional import ConditionalGetMiddleware, etag_of
from tests.node.web import AS_JSON, BROWSER, local_id, make_initiative, make_item
from tests.servers import serve_in_thread


async def _documents(ctx: NodeContext, client: httpx.AsyncClient
                     ) -> dict[str, tuple[str, dict[str, str]]]:
    await make_initiative(ctx)
    item = await make_item(ctx, themes=["meals"])
    page = await client.get("/actors/dorpsmolen/outbox?page=true", headers=AS_JSON)
    [create] = [a["id"] for a in page.json()["orderedItems"] if a["type"] == "Create"]
    return {
        "AP actor": ("/actors/dorpsmolen", AS_JSON),
        "AP item": (item.ap_id, AS_JSON),
        "AP outbox": ("/actors/dorpsmolen/outbox", AS_JSON),
        "AP outbox page": ("/actors/dorpsmolen/outbox?page=true", AS_JSON),
        "AP followers": ("/actors/dorpsmolen/followers", AS_JSON),
        "API item": (f"/api/items/{local_id(item.ap_id)}", {}),
        "HTML item": (item.ap_id, BROWSER),
        "HTML actor": ("/actors/dorpsmolen", BROWSER),
        "HTML list": ("/kennis", BROWSER),
        "webfinger": ("/.well-known/webfinger?resource=acct:dorpsmolen@drenthe.test", {}),
        "AP activity": (create, AS_JSON),
    }


async def test_every_document_get_has_a_strong_etag_and_answers_304_when_it_matches(
        ctx: NodeContext, client: httpx.AsyncClient) -> None:
    for name, (url, headers) in (await _documents(ctx, client)).items():
        first = await client.get(url, headers=headers)
        assert first.status_code == 200, (name, first.text)
        etag = first.headers.get("etag")
        assert etag == etag_of(first.content), name  # strong: no W/, from the bytes served
        again = await client.get(url, headers={**headers, "If-None-Match": etag})
        assert again.status_code == 304, name
        assert again.content == b"" and "content-length" not in again.headers, name
        assert again.headers["etag"] == etag, name
        assert again.headers.get("vary") == first.headers.get("vary"), name


async def test_json_and_html_of_one_url_have_their_own_etags_and_vary_on_accept(
        ctx: NodeContext, client: httpx.AsyncClient) -> None:
    await make_initiative(ctx)
    item = await make_item(ctx)
    as_json = await client.get(item.ap_id, headers=AS_JSON)
    as_html = await client.get(item.ap_id, headers=BROWSER)
    assert as_json.headers["etag"] != as_html.headers["etag"]
    assert as_json.headers["vary"] == "Accept"
    assert as_html.headers["vary"] == "Accept, Accept-Language, Cookie"  # and the language
    # The JSON's tag does not make the HTML a 304
    crossed = await client.get(item.ap_id, headers={**BROWSER,
                                                    "If-None-Match": as_json.headers["etag"]})
    assert crossed.status_code == 200 and crossed.headers["etag"] == as_html.headers["etag"]


async def test_a_new_version_has_a_new_etag(ctx: NodeContext, client: httpx.AsyncClient) -> None:
    # Given an item a follower has fetched
    await make_initiative(ctx)
    item = await make_item(ctx)
    before = await client.get(item.ap_id, headers=AS_JSON)
    # When the item is edited
    await update_item(ctx, item.ap_id, Patch(changes={"title": "Een nieuwe titel"}), SYSTEM)
    # Then the old tag no longer matches: the new version is served whole, with a new tag
    after = await client.get(item.ap_id, headers={**AS_JSON,
                                                  "If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.json()["name"] == "Een nieuwe titel"
    assert after.headers["etag"] != before.headers["etag"]


@pytest.mark.parametrize("header", ['W/"{etag}"', '"other", "{etag}"', "*"])
def test_if_none_match_compares_weakly_and_takes_lists_and_a_star(header: str) -> None:
    etag = etag_of(b"{}")
    assert conditional.matches(header.format(etag=etag.strip('"')), etag)
    assert not conditional.matches('"other"', etag)


async def test_no_store_pages_errors_and_posts_get_no_etag(
        ctx: NodeContext, client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    form = await client.get("/aanmelden", headers=BROWSER)  # a form with a CSRF token
    assert form.status_code == 200 and "no-store" in form.headers["cache-control"]
    assert "etag" not in form.headers
    missing = await client.get("/api/items/nope")
    assert missing.status_code == 404 and "etag" not in missing.headers
    created = await client.post("/api/items", headers=auth, json={
        "kind": "story", "title": "Titel", "content": "Tekst."})
    assert created.status_code == 201 and "etag" not in created.headers


# --- the middleware alone ----------------------------------------------------------------------


def _bare() -> Starlette:
    async def document(request: Request) -> Response:
        return JSONResponse({"id": request.path_params["id"], "title": "kennis"})

    async def stream(request: Request) -> Response:
        async def chunks() -> Any:
            for _ in range(4):
                yield b"x" * 1000

        return StreamingResponse(chunks(), media_type="text/plain")

    async def tagged(request: Request) -> Response:
        return Response("hallo", headers={"ETag": '"own"'})

    return Starlette(routes=[Route("/doc/{id}", document), Route("/stream", stream),
                             Route("/tagged", tagged)],
                     middleware=[Middleware(ConditionalGetMiddleware)])


async def test_a_body_too_big_to_hold_is_streamed_untagged(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setattr(conditional, "MAX_BUFFERED", 1500)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_bare()),
                                 base_url="http://bare.test") as client:
        streamed = await client.get("/stream")
        small = await client.get("/doc/1")
        tagged = await client.get("/tagged", headers={"If-None-Match": '"own"'})
    assert streamed.content == b"x" * 4000 and "etag" not in streamed.headers
    assert small.headers["etag"] == etag_of(small.content)
    assert tagged.status_code == 200 and tagged.headers["etag"] == '"own"'  # left alone


def _serving(app: Starlette) -> contextlib.AbstractContextManager[str]:
    return serve_in_thread(app)


def test_304_over_a_real_socket_keeps_the_connection_usable() -> None:
    with _serving(_bare()) as base, httpx.Client(base_url=base) as client:
        first = client.get("/doc/1")
        again = client.get("/doc/1", headers={"If-None-Match": first.headers["etag"]})
        after = client.get("/doc/2")  # the same keep-alive connection
    assert again.status_code == 304 and again.content == b""
    assert after.status_code == 200 and after.json()["id"] == "2"
