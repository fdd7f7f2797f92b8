"""Tests of node/web: discovery, the ActivityPub object endpoints and the HTML pages.

Shared helpers: content is created through the real services (as the system caller).
"""

from __future__ import annotations

from typing import Any

from node.services.actors import create_initiative
from node.services.context import NodeContext
from node.services.inputs import KIND_MODELS, InitiativeInput, item_input
from node.services.items import create_item
from node.services.permissions import SYSTEM
from node.store.actors import StoredActor
from node.store.objects import StoredObject

AS_JSON = {"Accept": "application/activity+json"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


async def make_initiative(ctx: NodeContext, handle: str = "dorpsmolen", *,
                          unchecked: bool = False, **fields: Any) -> StoredActor:
    """An initiative through the real service; ``unchecked`` as for ``make_item``."""
    fields.setdefault("name", "Dorpsmolen Reduzum")
    build = InitiativeInput.model_construct if unchecked else InitiativeInput
    return await create_initiative(ctx, build(handle=handle, **fields), SYSTEM)


async def make_item(ctx: NodeContext, initiative: str | None = "dorpsmolen", *,
                    kind: str = "story", title: str | None = "Zo begonnen wij",
                    content: str = "Een **verhaal** over de molen.", unchecked: bool = False,
                    **fields: Any) -> StoredObject:
    """An item through the real service; ``unchecked`` skips input validation (for content that
    got past it: an older version, a direct database write)."""
    values = {"kind": kind, "title": title, "content": content, "initiative": initiative, **fields}
    data = KIND_MODELS[kind].model_construct(**values) if unchecked else item_input(**values)
    return await create_item(ctx, data, SYSTEM)  # type: ignore[arg-type]


def local_id(ap_id: str) -> str:
    return ap_id.rsplit("/", 1)[1]
