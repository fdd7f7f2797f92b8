"""ActivityPub object endpoints: actors, outbox/followers/following, items, activities.

Round trip as a peer does it (WebFinger -> actor -> outbox -> object), integrity proofs checked
against the key the author's actor document publishes, negotiation, Tombstones, and paging.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from node.services.actors import delete_initiative
from node.services.context import NodeContext
from node.services.items import delete_item
from node.services.permissions import SYSTEM
from node.store.schema import follows
from protocol.errors import ProofError
from protocol.keys import multikey_decode
from protocol.proofs import verify_proof
from tests.node.web import AS_JSON, BROWSER, make_initiative, make_item

ACTOR = "https://drenthe.test/actors/dorpsmolen"
AS_CONTENT_TYPE = "application/activity+json; charset=utf-8"


async def get_json(client: httpx.AsyncClient, url: str, status: int = 200) -> dict[str, Any]:
    response = await client.get(url, headers=AS_JSON)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == AS_CONTENT_TYPE
    body: dict[str, Any] = response.json()
    return body


def verify_with_actor(document: dict[str, Any], actor: dict[str, Any]) -> str:
    """Verify ``document``'s proof with the Ed25519 key in ``actor``'s assertionMethod."""
    [method] = actor["assertionMethod"]
    assert method["controller"] == actor["id"]
    return verify_proof(document, multikey_decode(method["publicKeyMultibase"]))


async def walk(client: httpx.AsyncClient, url: str, link: str) -> list[list[Any]]:
    """Follow ``link`` (next or prev) from page ``url``; the pages' orderedItems in order."""
    pages: list[list[Any]] = []
    next_url: str | None = url
    while next_url:
        page = await get_json(client, next_url)
        assert page["type"] == "OrderedCollectionPage"
        pages.append(page["orderedItems"])
        next_url = page.get(link)
        assert len(pages) < 20, "paging does not end"
    return pages


# --- round trip and proofs ---------------------------------------------------------------------


async def test_webfinger_actor_outbox_object_round_trip_verifies(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    # Given an initiative with one story
    await make_initiative(ctx)
    item = await make_item(ctx)
    # When a peer discovers it the way Mastodon does
    jrd = (await client.get("/.well-known/webfinger",
                            params={"resource": "acct:dorpsmolen@drenthe.test"})).json()
    [self_link] = [link for link in jrd["links"] if link["rel"] == "self"]
    actor = await get_json(client, self_link["href"])
    outbox = await get_json(client, actor["outbox"])
    page = await get_json(client, outbox["first"])
    [create] = page["orderedItems"]
    obj = await get_json(client, create["object"]["id"])
    # Then every document is the one stored and verifies against the actor's key
    assert actor["id"] == ACTOR
    assert outbox["totalItems"] == 1
    assert create["type"] == "Create"
    assert obj["id"] == item.ap_id
    assert obj == item.document
    assert verify_with_actor(obj, actor) == f"{ACTOR}#ed25519-key"
    assert verify_with_actor(create, actor) == f"{ACTOR}#ed25519-key"
    assert verify_with_actor(create["object"], actor) == f"{ACTOR}#ed25519-key"


async def test_served_item_with_one_changed_byte_fails_verification(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    item = await make_item(ctx)
    actor = await get_json(client, ACTOR)
    obj = await get_json(client, item.ap_id)
    obj["name"] = obj["name"][:-1] + "X"
    with pytest.raises(ProofError):
        verify_with_actor(obj, actor)


async def test_actor_document_is_the_stored_signed_document(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    stored = await make_initiative(ctx)
    actor = await get_json(client, ACTOR)
    assert actor == stored.document
    assert verify_with_actor(actor, actor) == f"{ACTOR}#ed25519-key"


async def test_node_actor_is_served(client: httpx.AsyncClient) -> None:
    actor = await get_json(client, "/actors/drenthe")
    assert actor["id"] == "https://drenthe.test/actors/drenthe"
    assert actor["type"] == "Organization"


async def test_activity_is_served_as_stored(client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    await make_item(ctx)
    outbox_page = await get_json(client, f"{ACTOR}/outbox?page=true")
    [create] = outbox_page["orderedItems"]
    assert await get_json(client, create["id"]) == create


# --- negotiation -------------------------------------------------------------------------------


@pytest.mark.parametrize("accept", [
    "application/activity+json",
    'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
    "application/ld+json",
    "application/json",
    "application/activity+json, application/ld+json",
])
async def test_activity_json_accept_variants_get_json(
        client: httpx.AsyncClient, ctx: NodeContext, accept: str) -> None:
    await make_initiative(ctx)
    item = await make_item(ctx)
    for url in (ACTOR, f"{ACTOR}/outbox", f"{ACTOR}/followers", item.ap_id):
        response = await client.get(url, headers={"Accept": accept})
        assert response.status_code == 200
        assert response.headers["content-type"] == AS_CONTENT_TYPE
        assert response.headers["vary"] == "Accept"
        assert response.json()["id"].startswith("https://drenthe.test/")


async def test_browser_gets_the_html_page_with_csp_and_alternate_link(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    item = await make_item(ctx)
    for url in (ACTOR, f"{ACTOR}/outbox", item.ap_id):
        response = await client.get(url, headers=BROWSER)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["vary"] == "Accept, Accept-Language, Cookie"
        assert "script-src 'none'" in response.headers["content-security-policy"]
        assert response.headers["link"].endswith('rel="alternate"; type="application/activity+json"')
        assert '<html lang="nl">' in response.text


# --- deletion ----------------------------------------------------------------------------------


async def test_deleted_item_answers_410_with_a_signed_tombstone(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    item = await make_item(ctx)
    actor = await get_json(client, ACTOR)
    await delete_item(ctx, item.ap_id, SYSTEM)
    tombstone = await get_json(client, item.ap_id, status=410)
    assert tombstone["type"] == "Tombstone"
    assert tombstone["id"] == item.ap_id
    assert tombstone["formerType"] == "Article"
    assert "content" not in tombstone
    verify_with_actor(tombstone, actor)


async def test_deleted_initiative_answers_410_with_a_tombstone(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    actor = await get_json(client, ACTOR)
    await delete_initiative(ctx, "dorpsmolen", SYSTEM)
    tombstone = await get_json(client, ACTOR, status=410)
    assert tombstone["type"] == "Tombstone"
    assert tombstone["id"] == ACTOR
    assert tombstone["formerType"] == "Organization"
    verify_with_actor(tombstone, actor)


async def test_outbox_of_a_deleted_initiative_is_410(client: httpx.AsyncClient,
                                                     ctx: NodeContext) -> None:
    await make_initiative(ctx)
    await delete_initiative(ctx, "dorpsmolen", SYSTEM)
    response = await client.get(f"{ACTOR}/outbox", headers=AS_JSON)
    assert response.status_code == 410


# --- unknown and malformed ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/actors/nobody", "/actors/nobody/outbox",
                                  "/actors/nobody/followers", "/actors/nobody/following",
                                  "/items/0123456789abcdef", "/activities/0123456789abcdef"])
async def test_unknown_is_404(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, headers=AS_JSON)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize("query", ["page=true&max_id=abc", "page=true&min_id=-1",
                                   "page=true&max_id=1&min_id=2"])
async def test_malformed_page_cursor_is_400(client: httpx.AsyncClient, query: str) -> None:
    response = await client.get(f"/actors/drenthe/outbox?{query}", headers=AS_JSON)
    assert response.status_code == 400


# --- paging ------------------------------------------------------------------------------------


async def test_outbox_collection_names_first_and_last_pages(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    outbox = await get_json(client, f"{ACTOR}/outbox")
    assert outbox == {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{ACTOR}/outbox", "type": "OrderedCollection", "totalItems": 0,
        "first": f"{ACTOR}/outbox?page=true", "last": f"{ACTOR}/outbox?page=true&min_id=0",
    }
    first = await get_json(client, outbox["first"])
    assert first["orderedItems"] == []
    assert first["partOf"] == f"{ACTOR}/outbox"
    assert "next" not in first and "prev" not in first


@pytest.fixture
async def outbox_of_45(ctx: NodeContext) -> list[str]:
    """An initiative with 45 items (so 45 Create activities); the item ids, newest first."""
    await make_initiative(ctx)
    items = [await make_item(ctx, title=f"Verhaal {n}") for n in range(45)]
    return [item.ap_id for item in reversed(items)]


def object_ids(pages: list[list[Any]]) -> list[str]:
    return [activity["object"]["id"] for page in pages for activity in page]


async def test_outbox_paged_forward_covers_every_item_once_newest_first(
        client: httpx.AsyncClient, outbox_of_45: list[str]) -> None:
    outbox = await get_json(client, f"{ACTOR}/outbox")
    assert outbox["totalItems"] == 45
    pages = await walk(client, outbox["first"], "next")
    assert [len(page) for page in pages] == [20, 20, 5]
    assert object_ids(pages) == outbox_of_45


async def test_outbox_paged_backward_covers_every_item_once(
        client: httpx.AsyncClient, outbox_of_45: list[str]) -> None:
    outbox = await get_json(client, f"{ACTOR}/outbox")
    pages = await walk(client, outbox["last"], "prev")
    # Pages are walked oldest first; each page is newest first within itself.
    assert object_ids(list(reversed(pages))) == outbox_of_45
    assert len(pages) == 3


async def test_outbox_page_links_back_and_forth(client: httpx.AsyncClient,
                                                outbox_of_45: list[str]) -> None:
    first = await get_json(client, f"{ACTOR}/outbox?page=true")
    second = await get_json(client, first["next"])
    back = await get_json(client, second["prev"])
    assert back["orderedItems"] == first["orderedItems"]
    assert "prev" not in back


async def add_follows(ctx: NodeContext, rows: list[tuple[str, str]], state: str = "accepted"
                      ) -> None:
    """Follows (follower, followee) in order; the follow service is not written yet."""
    now = ctx.now()
    async with ctx.db.transaction() as session:
        for n, (follower, followee) in enumerate(rows):
            at = now + timedelta(seconds=n)
            await session.execute(follows.insert().values(
                follower=follower, followee=followee, state=state, created_at=at,
                updated_at=at))


async def test_followers_list_actor_iris_paged_both_ways(client: httpx.AsyncClient,
                                                         ctx: NodeContext) -> None:
    await make_initiative(ctx)
    followers = [f"https://peer{n}.test/users/u{n}" for n in range(23)]
    await add_follows(ctx, [(f, ACTOR) for f in followers])
    await add_follows(ctx, [("https://peer.test/users/pending", ACTOR)], state="pending")
    collection = await get_json(client, f"{ACTOR}/followers")
    assert collection["totalItems"] == 23
    forward = await walk(client, collection["first"], "next")
    backward = await walk(client, collection["last"], "prev")
    newest_first = list(reversed(followers))
    assert [iri for page in forward for iri in page] == newest_first
    assert [iri for page in reversed(backward) for iri in page] == newest_first


async def test_following_lists_the_followed_actor_iris(client: httpx.AsyncClient,
                                                       ctx: NodeContext) -> None:
    await make_initiative(ctx)
    await add_follows(ctx, [(ACTOR, "https://fryslan.test/actors/fryslan"),
                            ("https://peer.test/users/a", ACTOR)])
    following = await get_json(client, f"{ACTOR}/following?page=true")
    assert following["orderedItems"] == ["https://fryslan.test/actors/fryslan"]
    assert following["totalItems"] == 1
