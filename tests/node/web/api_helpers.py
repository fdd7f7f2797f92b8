"""Shared helpers of the JSON API tests (test_api_*.py): plain functions, no fixtures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import func, select

from node.services.content import render_markdown, search_text
from node.services.context import NodeContext
from node.store import objects as object_store
from node.store.objects import StoredObject
from node.store.schema import activities, actors, objects

HANDLE = "dorpsmolen-reduzum"
REMOTE_HOST = "fryslan.test"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create_initiative(client: httpx.AsyncClient, headers: dict[str, str],
                            handle: str = HANDLE, **fields: Any) -> dict[str, Any]:
    body = {"handle": handle, "name": handle.replace("-", " ").title(), **fields}
    response = await client.post("/api/initiatives", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def create_item(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
                      ) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "story", "title": "Een molen vol energie",
                            "content": "Hoe het dorp zijn **molen** terugkocht.", **fields}
    response = await client.post("/api/items", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def row_counts(ctx: NodeContext) -> dict[str, int]:
    """Rows in the tables a write could touch."""
    async with ctx.db.sessions() as session:
        return {table.name: int((await session.execute(
            select(func.count()).select_from(table))).scalar_one())
            for table in (actors, objects, activities)}


async def insert_remote_item(ctx: NodeContext, local_id: str, *, published: datetime,
                             kind: str = "story", title: str = "Verhaal uit Fryslân",
                             content: str = "Een coöperatie in Reduzum.",
                             themes: tuple[str, ...] = (), province: str | None = "PV21",
                             host: str = REMOTE_HOST) -> StoredObject:
    """A received item as the inbox stores it: sanitised HTML, is_local false, its origin's host."""
    ap_id = f"https://{host}/items/{local_id}"
    author = f"https://{host}/actors/doarpswurk"
    html = render_markdown(content)
    async with ctx.db.transaction() as session:
        return await object_store.insert(
            session, ap_id=ap_id, is_local=False, host=host, kind=kind, type="Article",
            attributed_to=author, title=title, summary=None, content=html, content_html=html,
            language="nl", license="CC-BY-4.0", themes=list(themes), province_code=province,
            municipality_code=None, latitude=None, longitude=None, in_reply_to=None, fields={},
            search_text=search_text(title, content), version=1, published=published,
            updated=published, received_at=published,
            document={"id": ap_id, "type": "Article", "attributedTo": author, "name": title,
                      "content": html, "source": {"content": content,
                                                  "mediaType": "text/markdown"}})
