"""Publishing an activity: sign it by its actor, store it in the outbox and queue its delivery.

Every activity a local actor originates goes through ``publish_activity``, inside the caller's
transaction, so the activity and its delivery rows commit together. Who relays what group-style
(FEP-1b12: the node actor, the theme feeds) is ``announcers``: a Create is announced as the
object itself (what Mastodon shows as a boost), an Update or Delete as the embedded activity;
both keep their author's proof, so followers can verify them against the origin.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
from node.store.objects import StoredObject
from protocol import themes as vocab_themes

RELAYED = ("Create", "Update", "Delete")


def announcers(author_kind: str, themes: Iterable[str], *, node: StoredActor | None,
               feeds: Iterable[StoredActor]) -> list[StoredActor]:
    """Who announces a Create, Update or Delete: the relay policy, in one place.

    ``author_kind`` is the kind of the local actor who published it (``node``, ``initiative``,
    ``theme``), or ``remote`` for what this node received (``apply`` relays a received item only
    when it carries a proof the feeds' followers can verify); ``themes`` are the item's themes
    (none for a profile); ``node`` and ``feeds`` are this node's actor and its theme feeds.

    1. The node actor announces what its initiatives publish: their items and their profiles.
    2. Each theme feed announces the items of its theme or of a narrower one, whoever wrote
       them: an initiative, the node, or a remote author.
    3. Nobody else relays anything: a theme feed's own activities, and Announces (relays never
       chain), go only to their own followers.
    """
    if author_kind not in ("initiative", "node", "remote"):
        return []
    chosen = [node] if node is not None and author_kind == "initiative" else []
    covered = set(vocab_themes.expand(themes))
    return chosen + [feed for feed in feeds if feed.profile.get("theme") in covered]


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
                           activity_id: str | None = None,
                           extra: dict[str, Any] | None = None) -> StoredActivity:
    """Sign and store an activity by ``actor``; deliver it to ``recipients`` and, unless
    ``followers`` is False (Follow, Accept, Undo…), to the actor's followers; then have it
    announced as ``announcers`` decides. ``extra`` adds properties (a Like's ``content``)."""
    item_id = _item_id(obj) if type in RELAYED or (type == "Announce" and
                                                     isinstance(obj, dict)) else None
    item = await object_store.get(session, item_id) if item_id else None
    # An embedded object this node stores is stored once (node.store.versions): the activity
    # refers to it when it is the very document stored.
    stored = await _publish(ctx, session, actor=actor, type=type, obj=obj, to=to, cc=cc,
                            recipients=recipients, followers=followers, activity_id=activity_id,
                            extra=extra, embedded=item)
    if type in RELAYED:
        # A Create is announced as the object itself (what Mastodon shows as a boost), an
        # Update or Delete as the signed activity: both carry their author's proof.
        if type == "Create":
            await _relay(ctx, session, actor.kind, item.themes if item else [], obj, item)
        else:
            await _relay(ctx, session, actor.kind, item.themes if item else [],
                         stored.document, stored)
    return stored


async def announce_by_themes(ctx: NodeContext, session: AsyncSession, theme_ids: list[str],
                             relayed: dict[str, Any] | str,
                             stored: StoredObject | None = None) -> None:
    """Have a received, verifiable item (or its deletion) announced as ``announcers`` decides;
    ``stored``: the item as just stored, when ``relayed`` is its document."""
    await _relay(ctx, session, "remote", theme_ids, relayed, stored)


async def _relay(ctx: NodeContext, session: AsyncSession, author_kind: str,
                 themes: list[str], relayed: dict[str, Any] | str,
                 embedded: StoredObject | StoredActivity | None) -> None:
    node = await actor_store.get_node(session) if author_kind == "initiative" else None
    feeds = await actor_store.list_local(session, kind="theme") if themes else []
    for announcer in announcers(author_kind, themes, node=node, feeds=feeds):
        await _publish(ctx, session, actor=announcer, type="Announce", obj=relayed,
                       embedded=embedded)


async def _publish(ctx: NodeContext, session: AsyncSession, *, actor: StoredActor, type: str,
                   obj: dict[str, Any] | str, to: list[str] | None = None,
                   cc: list[str] | None = None, recipients: Sequence[StoredActor] = (),
                   followers: bool = True, activity_id: str | None = None,
                   extra: dict[str, Any] | None = None,
                   embedded: StoredObject | StoredActivity | None = None) -> StoredActivity:
    """Sign, store and queue one activity for delivery (``embedded``: the stored object or
    activity ``obj`` may be, see ``activity_store.insert``)."""
    now = ctx.now()
    ap_id = activity_id or ctx.urls.activity(new_local_id())
    document = sign({**activity_document(ap_id=ap_id, type=type, actor=actor, obj=obj,
                                         published=now, to=to, cc=cc), **(extra or {})},
                    actor, now)
    object_id = obj if isinstance(obj, str) else obj.get("id")
    stored = await activity_store.insert(session, ap_id=ap_id, actor=actor.ap_id, type=type,
                                         object_ap_id=object_id, published=now, document=document,
                                         embedded=embedded)
    await fan_out(ctx, session, actor=actor, activity_id=ap_id, object_id=_item_id(obj),
                  extra=list(recipients), followers=followers)
    return stored
