"""Registering initiatives with a Murmurations index (issue 15): the admin's choice per
initiative on /beheer/murmurations, sent by the worker through the guarded client to a fake
index on loopback that records every request; with no index configured nothing is sent, not
even for a choice made before. On SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from node import worker
from node.app import create_app
from node.services import murmurations
from node.services.actors import ensure_node_actor
from node.services.context import NodeContext
from node.services.permissions import SYSTEM
from node.services.users import add_user
from node.store import jobs as job_store
from tests.clock import FAST_HASHER, Clock
from tests.keys import pool_keygen
from tests.node.conftest import BASE_URL, make_settings
from tests.node.web import make_initiative
from tests.node.web.test_ui_auth import PASSWORD, sign_in
from tests.node.web.test_ui_edit import post_form
from tests.servers import serve_in_thread

PROFILE = f"{BASE_URL}/api/initiatives/dorpsmolen/murmurations"


class FakeIndex:
    """``POST /v2/nodes`` as the Murmurations Index API v2 answers it; records each request."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.status = 200

    async def nodes(self, request: Request) -> Response:
        self.posts.append({"body": json.loads(await request.body()),
                           "content_type": request.headers.get("content-type")})
        if self.status != 200:
            return Response("kapot", status_code=self.status)
        return JSONResponse({"data": {"node_id": "abc123", "profile_url": PROFILE}})


@contextlib.contextmanager
def serving(index: FakeIndex) -> Iterator[str]:
    with serve_in_thread(Starlette(routes=[Route("/v2/nodes", index.nodes,
                                                 methods=["POST"])])) as base:
        yield f"{base}/v2"


@contextlib.asynccontextmanager
async def node(tmp_path: Path, database_url: str, clock: Clock, index_url: str
               ) -> AsyncIterator[tuple[NodeContext, httpx.AsyncClient]]:
    settings = make_settings(tmp_path, database_url, node__allow_private_network=True,
                             murmurations__index_url=index_url)
    app = create_app(settings, clock=clock, keygen=pool_keygen(), password_hasher=FAST_HASHER)
    async with app.router.lifespan_context(app):
        ctx: NodeContext = app.state.ctx
        await ensure_node_actor(ctx)
        await make_initiative(ctx)
        await add_user(ctx, "beheerder", PASSWORD, "admin")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url=BASE_URL) as client:
            assert (await sign_in(client)).status_code == 303
            yield ctx, client


async def choose(client: httpx.AsyncClient, chosen: str) -> httpx.Response:
    return await post_form(client, "/beheer/murmurations",
                           {"handle": "dorpsmolen", "chosen": chosen})


async def test_the_admin_registers_an_initiative_and_the_worker_tells_the_index(
        tmp_path: Path, database_url: str, clock: Clock) -> None:
    index = FakeIndex()
    with serving(index) as index_url:
        async with node(tmp_path, database_url, clock, index_url) as (ctx, client):
            page = await client.get("/beheer/murmurations")
            assert page.status_code == 200 and "Niet aangemeld" in page.text
            assert index_url in page.text and "Aanmelden" in page.text
            # Nothing is sent before the admin chooses
            await worker.run_once(ctx)
            assert index.posts == []

            # When the admin registers the initiative: the worker posts its profile URL
            response = await choose(client, "1")
            assert response.status_code == 303
            assert response.headers["location"] == "/beheer/murmurations?gekozen=dorpsmolen"
            await worker.run_once(ctx)
            assert index.posts == [{"body": {"profile_url": PROFILE},
                                    "content_type": "application/json"}]
            page = await client.get("/beheer/murmurations")
            assert "Aangemeld" in page.text and "Stoppen met aanmelden" in page.text
            (registration,) = await murmurations.registrations(ctx, SYSTEM)
            assert registration.node_id == "abc123" and registration.chosen

            # A day later it is posted again (the index re-reads a changed profile)
            clock.advance(murmurations.REFRESH.total_seconds() - 1)
            await worker.run_once(ctx)
            assert len(index.posts) == 1
            clock.advance(1)
            await worker.run_once(ctx)
            assert len(index.posts) == 2

            # When the admin stops: nothing more is sent
            assert (await choose(client, "0")).status_code == 303
            clock.advance(murmurations.REFRESH.total_seconds())
            await worker.run_once(ctx)
            assert len(index.posts) == 2
            assert "Niet aangemeld" in (await client.get("/beheer/murmurations")).text


async def test_an_index_that_fails_is_retried_and_shown(
        tmp_path: Path, database_url: str, clock: Clock) -> None:
    index = FakeIndex()
    index.status = 503
    with serving(index) as index_url:
        async with node(tmp_path, database_url, clock, index_url) as (ctx, client):
            await choose(client, "1")
            await worker.run_once(ctx)
            assert len(index.posts) == 1
            page = await client.get("/beheer/murmurations")
            assert "Aanmelden lukt niet (1×)" in page.text and "503" in page.text
            index.status = 200
            clock.advance(ctx.settings.federation.retry_max_seconds)
            await worker.run_once(ctx)
            assert len(index.posts) == 2
            assert "Aangemeld" in (await client.get("/beheer/murmurations")).text


async def test_without_an_index_nothing_can_be_chosen_and_nothing_is_sent(
        tmp_path: Path, database_url: str, clock: Clock) -> None:
    index = FakeIndex()
    with serving(index):  # listening, but this node is not told of it
        async with node(tmp_path, database_url, clock, "") as (ctx, client):
            page = await client.get("/beheer/murmurations")
            assert "Er is geen Murmurations-index ingesteld" in page.text
            assert "Stoppen met aanmelden" not in page.text and 'name="chosen"' not in page.text
            response = await choose(client, "1")
            assert response.status_code == 409
            # Given a choice made while an index was configured (the job is still there)
            async with ctx.db.transaction() as session:
                await job_store.schedule(session, kind=murmurations.JOB_KIND,
                                         key="murmurations:dorpsmolen", now=ctx.now(),
                                         payload={"handle": "dorpsmolen"})
            await worker.run_once(ctx)
            clock.advance(murmurations.REFRESH.total_seconds())
            await worker.run_once(ctx)
    assert index.posts == []


async def test_only_an_admin_sees_the_page(client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await add_user(ctx, "redacteur", PASSWORD, "editor")
    assert (await client.get("/beheer/murmurations")).status_code in (303, 401)
    assert (await sign_in(client, "redacteur")).status_code == 303
    assert (await client.get("/beheer/murmurations")).status_code == 403
