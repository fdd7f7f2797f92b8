"""What every numbered HTML list shares: the filters a person chose and the page they are on.

Used by the browsing pages (``node.services.browse``) and the actor pages
(``node.services.collections``); docs/browsing.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from node.services.items import theme_and_narrower
from node.store.objects import ItemFilter

PAGE_SIZE = 20


@dataclass(frozen=True)
class Filters:
    """What a person chose to see; None means everything."""

    kind: str | None = None
    theme: str | None = None
    province: str | None = None
    legal_form: str | None = None
    phase: str | None = None

    def chosen(self) -> dict[str, str]:
        return {name: value for name, value in vars(self).items() if value}


@dataclass(frozen=True)
class Paging:
    page: int
    pages: int
    total: int

    @classmethod
    def of(cls, page: int, total: int, size: int = PAGE_SIZE) -> Paging:
        return cls(page, max(1, math.ceil(total / size)), total)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def item_filter(filters: Filters, **extra: Any) -> ItemFilter:
    return ItemFilter(kind=filters.kind, province=filters.province,
                      themes_any=theme_and_narrower(filters.theme) if filters.theme else (),
                      **extra)
