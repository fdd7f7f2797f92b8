"""Follow requests waiting for approval (``/beheer/volgverzoeken``, the initiative edit page):
the actor says it is locked, a Follow waits, an editor accepts or (after confirming) rejects,
an Undo withdraws it, a repeat does not double; every action is logged."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from node.services.apply import apply
from node.services.context import NodeContext
from node.store import actors as actor_store
from node.store import follows as follow_store
from node.store.schema import activities, deliveries
from protocol.parse import parse_activity
from tests.node.web import AS_JSON, BROWSER, make_initiative
from tests.node.web.test_ui_auth import csrf_of

WHEN = datetime(2026, 11, 1, tzinfo=UTC)
MASTODON = "https://social.example/users/anna"
PATH = "/beheer/volgverzoeken"


async def _remote_actor(ctx: NodeContext, ap_id: str = MASTODON) -> None:
    """A Mastodon account as the cache holds it after its first signed request."""
    async with ctx.db.transaction() as session:
        await actor_store.insert(
            session, ap_id=ap_id, is_local=False, kind="remote", host="social.example",
            type="Person", preferred_username=ap_id.rsplit("/", 1)[1], name="Anna de Vries",
            inbox=f"{ap_id}/inbox", shared_inbox="https://social.example/inbox", profile={},
            version=0, published=WHEN, updated=WHEN, fetched_at=WHEN)


async def _follow(ctx: NodeContext, followee: str, n: int = 1, actor: str = MASTODON) -> None:
    activity = parse_activity({"id": f"{actor}#follows/{n}", "type": "Follow", "actor": actor,
                               "object": followee})
    assert (await apply(ctx, activity, sender=actor)).changed


async def _request_id(ctx: NodeContext, followee: str) -> int:
    async with ctx.db.sessions() as session:
        found = await follow_store.get(session, MASTODON, followee)
    assert found is not None
    return found.id


async def _undo(ctx: NodeContext, followee: str, n: int = 1) -> None:
    activity = parse_activity({
        "id": f"{MASTODON}#follows/{n}/undo", "type": "Undo", "actor": MASTODON,
        "object": {"id": f"{MASTODON}#follows/{n}", "type": "Follow", "actor": MASTODON,
                   "object": followee}})
    await apply(ctx, activity, sender=MASTODON)


async def _rows(ctx: NodeContext, followee: str) -> list[str]:
    async with ctx.db.sessions() as session:
        found = await follow_store.get(session, MASTODON, followee)
    return [found.state] if found else []


async def _sent(ctx: NodeContext, type: str) -> list[dict[str, object]]:
    """The ``type`` activities this node published; an Accept or Reject is queued for the
    Mastodon account's inbox."""
    async with ctx.db.sessions() as session:
        docs = (await session.execute(select(activities.c.document).where(
            activities.c.type == type))).scalars().all()
        inboxes = set((await session.execute(select(deliveries.c.inbox_url))).scalars().all())
    if docs and type in ("Accept", "Reject"):
        assert inboxes & {f"{MASTODON}/inbox", "https://social.example/inbox"}
    return list(docs)


async def _choose(client: httpx.AsyncClient, handle: str, on: bool) -> httpx.Response:
    page = (await client.get(f"/actors/{handle}/bewerken", headers=BROWSER)).text
    data = {"csrf_token": csrf_of(page), "initiative": handle}
    if on:
        data["approve"] = "1"
    return await client.post(f"{PATH}/instelling", data=data)


async def test_the_choice_locks_the_initiative_and_its_followers_wait(
        admin_client: httpx.AsyncClient, ctx: NodeContext,
        caplog: pytest.LogCaptureFixture) -> None:
    initiative = await make_initiative(ctx)
    await _remote_actor(ctx)
    doc = (await admin_client.get(initiative.ap_id, headers=AS_JSON)).json()
    assert doc["manuallyApprovesFollowers"] is False
    # When an editor turns approving by hand on in the edit page
    with caplog.at_level(logging.INFO, logger="kennisknoop.admin"):
        response = await _choose(admin_client, "dorpsmolen", True)
    assert response.status_code == 303
    assert "turned approving followers by hand on for dorpsmolen" in caplog.text
    # Then its document says so (an Update went out) and a Follow waits, twice asked once kept
    doc = (await admin_client.get(initiative.ap_id, headers=AS_JSON)).json()
    assert doc["manuallyApprovesFollowers"] is True
    assert len(await _sent(ctx, "Update")) == 1
    await _follow(ctx, initiative.ap_id, 1)
    await _follow(ctx, initiative.ap_id, 2)
    assert await _rows(ctx, initiative.ap_id) == ["pending"]
    assert await _sent(ctx, "Accept") == []
    followers = (await admin_client.get(f"{initiative.ap_id}/followers", headers=AS_JSON)).json()
    assert followers["totalItems"] == 0
    page = (await admin_client.get(PATH)).text
    assert page.count('<th scope="row">') == 1 and "Anna de Vries" in page
    # When the admin accepts it
    request_id = await _request_id(ctx, initiative.ap_id)
    with caplog.at_level(logging.INFO, logger="kennisknoop.admin"):
        accepted = await admin_client.post(f"{PATH}/{request_id}/accepteren",
                                           data={"csrf_token": csrf_of(page)})
    # Then the follower is added and an Accept of the latest Follow is sent
    assert accepted.status_code == 303
    assert f"user beheerder accepted the follow request of {MASTODON}" in caplog.text
    assert await _rows(ctx, initiative.ap_id) == ["accepted"]
    (accept,) = await _sent(ctx, "Accept")
    assert accept["object"] == {"id": f"{MASTODON}#follows/2", "type": "Follow",
                                "actor": MASTODON, "object": initiative.ap_id}
    assert "Er wachten geen volgverzoeken." in (await admin_client.get(PATH)).text


async def test_rejecting_asks_first_then_sends_reject_and_forgets_the_request(
        admin_client: httpx.AsyncClient, ctx: NodeContext,
        caplog: pytest.LogCaptureFixture) -> None:
    initiative = await make_initiative(ctx)
    await _remote_actor(ctx)
    assert (await _choose(admin_client, "dorpsmolen", True)).status_code == 303
    await _follow(ctx, initiative.ap_id)
    request_id = await _request_id(ctx, initiative.ap_id)
    confirm = await admin_client.get(f"{PATH}/{request_id}/weigeren")
    assert confirm.status_code == 200
    assert "Volgverzoek van Anna de Vries weigeren" in confirm.text
    assert await _rows(ctx, initiative.ap_id) == ["pending"]  # asking changed nothing
    with caplog.at_level(logging.INFO, logger="kennisknoop.admin"):
        rejected = await admin_client.post(f"{PATH}/{request_id}/weigeren",
                                           data={"csrf_token": csrf_of(confirm.text)})
    assert rejected.status_code == 303
    assert "rejected the follow request" in caplog.text
    assert await _rows(ctx, initiative.ap_id) == []
    (reject,) = await _sent(ctx, "Reject")
    assert reject["object"]["id"] == f"{MASTODON}#follows/1"  # type: ignore[index]
    again = await admin_client.post(f"{PATH}/{request_id}/weigeren",
                                    data={"csrf_token": csrf_of(confirm.text)})
    assert again.status_code == 404


async def test_an_undo_withdraws_a_waiting_request(admin_client: httpx.AsyncClient,
                                                   ctx: NodeContext) -> None:
    initiative = await make_initiative(ctx)
    await _remote_actor(ctx)
    assert (await _choose(admin_client, "dorpsmolen", True)).status_code == 303
    await _follow(ctx, initiative.ap_id)
    await _undo(ctx, initiative.ap_id)
    assert await _rows(ctx, initiative.ap_id) == []
    assert "Anna de Vries" not in (await admin_client.get(PATH)).text


async def test_turning_it_off_accepts_the_waiting_requests(admin_client: httpx.AsyncClient,
                                                           ctx: NodeContext) -> None:
    initiative = await make_initiative(ctx)
    await _remote_actor(ctx)
    assert (await _choose(admin_client, "dorpsmolen", True)).status_code == 303
    await _follow(ctx, initiative.ap_id)
    assert (await _choose(admin_client, "dorpsmolen", False)).status_code == 303
    assert await _rows(ctx, initiative.ap_id) == ["accepted"]
    assert len(await _sent(ctx, "Accept")) == 1
    doc = (await admin_client.get(initiative.ap_id, headers=AS_JSON)).json()
    assert doc["manuallyApprovesFollowers"] is False


async def test_the_admin_sets_it_for_the_node_actor(admin_client: httpx.AsyncClient,
                                                    ctx: NodeContext) -> None:
    page = (await admin_client.get(PATH)).text
    assert "Het knooppunt zelf" in page
    response = await admin_client.post(f"{PATH}/instelling", data={
        "csrf_token": csrf_of(page), "approve": "1"})
    assert response.status_code == 303
    node = ctx.urls.actor("drenthe")
    assert (await admin_client.get(node, headers=AS_JSON)).json()[
        "manuallyApprovesFollowers"] is True
    await _remote_actor(ctx)
    await _follow(ctx, node)
    assert await _rows(ctx, node) == ["pending"]


async def test_an_editor_answers_only_for_their_initiatives(
        editor_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    # Given both initiatives approve by hand and each has a waiting request
    async with ctx.db.transaction() as session:
        for handle in ("dorpsmolen", "zorgcoop"):
            await actor_store.update_values(session, ctx.urls.actor(handle),
                                            approves_followers=True)
    await _remote_actor(ctx)
    for handle in ("dorpsmolen", "zorgcoop"):
        await _follow(ctx, ctx.urls.actor(handle))
    page = (await editor_client.get(PATH)).text
    assert page.count('<th scope="row">') == 1
    assert "Dorpsmolen Reduzum" in page and "Zorgcoöperatie" not in page
    assert "Het knooppunt zelf" not in page
    async with ctx.db.sessions() as session:
        other = await follow_store.get(session, MASTODON, ctx.urls.actor("zorgcoop"))
    assert other is not None
    refused = await editor_client.post(f"{PATH}/{other.id}/accepteren",
                                       data={"csrf_token": csrf_of(page)})
    assert refused.status_code == 403
    node = await editor_client.post(f"{PATH}/instelling", data={
        "csrf_token": csrf_of(page), "approve": "1"})
    assert node.status_code == 403
    assert (await editor_client.post(f"{PATH}/{other.id}/accepteren")).status_code == 403


async def test_without_the_choice_a_follow_is_accepted_at_once(ctx: NodeContext) -> None:
    initiative = await make_initiative(ctx)
    await _remote_actor(ctx)
    await _follow(ctx, initiative.ap_id)
    assert await _rows(ctx, initiative.ap_id) == ["accepted"]
    assert len(await _sent(ctx, "Accept")) == 1


async def test_the_api_lists_and_answers_requests(client: httpx.AsyncClient, ctx: NodeContext,
                                                  auth: dict[str, str],
                                                  editor_token: str) -> None:
    initiative = await make_initiative(ctx)
    async with ctx.db.transaction() as session:
        await actor_store.update_values(session, initiative.ap_id, approves_followers=True)
    await _remote_actor(ctx)
    await _follow(ctx, initiative.ap_id)
    listed = (await client.get("/api/follow-requests", headers=auth)).json()["requests"]
    assert [(r["follower"], r["followee"], r["state"]) for r in listed] == [
        (MASTODON, initiative.ap_id, "pending")]
    editor = {"Authorization": f"Bearer {editor_token}"}
    assert (await client.get("/api/follow-requests", headers=editor)).json() == {"requests": []}
    path = f"/api/follow-requests/{listed[0]['id']}"
    assert (await client.post(path, json={"answer": "accept"}, headers=editor)).status_code == 403
    bad = await client.post(path, json={"answer": "maybe"}, headers=auth)
    assert (bad.status_code, bad.json()["error"]) == (422, "bad_value")
    done = await client.post(path, json={"answer": "accept"}, headers=auth)
    assert done.status_code == 200 and done.json()["state"] == "accepted"
    assert await _rows(ctx, initiative.ap_id) == ["accepted"]
    again = await client.post(path, json={"answer": "reject"}, headers=auth)
    assert (again.status_code, again.json()["error"]) == (404, "not_found")
