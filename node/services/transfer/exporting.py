"""Export: everything this node owns, as served, so it can be verified offline.

The node actor, the initiative actors, every item document (tombstones included) with its
FEP-8b32 proof (``eddsa-jcs-2022``), and the number of activities; deleted initiatives are
listed apart with their last signed actor document, because their keys are still what their
items' proofs verify against.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from node.services.context import NodeContext
from node.services.documents import iso
from node.services.errors import NotFoundError
from node.store import activities as activity_store
from node.store import actors as actor_store
from node.store import objects as object_store
from node.store.actors import StoredActor
from node.store.objects import Cursor, ItemFilter, StoredObject

EXPORT_FORMAT = "kennisknoop-export"
EXPORT_VERSION = 1
_PAGE = 500


async def local_items(ctx: NodeContext, *, include_deleted: bool) -> AsyncIterator[StoredObject]:
    """Every item this node originated, newest first, a page at a time."""
    f = ItemFilter(origin="local", include_deleted=include_deleted)
    before: Cursor | None = None
    while True:
        async with ctx.db.sessions() as session:
            page = await object_store.list_page(session, f, limit=_PAGE, before=before)
        for item in page:
            yield item
        if len(page) < _PAGE:
            return
        before = Cursor(published=page[-1].published, id=page[-1].id)



async def export_node(ctx: NodeContext) -> dict[str, Any]:
    """Everything this node owns, as served: actor documents, item documents, activity count.

    Deleted initiatives are listed apart with their last signed actor document, because their
    keys are still what their items' proofs verify against.
    """
    async with ctx.db.sessions() as session:
        node = await actor_store.get_node(session)
        if node is None or node.document is None:
            raise NotFoundError("not_found", "this node has no node actor: run `kennisknoop init`")
        initiatives: list[StoredActor] = []
        while batch := await actor_store.list_local(session, kind="initiative",
                                                    include_deleted=True, limit=_PAGE,
                                                    offset=len(initiatives)):
            initiatives.extend(batch)
        activities = 0
        for actor in (node, *initiatives):
            activities += await activity_store.count_by_actor(session, actor.ap_id)
    items = [item.document async for item in local_items(ctx, include_deleted=True)]
    items.reverse()  # oldest first: the order they were made in
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported": iso(ctx.now()),
        "node": node.document,
        "initiatives": [a.document for a in initiatives if not a.deleted and a.document],
        "deleted_initiatives": [a.document for a in initiatives if a.deleted and a.document],
        "items": items,
        "activities": activities,
    }
