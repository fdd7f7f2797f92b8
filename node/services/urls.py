"""The IRIs of this node's actors, objects, activities and collections — one scheme, one place.

::

    {base}/actors/{handle}              actor (node, initiative)   + /inbox /outbox /followers /following
    {base}/items/{local_id}             knowledge item (object)
    {base}/activities/{local_id}        activity
    {base}/inbox                        shared inbox
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from protocol.origin import authority_of


def new_local_id() -> str:
    """A random, URL-safe, 16-character id for items and activities."""
    return secrets.token_hex(8)


@dataclass(frozen=True)
class Urls:
    base: str

    @property
    def host(self) -> str:
        """The authority (host[:port]) of the node URL, normalised as every host is compared."""
        return authority_of(self.base)

    @property
    def files_base(self) -> str:
        """Where uploaded files are served: ``<base>/bestanden/<sha256>``."""
        return f"{self.base}/bestanden/"

    def file(self, sha256: str) -> str:
        return f"{self.files_base}{sha256}"

    def actor(self, handle: str) -> str:
        return f"{self.base}/actors/{handle}"

    def inbox(self, handle: str) -> str:
        return f"{self.actor(handle)}/inbox"

    def outbox(self, handle: str) -> str:
        return f"{self.actor(handle)}/outbox"

    def followers(self, handle: str) -> str:
        return f"{self.actor(handle)}/followers"

    def following(self, handle: str) -> str:
        return f"{self.actor(handle)}/following"

    def rsa_key(self, handle: str) -> str:
        return f"{self.actor(handle)}#main-key"

    def ed_key(self, handle: str) -> str:
        return f"{self.actor(handle)}#ed25519-key"

    @property
    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    def subscribe_template(self) -> str:
        """The remote-follow page WebFinger names (``SUBSCRIBE_REL``): ``{uri}`` is filled in."""
        return f"{self.base}/volgen?uri={{uri}}"

    def item(self, local_id: str) -> str:
        return f"{self.base}/items/{local_id}"

    def activity(self, local_id: str) -> str:
        return f"{self.base}/activities/{local_id}"

    def is_local(self, iri: str) -> bool:
        return iri == self.base or iri.startswith(self.base + "/")

    def local_handle(self, actor_iri: str) -> str | None:
        """The handle in a local actor IRI, or None if it is not one."""
        prefix = f"{self.base}/actors/"
        if not actor_iri.startswith(prefix):
            return None
        rest = actor_iri[len(prefix):]
        return rest if rest and "/" not in rest and "#" not in rest else None

    def local_item_id(self, iri: str) -> str | None:
        prefix = f"{self.base}/items/"
        if not iri.startswith(prefix):
            return None
        rest = iri[len(prefix):]
        return rest if rest and "/" not in rest else None
