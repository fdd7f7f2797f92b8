"""Browsing: numbered pages of items and the directory of initiatives, with filters and counts.

Every HTML list pages to its end (``page`` from 1; ``pages`` says how many there are) and takes
the same filters as the API: kind, theme (a broader theme takes in its narrower ones) and
province. Items of hosts the federation policy refuses are left out, as everywhere.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from node.services import directory as directory_service
from node.services import policy
from node.services.collections import authors_of
from node.services.context import NodeContext
from node.services.errors import NotFoundError
from node.services.items import theme_and_narrower

# Re-exported: they lived here first, and other modules know them by this name.
from node.services.listing import PAGE_SIZE as PAGE_SIZE
from node.services.listing import Filters as Filters
from node.services.listing import Paging as Paging
from node.services.listing import item_filter as item_filter
from node.store import actors as actor_store
from node.store import follows as follow_store
from node.store import objects as object_store
from node.store.actors import StoredActor
from node.store.objects import StoredObject
from protocol import themes as vocab_themes

DIRECTORY_FACETS = ("theme", "province", "legal_form", "phase")


@dataclass(frozen=True)
class ItemListing:
    items: list[StoredObject]
    authors: dict[str, StoredActor]
    paging: Paging


@dataclass(frozen=True)
class InitiativeEntry:
    actor: StoredActor
    province: str | None
    themes: list[str]
    legal_form: str | None
    phase: str | None
    stale: bool = False  # not confirmed for over a year (node.services.directory)

    @property
    def origin(self) -> str:
        return self.actor.host


@dataclass(frozen=True)
class Directory:
    initiatives: list[InitiativeEntry]
    paging: Paging
    counts: dict[str, dict[str, int]] = field(default_factory=dict)


async def items_page(ctx: NodeContext, filters: Filters, page: int = 1,
                     size: int = PAGE_SIZE) -> ItemListing:
    """One numbered page of items, own and received, newest first."""
    async with ctx.db.sessions() as session:
        f = item_filter(filters, hosts=await policy.rule(ctx, session))
        paging = Paging.of(page, await object_store.count(session, f), size)
        rows = await object_store.list_page(session, f, limit=size, offset=(page - 1) * size)
        authors = await authors_of(session, (i.attributed_to for i in rows))
    return ItemListing(rows, authors, paging)


def initiative_entry(found: directory_service.Entry) -> InitiativeEntry:
    profile = found.actor.profile or {}
    themes = [t for t in profile.get("themes") or [] if isinstance(t, str)]
    legal_form, phase = profile.get("legal_form"), profile.get("phase")
    return InitiativeEntry(
        actor=found.actor, province=found.province, themes=themes,
        legal_form=legal_form if isinstance(legal_form, str) else None,
        phase=phase if isinstance(phase, str) else None, stale=found.stale)


def matches(entry: InitiativeEntry, filters: Filters) -> bool:
    if filters.theme and not set(theme_and_narrower(filters.theme)) & set(entry.themes):
        return False
    return all(getattr(filters, name) in (None, getattr(entry, name))
               for name in ("province", "legal_form", "phase"))


def facet_counts(entries: Iterable[InitiativeEntry]) -> dict[str, dict[str, int]]:
    """How many initiatives have each value of each facet (an initiative counts once a theme)."""
    counters: dict[str, Counter[str]] = {name: Counter() for name in DIRECTORY_FACETS}
    for entry in entries:
        counters["theme"].update(set(entry.themes))
        for name in ("province", "legal_form", "phase"):
            value = getattr(entry, name)
            if value:
                counters[name][value] += 1
    return {name: dict(counter.most_common()) for name, counter in counters.items()}


async def all_initiatives(ctx: NodeContext) -> list[InitiativeEntry]:
    """Every live initiative the directory lists, own and received (blocked hosts' hidden),
    by name."""
    # The directory is read whole anyway (directory.list_directory): no cap on what it lists.
    found, _ = await directory_service.list_directory(
        ctx, directory_service.DirectoryQuery(), limit=sys.maxsize)
    return [initiative_entry(e) for e in found]


async def directory(ctx: NodeContext, filters: Filters, page: int = 1,
                    size: int = PAGE_SIZE) -> Directory:
    """One page of the initiative directory, with counts per value over the filtered set."""
    chosen = [e for e in await all_initiatives(ctx) if matches(e, filters)]
    paging = Paging.of(page, len(chosen), size)
    start = (page - 1) * size
    return Directory(chosen[start:start + size], paging, facet_counts(chosen))


@dataclass(frozen=True)
class ThemeView:
    """A theme's page: its items, and the feed actor that fediverse accounts follow for it (the
    top-level theme's: a narrower theme is announced by its broader one's feed)."""

    theme: vocab_themes.Theme
    feed: StoredActor | None
    followers: list[StoredActor]  # one page of them, newest first
    listing: ItemListing
    follower_paging: Paging = field(default_factory=lambda: Paging(1, 1, 0))


def feed_theme(theme_id: str) -> vocab_themes.Theme:
    theme = vocab_themes.get(theme_id)
    return vocab_themes.get(theme.broader) if theme.broader else theme


async def theme_view(ctx: NodeContext, theme_id: str, page: int = 1, followers_page: int = 1,
                     size: int = PAGE_SIZE, filters: Filters | None = None) -> ThemeView:
    """A theme's items (page ``page``, narrowed by the ``filters`` kind and province: its theme
    is fixed) and its feed's followers (page ``followers_page``)."""
    if not vocab_themes.is_theme(theme_id):
        raise NotFoundError("not_found", f"no theme {theme_id!r}")
    chosen = filters or Filters()
    listing = await items_page(ctx, Filters(kind=chosen.kind, theme=theme_id,
                                            province=chosen.province), page, size)
    followers: list[StoredActor] = []
    follower_paging = Paging.of(1, 0, size)
    async with ctx.db.sessions() as session:
        feed = await actor_store.get_local(session, feed_theme(theme_id).hashtag)
        if feed is not None:
            hosts = await policy.rule(ctx, session)
            follower_paging = Paging.of(followers_page, await follow_store.count(
                session, followee=feed.ap_id, hosts=hosts), size)
            followers = await follow_store.follower_actors(
                session, feed.ap_id, hosts=hosts, limit=size,
                offset=(followers_page - 1) * size)
    return ThemeView(vocab_themes.get(theme_id), feed, followers, listing, follower_paging)
