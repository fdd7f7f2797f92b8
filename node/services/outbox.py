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
from node.services.delivery import Fanned, fan_out_rows, write_fanned
from node.services.documents import activity_document, sign
from node.services.urls import new_local_id
from node.store import activities as activity_store
from node.store import actors as actor_store
from node.store import objects as object_store
from node.store.activities import StoredActivity
from node.store.actors import StoredActor
from node.store.batched import Batch
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
                           extra: dict[str, Any] | None = None,
                           item: StoredObject | None = None,
                           share: bool = False) -> StoredActivity:
    """Sign and store an activity by ``actor``; deliver it to ``recipients`` and, unless
    ``followers`` is False (Follow, Accept, Undo…), to the actor's followers; then have it
    announced as ``announcers`` decides. ``extra`` adds properties (a Like's ``content``).
    ``item``: the object ``obj`` is, as just stored in this transaction (not read again).
    ``share``: the signed activities hold ``obj``, ``to``, ``cc`` and ``extra`` themselves, not
    deep copies (``sign``), for a caller that built them for this activity and changes none of
    them afterwards (``items.create_item``); the bytes signed and stored are the same.

    The activity and its announces are written together: one ``INSERT`` for all of them, one
    for their feed entries and one for their deliveries (issue 13's statement budgets)."""
    item_id = _item_id(obj) if type in RELAYED or (type == "Announce" and
                                                     isinstance(obj, dict)) else None
    if item is None or item.ap_id != item_id:
        item = await object_store.get(session, item_id) if item_id else None
    # An embedded object this node stores is stored once (node.store.versions): the activity
    # refers to it when it is the very document stored.
    first = await _prepare(ctx, session, actor=actor, type=type, obj=obj, to=to, cc=cc,
                           recipients=recipients, followers=followers, activity_id=activity_id,
                           extra=extra, embedded=item, share=share)
    batch = [first]
    if type in RELAYED:
        # A Create is announced as the object itself (what Mastodon shows as a boost), an
        # Update or Delete as the signed activity: both carry their author's proof.
        document, _, values, _ = first
        relayed, embedded = ((obj, item) if type == "Create" else
                             (document, StoredActivity(id=0, document=document, **values)))
        batch += await _relays(ctx, session, actor.kind, item.themes if item else [], relayed,
                               embedded, share=share)
    return (await _write(session, batch))[0]


async def announce_by_themes(ctx: NodeContext, session: AsyncSession, theme_ids: list[str],
                             relayed: dict[str, Any] | str,
                             stored: StoredObject | None = None, *,
                             feed: list[dict[str, object]] | None = None,
                             batch: Batch | None = None) -> None:
    """Have a received, verifiable item (or its deletion) announced as ``announcers`` decides;
    ``stored``: the item as just stored, when ``relayed`` is its document. ``feed``: feed
    entries to write first, in the same statement as the announces' own. With ``batch`` the
    announces, feed entries and deliveries are added to it, written when the caller writes it
    (``node.store.batched``: one statement for all of them).

    The announces hold ``relayed`` itself, not deep copies of it (``sign(..., share=True)``):
    it is a received document (an object or activity as parsed), which nothing changes after
    it was applied, and the announce is stored with its object by reference
    (``versions.stored_form``); the bytes signed are the same."""
    prepared = await _relays(ctx, session, "remote", theme_ids, relayed, stored, share=True)
    if batch is None:
        await _write(session, prepared, feed or [])
        return
    batch.add("activities", activity_store.stored_rows(
        [(document, embedded, values) for document, embedded, values, _ in prepared]))
    fanned = [fanned for *_, fanned in prepared]
    batch.add("feed", [*(feed or []), *(row for rows, _ in fanned for row in rows)])
    batch.add("deliveries", [row for _, rows in fanned for row in rows])


_Prepared = tuple[dict[str, Any], StoredObject | StoredActivity | None, dict[str, Any], Fanned]


async def _relays(ctx: NodeContext, session: AsyncSession, author_kind: str,
                  themes: list[str], relayed: dict[str, Any] | str,
                  embedded: StoredObject | StoredActivity | None, *, share: bool = False
                  ) -> list[_Prepared]:
    node = await actor_store.get_node(session) if author_kind == "initiative" else None
    feeds = await actor_store.list_local(session, kind="theme") if themes else []
    return [await _prepare(ctx, session, actor=announcer, type="Announce", obj=relayed,
                           embedded=embedded, share=share)
            for announcer in announcers(author_kind, themes, node=node, feeds=feeds)]


async def _prepare(ctx: NodeContext, session: AsyncSession, *, actor: StoredActor, type: str,
                   obj: dict[str, Any] | str, to: list[str] | None = None,
                   cc: list[str] | None = None, recipients: Sequence[StoredActor] = (),
                   followers: bool = True, activity_id: str | None = None,
                   extra: dict[str, Any] | None = None,
                   embedded: StoredObject | StoredActivity | None = None,
                   share: bool = False) -> _Prepared:
    """Sign one activity and work out its feed entries and deliveries, to be written by
    :func:`_write` (``embedded``: the stored object or activity ``obj`` may be, see
    ``activity_store.insert``; ``share``: as :func:`publish_activity`)."""
    now = ctx.now()
    ap_id = activity_id or ctx.urls.activity(new_local_id())
    document = sign({**activity_document(ap_id=ap_id, type=type, actor=actor, obj=obj,
                                         published=now, to=to, cc=cc), **(extra or {})},
                    actor, now, share=share)
    object_id = obj if isinstance(obj, str) else obj.get("id")
    values = {"ap_id": ap_id, "actor": actor.ap_id, "type": type, "object_ap_id": object_id,
              "published": now}
    fanned = await fan_out_rows(ctx, session, actor=actor, activity_id=ap_id,
                                object_id=_item_id(obj), extra=list(recipients),
                                followers=followers)
    return document, embedded, values, fanned


async def _write(session: AsyncSession, batch: list[_Prepared],
                 feed: list[dict[str, object]] | None = None) -> list[StoredActivity]:
    """Store the activities of ``batch`` (one statement) and queue their feed entries (after
    ``feed``) and deliveries (one statement each, if any)."""
    stored = await activity_store.insert_all(
        session, [(document, embedded, values) for document, embedded, values, _ in batch]
    ) if batch else []
    await write_fanned(session, [(feed or [], []), *(fanned for *_, fanned in batch)])
    return stored
