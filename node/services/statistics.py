"""The network in numbers (``/statistiek``): initiatives per province, theme, legal form and
phase, and how the network grew (new items and initiatives per month, and the running totals).

Counted over what the node lists: its own and received initiatives and items, tombstones and
hosts the federation policy refuses left out, as in every list.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from node.services import browse, policy
from node.services.context import NodeContext
from node.services.listing import Filters, item_filter
from node.store import objects as object_store


@dataclass(frozen=True)
class Growth:
    month: str  # YYYY-MM
    items: int
    initiatives: int
    items_total: int
    initiatives_total: int


@dataclass(frozen=True)
class Statistics:
    initiatives: int
    items: int
    per: dict[str, dict[str, int]]  # facet -> value -> initiatives
    growth: list[Growth]


def _months(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` (``YYYY-MM``), so a quiet month shows as 0."""
    year, month = map(int, first.split("-"))
    out: list[str] = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def growth_of(items: dict[str, int], initiatives: dict[str, int]) -> list[Growth]:
    seen = sorted({*items, *initiatives})
    if not seen:
        return []
    rows: list[Growth] = []
    items_total = initiatives_total = 0
    for month in _months(seen[0], seen[-1]):
        items_total += items.get(month, 0)
        initiatives_total += initiatives.get(month, 0)
        rows.append(Growth(month, items.get(month, 0), initiatives.get(month, 0), items_total,
                           initiatives_total))
    return rows


async def network_statistics(ctx: NodeContext) -> Statistics:
    entries = await browse.all_initiatives(ctx)
    async with ctx.db.sessions() as session:
        items_per_month = await object_store.count_by_month(
            session, item_filter(Filters(), hosts=await policy.rule(ctx, session)))
    initiatives_per_month = Counter(f"{e.actor.published:%Y-%m}" for e in entries)
    return Statistics(
        initiatives=len(entries), items=sum(items_per_month.values()),
        per=browse.facet_counts(entries),
        growth=growth_of(items_per_month, dict(initiatives_per_month)))
