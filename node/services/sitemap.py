"""``/sitemap.xml`` (the sitemaps.org 0.9 protocol): the public pages of what this node owns.

Listed: the home page, the lists (knowledge, directory, map, statistics), every theme page, the
page of every live local actor (the node, its initiatives, its theme feeds) and of every live
local item, with its last change as ``lastmod``. Received copies are left out: their canonical
page is at their origin, whose own sitemap lists them. One sitemap holds at most 50,000 URLs
(the protocol's limit); a node past that lists its newest items.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime

from node.services.context import NodeContext
from node.store import actors as actor_store
from node.store import objects as object_store
from protocol import themes as vocab_themes

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
MAX_URLS = 50_000
LIST_PAGES = ("/", "/kennis", "/initiatieven", "/kaart", "/statistiek")


@dataclass(frozen=True)
class SitemapUrl:
    loc: str
    lastmod: datetime | None = None


async def sitemap_urls(ctx: NodeContext) -> list[SitemapUrl]:
    base = ctx.settings.node.url
    urls = [SitemapUrl(f"{base}{path}" if path != "/" else f"{base}/") for path in LIST_PAGES]
    urls += [SitemapUrl(f"{base}/thema/{t.id}") for t in vocab_themes.all_themes()]
    async with ctx.db.sessions() as session:
        actors = await actor_store.list_local(session, limit=MAX_URLS)
        urls += [SitemapUrl(a.ap_id, a.updated) for a in actors]
        stamps = await object_store.local_stamps(session, limit=MAX_URLS - len(urls))
        urls += [SitemapUrl(ap_id, updated) for ap_id, updated in stamps]
    return urls[:MAX_URLS]


def build_sitemap(urls: list[SitemapUrl]) -> bytes:
    root = ET.Element("urlset", {"xmlns": SITEMAP_NS})
    for url in urls:
        element = ET.SubElement(root, "url")
        ET.SubElement(element, "loc").text = url.loc
        if url.lastmod is not None:
            moment = url.lastmod if url.lastmod.tzinfo else url.lastmod.replace(tzinfo=UTC)
            ET.SubElement(element, "lastmod").text = moment.astimezone(UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ")
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def robots_txt(base_url: str) -> str:
    """Crawlers may read every public page; not sign-in, editing or the search result pages
    (an endless space of queries), and they are pointed at the sitemap."""
    return ("User-agent: *\n"
            "Disallow: /aanmelden\n"
            "Disallow: /login\n"
            "Disallow: /bewerken/\n"
            "Disallow: /items/*/bewerken\n"
            "Disallow: /items/*/verwijderen\n"
            "Disallow: /initiatieven/nieuw\n"
            "Disallow: /actors/*/bewerken\n"
            "Disallow: /actors/*/verwijderen\n"
            "Disallow: /zoeken\n"
            "Allow: /\n"
            f"\nSitemap: {base_url}/sitemap.xml\n")
