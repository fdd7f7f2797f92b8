"""Each signed document stored once: activities embed their object by reference (issue 13).

An activity this node sends embeds its object whole (a Create its item, an Announce the item or
the activity it relays), so that a receiver can verify the object's own proof. Stored as sent,
every Create and every Announce held a full copy of the item. Instead, ``activities.document``
holds the activity with its ``object`` set to null and ``activities.embeds`` says where that
object is stored once:

- ``object``: the current ``objects.document`` of ``object_ap_id``;
- ``version``: the ``object_versions`` row ``version_id``, a document of that object that is no
  longer the current one (an earlier version; the copy signed by a rotated key);
- ``activity``: the activity ``object_ap_id`` (itself whole, or embedding an object by
  reference; never another ``activity``: relays do not chain).

``activities.shares_context``: the activity's ``@context`` (and its proof's) is exactly its
object's (every document a node signs carries the same 5 KB inline context, twice: in the
document and in its proof), so it is stored as null too.

Reading puts the object back in the key's place: the document is the same JSON, key order and
all, so its bytes and its proofs are those signed. A reference is only taken when the embedded
value serialises to the very bytes of the stored one (``same``); anything else is stored whole.

Before an object's current document is replaced (a new version, a tombstone, a re-signature),
the ``objects_pin`` trigger (migration 0017) copies it to ``object_versions`` and points the
activities that embed it there, in the same statement: no activity ever changes when its object
does.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import and_, delete, exists
from sqlalchemy.ext.asyncio import AsyncSession

from node.store.schema import activities, object_versions

OBJECT, VERSION, ACTIVITY = "object", "version", "activity"


def same(a: Any, b: Any) -> bool:
    """Whether two JSON values serialise to the same bytes (key order and number types count)."""
    return orjson.dumps(a) == orjson.dumps(b)


def shares_context(document: dict[str, Any]) -> bool:
    """Whether ``document``'s ``@context``, and its proof's, are exactly its embedded object's
    (ours: a 5 KB inline context, stored once with the object)."""
    inner = document.get("object")
    if "@context" not in document or not isinstance(inner, dict) or "@context" not in inner:
        return False
    proof = document.get("proof")
    if proof is not None and not isinstance(proof, dict):
        return False  # a proof set: kept as it is
    context = orjson.dumps(inner["@context"])
    return orjson.dumps(document["@context"]) == context and (
        proof is None or "@context" not in proof or orjson.dumps(proof["@context"]) == context)


def put_back(shell: dict[str, Any], embedded: Any, context: bool | None) -> dict[str, Any]:
    """The whole document: ``shell`` (its ``object`` null) with ``embedded`` in its place, and
    ``embedded``'s ``@context`` in its own and its proof's when ``context``."""
    shell["object"] = embedded
    if context and isinstance(embedded, dict):
        shell["@context"] = embedded.get("@context")
        proof = shell.get("proof")
        if isinstance(proof, dict) and "@context" in proof:
            proof["@context"] = shell["@context"]
    return shell


def stored_form(document: dict[str, Any], context: bool) -> dict[str, Any]:
    """The document as stored when its object is stored elsewhere: ``object`` null, in place,
    and when ``context`` (they are the object's) ``@context`` null, its proof's too."""
    stored = {**document, "object": None}
    if context:
        stored["@context"] = None
        proof = stored.get("proof")
        if isinstance(proof, dict) and "@context" in proof:
            stored["proof"] = {**proof, "@context": None}
    return stored


async def prune(session: AsyncSession, ap_ids: Any) -> None:
    """Drop the kept versions of ``ap_ids`` (a list or a subquery) no activity embeds."""
    v = object_versions.c
    await session.execute(delete(object_versions).where(
        v.ap_id.in_(ap_ids),
        ~exists().where(and_(activities.c.embeds == VERSION, activities.c.version_id == v.id))))
