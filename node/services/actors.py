"""Use cases for local actors: the node actor and initiatives (create, read, update, delete)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from node.services import attachments
from node.services.content import render_markdown
from node.services.context import NodeContext
from node.services.documents import actor_document, sign
from node.services.errors import ConflictError, GoneError, NotFoundError
from node.services.inputs import InitiativeInput, Patch, PlaceInput
from node.services.outbox import publish_activity
from node.services.permissions import Caller, require_actor_edit
from node.services.search_index import index_initiative
from node.store import actors as actor_store
from node.store import jobs as job_store
from node.store import users as user_store
from node.store.actors import StoredActor
from protocol import themes as vocab_themes
from protocol.keys import multikey_encode, private_pem, public_pem

AGGREGATOR_FOLLOW_JOB = "aggregator-follow"


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, PlaceInput):
        return value.model_dump(exclude_none=True)
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def _profile(data: InitiativeInput) -> dict[str, Any]:
    profile = {k: _jsonable(v) for k, v in data
               if k not in ("handle", "name", "summary") and v not in (None, (), "")}
    if data.place is not None:
        profile["place"] = _jsonable(data.place)
    if data.description:
        profile["description_html"] = render_markdown(data.description)
    return profile


def _describe_avatar(ctx: NodeContext, profile: dict[str, Any]) -> None:
    """Check the avatar URL (an image stored on this node) and keep its media type beside it,
    for the actor's ``icon``; without an avatar, drop the media type too."""
    url = profile.get("avatar")
    if url:
        profile["avatar_media_type"] = attachments.describe_avatar(
            ctx.settings.dir, ctx.urls.files_base, url, ctx.settings.uploads.avatar_max_bytes)
    else:
        profile.pop("avatar", None)
        profile.pop("avatar_media_type", None)


def _key_columns(ctx: NodeContext, handle: str) -> dict[str, Any]:
    rsa_key, ed_key = ctx.keygen()
    return {
        "rsa_key_id": ctx.urls.rsa_key(handle),
        "rsa_public_pem": public_pem(rsa_key),
        "rsa_private_pem": private_pem(rsa_key).decode(),
        "ed_key_id": ctx.urls.ed_key(handle),
        "ed_public_multibase": multikey_encode(ed_key.public_key()),
        "ed_private_pem": private_pem(ed_key).decode(),
    }


async def _insert_local_actor(ctx: NodeContext, session: AsyncSession, *, kind: str, type: str,
                              handle: str, name: str, summary: str | None,
                              profile: dict[str, Any]) -> StoredActor:
    now = ctx.now()
    urls = ctx.urls
    try:
        async with session.begin_nested():
            actor = await actor_store.insert(
                session, ap_id=urls.actor(handle), is_local=True, kind=kind, handle=handle,
                host=urls.host, type=type, preferred_username=handle, name=name, summary=summary,
                inbox=urls.inbox(handle), outbox=urls.outbox(handle),
                followers=urls.followers(handle), following=urls.following(handle),
                shared_inbox=urls.shared_inbox, profile=profile, version=1, published=now,
                updated=now, approves_followers=_all_approve(ctx), **_key_columns(ctx, handle))
    except IntegrityError as exc:
        raise ConflictError("handle_taken", f"the handle {handle!r} is already in use",
                            field="handle") from exc
    return await _store_document(session, actor)


async def _store_document(session: AsyncSession, actor: StoredActor) -> StoredActor:
    document = sign(actor_document(actor), actor, actor.updated)
    return await actor_store.update_values(session, actor.ap_id, document=document)


async def save_profile(session: AsyncSession, actor: StoredActor, profile: dict[str, Any],
                       now: datetime) -> StoredActor:
    """Store a local actor's new profile as a new version, its document signed again."""
    updated = await actor_store.update_values(session, actor.ap_id, profile=profile,
                                              version=actor.version + 1, updated=now)
    updated = await _store_document(session, updated)
    if updated.kind == "initiative":
        await index_initiative(session, updated)
    return updated


async def set_approves_followers(ctx: NodeContext, session: AsyncSession, actor: StoredActor,
                                 approves: bool) -> StoredActor:
    """Store a local actor's choice to approve followers by hand as a new version of its
    document (``manuallyApprovesFollowers``) and send the Update to its followers."""
    updated = await actor_store.update_values(session, actor.ap_id, approves_followers=approves,
                                              version=actor.version + 1, updated=ctx.now())
    updated = await _store_document(session, updated)
    await publish_activity(ctx, session, actor=updated, type="Update",
                           obj=updated.document or {}, followers=True)
    return updated


async def store_new_keys(ctx: NodeContext, session: AsyncSession, actor: StoredActor,
                         now: datetime) -> StoredActor:
    """Replace a local actor's key pairs (same key ids) and store its re-signed document as a
    new version (``services.keys`` tells the followers)."""
    updated = await actor_store.update_values(
        session, actor.ap_id, version=actor.version + 1, updated=now,
        **_key_columns(ctx, actor.handle or ""))
    updated = await _store_document(session, updated)
    if updated.kind == "initiative":
        await index_initiative(session, updated)
    return updated


async def ensure_node_actor(ctx: NodeContext) -> StoredActor:
    """Create the node actor (the provincial association) and its theme feeds if missing."""
    settings = ctx.settings
    async with ctx.db.transaction() as session:
        node = await actor_store.get_node(session)
        if node is None:
            profile: dict[str, Any] = {"role": settings.node.role}
            province = settings.node.province_code
            if province:
                profile["province_code"] = province
            node = await _insert_local_actor(
                ctx, session, kind="node", type="Organization", handle=settings.node.handle.lower(),
                name=settings.node.name, summary=settings.node.summary or None,
                profile=profile)
        elif node.document is not None and "initiatives" not in node.document:
            node = await _store_document(session, node)  # now names its initiatives collection
        await _ensure_theme_actors(ctx, session, node)
        if _all_approve(ctx):
            await _approve_all_by_hand(ctx, session)
        if settings.node.role == "aggregator" and settings.aggregator.follow:
            # Durable: the worker follows them (node.services.aggregator), retrying until each
            # one answers; scheduled again at every start-up, where following again is a no-op.
            await job_store.schedule(session, kind=AGGREGATOR_FOLLOW_JOB,
                                     key=AGGREGATOR_FOLLOW_JOB,
                                     payload={"targets": list(settings.aggregator.follow)},
                                     now=ctx.now())
        return node


def _all_approve(ctx: NodeContext) -> bool:
    """``federation.follow_approval = "manual"``: every local actor approves by hand."""
    return ctx.settings.federation.follow_approval == "manual"


async def _approve_all_by_hand(ctx: NodeContext, session: AsyncSession) -> None:
    """The setting turned on: every local actor that did not yet approve by hand now does (its
    document says so from now on; its followers see it when they next fetch it)."""
    for actor in await actor_store.list_local(session, limit=100_000):
        if not actor.approves_followers:
            updated = await actor_store.update_values(
                session, actor.ap_id, approves_followers=True, version=actor.version + 1,
                updated=ctx.now())
            await _store_document(session, updated)


async def _ensure_theme_actors(ctx: NodeContext, session: AsyncSession, node: StoredActor
                               ) -> None:
    """One ``Group`` actor per top-level theme (``zorg@host``…) announcing matching items."""
    scope = "landelijk" if ctx.settings.node.role == "aggregator" else node.name
    for theme in vocab_themes.all_themes():
        if theme.broader is not None or await actor_store.get_local(session, theme.hashtag):
            continue
        await _insert_local_actor(
            ctx, session, kind="theme", type="Group", handle=theme.hashtag,
            name=f"{theme.label.nl} ({scope})",
            summary=f"Alle kennis over {theme.label.nl.lower()} op {node.name}: verhalen, "
                    f"handleidingen, vragen en knelpunten.",
            profile={"themes": [theme.id], "theme": theme.id})


async def resolve_local(session: AsyncSession, ctx: NodeContext, ref: str) -> StoredActor:
    """A local actor by handle or IRI; raises NotFoundError."""
    handle = ctx.urls.local_handle(ref) if "/" in ref else ref
    actor = await actor_store.get_local(session, handle) if handle else None
    if actor is None:
        raise NotFoundError("not_found", f"no local actor {ref!r}")
    return actor


async def create_initiative(ctx: NodeContext, data: InitiativeInput, caller: Caller
                            ) -> StoredActor:
    """Create an initiative actor with its own keys; an editor who creates one may edit it.

    The node actor announces the new profile (its signed actor document) to its followers, who
    add it to their directory (node.services.directory); its later edits go out as
    ``Update``s by the initiative itself.
    """
    profile = _profile(data)
    _describe_avatar(ctx, profile)
    if ctx.settings.node.province_code:
        # The node's province, beside the place's own (which wins): provinces.of_document.
        profile["province_code"] = ctx.settings.node.province_code
    async with ctx.db.transaction() as session:
        actor = await _insert_local_actor(
            ctx, session, kind="initiative", type="Organization", handle=data.handle,
            name=data.name, summary=data.summary, profile=profile)
        await index_initiative(session, actor)
        node = await actor_store.get_node(session)
        if node is not None and actor.document is not None:
            await publish_activity(ctx, session, actor=node, type="Announce",
                                   obj=actor.document)
        if caller.role != "admin":
            await user_store.grant(session, caller.user_id, actor.id)
        return actor


async def get_initiative(ctx: NodeContext, ref: str) -> StoredActor:
    async with ctx.db.sessions() as session:
        actor = await resolve_local(session, ctx, ref)
    if actor.kind != "initiative":
        raise NotFoundError("not_found", f"{ref!r} is not an initiative")
    if actor.deleted:
        raise GoneError("gone", f"{ref!r} was deleted")
    return actor


async def list_initiatives(ctx: NodeContext, *, limit: int, offset: int = 0) -> list[StoredActor]:
    async with ctx.db.sessions() as session:
        return await actor_store.list_local(session, kind="initiative", limit=limit, offset=offset)


_COLUMN_FIELDS = ("name", "summary")


async def editable_initiative(session: AsyncSession, ctx: NodeContext, ref: str,
                               caller: Caller) -> StoredActor:
    """A live local initiative that ``caller`` may change."""
    actor = await resolve_local(session, ctx, ref)
    if actor.kind != "initiative":
        raise NotFoundError("not_found", f"{ref!r} is not an initiative")
    if actor.deleted:
        raise GoneError("gone", f"{ref!r} was deleted")
    await require_actor_edit(session, caller, actor)
    return actor


async def update_initiative(ctx: NodeContext, ref: str, patch: Patch, caller: Caller
                            ) -> StoredActor:
    """Apply a validated patch; the version grows by one and an Update is published.

    A patch that changes nothing returns the initiative as it is: no new version, no Update.
    """
    async with ctx.db.transaction() as session:
        actor = await editable_initiative(session, ctx, ref, caller)
        profile = dict(actor.profile)
        columns: dict[str, Any] = {}
        for name, value in patch.changes.items():
            if name in _COLUMN_FIELDS:
                columns[name] = value
            elif value is None or value == ():
                profile.pop(name, None)
            else:
                profile[name] = _jsonable(value)
        if profile.get("avatar") != actor.profile.get("avatar"):  # the same one: checked before
            _describe_avatar(ctx, profile)
        if "description" in patch.changes:
            if profile.get("description"):
                profile["description_html"] = render_markdown(profile["description"])
            else:
                profile.pop("description_html", None)
        if profile == actor.profile and all(getattr(actor, name) == value
                                            for name, value in columns.items()):
            return actor  # the same values again: no new version, no Update
        updated = await actor_store.update_values(
            session, actor.ap_id, profile=profile, version=actor.version + 1, updated=ctx.now(),
            **columns)
        updated = await _store_document(session, updated)
        await index_initiative(session, updated)
        await publish_activity(ctx, session, actor=updated, type="Update",
                               obj=updated.document or {})
        return updated


async def delete_initiative(ctx: NodeContext, ref: str, caller: Caller) -> StoredActor:
    """Mark an initiative deleted; its actor answers 410 with a Tombstone from now on."""
    async with ctx.db.transaction() as session:
        actor = await editable_initiative(session, ctx, ref, caller)
        now = ctx.now()
        await publish_activity(ctx, session, actor=actor, type="Delete", obj=actor.ap_id)
        deleted = await actor_store.update_values(session, actor.ap_id, deleted_at=now,
                                                  updated=now, version=actor.version + 1)
        await index_initiative(session, deleted)
        return deleted
