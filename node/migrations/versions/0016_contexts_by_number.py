"""JSON documents: known @context values by number, HTML stored once (issue 13, storage)

Two thirds of an item's signed JSON-LD are its 2.2 KB inline ``@context``, twice (document and
proof). The application now writes every JSON column packed (``node.store.contexts``): each
known context as its number, a ``contentMap`` that repeats the ``content`` as 0, the text
marked by a leading space, and reads it back whole. This rewrites the documents already stored
the same way — objects, their kept versions, activities, actors, the inbox — in batches of 500
rows; a text that would not come back exactly stays as it is. ``objects.content_html`` becomes
NULL where it is the live document's own ``content`` (``node.store.objects.stored_values``).
The downgrade puts every context and every such HTML back. On SQLite the file keeps its size
until ``VACUUM``.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from node.store import contexts

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_BATCH = 500
# (table, JSON column holding signed documents); each table's key is an integer ``id``.
_COLUMNS = (("objects", "document"), ("object_versions", "document"),
            ("activities", "document"), ("actors", "document"), ("inbox", "document"))


def _rewrite(change: Callable[[str], str]) -> None:
    conn = op.get_bind()
    json = "CAST(:text AS json)" if conn.dialect.name == "postgresql" else ":text"
    for table, column in _COLUMNS:
        read = sa.text(f"SELECT id, CAST({column} AS TEXT) FROM {table} "
                       f"WHERE id > :last ORDER BY id LIMIT {_BATCH}")
        write = sa.text(f"UPDATE {table} SET {column} = {json} WHERE id = :id")
        last = 0
        while rows := conn.execute(read, {"last": last}).all():
            changed = [{"id": id_, "text": new} for id_, text in rows
                       if text is not None and (new := change(text)) != text]
            if changed:
                conn.execute(write, changed)
            last = rows[-1][0]


def _content(conn: sa.Connection) -> tuple[str, str]:
    """SQL for a document's ``content`` as text, and for whether it is a JSON string."""
    if conn.dialect.name == "postgresql":
        return "document ->> 'content'", "json_typeof(document -> 'content') = 'string'"
    return "json_extract(document, '$.content')", "json_type(document, '$.content') = 'text'"


def upgrade() -> None:
    conn = op.get_bind()
    content, is_text = _content(conn)
    conn.execute(sa.text(f"UPDATE objects SET content_html = NULL WHERE deleted_at IS NULL "
                         f"AND content_html = {content} AND {is_text}"))
    _rewrite(contexts.pack)


def downgrade() -> None:
    _rewrite(contexts.unpack)
    conn = op.get_bind()
    content, is_text = _content(conn)
    conn.execute(sa.text(f"UPDATE objects SET content_html = {content} WHERE deleted_at IS NULL "
                         f"AND content_html IS NULL AND {is_text}"))
