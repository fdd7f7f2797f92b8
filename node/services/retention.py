"""Retention: finished federation work is not kept forever (docs/federation.md, "Retention").

Run by the worker as the periodic job ``retention`` (``node.worker``). Three windows, from
``[retention]``:

- an applied or failed inbox row keeps its raw document for ``inbox_days``; then the document is
  emptied and the row (id, sender, type, state) stays, so a duplicate is still recognised;
- the row itself is deleted after ``inbox_ids_days``: a replayed signed request verifies for at
  most 13 hours (``VerifyPolicy``: 12 h lifetime + 1 h clock skew), so by then none can be
  accepted, and what a proof still verifies (a relayed Create/Update/Delete) changes nothing when
  applied again (the version rule, tombstones);
- a sent or given-up delivery is deleted ``deliveries_days`` after it finished.

Pending rows are never touched, whatever their age.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from node.services.context import NodeContext
from node.store import deliveries as delivery_store
from node.store import inbox as inbox_store

log = logging.getLogger("kennisknoop.retention")

JOB_KIND = "retention"
#: How often the job runs; the windows are days, so an hour late is never noticed.
INTERVAL = timedelta(hours=1)


@dataclass(frozen=True)
class Purged:
    inbox_documents: int
    inbox_rows: int
    deliveries: int


async def purge(ctx: NodeContext) -> Purged:
    """Drop what the retention windows no longer keep; the counts of what went."""
    now = ctx.now()
    windows = ctx.settings.retention
    async with ctx.db.transaction() as session:
        rows = await inbox_store.delete_finished(
            session, received_before=now - timedelta(days=windows.inbox_ids_days))
        documents = await inbox_store.drop_documents(
            session, received_before=now - timedelta(days=windows.inbox_days))
        sent = await delivery_store.delete_finished(
            session, finished_before=now - timedelta(days=windows.deliveries_days))
    purged = Purged(documents, rows, sent)
    if documents or rows or sent:
        log.info("retention: %d inbox documents dropped, %d inbox ids and %d deliveries deleted",
                 documents, rows, sent)
    return purged
