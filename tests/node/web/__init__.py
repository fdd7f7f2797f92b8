"""Tests of node/web: discovery, the ActivityPub object endpoints and the HTML pages.

Shared helpers: content is created through the real services (as the system caller).
"""

from __future__ import annotations

from typing import Any

from node.services.actors import create_initiative
from node.services.context import NodeContext
from node.services.inputs import InitiativeInput, ItemInput
from node.services.items import create_item
from node.services.permissions import SYSTEM
from node.store.actors import StoredActor
from node.store.objects import StoredObject

AS_JSON = {"Accept": "application/activity+json"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


async def make_initiative(ctx: NodeContext, handle: str = "dorpsmolen", **fields: Any
                          ) -> StoredActor:
    fields.setdefault("name", "Dorpsmolen Reduzum")
    return await create_initiative(ctx, InitiativeInput(handle=handle, **fields), SYSTEM)


async def make_item(ctx: NodeContext, initiative: str | None = "dorpsmolen", *,
                    kind: str = "story", title: str | None = "Zo begonnen wij",
                    content: str = "Een **verhaal** over de molen.", **fields: Any
                    ) -> StoredObject:
    data = ItemInput(kind=kind, title=title, content=content, initiative=initiative, **fields)
    return await create_item(ctx, data, SYSTEM)


def local_id(ap_id: str) -> str:
    return ap_id.rsplit("/", 1)[1]
