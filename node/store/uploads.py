"""Which uploaded files the database names (the orphan sweep, ``node.services.uploads``).

An uploaded file is named by its URL ``…/bestanden/<sha256>`` wherever it is used: an item's
``attachments`` (``objects.fields`` and its signed ``document``), every earlier version of an
item in the outbox (kept once in ``object_versions`` while its ``Create``/``Update`` embeds it;
``activities.document`` for an activity stored whole), an initiative's
``avatar`` (``actors.profile``) and ``icon`` (``actors.document``), and a link typed into
Markdown (``objects.content``). The queries read those columns as text: only rows that mention
``/bestanden/`` are read and searched for the names (over-approximating is safe: a file that
looks named is kept).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Text, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from node.store.schema import activities, actors, object_versions, objects

_NAMED = re.compile(r"/bestanden/([0-9a-f]{64})")
# (table, columns) that may name an uploaded file.
_COLUMNS: tuple[tuple[Any, tuple[ColumnElement[Any], ...]], ...] = (
    (objects, (objects.c.fields, objects.c.content, objects.c.document)),
    (activities, (activities.c.document,)),
    (object_versions, (object_versions.c.document,)),
    (actors, (actors.c.profile, actors.c.document)),
)


def _as_text(column: ColumnElement[Any]) -> ColumnElement[str]:
    return column if isinstance(column.type, Text) else cast(column, Text)


async def named_files(session: AsyncSession) -> set[str]:
    """The SHA-256 of every uploaded file that some row names."""
    found: set[str] = set()
    for _table, columns in _COLUMNS:
        texts = [_as_text(c) for c in columns]
        query = select(*texts).where(or_(*(t.like("%/bestanden/%") for t in texts)))
        result = await session.stream(query.execution_options(yield_per=500))
        async for row in result:
            for value in row:
                if value:
                    found.update(_NAMED.findall(value))
    return found
