"""JSON API, authentication and permissions: public reads, bearer writes, admin and editor grants."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update

from node.services.context import NodeContext
from node.services.users import add_user, create_token
from node.store.schema import users
from tests.node.web.api_helpers import (
    HANDLE,
    bearer,
    create_initiative,
    create_item,
    row_counts,
)
from tests.statements import counted

STORY = {"kind": "story", "title": "Een verhaal", "content": "Tekst.", "initiative": HANDLE}


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/api/initiatives", {"handle": "nieuw-dorp", "name": "Nieuw"}),
    ("PATCH", f"/api/initiatives/{HANDLE}", {"name": "Anders"}),
    ("DELETE", f"/api/initiatives/{HANDLE}", None),
    ("POST", "/api/items", STORY),
    ("PATCH", "/api/items/{item}", {"title": "Anders"}),
    ("DELETE", "/api/items/{item}", None),
    ("GET", "/api/me", None),
])
async def test_write_without_token_is_401_with_challenge(
        client: httpx.AsyncClient, auth: dict[str, str], ctx: NodeContext, method: str,
        path: str, body: dict[str, str] | None) -> None:
    await create_initiative(client, auth)
    item = await create_item(client, auth, initiative=HANDLE)
    before = await row_counts(ctx)
    response = await client.request(method, path.format(item=item["local_id"]), json=body)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert await row_counts(ctx) == before


@pytest.mark.parametrize("authorization", ["Basic YmVoZWVyZGVyOnh4eA==", "Bearer", "Token abc"])
async def test_write_with_another_scheme_is_401(client: httpx.AsyncClient, ctx: NodeContext,
                                                authorization: str) -> None:
    before = await row_counts(ctx)
    response = await client.post("/api/initiatives", headers={"Authorization": authorization},
                                 json={"handle": HANDLE, "name": "Dorpsmolen"})
    assert (response.status_code, response.json()["error"]) == (401, "unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert await row_counts(ctx) == before


async def test_unknown_token_is_401_invalid_token(client: httpx.AsyncClient,
                                                  ctx: NodeContext) -> None:
    before = await row_counts(ctx)
    response = await client.post("/api/initiatives", headers=bearer("nep-token"),
                                 json={"handle": HANDLE, "name": "Dorpsmolen"})
    assert response.status_code == 401
    assert response.json()["error"] == "bad_token"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert await row_counts(ctx) == before


async def test_a_token_is_checked_by_key_without_a_session_and_always_current(
        client: httpx.AsyncClient, ctx: NodeContext, auth: dict[str, str]) -> None:
    # Every API write asks first who holds the token: one prebuilt read by key
    # (``Database.first``, in-line on SQLite), no session, no statement of the engine's on
    # SQLite; and a user disabled or given another role is seen by the very next request.
    await add_user(ctx, "redacteur", "correct horse battery", "editor")
    token = await create_token(ctx, "redacteur")
    with counted(ctx) as sent:
        me = await client.get("/api/me", headers=bearer(token))
    assert me.status_code == 200 and me.json()["role"] == "editor"
    if ctx.db.is_sqlite:
        assert sent == [], sent
    async with ctx.db.transaction() as session:
        await session.execute(update(users).where(users.c.username == "redacteur")
                              .values(role="admin"))
    assert (await client.get("/api/me", headers=bearer(token))).json()["role"] == "admin"
    async with ctx.db.transaction() as session:
        await session.execute(update(users).where(users.c.username == "redacteur")
                              .values(disabled=True))
    refused = await client.get("/api/me", headers=bearer(token))
    assert refused.status_code == 401 and refused.json()["error"] == "bad_token"


async def test_reads_need_no_token(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await create_initiative(client, auth)
    item = await create_item(client, auth, initiative=HANDLE)
    for path in ("/api/items", f"/api/items/{item['local_id']}", "/api/initiatives",
                 f"/api/initiatives/{HANDLE}", "/api/themes", "/api/openapi.json"):
        assert (await client.get(path)).status_code == 200, path


async def test_me_names_the_tokens_user(client: httpx.AsyncClient, auth: dict[str, str],
                                        editor_token: str) -> None:
    admin = (await client.get("/api/me", headers=auth)).json()
    editor = (await client.get("/api/me", headers=bearer(editor_token))).json()
    assert admin == {"username": "beheerder", "role": "admin", "admin": True}
    assert editor == {"username": "redacteur", "role": "editor", "admin": False}


@pytest.mark.parametrize(("method", "path", "body"), [
    ("PATCH", f"/api/initiatives/{HANDLE}", {"name": "Overgenomen"}),
    ("DELETE", f"/api/initiatives/{HANDLE}", None),
    ("POST", "/api/items", STORY),
    ("POST", "/api/items", {"kind": "story", "title": "Namens de node", "content": "…"}),
    ("PATCH", "/api/items/{item}", {"title": "Overgenomen"}),
    ("DELETE", "/api/items/{item}", None),
])
async def test_editor_without_grant_is_403(
        client: httpx.AsyncClient, auth: dict[str, str], editor_token: str, ctx: NodeContext,
        method: str, path: str, body: dict[str, str] | None) -> None:
    await create_initiative(client, auth)
    item = await create_item(client, auth, initiative=HANDLE)
    before = await row_counts(ctx)
    response = await client.request(method, path.format(item=item["local_id"]), json=body,
                                    headers=bearer(editor_token))
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert await row_counts(ctx) == before


async def test_editor_who_created_an_initiative_may_edit_it_and_its_items(
        client: httpx.AsyncClient, editor_token: str) -> None:
    editor = bearer(editor_token)
    await create_initiative(client, editor)
    item = await create_item(client, editor, initiative=HANDLE)
    patched_initiative = await client.patch(f"/api/initiatives/{HANDLE}", headers=editor,
                                            json={"phase": "active"})
    patched_item = await client.patch(f"/api/items/{item['local_id']}", headers=editor,
                                      json={"title": "Bijgewerkt"})
    deleted_item = await client.delete(f"/api/items/{item['local_id']}", headers=editor)
    assert (patched_initiative.status_code, patched_item.status_code,
            deleted_item.status_code) == (200, 200, 204)


async def test_editor_may_not_edit_another_editors_initiative(
        client: httpx.AsyncClient, auth: dict[str, str], editor_token: str,
        ctx: NodeContext) -> None:
    await add_user(ctx, "tweede", "correct horse battery", "editor")
    other = bearer(await create_token(ctx, "tweede"))
    await create_initiative(client, bearer(editor_token))
    response = await client.patch(f"/api/initiatives/{HANDLE}", headers=other,
                                  json={"name": "Van mij"})
    assert response.status_code == 403


async def test_admin_may_edit_an_editors_initiative(client: httpx.AsyncClient,
                                                    auth: dict[str, str],
                                                    editor_token: str) -> None:
    await create_initiative(client, bearer(editor_token))
    response = await client.patch(f"/api/initiatives/{HANDLE}", headers=auth,
                                  json={"name": "Door de beheerder"})
    assert response.status_code == 200
