"""``IndexedRouter``: the route Starlette's loop would find, trying only the routes a path's first
segment may match."""

from __future__ import annotations

import re

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Match, Route, Router

from node.web.routing import IndexedRouter


def _first_full(routes: list[object], scope: dict[str, object]) -> object | None:
    for route in routes:
        match, _ = route.matches(scope)  # type: ignore[attr-defined]
        if match is Match.FULL:
            return route
    return None


def _scope(path: str, method: str = "GET") -> dict[str, object]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}


def test_every_route_is_found_as_starlette_finds_it(app: Starlette) -> None:
    router = app.router
    assert isinstance(router, IndexedRouter)
    paths = [re.sub(r"\{[^}]*\}", "abc123", route.path) for route in router.routes
             if isinstance(route, Route)]
    paths += ["/", "/nowhere", "/api/nowhere", "/items/abc.ics", "/by-id", "/api", "/api/",
              "/api/items/", "/api/items/a/b", "//x", "/items/x/y/z"]
    for path in paths:
        for method in ("GET", "POST"):
            scope = _scope(path, method)
            found = _first_full(router.candidates(path), scope)
            assert found is _first_full(router.routes, scope), path
    # and most paths try few routes
    assert len(router.candidates("/api/items/abc123")) < len(router.routes) / 4


async def test_a_miss_is_answered_as_starlette_answers_it() -> None:
    async def ok(_: Request) -> Response:
        return PlainTextResponse("ok")

    routes = [Route("/a/b", ok, methods=["POST"]), Route("/{name}/c", ok), Route("/a/d/", ok)]
    answers = []
    for router in (Router(routes), IndexedRouter(routes)):
        app = Starlette()
        app.router = router
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t") as client:
            answers.append([(r.status_code, r.headers.get("location"), r.text) for r in [
                await client.get("/a/b"), await client.get("/a/c"), await client.get("/a/d"),
                await client.get("/x/c"), await client.get("/nowhere"),
                await client.post("/a/b")]])
    assert answers[0] == answers[1]
    assert [a[0] for a in answers[1]] == [405, 200, 307, 200, 404, 200]  # 307: a slash added
