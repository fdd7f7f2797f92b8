"""Inbound feeds against a real feed server on loopback (uvicorn in a thread): entries become
items once, updates update, a local edit or delete wins, HTML is sanitised, conditional GETs are
used, and a feed that answers 500 is retried with back-off. Time moves by the test clock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node import worker
from node.services import items as items_service
from node.services import subscriptions
from node.services.context import NodeContext
from node.services.inputs import FeedInput, Patch
from node.services.items import delete_item, update_item
from node.services.permissions import SYSTEM
from node.services.users import add_user, create_token
from node.store import jobs as job_store
from node.store import objects as object_store
from node.store.objects import ItemFilter
from tests.clock import Clock
from tests.node.conftest import BASE_URL
from tests.node.web import make_initiative
from tests.node.web.test_ui_auth import PASSWORD, sign_in
from tests.node.web.test_ui_edit import post_form
from tests.servers import serve_in_thread


class FeedServer:
    """Serves one Atom feed whose entries, ETag and status the test sets; records requests."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, str]] = []  # (id, title, html)
        self.version = 1
        self.status = 200
        self.requests: list[dict[str, str]] = []

    def body(self) -> str:
        entries = "".join(
            f"<entry><id>{eid}</id><title>{title}</title><updated>2026-11-27T08:00:00Z</updated>"
            f"<link rel='alternate' href='https://bron.example/{eid.rsplit(':', 1)[-1]}'/>"
            f"<content type='html'>{html}</content></entry>" for eid, title, html in self.entries)
        return ("<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
                "<id>urn:bron</id><title>Bron</title><updated>2026-11-27T08:00:00Z</updated>"
                f"<author><name>Bron</name></author>{entries}</feed>")

    async def endpoint(self, request: Request) -> Response:
        self.requests.append(dict(request.headers))
        if self.status != 200:
            return Response("kapot", status_code=self.status)
        etag = f'"v{self.version}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        return Response(self.body(), media_type="application/atom+xml", headers={"ETag": etag})


@contextlib.contextmanager
def serving(feed: FeedServer) -> Iterator[str]:
    with serve_in_thread(Starlette(routes=[Route("/feed.atom", feed.endpoint)])) as base:
        yield f"{base}/feed.atom"


@pytest.fixture
def node(loopback_app: Starlette) -> Starlette:
    return loopback_app


async def items_of(ctx: NodeContext) -> list[Any]:
    async with ctx.db.sessions() as session:
        return await object_store.list_page(session, ItemFilter(origin="local"), limit=50)


async def test_feed_entries_become_items_once_and_follow_the_feed(
        node: Starlette, clock: Clock) -> None:
    ctx: NodeContext = node.state.ctx
    await make_initiative(ctx)
    await add_user(ctx, "beheerder", "correct horse battery", "admin")
    auth = {"Authorization": f"Bearer {await create_token(ctx, 'beheerder')}"}
    feed = FeedServer()
    feed.entries = [
        ("urn:e:1", "Eerste bericht", "&lt;p&gt;Hallo &lt;b&gt;dorp&lt;/b&gt;&lt;/p&gt;"
         "&lt;script&gt;alert(1)&lt;/script&gt;&lt;p&gt;Tweede alinea&lt;/p&gt;"),
        ("urn:e:2", "Tweede bericht", "Gewoon tekst"),
    ]
    poll = ctx.settings.feeds.poll_seconds
    with serving(feed) as url:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=node),
                                     base_url=BASE_URL) as client:
            # Given a subscription: fetched by the worker at once
            response = await client.post("/api/feeds", headers=auth, json={
                "url": url, "as": "dorpsmolen", "kind": "guide", "themes": ["meals"]})
            assert response.status_code == 201, response.text
            sub_id = response.json()["id"]
            await worker.run_once(ctx)
            items = {i.title: i for i in await items_of(ctx)}
            assert set(items) == {"Eerste bericht", "Tweede bericht"}
            first = items["Eerste bericht"]
            assert first.kind == "guide" and first.themes == ["meals"]
            assert first.attributed_to == "https://drenthe.test/actors/dorpsmolen"
            assert "<script" not in (first.content_html or "") and "alert" not in first.content
            assert "Hallo dorp" in first.content and "\n\nTweede alinea" in first.content
            assert first.fields["attachments"][0]["url"] == "https://bron.example/1"
            assert first.document["type"] == "Document"  # published like any other item

            # When nothing changed: a conditional GET, answered 304, no new items
            clock.advance(poll)
            await worker.run_once(ctx)
            assert feed.requests[-1]["if-none-match"] == '"v1"'
            assert len(await items_of(ctx)) == 2

            # When entry 1 changes: its item is updated, not doubled
            feed.entries[0] = ("urn:e:1", "Eerste bericht (bijgewerkt)", "Nieuwe tekst")
            feed.version = 2
            clock.advance(poll)
            await worker.run_once(ctx)
            items = {i.ap_id: i for i in await items_of(ctx)}
            assert len(items) == 2
            assert items[first.ap_id].title == "Eerste bericht (bijgewerkt)"
            assert items[first.ap_id].version == 2

            # When an editor edits entry 2's item here, and the feed changes it: the edit stays
            second = next(i for i in items.values() if i.title == "Tweede bericht")
            await update_item(ctx, second.ap_id, Patch({"title": "Onze eigen titel"}), SYSTEM)
            # and entry 1's item is deleted here, and entry 2 leaves the feed
            await delete_item(ctx, first.ap_id, SYSTEM)
            feed.entries = [("urn:e:1", "Eerste bericht (weer anders)", "Nog eens"),
                            ("urn:e:2", "Tweede bericht (bron)", "Anders")]
            feed.version = 3
            clock.advance(poll)
            await worker.run_once(ctx)
            feed.entries = feed.entries[:1]
            feed.version = 4
            clock.advance(poll)
            await worker.run_once(ctx)
            live = await items_of(ctx)
            assert [i.title for i in live] == ["Onze eigen titel"]  # nothing re-created

            # When the feed answers 500: retried sooner, with back-off, shown in the list
            feed.status = 500
            clock.advance(poll)
            await worker.run_once(ctx)
            (listed,) = (await client.get("/api/feeds")).json()["feeds"]
            assert listed["id"] == sub_id and listed["state"] == "failing"
            assert listed["failures"] == 1 and "HTTP 500" in listed["last_error"]
            asked = len(feed.requests)
            clock.advance(ctx.settings.federation.retry_max_seconds)
            feed.status = 200
            await worker.run_once(ctx)
            assert len(feed.requests) == asked + 1
            (listed,) = (await client.get("/api/feeds")).json()["feeds"]
            assert listed["state"] == "ok" and listed["entries"] == 2

            # Unsubscribing stops the fetches; the items stay
            assert (await client.delete(f"/api/feeds/{sub_id}", headers=auth)).status_code == 204
            assert (await client.get("/api/feeds")).json()["feeds"] == []
            assert len(await items_of(ctx)) == 1


class Crash(Exception):
    """The process dying at a chosen point (fault injection)."""


@pytest.mark.parametrize("crash_after", [1, 3])
async def test_a_fetch_that_crashes_midway_neither_doubles_nor_loses_an_entry(
        node: Starlette, clock: Clock, monkeypatch: pytest.MonkeyPatch, crash_after: int) -> None:
    ctx: NodeContext = node.state.ctx
    await make_initiative(ctx)
    feed = FeedServer()
    feed.entries = [(f"urn:e:{n}", f"Bericht {n}", f"Tekst {n}") for n in range(1, 6)]
    real_create, real_update = items_service.create_item, items_service.update_item
    calls = 0

    async def crashing(real: Any, *args: Any, **kwargs: Any) -> Any:
        # The k-th write commits, then the process "dies" before the next entry.
        nonlocal calls
        result = await real(*args, **kwargs)
        calls += 1
        if calls == crash_after:
            raise Crash(f"crash after entry {calls}")
        return result

    async def create(*args: Any, **kwargs: Any) -> Any:
        return await crashing(real_create, *args, **kwargs)

    async def update(*args: Any, **kwargs: Any) -> Any:
        return await crashing(real_update, *args, **kwargs)

    with serving(feed) as url:
        await subscriptions.subscribe(ctx, FeedInput.model_validate(
            {"url": url, "as": "dorpsmolen"}), SYSTEM)
        # Given a fetch that crashes after the k-th new entry's item
        monkeypatch.setattr(items_service, "create_item", create)
        await worker.run_once(ctx)
        assert len(await items_of(ctx)) == crash_after
        # When it is retried (the back-off passed) with nothing failing: every entry once
        monkeypatch.setattr(items_service, "create_item", real_create)
        clock.advance(ctx.settings.federation.retry_max_seconds)
        await worker.run_once(ctx)
        titles = sorted(i.title for i in await items_of(ctx))
        assert titles == [f"Bericht {n}" for n in range(1, 6)]
        (sub,) = await subscriptions.list_subscriptions(ctx)
        assert sub.failures == 0 and sub.entries == 5

        # Given every entry changed and a fetch that crashes after the k-th update
        feed.entries = [(f"urn:e:{n}", f"Bericht {n} (nieuw)", f"Tekst {n}") for n in range(1, 6)]
        feed.version = 2
        calls = 0
        monkeypatch.setattr(items_service, "update_item", update)
        clock.advance(ctx.settings.feeds.poll_seconds)
        await worker.run_once(ctx)
        monkeypatch.setattr(items_service, "update_item", real_update)
        clock.advance(ctx.settings.federation.retry_max_seconds)
        await worker.run_once(ctx)
        # Then every item has the new text, written once (a lost mark would read as a local
        # edit and the item would never follow the feed again)
        live = await items_of(ctx)
        assert sorted(i.title for i in live) == [f"Bericht {n} (nieuw)" for n in range(1, 6)]
        assert {i.version for i in live} == {2}


async def test_two_fetches_of_one_feed_at_once_store_each_entry_once(
        node: Starlette, clock: Clock) -> None:
    ctx: NodeContext = node.state.ctx
    await make_initiative(ctx)
    feed = FeedServer()
    feed.entries = [(f"urn:e:{n}", f"Bericht {n}", f"Tekst {n}") for n in range(1, 4)]
    with serving(feed) as url:
        await subscriptions.subscribe(ctx, FeedInput.model_validate(
            {"url": url, "as": "dorpsmolen"}), SYSTEM)
        (sub,) = await subscriptions.list_subscriptions(ctx)
        async with ctx.db.sessions() as session:
            job = await job_store.get(session, f"feed:{sub.id}")
        assert job is not None
        # Given two fetches of the same feed that both started before either stored anything
        # (a lease that ran out, two workers): both see every entry as new
        first, second = await asyncio.gather(subscriptions.fetch(ctx, job),
                                             subscriptions.fetch(ctx, job))
        # Then every entry is stored once, and both know every entry as seen
        titles = sorted(i.title for i in await items_of(ctx))
        assert titles == ["Bericht 1", "Bericht 2", "Bericht 3"]
        assert set(first["entries"]) == set(second["entries"]) == {"urn:e:1", "urn:e:2",
                                                                   "urn:e:3"}
        # and the items' ids follow from the subscription and the entry
        ids = {i.ap_id for i in await items_of(ctx)}
        assert ids == {ctx.urls.item(subscriptions.entry_item_id(job.key, f"urn:e:{n}"))
                       for n in range(1, 4)}
        # When the slower one's view is what the worker writes back, and the feed is read again
        async with ctx.db.transaction() as session:
            await job_store.finish(session, job.id, attempts=0, last_error=None,
                                   payload=second, next_attempt_at=ctx.now())
        feed.version = 2
        await worker.run_once(ctx)
        assert len(await items_of(ctx)) == 3


async def test_subscribing_needs_an_editor_of_the_initiative(node: Starlette) -> None:
    ctx: NodeContext = node.state.ctx
    await make_initiative(ctx)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=node),
                                 base_url=BASE_URL) as client:
        body = {"url": "https://bron.example/feed.atom", "as": "dorpsmolen"}
        assert (await client.post("/api/feeds", json=body)).status_code == 401
        await add_user(ctx, "redacteur", "correct horse battery", "editor")
        editor = {"Authorization": f"Bearer {await create_token(ctx, 'redacteur')}"}
        assert (await client.post("/api/feeds", json=body, headers=editor)).status_code == 403
        await add_user(ctx, "beheerder", "correct horse battery", "admin")
        admin = {"Authorization": f"Bearer {await create_token(ctx, 'beheerder')}"}
        bad = await client.post("/api/feeds", headers=admin,
                                json={**body, "url": "ftp://bron.example/x"})
        assert bad.status_code == 422 and bad.json()["field"] == "url"
        bad = await client.post("/api/feeds", headers=admin, json={**body, "kind": "answer"})
        assert bad.status_code == 422 and bad.json()["field"] == "kind"
        assert (await client.get("/api/feeds")).json()["feeds"] == []


# --- the page ----------------------------------------------------------------------------------


async def test_feeds_page_subscribes_lists_and_stops(client: httpx.AsyncClient,
                                                     ctx: NodeContext) -> None:
    await add_user(ctx, "beheerder", PASSWORD, "admin")
    await make_initiative(ctx, "dorpsmolen", name="Dorpsmolen Reduzum")
    assert (await sign_in(client)).status_code == 303
    page = (await client.get("/bewerken/feeds")).text
    assert "Nog geen feeds." in page and '<option value="dorpsmolen">' in page
    # A bad address is named and nothing is stored
    response = await post_form(client, "/bewerken/feeds",
                               {"url": "geen adres", "as": "dorpsmolen", "kind": "story"})
    assert response.status_code == 422 and "Adres van de feed" in response.text
    assert await subscriptions.list_subscriptions(ctx) == []
    response = await post_form(client, "/bewerken/feeds", {
        "url": "https://bron.example/feed.xml", "as": "dorpsmolen", "kind": "guide",
        "theme": "meals"})
    assert response.status_code == 303
    (sub,) = await subscriptions.list_subscriptions(ctx)
    assert (sub.url, sub.handle, sub.kind, sub.themes) == (
        "https://bron.example/feed.xml", "dorpsmolen", "guide", ["meals"])
    page = (await client.get("/bewerken/feeds?opgeslagen=1")).text
    assert "De feed is toegevoegd" in page and "https://bron.example/feed.xml" in page
    response = await post_form(client, "/bewerken/feeds", {},
                               action=f"/bewerken/feeds/{sub.id}/stoppen")
    assert response.status_code == 303
    assert await subscriptions.list_subscriptions(ctx) == []


async def test_feeds_page_needs_a_signed_in_user(client: httpx.AsyncClient) -> None:
    response = await client.get("/bewerken/feeds")
    assert response.status_code == 303 and response.headers["location"].startswith("/aanmelden")
