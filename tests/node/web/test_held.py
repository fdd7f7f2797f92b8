"""Rendered bytes held in memory (node.services.rendered, node.web.held): the same bytes as a fresh
render, never a stale read after a write (in this engine or another), never one viewer's page
shown to another."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from sqlalchemy import update
from starlette.applications import Starlette

from node.services.context import NodeContext
from node.services.inputs import Patch
from node.services.items import delete_item, update_item
from node.services.keys import rotate_keys
from node.services.permissions import SYSTEM
from node.services.rendered import Held, RenderCache
from node.services.users import add_user
from node.store import activities as activity_store
from node.store import actors as actor_store
from node.store.db import Database
from node.store.schema import objects
from tests.node.conftest import BASE_URL
from tests.node.web import AS_JSON, BROWSER, local_id, make_initiative, make_item
from tests.node.web.api_helpers import insert_remote_item
from tests.node.web.test_ui_auth import PASSWORD, sign_in
from tests.statements import counted, held_long

__all__ = ["held_long"]  # the fixture, imported for pytest

NL = {**BROWSER, "Accept-Language": "nl"}
EN = {**BROWSER, "Accept-Language": "en"}


@pytest.fixture
async def other(ctx: NodeContext, database_url: str) -> AsyncIterator[NodeContext]:
    """A second context on the same database with its own engine: another process's writes."""
    db = Database.connect(database_url)
    yield NodeContext(settings=ctx.settings, db=db, clock=ctx.clock, keygen=ctx.keygen)
    await db.dispose()


async def _urls(ctx: NodeContext, client: httpx.AsyncClient) -> dict[str, tuple[str, dict[str, str]]]:
    await make_initiative(ctx)
    item = await make_item(ctx, themes=["meals"])
    page = await client.get("/actors/dorpsmolen/outbox?page=true", headers=AS_JSON)
    [create] = [a["id"] for a in page.json()["orderedItems"] if a["type"] == "Create"]
    return {"API JSON": (f"/api/items/{local_id(item.ap_id)}", {}),
            "AP JSON": (item.ap_id, AS_JSON),
            "HTML": (item.ap_id, NL),
            "activity": (create, AS_JSON)}


def _same(one: httpx.Response, other: httpx.Response) -> bool:
    """The same headers but the request id (each request its own)."""
    def kept(r: httpx.Response) -> list[tuple[str, str]]:
        return [(k, v) for k, v in r.headers.multi_items() if k != "x-request-id"]
    return kept(one) == kept(other)


async def test_held_bytes_are_the_bytes_a_fresh_render_gives_and_keep_their_etag(
        ctx: NodeContext, client: httpx.AsyncClient) -> None:
    for name, (url, headers) in (await _urls(ctx, client)).items():
        # Given a response rendered once (and held)
        first = await client.get(url, headers=headers)
        assert first.status_code == 200, name
        hits = ctx.rendered.hits
        # When it is asked for again
        again = await client.get(url, headers=headers)
        # Then it comes from memory, byte for byte and header for header what was rendered
        assert ctx.rendered.hits == hits + 1, name
        assert again.content == first.content and _same(again, first), name
        # and it is what a render now gives
        ctx.rendered.clear()
        fresh = await client.get(url, headers=headers)
        assert fresh.content == first.content and _same(fresh, first), name
        # and a held hit answers If-None-Match with 304 like any document GET, header for
        # header the 304 of a render
        tag = {**headers, "If-None-Match": first.headers["etag"]}
        ctx.rendered.clear()
        rendered = await client.get(url, headers=tag)
        hits = ctx.rendered.hits
        tagged = await client.get(url, headers=tag)
        assert ctx.rendered.hits == hits + 1, name
        assert tagged.status_code == rendered.status_code == 304, name
        assert tagged.content == b"" and _same(tagged, rendered), name
        # and a HEAD is answered as before
        assert (await client.head(url, headers=headers)).status_code == 200, name


async def test_an_edit_in_another_engine_is_served_at_the_next_read(
        ctx: NodeContext, client: httpx.AsyncClient, other: NodeContext) -> None:
    urls = await _urls(ctx, client)
    held = {name: (await client.get(url, headers=h)).content for name, (url, h) in urls.items()}
    api_url = urls["API JSON"][0]
    # When another process (its own engine, nothing shared in memory) edits the item
    item_id = (await client.get(api_url)).json()["id"]
    await update_item(other, item_id, Patch(changes={"title": "Een nieuwe titel"}), SYSTEM)
    # Then the very next reads show the edit
    assert (await client.get(api_url)).json()["title"] == "Een nieuwe titel"
    page = await client.get(item_id, headers=NL)
    assert "Een nieuwe titel" in page.text and page.content != held["HTML"]
    assert (await client.get(item_id, headers=AS_JSON)).json()["name"] == "Een nieuwe titel"
    # and the Create still serves what was signed (it embeds the first version)
    assert (await client.get(urls["activity"][0], headers=AS_JSON)).content == held["activity"]


async def test_a_write_that_skips_the_services_is_seen_too(
        ctx: NodeContext, client: httpx.AsyncClient, other: NodeContext) -> None:
    # A restore or a hand edit bumps the row's version in place: the stamp moves, nothing held
    urls = await _urls(ctx, client)
    api_url, page_url = urls["API JSON"][0], urls["HTML"][0]
    await client.get(api_url)
    await client.get(page_url, headers=NL)
    async with other.db.transaction() as session:
        await session.execute(update(objects).where(objects.c.ap_id == page_url).values(
            title="Met de hand", version=objects.c.version + 1))
    assert (await client.get(api_url)).json()["title"] == "Met de hand"
    assert "Met de hand" in (await client.get(page_url, headers=NL)).text


async def test_a_delete_is_served_at_the_next_read(
        ctx: NodeContext, client: httpx.AsyncClient, other: NodeContext) -> None:
    urls = await _urls(ctx, client)
    for url, headers in urls.values():
        assert (await client.get(url, headers=headers)).status_code == 200
    await delete_item(other, urls["HTML"][0], SYSTEM)
    assert (await client.get(urls["API JSON"][0])).status_code == 410
    assert (await client.get(urls["HTML"][0], headers=NL)).status_code == 410
    assert (await client.get(urls["AP JSON"][0], headers=AS_JSON)).status_code == 410
    assert (await client.get(urls["activity"][0], headers=AS_JSON)).status_code == 404


async def test_a_key_rotation_serves_the_re_signed_activity(
        ctx: NodeContext, client: httpx.AsyncClient, other: NodeContext) -> None:
    urls = await _urls(ctx, client)
    for url in (urls["activity"][0], urls["AP JSON"][0]):  # each is signed by the actor
        before = await client.get(url, headers=AS_JSON)
        await rotate_keys(other, "dorpsmolen")
        after = await client.get(url, headers=AS_JSON)
        assert after.content != before.content
        ctx.rendered.clear()
        assert (await client.get(url, headers=AS_JSON)).content == after.content


def _statements(ctx: NodeContext) -> list[str]:
    """What the in-line reading connection runs from now on (SQLite)."""
    assert ctx.db._inline is not None and ctx.db._inline.conn is not None
    sent: list[str] = []
    ctx.db._inline.conn.set_trace_callback(sent.append)
    return sent


async def test_a_hit_with_nothing_committed_reads_no_stamp(
        ctx: NodeContext, client: httpx.AsyncClient) -> None:
    if not ctx.db.is_sqlite:
        pytest.skip("PostgreSQL reads the stamp on every request")
    urls = {**await _urls(ctx, client),
            "outbox": ("/actors/dorpsmolen/outbox?page=true", AS_JSON)}
    for url, headers in urls.values():
        assert (await client.get(url, headers=headers)).status_code == 200
    # When each is read again with nothing committed in between
    sent = _statements(ctx)
    hits = ctx.rendered.hits
    for url, headers in urls.values():
        assert (await client.get(url, headers=headers)).status_code == 200
    # Then each is a hit that asked SQLite only whether anything was committed
    assert ctx.rendered.hits == hits + len(urls)
    assert sent == ["PRAGMA data_version"] * len(urls)


async def test_a_commit_by_another_process_is_served_at_the_next_read(
        ctx: NodeContext, client: httpx.AsyncClient) -> None:
    if not ctx.db.is_sqlite:
        pytest.skip("a SQLite file written by another process")
    urls = await _urls(ctx, client)
    api_url, page_url = urls["API JSON"][0], urls["HTML"][0]
    for url, headers in urls.values():
        await client.get(url, headers=headers)
        await client.get(url, headers=headers)  # held, its stamp kept
    # When another process writes the row with plain sqlite3 (a hand edit that bumps it)
    path = ctx.db.engine.url.database
    script = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
              "c.execute(\"UPDATE objects SET title = 'Elders bewerkt', version = version + 1 "
              "WHERE ap_id = ?\", (sys.argv[2],)); c.commit()")
    subprocess.run([sys.executable, "-c", script, str(path), page_url], check=True)
    # Then the very next reads show it
    assert (await client.get(api_url)).json()["title"] == "Elders bewerkt"
    assert "Elders bewerkt" in (await client.get(page_url, headers=NL)).text


async def test_a_signed_in_page_is_never_held_nor_served_to_someone_else(
        ctx: NodeContext, client: httpx.AsyncClient, app: Starlette) -> None:
    urls = await _urls(ctx, client)
    page_url = urls["HTML"][0]
    await add_user(ctx, "beheerder", PASSWORD, "admin")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=str(client.base_url)) as anonymous:
        # An anonymous page held first
        held = await anonymous.get(page_url, headers=NL)
        assert "beheerder" not in held.text
        # A signed-in person gets their own page (their name, no-store), not the held one
        assert (await sign_in(client, "beheerder")).status_code == 303
        mine = await client.get(page_url, headers=NL)
        assert "beheerder" in mine.text and mine.headers["cache-control"] == "no-store"
        mine_again = await client.get(page_url, headers=NL)
        assert "beheerder" in mine_again.text
        # and it was never held: the anonymous visitor still gets the anonymous page
        after = await anonymous.get(page_url, headers=NL)
        assert after.content == held.content and "beheerder" not in after.text
        ctx.rendered.clear()
        await client.get(page_url, headers=NL)
        assert len(ctx.rendered) == 0


async def test_language_and_notices_are_not_mixed_up(
        ctx: NodeContext, client: httpx.AsyncClient) -> None:
    page_url = (await _urls(ctx, client))["HTML"][0]
    dutch = await client.get(page_url, headers=NL)
    english = await client.get(page_url, headers=EN)
    assert dutch.content != english.content
    assert (await client.get(page_url, headers=EN)).content == english.content
    assert (await client.get(page_url, headers=NL)).content == dutch.content
    # A page with a notice (after a POST's redirect) is rendered, not taken from memory
    notice = await client.get(f"{page_url}?opgeslagen=1", headers=NL)
    assert notice.content != dutch.content
    assert (await client.get(page_url, headers=NL)).content == dutch.content


async def test_a_question_page_is_not_held(ctx: NodeContext, client: httpx.AsyncClient) -> None:
    # Its answers are rows the item's stamp does not cover
    await make_initiative(ctx)
    question = await make_item(ctx, kind="question", title="Wie weet raad?",
                               content="Hoe begin je een energiecoöperatie?")
    await client.get(question.ap_id, headers=NL)
    await client.get(question.ap_id, headers=NL)
    assert ctx.rendered.hits == 0 and len(ctx.rendered) == 0


async def test_nothing_is_held_when_the_setting_is_zero(
        ctx: NodeContext, client: httpx.AsyncClient) -> None:
    ctx.rendered = RenderCache(0)  # server.render_cache_bytes = 0
    for url, headers in (await _urls(ctx, client)).values():
        assert (await client.get(url, headers=headers)).status_code == 200
        assert (await client.get(url, headers=headers)).status_code == 200
    assert len(ctx.rendered) == 0 and ctx.rendered.hits == 0


def _held(stamp: int, size: int) -> Held:
    return Held(stamp, ((b"content-type", b"application/json"), (b"etag", b'"x"')),
                b"x" * size, '"x"', ((b"etag", b'"x"'),))


def test_the_cache_is_bounded_by_bytes_and_drops_the_least_recently_used() -> None:
    entry = _held(1, 1000).size
    cache = RenderCache(entry * 8)
    for key in "abcdefgh":
        cache.put(key, _held(1, 1000))
    assert cache.get("a", 1) is not None  # a is now the most recently used
    cache.put("i", _held(1, 1000))
    assert cache.get("b", 1) is None and cache.get("a", 1) is not None
    assert len(cache) == 8 and cache.size == 8 * entry <= cache.max_bytes


def test_a_new_stamp_replaces_the_entry_and_an_old_one_misses() -> None:
    cache = RenderCache(100_000)
    cache.put("a", _held(1, 1000))
    cache.put("a", _held(2, 500))
    assert cache.get("a", 1) is None and cache.get("a", 2) is not None
    assert len(cache) == 1 and cache.size == _held(2, 500).size


def test_a_response_bigger_than_an_eighth_of_the_bound_is_not_held() -> None:
    cache = RenderCache(8_000)
    cache.put("big", _held(1, 1_000))
    assert len(cache) == 0 and cache.size == 0


# --- outbox pages ------------------------------------------------------------------------------

OUTBOX = "/actors/dorpsmolen/outbox"
OUTBOX_URLS = (OUTBOX, f"{OUTBOX}?page=true", f"{OUTBOX}?page=true&min_id=0")


async def _outbox(client: httpx.AsyncClient) -> dict[str, bytes]:
    return {url: (await client.get(url, headers=AS_JSON)).content for url in OUTBOX_URLS}


@pytest.mark.usefixtures(held_long.__name__)  # the blocks read by the policy stay held
async def test_an_outbox_page_is_held_with_fewer_statements_and_the_same_bytes(
        ctx: NodeContext, client: httpx.AsyncClient) -> None:
    # Given an initiative's outbox and its pages, rendered once
    await make_initiative(ctx)
    await make_item(ctx)
    first = {url: await client.get(url, headers=AS_JSON) for url in OUTBOX_URLS}
    for url in OUTBOX_URLS:
        # When a page is asked for again
        hits = ctx.rendered.hits
        with counted(ctx) as rendered:
            ctx.rendered.clear()
            fresh = await client.get(url, headers=AS_JSON)
        with counted(ctx) as again:
            held = await client.get(url, headers=AS_JSON)
        # Then it comes from memory: the stamp's one statement (in-line on a SQLite file, not
        # through the engine), not the render's
        assert ctx.rendered.hits == hits + 1, url
        assert len(again) <= 1 < len(rendered), (url, str(again))
        # byte for byte and header for header what a render gives, and it still answers 304
        assert held.content == fresh.content == first[url].content, url
        assert _same(held, first[url]), url
        tagged = await client.get(url, headers={**AS_JSON,
                                                "If-None-Match": first[url].headers["etag"]})
        assert tagged.status_code == 304, url


def _outbox_scans(sent: list[str]) -> list[str]:
    """The statements that count or scan an actor's every activity: its filtered total, and
    whether it relays anything received."""
    return [s for s in sent if s.startswith("SELECT count(*)") or s.startswith("SELECT EXISTS")]


@pytest.mark.usefixtures(held_long.__name__)  # the blocks read by the policy stay held
async def test_a_follower_paging_an_outbox_has_it_counted_once(
        ctx: NodeContext, client: httpx.AsyncClient) -> None:
    # Given an initiative's outbox whose first page was rendered (counted)
    await make_initiative(ctx)
    await make_item(ctx)
    with counted(ctx) as first:
        await client.get(OUTBOX_URLS[1], headers=AS_JSON)
    assert len(_outbox_scans(first)) == 2, first
    # When its other pages are rendered, nothing written in between
    with counted(ctx) as others:
        pages = [await client.get(url, headers=AS_JSON) for url in (OUTBOX_URLS[2], OUTBOX)]
    # Then they are not counted again, and give what a render from scratch gives
    assert _outbox_scans(others) == [], others
    ctx.rendered.clear()
    assert [p.content for p in pages] == [
        (await client.get(url, headers=AS_JSON)).content for url in (OUTBOX_URLS[2], OUTBOX)]


async def test_a_new_activity_from_another_engine_shows_in_the_outbox_at_the_next_read(
        ctx: NodeContext, client: httpx.AsyncClient, other: NodeContext) -> None:
    await make_initiative(ctx)
    await make_item(ctx)
    before = await _outbox(client)
    assert await _outbox(client) == before  # held
    # When another process (its own engine) publishes an item
    item = await make_item(other, title="Een tweede verhaal")
    # Then the very next reads show it: the count, the newest page, the last page unchanged
    after = await _outbox(client)
    collection = (await client.get(OUTBOX, headers=AS_JSON)).json()
    assert collection["totalItems"] == orjson.loads(before[OUTBOX])["totalItems"] + 1
    newest = (await client.get(OUTBOX_URLS[1], headers=AS_JSON)).json()["orderedItems"]
    assert newest[0]["type"] == "Create" and newest[0]["object"]["id"] == item.ap_id
    assert after[OUTBOX_URLS[1]] != before[OUTBOX_URLS[1]]
    ctx.rendered.clear()
    assert await _outbox(client) == after  # what a fresh render gives


async def test_a_deleted_item_and_a_key_rotation_show_in_the_outbox_at_the_next_read(
        ctx: NodeContext, client: httpx.AsyncClient, other: NodeContext) -> None:
    await make_initiative(ctx)
    item = await make_item(ctx)
    await make_item(ctx, title="Een tweede verhaal")
    held = await _outbox(client)
    # A delete in another engine: the item's Create leaves, its Delete comes
    await delete_item(other, item.ap_id, SYSTEM)
    deleted = await _outbox(client)
    types = [a["type"] for a in orjson.loads(deleted[OUTBOX_URLS[1]])["orderedItems"]]
    assert deleted[OUTBOX_URLS[1]] != held[OUTBOX_URLS[1]] and "Delete" in types
    # A key rotation in another engine re-signs every activity in the outbox
    await rotate_keys(other, "dorpsmolen")
    rotated = await _outbox(client)
    assert rotated[OUTBOX_URLS[1]] != deleted[OUTBOX_URLS[1]]
    ctx.rendered.clear()
    assert await _outbox(client) == rotated


async def test_an_outbox_relaying_a_received_item_is_not_held_so_hiding_it_shows_at_once(
        ctx: NodeContext, client: httpx.AsyncClient, other: NodeContext) -> None:
    # Given an initiative whose outbox announces a received item (as it relays an answer)
    await make_initiative(ctx)
    await make_item(ctx)
    item = await insert_remote_item(ctx, "terp", title="Terpdorp Hegebeintum",
                                    published=ctx.now())
    async with ctx.db.transaction() as session:
        actor = await actor_store.get_local(session, "dorpsmolen")
        assert actor is not None
        await activity_store.insert(
            session, ap_id=f"{BASE_URL}/activities/relay", actor=actor.ap_id, type="Announce",
            object_ap_id=item.ap_id, published=ctx.now(),
            document={"type": "Announce", "object": {"id": item.ap_id, "type": "Article"}})
    shown = await _outbox(client)
    assert await _outbox(client) == shown and len(ctx.rendered) == 0  # rendered every time
    # When an admin hides the item in another process (nothing the outbox stamp reads moves)
    async with other.db.transaction() as session:
        await session.execute(update(objects).where(objects.c.ap_id == item.ap_id).values(
            hidden_at=ctx.now(), hidden_by="beheerder"))
    # Then the Announce leaves the outbox at the next read
    hidden = orjson.loads((await _outbox(client))[OUTBOX_URLS[1]])
    assert hidden["totalItems"] == orjson.loads(shown[OUTBOX_URLS[1]])["totalItems"] - 1
    assert "Announce" not in [a["type"] for a in hidden["orderedItems"]]
