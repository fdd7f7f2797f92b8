"""Search over items and initiatives, local and received, in Dutch (docs/search.md).

The index is kept by ``node.services.search_index``. :func:`search` reads the query language
(``node.services.search_text``), looks for all of its words and, when that finds nothing, for
any of them (``SearchPage.match`` says which), and returns one page with the total and the facet
counts over the whole filtered result set.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from node.services import policy
from node.services.context import NodeContext
from node.services.errors import ValidationError
from node.services.search_text import Query, parse_query, snippet
from node.store import search as search_store
from node.store.search import FACETS, Hit, SearchFilter
from node.store.search_engines import TextMatch
from protocol import themes as vocab_themes

__all__ = ["FACETS", "ORIGINS", "TYPES", "SearchPage", "SearchRequest", "SearchResult", "parse_near",
           "search"]

MAX_OFFSET = 1_000  # deeper pages are refused: refine the query instead
MAX_WITHIN_KM = 500.0
ORIGINS = ("local", "remote", "all")
TYPES = ("item", "initiative")


# --- searching ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchRequest:
    q: str | None = None
    type: str | None = None
    kind: str | None = None
    theme: str | None = None
    province: str | None = None
    legal_form: str | None = None
    phase: str | None = None
    status: str | None = None
    origin: str = "all"
    near: str | None = None
    within_km: float | None = None
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True)
class SearchResult:
    id: str
    type: str
    kind: str | None
    title: str
    snippet: str
    url: str
    origin: str  # local | remote
    host: str  # the origin node
    province: str | None
    themes: list[str]
    score: float
    distance_km: float | None


@dataclass(frozen=True)
class SearchPage:
    total: int
    results: list[SearchResult]
    facets: dict[str, dict[str, int]]
    match: Literal["all", "any"] | None  # None: no words asked
    next_offset: int | None


def _bad(name: str, detail: str) -> ValidationError:
    return ValidationError("bad_value", f"{name}: {detail}", field=name)


def parse_near(raw: str | None) -> tuple[float, float] | None:
    """``LAT,LON`` in decimal degrees; raises ValidationError."""
    if raw is None or not raw.strip():
        return None
    lat_text, sep, lon_text = raw.partition(",")
    try:
        if not sep or len(raw) > 40:
            raise ValueError(raw)
        lat, lon = float(lat_text), float(lon_text)
    except ValueError as exc:
        raise _bad("near", "give LAT,LON in decimal degrees, e.g. 53.2,5.8") from exc
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise _bad("near", "latitude -90..90, longitude -180..180")
    return lat, lon


def _filter(ctx: NodeContext, request: SearchRequest) -> SearchFilter:
    near = parse_near(request.near)
    within = request.within_km
    if within is not None and not 0 < within <= MAX_WITHIN_KM:
        raise _bad("within_km", f"must be more than 0 and at most {MAX_WITHIN_KM:g}")
    if near is not None and within is None:
        within = 25.0
    themes = ((request.theme, *vocab_themes.narrower(request.theme)) if request.theme else ())
    return SearchFilter(
        doc_type=request.type, kind=request.kind, themes_any=themes, province=request.province,
        legal_form=request.legal_form, phase=request.phase, status=request.status,
        origin=None if request.origin == "all" else request.origin,
        near=near,
        within_km=within if near is not None else None)


async def search(ctx: NodeContext, request: SearchRequest) -> SearchPage:
    query = parse_query(request.q)
    if request.offset > MAX_OFFSET:
        raise _bad("offset", f"at most {MAX_OFFSET}: refine the search instead")
    f = _filter(ctx, request)
    async with ctx.db.sessions() as session:
        # The federation policy hides what refused hosts sent, as every list does.
        f = replace(f, hosts=await policy.rule(ctx, session))
        match_mode: Literal["all", "any"] | None = None
        if query.units:
            match_mode = "all"
            result = await search_store.search(
                session, TextMatch(query.units, "all"), query.excluded, f,
                limit=request.limit + 1, offset=request.offset)
            if result.total == 0 and len(query.units) > 1:
                match_mode = "any"
                result = await search_store.search(
                    session, TextMatch(query.units, "any"), query.excluded, f,
                    limit=request.limit + 1, offset=request.offset)
        else:
            result = await search_store.search(session, None, query.excluded, f,
                                               limit=request.limit + 1, offset=request.offset)
    more = len(result.hits) > request.limit
    return SearchPage(
        total=result.total, results=[_result(hit, query) for hit in result.hits[:request.limit]],
        facets=result.facets, match=match_mode,
        next_offset=request.offset + request.limit if more else None)


def _result(hit: Hit, query: Query) -> SearchResult:
    doc = hit.doc
    return SearchResult(
        id=doc.ap_id, type=doc.doc_type, kind=doc.kind, title=doc.title,
        snippet=snippet(doc.text, query.stems), url=doc.url,
        origin="local" if doc.is_local else "remote", host=doc.host, province=doc.province,
        themes=list(doc.themes), score=round(hit.score, 6),
        distance_km=round(hit.distance_km, 2) if hit.distance_km is not None else None)
