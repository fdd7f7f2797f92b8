"""Two workers applying received activities from one PostgreSQL inbox table (issue 14, "Scale
past one process"): every inbox row is applied, and by exactly one of them.

The two workers are two ``NodeContext``s in this process, each with its own engine (its own
connections), running ``worker.run_once`` concurrently in small batches, so their claims
(``node.store._claim``, ``FOR UPDATE SKIP LOCKED``) overlap in PostgreSQL. Each counts what it
applied in its own ``Metrics``; together they must have applied each row once.
(``test_worker_processes.py`` does the same for deliveries with real processes and a SIGKILL.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from node.cli import init_node, load, open_context
from node.services.context import NodeContext
from node.store import inbox as inbox_store
from node.store.schema import inbox, objects
from node.worker import run_once
from tests import dbs

pytestmark = pytest.mark.postgres

ROWS = 300
BATCH = 10  # small, so the two workers claim many times, side by side
SENDER = "https://fryslan.test/actors/bron"
PUBLIC = ["https://www.w3.org/ns/activitystreams#Public"]


@pytest.fixture
def directory(tmp_path: Path) -> Iterator[Path]:
    dbs.require_postgres()
    url = dbs.create_pg_database("kk_inbox_workers")
    directory = tmp_path / "node"
    init_node(directory, url="http://127.0.0.1:9", name="Schaal", handle="schaal",
              database=url, allow_private_network=True, environ={})
    yield directory
    dbs.drop_pg_database(url)


def _create(n: int) -> dict[str, object]:
    """A received ``Create`` of a new note by SENDER: applying it stores the note, no network."""
    note = {"id": f"https://fryslan.test/objects/{n}", "type": "Note", "attributedTo": SENDER,
            "name": f"Bericht {n}", "content": f"Bericht {n}",
            "published": "2026-01-01T00:00:00Z", "to": PUBLIC}
    return {"@context": "https://www.w3.org/ns/activitystreams", "type": "Create",
            "id": f"https://fryslan.test/activities/{n}", "actor": SENDER, "object": note,
            "to": PUBLIC}


async def _drain(ctx: NodeContext) -> float:
    """Run worker rounds until nothing is due; how many activities this worker applied."""
    while await run_once(ctx, batch=BATCH):
        pass
    applied = ctx.metrics.registry.get_sample_value(
        "kennisknoop_inbox_activities_total", {"type": "Create", "outcome": "applied"})
    return applied or 0.0


async def test_two_workers_apply_every_inbox_row_exactly_once(directory: Path) -> None:
    settings = load(directory)
    async with open_context(settings) as first, open_context(settings) as second:
        # Given ROWS received activities waiting in the inbox table
        async with first.db.transaction() as session:
            for n in range(ROWS):
                activity = _create(n)
                await inbox_store.add(session, activity_ap_id=str(activity["id"]),
                                      actor=SENDER, type="Create", recipient=None,
                                      document=activity, now=first.now(), host="fryslan.test")
        # When two workers, each with its own connections, drain the inbox at the same time
        applied = await asyncio.gather(_drain(first), _drain(second))
        async with first.db.sessions() as session:
            states = dict((await session.execute(
                select(inbox.c.state, func.count()).group_by(inbox.c.state))).all())
            attempts = (await session.execute(select(func.max(inbox.c.attempts)))).scalar()
            stored = (await session.execute(select(func.count()).select_from(objects))).scalar()
    # Then both took part, and together they applied each row once: every row done after one
    # attempt, every note stored
    assert all(n > 0 for n in applied), applied
    assert sum(applied) == ROWS, applied
    assert states == {"done": ROWS}
    assert attempts == 1
    assert stored == ROWS
