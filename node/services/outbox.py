"""Publishing an activity: sign it by its actor, store it in the outbox and queue its delivery.

Every activity a local actor originates goes through ``publish_activity``, inside the caller's
transaction, so the activity and its delivery rows commit together. The node actor relays its
initiatives' Create/Update/Delete group-style (FEP-1b12): a Create is announced as the object
itself (what Mastodon shows as a boost), an Update or Delete as the embedded activity; both keep
their author's proof, so followers of the node can verify them against the origin.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from node.services.context import NodeContext
from node.services.delivery import fan_out
from node.services.documents import activity_document, sign
from node.services.urls import new_local_id
from node.store import activities as activity_store
from node.store import actors as actor_store
from node.store import objects as object_store
from node.store.activities import StoredActivity
from node.store.actors import StoredActor
from protocol import themes as vocab_themes

RELAYED = ("Create", "Update", "Delete")


def _item_id(obj: dict[str, Any] | str) -> str | None:
    """The object a feed entry points at: an embedded activity's own object."""
    if isinstance(obj, str):
        return obj
    inner = obj.get("object")
    if "actor" in obj and inner is not None:
        return inner if isinstance(inner, str) else inner.get("id")
    value = obj.get("id")
    return value if isinstance(value, str) else None


async def publish_activity(ctx: NodeContext, session: AsyncSession, *, actor: StoredActor,
                           type: str, obj: dict[str, Any] | str, to: list[str] | None = None,
                           cc: list[str] | None = None,
                           recipients: Sequence[StoredActor] = (), followers: bool = True,
                           activity_id: str | None = None) -> StoredActivity:
    """Sign and store an activity by ``actor``; deliver it to ``recipients`` and, unless
    ``followers`` is False (Follow, Accept, Undo…), to the actor's followers."""
    now = ctx.now()
    ap_id = activity_id or ctx.urls.activity(new_local_id())
    document = sign(activity_document(ap_id=ap_id, type=type, actor=actor, obj=obj,
                                      published=now, to=to, cc=cc), actor, now)
    object_id = obj if isinstance(obj, str) else obj.get("id")
    stored = await activity_store.insert(session, ap_id=ap_id, actor=actor.ap_id, type=type,
                                         object_ap_id=object_id, published=now, document=document)
    await fan_out(ctx, session, actor=actor, activity_id=ap_id, object_id=_item_id(obj),
                  extra=list(recipients), followers=followers)
    if actor.kind in ("initiative", "node") and type in RELAYED:
        relayed: dict[str, Any] | str = obj if type == "Create" else document
        node = await actor_store.get_node(session)
        if node is not None and actor.kind == "initiative":
            await publish_activity(ctx, session, actor=node, type="Announce", obj=relayed)
        item_id = _item_id(obj)
        item = await object_store.get(session, item_id) if item_id else None
        if item is not None:
            await announce_by_themes(ctx, session, item.themes, relayed)
    return stored


async def announce_by_themes(ctx: NodeContext, session: AsyncSession, theme_ids: list[str],
                             relayed: dict[str, Any] | str) -> None:
    """Each theme feed (``Group``) whose theme covers ``theme_ids`` announces ``relayed``."""
    covered = set(vocab_themes.expand(theme_ids))
    if not covered:
        return
    for theme_actor in await actor_store.list_local(session, kind="theme"):
        if theme_actor.profile.get("theme") in covered:
            await publish_activity(ctx, session, actor=theme_actor, type="Announce",
                                   obj=relayed)
