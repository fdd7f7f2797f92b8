"""The URLs of a list's Atom feed and agenda, for the ``<link rel="alternate">`` of its page."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from node.web import strings

AGENDA_FILTERS = ("theme", "province")


def query_string(params: Mapping[str, str | None]) -> str:
    """``?a=1&b=2`` of the non-empty values, sorted (one URL per set of filters), or ``""``."""
    chosen = {k: v for k, v in sorted(params.items()) if v}
    return f"?{urlencode(chosen)}" if chosen else ""


def items_feed(**params: str | None) -> str:
    """``/feeds/items.atom`` with these filters of ``/api/items``."""
    return "/feeds/items.atom" + query_string(params)


def search_feed(params: dict[str, str]) -> str:
    """``/feeds/search.atom`` with the search's parameters, from its first page."""
    return "/feeds/search.atom" + query_string(
        {k: v for k, v in params.items() if k not in ("offset", "limit", "pagina")})


def agenda(**params: str | None) -> str:
    return "/agenda.ics" + query_string({k: v for k, v in params.items() if k in AGENDA_FILTERS})


def items_feed_link(name: str, **params: str | None) -> tuple[str, str]:
    """(title, URL) of a page's item feed, for ``render(feeds=…)``."""
    return strings.text("feed_items", name=name), items_feed(**params)
