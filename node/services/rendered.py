"""Rendered responses held in memory, least recently used dropped first, bounded by bytes.

An entry is what a GET answered (its headers and body) with the *stamp* of the rows it was
rendered from: their ids, versions and update times, read with one short statement
(``object_store.page_stamp``, ``activity_store.stamp``, ``activity_store.outbox_stamp``). A
reader reads the stamp again on every request and uses the entry only when it is equal, so a
write — an edit, a delete, a tombstone, a hidden item, a new author profile, a key rotation, a
new activity in an outbox — in this process or any other on the same
database is seen by the very next read: nothing is invalidated, nothing expires. One entry per
(kind, IRI, variant): a new version replaces the old one instead of waiting to be evicted.

A stamp read before a write commits may come with a render of the row after it: the entry then
holds newer bytes under an older stamp, which no reader presents again (stamps only move
forward: a re-created row has a new id). The reverse, older bytes under a newer stamp, cannot
happen: the render reads after the stamp. See docs/performance.md, "Rendered bytes held".
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

# What an entry costs beyond its body and header bytes: the key, the tuples, the dict slot.
OVERHEAD = 400
FACTS = 256


@dataclass(frozen=True, slots=True)
class Held:
    stamp: Hashable
    headers: tuple[tuple[bytes, bytes], ...]  # the ETag of the body among them
    body: bytes
    etag: str
    not_modified: tuple[tuple[bytes, bytes], ...]  # the headers its 304 repeats

    @property
    def size(self) -> int:
        return OVERHEAD + len(self.body) + sum(
            len(k) + len(v) for k, v in (*self.headers, *self.not_modified))


class RenderCache:
    """At most ``max_bytes`` of :class:`Held` responses (0: none held)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Hashable, Held] = OrderedDict()
        # Small facts a render derives from the same stamped rows (an outbox's total): at most
        # FACTS of them, each under its stamp like an entry; not counted in ``size``.
        self._facts: OrderedDict[Hashable, tuple[Hashable, Any]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, stamp: Hashable) -> Held | None:
        """The entry of ``key`` if it was rendered from rows with this ``stamp``."""
        held = self._entries.get(key)
        if held is None or held.stamp != stamp:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return held

    def put(self, key: Hashable, held: Held) -> None:
        """Hold ``held`` under ``key`` (replacing an older one); past the bound, drop the least
        recently used. A response bigger than an eighth of the bound is not held."""
        size = held.size
        if size * 8 > self.max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.size -= old.size
        self._entries[key] = held
        self.size += size
        while self.size > self.max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self.size -= dropped.size

    def fact(self, key: Hashable, stamp: Hashable) -> Any | None:
        """The fact remembered under ``key`` for rows with this ``stamp`` (None: none)."""
        found = self._facts.get(key)
        if found is None or found[0] != stamp:
            return None
        self._facts.move_to_end(key)
        return found[1]

    def remember(self, key: Hashable, stamp: Hashable, value: Any) -> None:
        """Remember ``value`` (not None) under ``key`` for rows with this ``stamp``."""
        if self.max_bytes <= 0:
            return
        self._facts.pop(key, None)
        self._facts[key] = (stamp, value)
        while len(self._facts) > FACTS:
            self._facts.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
        self._facts.clear()
        self.size = 0
