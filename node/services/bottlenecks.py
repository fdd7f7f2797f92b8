"""Bottlenecks: endorsements by initiatives, the tally their origin publishes, the ranking.

docs/bottlenecks.md tells the whole story. In short:

- an initiative endorses a bottleneck ("Wij lopen hier ook tegenaan") from any node that holds a
  copy: on the bottleneck's own node it counts at once; elsewhere its node sends a ``Like`` (the
  note as ``content``) from the initiative's actor to the bottleneck's author, and an ``Undo`` of
  it to withdraw;
- the origin counts one endorsement per initiative actor (``node.store.endorsements``); a
  ``Like`` from an actor that is not a Kennisknoop initiative counts apart, as support;
- whenever the tally changes the origin publishes it on the bottleneck (``kk:endorsements``:
  count, provinces, support) as a new version with an ``Update`` to its followers, so every
  copy, the aggregator's included, shows the same numbers and ranks by them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from node.services import policy, provinces
from node.services.actors import resolve_local
from node.services.content import plain_text_from_html
from node.services.context import NodeContext
from node.services.directory import province_of
from node.services.documents import tally_fields
from node.services.errors import GoneError, NotFoundError, ValidationError
from node.services.inputs import EndorsementInput, EndorsementWithdrawal
from node.services.items import item_values, publish_version
from node.services.outbox import publish_activity
from node.services.permissions import Caller, require_actor_edit
from node.services.resolve import fetch_actor
from node.services.urls import new_local_id
from node.store import actors as actor_store
from node.store import endorsements as endorsement_store
from node.store import objects as object_store
from node.store.actors import StoredActor
from node.store.endorsements import ENDORSEMENT, SUPPORT, StoredEndorsement
from node.store.objects import StoredObject
from protocol.parse import Activity

MAX_NOTE = 1000


@dataclass(frozen=True)
class Endorsed:
    endorsement: StoredEndorsement
    created: bool  # False: the initiative already endorsed it (counted once)


@dataclass(frozen=True)
class _Target:
    endorser: StoredActor
    item: StoredObject
    origin: StoredActor | None  # the bottleneck's author, for a copy of a remote one


async def _endorser(session: AsyncSession, ctx: NodeContext, handle: str,
                    caller: Caller) -> StoredActor:
    try:
        actor = await resolve_local(session, ctx, handle)
    except NotFoundError as exc:
        raise ValidationError("unknown_initiative", f"as: {exc.detail}", field="as") from exc
    if actor.kind != "initiative":
        raise ValidationError("not_an_initiative", "as: only an initiative endorses a bottleneck",
                              field="as")
    if actor.deleted:
        raise GoneError("gone", f"{handle!r} was deleted")
    await require_actor_edit(session, caller, actor)
    return actor


async def _bottleneck(session: AsyncSession, ctx: NodeContext, iri: str) -> StoredObject:
    item = await object_store.get(session, iri)
    if item is None or (not item.is_local
                        and not (await policy.rule(ctx, session)).allows(item.host)):
        raise NotFoundError("not_found", f"this node holds no item {iri!r}")
    if item.deleted:
        raise GoneError("gone", f"{iri} was deleted")
    if item.kind != "bottleneck":
        raise ValidationError("not_a_bottleneck", f"item: {iri} is a {item.kind}, not a "
                              "bottleneck", field="item")
    return item


async def _target(ctx: NodeContext, item_iri: str, handle: str, caller: Caller) -> _Target:
    """Who endorses what, checked in this order: the initiative (and the caller's right to act
    for it), then the bottleneck; for a remote one its author, fetched if not cached."""
    async with ctx.db.sessions() as session:
        endorser = await _endorser(session, ctx, handle, caller)
        item = await _bottleneck(session, ctx, item_iri)
    origin = None if item.is_local else await fetch_actor(ctx, item.attributed_to)
    return _Target(endorser, item, origin)


async def endorse(ctx: NodeContext, data: EndorsementInput, caller: Caller) -> Endorsed:
    """``data.as_`` endorses the bottleneck ``data.item``; once, however often it is asked.

    The same endorsement again changes nothing; with another note it replaces the note (and,
    for a remote bottleneck, sends a new Like carrying it).
    """
    target = await _target(ctx, data.item, data.as_, caller)
    endorser, item = target.endorser, target.item
    async with ctx.db.transaction() as session:
        existing = await endorsement_store.get(session, item.ap_id, endorser.ap_id)
        if existing is not None and existing.active and existing.note == data.note:
            return Endorsed(existing, created=False)
        like_id = None
        if target.origin is not None:
            like_id = ctx.urls.activity(new_local_id())
            await publish_activity(
                ctx, session, actor=endorser, type="Like", obj=item.ap_id,
                recipients=[target.origin], followers=False, to=[target.origin.ap_id], cc=[],
                activity_id=like_id, extra={"content": data.note} if data.note else None)
        outcome = await endorsement_store.like(
            session, object_ap_id=item.ap_id, actor=endorser.ap_id, kind=ENDORSEMENT,
            activity_ap_id=like_id, note=data.note, now=ctx.now(),
            province_code=province_of(endorser, ctx.settings.node.province_code or None))
        if item.is_local:
            await publish_tally(ctx, session, item.ap_id)
        row = await endorsement_store.get(session, item.ap_id, endorser.ap_id)
    assert row is not None
    return Endorsed(row, created=outcome == "added")


async def withdraw(ctx: NodeContext, data: EndorsementWithdrawal, caller: Caller) -> None:
    """Withdraw ``data.as_``'s endorsement of ``data.item``; 404 ``not_endorsed`` if none."""
    target = await _target(ctx, data.item, data.as_, caller)
    endorser, item = target.endorser, target.item
    async with ctx.db.transaction() as session:
        existing = await endorsement_store.get(session, item.ap_id, endorser.ap_id)
        if existing is None or not existing.active:
            raise NotFoundError("not_endorsed",
                                f"{endorser.handle} does not endorse {item.ap_id}")
        await endorsement_store.withdraw(session, actor=endorser.ap_id, object_ap_id=item.ap_id,
                                         activity_ap_id=None, now=ctx.now())
        if item.is_local:
            await publish_tally(ctx, session, item.ap_id)
        elif target.origin is not None and existing.activity_ap_id:
            like = {"id": existing.activity_ap_id, "type": "Like", "actor": endorser.ap_id,
                    "object": item.ap_id}
            await publish_activity(ctx, session, actor=endorser, type="Undo", obj=like,
                                   recipients=[target.origin], followers=False,
                                   to=[target.origin.ap_id], cc=[])


async def publish_tally(ctx: NodeContext, session: AsyncSession, ap_id: str) -> bool:
    """Publish a local bottleneck's tally as its next version when it changed; whether it did."""
    item = await object_store.get(session, ap_id)
    if item is None or not item.is_local or item.deleted:
        return False
    tally = await endorsement_store.tally(session, ap_id)
    fields = tally_fields(tally.count, tally.provinces, tally.support)
    if item.fields.get("endorsements") == fields:
        return False
    author = await actor_store.get(session, item.attributed_to)
    if author is None:
        return False
    values = item_values(item)
    values["fields"]["endorsements"] = fields
    await publish_version(ctx, session, item, author, values)
    return True


# --- received Likes and Undos --------------------------------------------------------------


async def is_local_bottleneck(ctx: NodeContext, ap_id: str) -> bool:
    """Whether a Like of ``ap_id`` is one this node acts on (a live local bottleneck)."""
    async with ctx.db.sessions() as session:
        item = await object_store.get(session, ap_id)
    return item is not None and item.is_local and not item.deleted and item.kind == "bottleneck"


async def receive_like(ctx: NodeContext, activity: Activity, sender: str) -> str:
    """Count a received Like of a local bottleneck: an endorsement from an initiative, support
    from anyone else. The outcome of ``endorsement_store.like``, or ``ignored``."""
    if not await is_local_bottleneck(ctx, activity.object_id):
        return "ignored"
    actor = await fetch_actor(ctx, sender)
    initiative = actor.kind == "initiative"
    note = plain_text_from_html(activity.content)[:MAX_NOTE] if activity.content else None
    province = (provinces.effective(province_of(actor, None), provinces.of_document(
        actor.document)) if initiative else None)
    async with ctx.db.transaction() as session:
        outcome = await endorsement_store.like(
            session, object_ap_id=activity.object_id, actor=sender,
            kind=ENDORSEMENT if initiative else SUPPORT, activity_ap_id=activity.id,
            note=note or None, province_code=province, now=ctx.now())
        if outcome in ("added", "updated"):
            await publish_tally(ctx, session, activity.object_id)
    return outcome


async def receive_undo(ctx: NodeContext, like_id: str, object_ap_id: str | None,
                       sender: str) -> bool:
    """Withdraw the endorsement of ``sender``'s Like ``like_id``; whether one counted.

    Only the Like's own actor withdraws it (the inbox refuses an Undo of someone else's
    activity; here the row must be ``sender``'s too).
    """
    async with ctx.db.transaction() as session:
        row_object = object_ap_id
        withdrawn = await endorsement_store.withdraw(
            session, actor=sender, object_ap_id=object_ap_id, activity_ap_id=like_id,
            now=ctx.now())
        if withdrawn and row_object is None:
            found = await endorsement_store.by_activity(session, like_id, sender)
            row_object = found.object_ap_id if found is not None else None
        if withdrawn and row_object is not None:
            await publish_tally(ctx, session, row_object)
    return withdrawn
