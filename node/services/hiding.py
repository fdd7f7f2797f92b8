"""Hiding a received item on this node: an admin's moderation of what other servers sent.

A hidden item stays stored and keeps following its origin (an ``Update`` is applied and does not
show it again; a ``Delete`` still deletes it), but nobody except an admin sees it: every list,
both search engines (the index drops it), facets and counts, the feeds, the map, the statistics
and this node's outboxes leave it out, theme feeds do not relay its updates, and its page
answers 404 to anyone else (docs/pages.md, "Beheer"). Only received items are hidden: a local
item is edited or deleted at its origin, here. Every action is logged on ``kennisknoop.admin``
with the admin's name, as the other admin actions are.
"""

from __future__ import annotations

import logging

from node.services import search_index
from node.services.context import NodeContext
from node.services.errors import NotFoundError, ValidationError
from node.services.permissions import Caller, require_admin
from node.store import objects as object_store
from node.store.objects import StoredObject

log = logging.getLogger("kennisknoop.admin")
HIDDEN_SHOWN = 500


def _iri(ref: str) -> str:
    ref = ref.strip()
    if not ref:
        raise ValidationError("missing_field", "item: the address (IRI) of a received item",
                              field="item")
    return ref[:2048]


async def hide_item(ctx: NodeContext, caller: Caller, ref: str) -> tuple[StoredObject, bool]:
    """Hide the received item ``ref`` (its IRI); the item and whether it was newly hidden.

    Raises NotFoundError for an item this node does not hold, ValidationError ``local_item``
    for one of this node's own items.
    """
    require_admin(caller)
    async with ctx.db.transaction() as session:
        item = await object_store.get(session, _iri(ref))
        if item is None:
            raise NotFoundError("not_found", f"no item {ref[:200]!r}")
        if item.is_local:
            raise ValidationError("local_item", "an item of this node is not hidden: edit or "
                                  "delete it instead", field="item")
        changed = await object_store.set_hidden(session, item.ap_id, hidden_at=ctx.now(),
                                                hidden_by=caller.username)
        if changed is not None:
            await search_index.index_item(session, changed)  # drops it, recounts its question
    if changed is not None:
        log.info("admin %s hid received item %s", caller.username, item.ap_id)
    return changed or item, changed is not None


async def show_item(ctx: NodeContext, caller: Caller, ref: str) -> StoredObject:
    """Show a hidden item again (it is indexed and listed as before). NotFoundError if it is
    not hidden."""
    require_admin(caller)
    async with ctx.db.transaction() as session:
        changed = await object_store.set_hidden(session, _iri(ref), hidden_at=None,
                                                hidden_by=None)
        if changed is None:
            raise NotFoundError("not_found", f"no hidden item {ref[:200]!r}")
        await search_index.index_item(session, changed)
    log.info("admin %s showed received item %s again", caller.username, changed.ap_id)
    return changed


async def hidden_items(ctx: NodeContext, caller: Caller) -> list[StoredObject]:
    """The hidden items, most recently hidden first."""
    require_admin(caller)
    async with ctx.db.sessions() as session:
        return await object_store.hidden_items(session, limit=HIDDEN_SHOWN)
