"""Key rotation of a local actor (docs/operations.md, "Key rotation").

New RSA and Ed25519 key pairs replace the old ones under the same key ids (``#main-key``,
``#ed25519-key``), as Mastodon rotates: a peer that cached the old key finds that a signature
no longer verifies, fetches the actor again once and goes on (``services.inbox.verify_signed``;
``services.apply`` does the same for proofs). Everything the actor signed — its actor document,
its items and its outbox — is signed again with the new Ed25519 key, so copies fetched later
verify too; then an ``Update`` of the actor goes to all its followers, signed with the new key.
The old private keys are gone: keep the backup made before rotating if they may be needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from node.services.actors import resolve_local, store_new_keys
from node.services.context import NodeContext
from node.services.documents import sign
from node.services.errors import GoneError
from node.services.outbox import publish_activity
from node.store import signed as signed_store
from node.store.actors import StoredActor
from node.store.signed import SignedDocument


@dataclass(frozen=True)
class Rotation:
    actor: StoredActor
    resigned: int  # documents signed again with the new key
    followers_updated: bool


def _signed_by(document: Any, key_id: str) -> bool:
    if not isinstance(document, dict):
        return False
    proofs = document.get("proof")
    proofs = proofs if isinstance(proofs, list) else [proofs]
    return any(isinstance(p, dict) and p.get("verificationMethod") == key_id for p in proofs)


def _resigned(document: dict[str, Any], actor: StoredActor, key_id: str, now: datetime
              ) -> dict[str, Any]:
    """``document`` with its proof by ``key_id`` made again (an embedded object's first)."""
    body = {k: v for k, v in document.items() if k != "proof"}
    inner = body.get("object")
    if isinstance(inner, dict) and _signed_by(inner, key_id):
        body["object"] = _resigned(inner, actor, key_id, now)
    return sign(body, actor, now)


async def rotate_keys(ctx: NodeContext, handle: str) -> Rotation:
    """Give the local actor ``handle`` new keys, re-sign its documents, tell its followers."""
    async with ctx.db.transaction() as session:
        actor = await resolve_local(session, ctx, handle)
        if actor.deleted:
            raise GoneError("gone", f"{handle!r} was deleted")
        now = ctx.now()
        rotated = await store_new_keys(ctx, session, actor, now)
        key_id = rotated.ed_key_id or ""
        resigned = 0
        for stored in await signed_store.of_actor(session, rotated.ap_id):
            if _signed_by(stored.document, key_id):
                await signed_store.replace(session, SignedDocument(
                    stored.kind, stored.ap_id, _resigned(stored.document, rotated, key_id, now)))
                resigned += 1
        await publish_activity(ctx, session, actor=rotated, type="Update",
                               obj=rotated.document or {})
    return Rotation(rotated, resigned, followers_updated=True)
