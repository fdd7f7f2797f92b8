"""The search index: one row per item or initiative, searched with FTS5 or PostgreSQL full-text.

Both engines index the same pre-analysed terms (``node.services.search_text``) in four weighted
columns — title, summary, body, compound parts — and answer the same contract (:func:`search`):
the page of hits in relevance order, the total, and facet counts over the whole filtered set.
The engine-specific text of a match is built by :mod:`node.store.search_engines`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    Select,
    String,
    and_,
    case,
    delete,
    func,
    literal,
    literal_column,
    null,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from node.store.blocks import HostRule, visible
from node.store.schema import search_docs, search_themes
from node.store.search_engines import TextMatch, fts5_match, tsquery

KM_PER_DEGREE = 111.195  # one degree of latitude (mean Earth radius 6371.0 km)
FACETS = ("kind", "theme", "province", "legal_form", "phase", "status", "origin")


@dataclass(frozen=True)
class SearchDoc:
    """What the index holds of one item or initiative."""

    ap_id: str
    doc_type: str  # item | initiative
    kind: str | None
    is_local: bool
    host: str
    province: str | None
    legal_form: str | None
    phase: str | None
    status: str | None
    latitude: float | None
    longitude: float | None
    url: str
    title: str
    text: str
    themes: list[str]
    published: datetime
    terms_title: str
    terms_summary: str
    terms_body: str
    terms_parts: str


@dataclass(frozen=True)
class SearchFilter:
    doc_type: str | None = None
    kind: str | None = None
    themes_any: tuple[str, ...] = ()
    province: str | None = None
    legal_form: str | None = None
    phase: str | None = None
    status: str | None = None
    origin: str | None = None  # local | remote | None (all)
    hosts: HostRule | None = None  # the federation policy: what refused hosts sent is hidden
    near: tuple[float, float] | None = None
    within_km: float | None = None


@dataclass(frozen=True)
class Hit:
    doc: SearchDoc
    score: float
    distance_km: float | None


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    total: int
    facets: dict[str, dict[str, int]]


def _is_sqlite(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "sqlite"


# --- writing -----------------------------------------------------------------------------------

_FTS_COLUMNS = "terms_title, terms_summary, terms_body, terms_parts"


async def remove(session: AsyncSession, ap_id: str) -> None:
    """Take ``ap_id`` out of the index (nothing happens if it is not there)."""
    row = (await session.execute(
        select(search_docs.c.id, search_docs.c.terms_title, search_docs.c.terms_summary,
               search_docs.c.terms_body, search_docs.c.terms_parts)
        .where(search_docs.c.ap_id == ap_id))).first()
    if row is None:
        return
    if _is_sqlite(session):
        # An external-content FTS5 table forgets a row only when told its indexed values.
        await session.execute(text(
            f"INSERT INTO search_fts(search_fts, rowid, {_FTS_COLUMNS}) "
            "VALUES ('delete', :id, :t, :s, :b, :p)"),
            {"id": row[0], "t": row[1], "s": row[2], "b": row[3], "p": row[4]})
    await session.execute(delete(search_themes).where(search_themes.c.doc_id == row[0]))
    await session.execute(delete(search_docs).where(search_docs.c.id == row[0]))


_SIMPLE: Any = literal_column("'simple'::regconfig")


def _tsvector(doc: SearchDoc) -> Any:
    """Title, summary, body and parts with the weights A, B, C and D (PostgreSQL)."""
    vector: Any = None
    for weight, terms in zip("ABCD", (doc.terms_title, doc.terms_summary, doc.terms_body,
                                      doc.terms_parts), strict=True):
        part = func.setweight(func.to_tsvector(_SIMPLE, terms), literal_column(f"'{weight}'"))
        vector = part if vector is None else vector.op("||")(part)
    return vector


async def remove_host(session: AsyncSession, host: str) -> None:
    """Take everything received from ``host`` out of the index (a purge)."""
    query = select(search_docs.c.ap_id).where(search_docs.c.host == host,
                                              search_docs.c.is_local.is_(False))
    for ap_id in (await session.execute(query)).scalars().all():
        await remove(session, ap_id)


async def put(session: AsyncSession, doc: SearchDoc) -> None:
    """Index ``doc``, replacing what the index held for its ``ap_id``."""
    await remove(session, doc.ap_id)
    values: dict[str, Any] = {name: getattr(doc, name) for name in SearchDoc.__dataclass_fields__}
    sqlite = _is_sqlite(session)
    if not sqlite:
        values["tsv"] = _tsvector(doc)
    doc_id = (await session.execute(
        search_docs.insert().values(**values).returning(search_docs.c.id))).scalar_one()
    if sqlite:
        await session.execute(text(
            f"INSERT INTO search_fts(rowid, {_FTS_COLUMNS}) VALUES (:id, :t, :s, :b, :p)"),
            {"id": doc_id, "t": doc.terms_title, "s": doc.terms_summary, "b": doc.terms_body,
             "p": doc.terms_parts})
    themes = sorted(set(doc.themes))
    if themes:
        await session.execute(search_themes.insert(),
                              [{"doc_id": doc_id, "theme": theme} for theme in themes])


async def count(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(search_docs))).scalar_one())


# --- searching ---------------------------------------------------------------------------------


def _hits(session: AsyncSession, match: TextMatch, name: str = "hits", *,
          scored: bool = True) -> Any:
    """A subquery ``(id, score)`` of the documents matching ``match``; higher scores first.

    Without ``scored`` only ``id``: counting needs no relevance, and computing it is the most
    expensive part of a match.
    """
    if _is_sqlite(session):
        # bm25() weights per column: title 10, summary 4, body 1.5, compound parts 0.3.
        score = ", -bm25(search_fts, 10.0, 4.0, 1.5, 0.3) AS score" if scored else ""
        sql = f"SELECT rowid AS id{score} FROM search_fts WHERE search_fts MATCH :{name}_match"
        columns: dict[str, Any] = {"id": Integer, "score": Float} if scored else {"id": Integer}
        return text(sql).bindparams(**{f"{name}_match": fts5_match(match)}).columns(
            **columns).subquery(name)
    query = func.to_tsquery(_SIMPLE, tsquery(match))
    # ts_rank weights in the order {D, C, B, A}: parts, body, summary, title; normalised by
    # the logarithm of the length (flag 1), as BM25 damps long documents.
    rank = func.ts_rank(literal_column("'{0.03, 0.15, 0.4, 1.0}'::float4[]"), search_docs.c.tsv,
                        query, 1)
    selected = [search_docs.c.id.label("id")] + ([rank.label("score")] if scored else [])
    return select(*selected).where(search_docs.c.tsv.op("@@")(query)).subquery(name)


def _excluded(session: AsyncSession, excluded: tuple[str, ...]) -> Any:
    """A condition keeping only documents without any ``excluded`` word."""
    only = TextMatch(units=tuple((s,) for s in excluded), mode="any", compounds=False)
    return search_docs.c.id.not_in(select(_hits(session, only, "excluded", scored=False).c.id))


def _conditions(f: SearchFilter) -> list[Any]:
    d = search_docs.c
    conds: list[Any] = []
    for column, value in ((d.doc_type, f.doc_type), (d.kind, f.kind), (d.province, f.province),
                          (d.legal_form, f.legal_form), (d.phase, f.phase),
                          (d.status, f.status)):
        if value is not None:
            conds.append(column == value)
    if f.origin == "local":
        conds.append(d.is_local.is_(True))
    elif f.origin == "remote":
        conds.append(d.is_local.is_(False))
    if f.hosts is not None and (f.hosts.blocked or f.hosts.allowed is not None):
        conds.append(visible(d.host, d.is_local, f.hosts))
    if f.themes_any:
        conds.append(d.id.in_(select(search_themes.c.doc_id)
                              .where(search_themes.c.theme.in_(f.themes_any))))
    if f.near is not None and f.within_km is not None:
        lat, lon = f.near
        span = f.within_km / KM_PER_DEGREE
        conds += [d.latitude.between(lat - span, lat + span), d.longitude.is_not(None),
                  _distance_squared(lat, lon) <= f.within_km ** 2]
    return conds


def _distance_squared(lat: float, lon: float) -> Any:
    """Squared equirectangular distance in km² — plain arithmetic, the same on both engines
    (under 0.5 % off the great-circle distance at the scale of a province)."""
    d = search_docs.c
    factor = math.cos(math.radians(lat))
    dy = (d.latitude - lat) * KM_PER_DEGREE
    dx = (d.longitude - lon) * (KM_PER_DEGREE * factor)
    return dy * dy + dx * dx


def distance_km(near: tuple[float, float], lat: float | None, lon: float | None) -> float | None:
    if lat is None or lon is None:
        return None
    factor = math.cos(math.radians(near[0]))
    dy = (lat - near[0]) * KM_PER_DEGREE
    dx = (lon - near[1]) * KM_PER_DEGREE * factor
    return math.sqrt(dy * dy + dx * dx)


_COLUMNS = [c for c in search_docs.c if c.name != "tsv"]
_FACET_COLUMNS = [search_docs.c[name] for name in
                  ("id", "kind", "province", "legal_form", "phase", "status", "is_local")]


def _filtered(session: AsyncSession, columns: list[Any], match: TextMatch | None,
              excluded: tuple[str, ...], f: SearchFilter, *, scored: bool) -> Select[Any]:
    """``columns`` (and ``score``) of the documents matching ``match`` and the filters."""
    d = search_docs.c
    conds = _conditions(f)
    if excluded:
        conds.append(_excluded(session, excluded))
    if match is None:
        score = [literal(0.0, Float).label("score")] if scored else []
        return select(*columns, *score).where(*conds)
    hits = _hits(session, match, scored=scored)
    if not conds and [c.name for c in columns] == ["id"]:
        return select(hits.c.id, *([hits.c.score] if scored else []))  # the index alone
    return (select(*columns, *([hits.c.score] if scored else []))
            .select_from(hits.join(search_docs, hits.c.id == d.id)).where(*conds))


async def search(session: AsyncSession, match: TextMatch | None, excluded: tuple[str, ...],
                 f: SearchFilter, *, limit: int, offset: int) -> SearchResult:
    """One page of hits, the total and the facets, for ``match`` (None: every document).

    Three statements, each reading only what it needs: the page's ids in order (the only one
    that computes relevance), those documents, and the total with every facet in one pass
    over the matched rows' filter columns.
    """
    d = search_docs.c
    ranked = _filtered(session, [d.id], match, excluded, f, scored=True).subquery("ranked")
    if match is not None:
        order: list[Any] = [ranked.c.score.desc(), ranked.c.id]
        page = select(ranked.c.id, ranked.c.score)
    elif f.near is not None and f.within_km is not None:
        page = (select(ranked.c.id, ranked.c.score)
                .join(search_docs, search_docs.c.id == ranked.c.id))
        order = [_distance_order(f.near), ranked.c.id]
    else:
        page = (select(ranked.c.id, ranked.c.score)
                .join(search_docs, search_docs.c.id == ranked.c.id))
        order = [d.published.desc(), ranked.c.id.desc()]
    scores = {int(row[0]): float(row[1]) for row in (await session.execute(
        page.order_by(*order).limit(limit).offset(offset))).all()}
    rows = {} if not scores else {row["id"]: row for row in (await session.execute(
        select(*_COLUMNS).where(d.id.in_(list(scores))))).mappings().all()}
    hits = [Hit(SearchDoc(**{name: rows[i][name] for name in SearchDoc.__dataclass_fields__}),
                score,
                distance_km(f.near, rows[i]["latitude"], rows[i]["longitude"]) if f.near
                else None)
            for i, score in scores.items() if i in rows]
    matched = _filtered(session, _FACET_COLUMNS, match, excluded, f, scored=False)
    total, facets = await _facets(session, matched)
    return SearchResult(hits, total, facets)


def _distance_order(near: tuple[float, float]) -> Any:
    d = search_docs.c
    factor = math.cos(math.radians(near[0]))
    dy = d.latitude - near[0]
    dx = (d.longitude - near[1]) * factor
    return dy * dy + dx * dx


async def _facets(session: AsyncSession, matched: Select[Any]
                  ) -> tuple[int, dict[str, dict[str, int]]]:
    """The total and every facet's counts, in one statement over the matched set."""
    cte = matched.cte("matched").prefix_with("MATERIALIZED")
    origin = case((cte.c.is_local.is_(True), "local"), else_="remote")
    parts: list[Any] = [select(literal("total").label("facet"), null().cast(String).label("value"),
                               func.count().label("n")).select_from(cte)]
    for name, column in (("kind", cte.c.kind), ("province", cte.c.province),
                         ("legal_form", cte.c.legal_form), ("phase", cte.c.phase),
                         ("status", cte.c.status), ("origin", origin)):
        parts.append(select(literal(name), column.cast(String), func.count())
                     .where(column.is_not(None)).group_by(column))
    parts.append(select(literal("theme"), search_themes.c.theme.cast(String), func.count())
                 .select_from(cte.join(search_themes, and_(search_themes.c.doc_id == cte.c.id)))
                 .group_by(search_themes.c.theme))
    facets: dict[str, dict[str, int]] = {name: {} for name in FACETS}
    total = 0
    for facet, value, n in (await session.execute(union_all(*parts))).all():
        if facet == "total":
            total = int(n)
        else:
            facets[facet][value] = int(n)
    return total, {name: dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
                   for name, counts in facets.items()}
