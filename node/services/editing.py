"""What a signed-in editor may write: the initiatives to publish as, the items to edit.

The web forms ask here before they show anything, so an editor sees a 403 on the form of an
item they may not change, not only when saving it. The writes themselves go through
``node.services.items``, which checks the same permissions again (``require_actor_edit``).
"""

from __future__ import annotations

from dataclasses import dataclass

from node.services.actors import editable_initiative
from node.services.context import NodeContext
from node.services.errors import PermissionDeniedError
from node.services.items import editable_item
from node.services.permissions import Caller, require_actor_edit
from node.store import actors as actor_store
from node.store import users as user_store
from node.store.actors import StoredActor
from node.store.objects import StoredObject

MAX_CHOICES = 500


@dataclass(frozen=True)
class EditableItem:
    item: StoredObject
    author: StoredActor


async def editable_initiatives(ctx: NodeContext, caller: Caller) -> list[StoredActor]:
    """The local initiatives ``caller`` may publish as: all for admins, the granted ones else."""
    async with ctx.db.sessions() as session:
        initiatives = await actor_store.list_local(session, kind="initiative", limit=MAX_CHOICES)
        if caller.is_admin:
            return initiatives
        granted = await user_store.granted_actor_ids(session, caller.user_id)
    return [actor for actor in initiatives if actor.id in granted]


async def item_for_edit(ctx: NodeContext, local_id: str, caller: Caller) -> EditableItem:
    """A local, not deleted item that ``caller`` may change, with its author.

    Raises NotFoundError, GoneError, or PermissionDeniedError (received items are edited only
    at their origin; editors only edit the items of their initiatives).
    """
    async with ctx.db.sessions() as session:
        item, author = await editable_item(session, ctx, ctx.urls.item(local_id), caller)
    return EditableItem(item, author)


async def initiative_for_edit(ctx: NodeContext, handle: str, caller: Caller) -> StoredActor:
    """A live local initiative that ``caller`` may change (the form shows 403 before a save).

    Raises NotFoundError, GoneError or PermissionDeniedError, as the JSON API's PATCH does.
    """
    async with ctx.db.sessions() as session:
        return await editable_initiative(session, ctx, handle, caller)


async def may_edit_actor(ctx: NodeContext, actor: StoredActor, caller: Caller | None) -> bool:
    """Whether the page of ``actor`` offers ``caller`` to edit and delete it."""
    if caller is None or actor.kind != "initiative" or actor.deleted:
        return False
    async with ctx.db.sessions() as session:
        try:
            await require_actor_edit(session, caller, actor)
        except PermissionDeniedError:
            return False
    return True
