"""Rows of several tables written with one statement: the ``batched_writes`` view.

The view (migration 0018) holds no rows: an ``INSERT`` into it hands each row to the table its
``target`` names — ``search_docs``, ``activities``, ``feed`` or ``deliveries`` — in the order of
the rows, through ``INSTEAD OF`` triggers, and those tables' own triggers run as for a direct
insert. A feed entry or delivery already there is kept, as ``feed.add_rows`` and
``deliveries.enqueue_rows`` keep it. Applying a received item collects its search entry, its
theme feeds' Announces, the feed entries and the deliveries in a :class:`Batch` and writes
them with one statement where they were four (issue 13's statement budget of apply;
docs/performance.md, "Statement budgets").

The values are bound with the target columns' own types (``JSON`` through the engine's
serializer, ``UTCDateTime``, ``Boolean``), so a row stores the very values a direct insert
stores.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import JSON, Column, MetaData, String, Table
from sqlalchemy.ext.asyncio import AsyncSession

from node.store import search as search_store
from node.store.db import wake_after_commit
from node.store.schema import activities, deliveries, feed, search_docs
from node.store.search import SearchDoc

# target -> its columns (as in migration 0018's view, which has each name once)
TARGETS: dict[str, tuple[Table, tuple[str, ...]]] = {
    "search_docs": (search_docs, tuple(SearchDoc.__dataclass_fields__)),
    "activities": (activities, ("ap_id", "actor", "type", "object_ap_id", "published",
                                "document", "embeds", "shares_context")),
    "feed": (feed, ("owner", "object_ap_id", "via", "created_at")),
    "deliveries": (deliveries, ("activity_ap_id", "inbox_url", "host", "signer", "state",
                                "attempts", "created_at", "next_attempt_at")),
}


def _column(name: str) -> Column[Any]:
    types = {type(table.c[name].type) for table, names in TARGETS.values() if name in names}
    assert len(types) == 1, f"batched_writes.{name} has one meaning"  # a shared name: same type
    table = next(table for table, names in TARGETS.values() if name in names)
    kind = table.c[name].type
    # Another target's row leaves the column NULL: SQL NULL, never the JSON text ``null``.
    return Column(name, JSON(none_as_null=True) if isinstance(kind, JSON) else kind)


_NAMES = tuple(dict.fromkeys(name for _, names in TARGETS.values() for name in names))
# Not in ``schema.metadata``: a view, made by the migration only (like the FTS5 table).
batched_writes = Table("batched_writes", MetaData(), Column("target", String(16)),
                       *(_column(name) for name in _NAMES))
_EMPTY = dict.fromkeys(_NAMES)
# Compiled once; SQLAlchemy sends a list of rows as one multi-row INSERT ("insertmanyvalues",
# which it does for an INSERT with RETURNING on both databases — without, psycopg would send a
# statement per row). The view returns each row as the trigger got it (nothing is read).
_INSERT = batched_writes.insert().returning(batched_writes.c.target)
CHUNK = 200  # rows per statement: 200 × 38 parameters stay far below SQLite's limit


class Batch:
    """Rows to write together, in the order added (:meth:`write` sends them)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.wakes = False

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, target: str, rows: Iterable[dict[str, Any]]) -> None:
        """Rows of ``target`` (a key of :data:`TARGETS`), with at least its columns."""
        names = TARGETS[target][1]
        for row in rows:
            self.rows.append({**_EMPTY, "target": target, **{n: row[n] for n in names}})
            self.wakes = self.wakes or target == "deliveries"

    def search(self, doc: SearchDoc) -> None:
        """Index ``doc``, replacing what the index held for its ``ap_id`` (``search.put``)."""
        self.add("search_docs", [search_store.row(doc)])

    async def write(self, session: AsyncSession) -> None:
        """Write the rows collected (one statement, or one per :data:`CHUNK` rows; none when
        there are none), then forget them."""
        rows, self.rows = self.rows, []
        if self.wakes:
            wake_after_commit(session)  # deliveries queued: as ``enqueue_rows`` does
            self.wakes = False
        for at in range(0, len(rows), CHUNK):
            await session.execute(_INSERT, rows[at:at + CHUNK])
