"""``/api/admin/blocks``: admins list, add and lift run-time host blocks; a block hides at once."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from node.services.context import NodeContext
from tests.node.conftest import BASE_URL
from tests.node.web.api_helpers import bearer, insert_remote_item

WHEN = datetime(2026, 11, 1, tzinfo=UTC)


async def _listed(client: httpx.AsyncClient) -> list[str]:
    response = await client.get(f"{BASE_URL}/api/items")
    return [item["id"] for item in response.json()["items"]]


async def test_block_hides_at_once_and_unblock_shows_again(
        client: httpx.AsyncClient, ctx: NodeContext, auth: dict[str, str]) -> None:
    item = await insert_remote_item(ctx, "kwaad", published=WHEN, host="evil.test")
    assert item.ap_id in await _listed(client)
    # When an admin blocks the host
    added = await client.post(f"{BASE_URL}/api/admin/blocks", headers=auth,
                              json={"host": "EVIL.test", "reason": "spam"})
    assert (added.status_code, added.json()) == (201, {"host": "evil.test", "purged": 0})
    # Then its item is gone from the list and from the item API, and the block is listed
    assert item.ap_id not in await _listed(client)
    one = await client.get(f"{BASE_URL}/api/items/by-id", params={"id": item.ap_id})
    assert one.status_code == 404
    listing = (await client.get(f"{BASE_URL}/api/admin/blocks", headers=auth)).json()
    assert [(b["host"], b["reason"]) for b in listing["blocks"]] == [("evil.test", "spam")]
    assert listing["mode"] == "open"
    # And when it is lifted, the item shows again
    lifted = await client.delete(f"{BASE_URL}/api/admin/blocks", headers=auth,
                                 params={"host": "evil.test"})
    assert lifted.status_code == 204
    assert item.ap_id in await _listed(client)


async def test_block_with_purge_deletes_the_hosts_items(
        client: httpx.AsyncClient, ctx: NodeContext, auth: dict[str, str]) -> None:
    item = await insert_remote_item(ctx, "kwaad", published=WHEN, host="evil.test")
    kept = await insert_remote_item(ctx, "goed", published=WHEN, host="fryslan.test")
    added = await client.post(f"{BASE_URL}/api/admin/blocks", headers=auth,
                              json={"host": "evil.test", "purge": True})
    assert added.json() == {"host": "evil.test", "purged": 1}
    await client.delete(f"{BASE_URL}/api/admin/blocks", headers=auth, params={"host": "evil.test"})
    assert await _listed(client) == [kept.ap_id]
    assert item.ap_id not in await _listed(client)


async def test_blocks_are_for_admins_only(client: httpx.AsyncClient, editor_token: str) -> None:
    editor = bearer(editor_token)
    assert (await client.get(f"{BASE_URL}/api/admin/blocks")).status_code == 401
    for response in (await client.get(f"{BASE_URL}/api/admin/blocks", headers=editor),
                     await client.post(f"{BASE_URL}/api/admin/blocks", headers=editor,
                                       json={"host": "evil.test"})):
        assert (response.status_code, response.json()["error"]) == (403, "forbidden")


async def test_bad_block_input_is_refused(client: httpx.AsyncClient, auth: dict[str, str]
                                          ) -> None:
    for body, reason in (({}, "missing_field"), ({"host": "a b"}, "bad_value"),
                         ({"host": "evil.test", "purge": "ja"}, "bad_type"),
                         ({"host": "evil.test", "extra": 1}, "unknown_field"),
                         ({"host": BASE_URL}, "bad_value")):
        response = await client.post(f"{BASE_URL}/api/admin/blocks", headers=auth, json=body)
        assert (response.status_code, response.json()["error"]) == (422, reason), body
    missing = await client.delete(f"{BASE_URL}/api/admin/blocks", headers=auth,
                                  params={"host": "never.test"})
    assert missing.status_code == 404
    listing = (await client.get(f"{BASE_URL}/api/admin/blocks", headers=auth)).json()
    assert listing["blocks"] == []
