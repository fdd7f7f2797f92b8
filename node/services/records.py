"""The stored records services hand to handlers, named here so the web layer never imports the store.

Handlers render these (as JSON or HTML) and pass them back to services; they never query for
them. Each is a frozen dataclass of ``node.store``, returned by a service function.
"""

from __future__ import annotations

from node.store.actors import StoredActor
from node.store.blocks import StoredBlock
from node.store.endorsements import StoredEndorsement
from node.store.flags import StoredFlag
from node.store.follows import StoredFollow
from node.store.objects import PageStamp, StoredObject
from node.store.peers import Peer

__all__ = ["PageStamp", "Peer", "StoredActor", "StoredBlock", "StoredEndorsement", "StoredFlag",
           "StoredFollow", "StoredObject"]
