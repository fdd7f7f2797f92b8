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
        textual = text(sql).bindparams(**{f"{name}_match": fts5_match(match)}).columns(**columns)
        # Materialised, the match runs first whatever the filters: SQLite refuses bm25() when
        # its planner would rather probe the FTS table from another one.
        return (textual.cte(name).prefix_with("MATERIALIZED") if scored
                else textual.subquery(name))
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
_SCALAR_FACETS = ("kind", "province", "legal_form", "phase", "status")
# What the one search statement reads of every matching document: all of it is in the covering
# index ``ix_search_docs_facets``, so the pass over the matches never reads the wide rows.
_MATCHED_COLUMNS = ("id", *_SCALAR_FACETS, "is_local", "published", "latitude", "longitude")


def _matched(session: AsyncSession, match: TextMatch | None, excluded: tuple[str, ...],
             f: SearchFilter) -> Select[Any]:
    """The documents matching ``match`` and the filters: id, score, facet and order columns."""
    d = search_docs.c
    conds = _conditions(f)
    if excluded:
        conds.append(_excluded(session, excluded))
    columns = [d[name] for name in _MATCHED_COLUMNS[1:]]
    if match is None:
        return select(d.id, literal(0.0, Float).label("score"), *columns).where(*conds)
    hits = _hits(session, match)
    return (select(hits.c.id, hits.c.score, *columns)
            .select_from(hits.join(search_docs, hits.c.id == d.id)).where(*conds))


def _order(columns: Any, f: SearchFilter, match: TextMatch | None) -> list[Any]:
    if match is not None:
        return [columns.score.desc(), columns.id]
    if f.near is not None and f.within_km is not None:
        return [_distance_order(columns, f.near), columns.id]
    return [columns.published.desc(), columns.id.desc()]


async def search(session: AsyncSession, match: TextMatch | None, excluded: tuple[str, ...],
                 f: SearchFilter, *, limit: int, offset: int) -> SearchResult:
    """One page of hits, the total and the facets, for ``match`` (None: every document).

    Two statements. The first matches once (the only relevance computation), keeps the matches'
    narrow columns in a materialised CTE, and answers from it the page's ids in order, the total
    and every facet. The second reads the whole rows of the page only.
    """
    cte = _matched(session, match, excluded, f).cte("matched").prefix_with("MATERIALIZED")
    page = (select(cte.c.id, cte.c.score, cte.c.published, cte.c.latitude, cte.c.longitude)
            .order_by(*_order(cte.c, f, match)).limit(limit).offset(offset).subquery("page"))
    none_str, none_int, none_float = null().cast(String), null().cast(Integer), null().cast(Float)
    parts: list[Any] = [
        select(literal("page").label("facet"), none_str.label("value"), page.c.id.label("id"),
               func.row_number().over(order_by=_order(page.c, f, match)).label("n"),
               page.c.score.label("score")),
        select(literal("total"), none_str, none_int, func.count(), none_float).select_from(cte)]
    origin = case((cte.c.is_local.is_(True), "local"), else_="remote")
    for name, column in [(name, cte.c[name]) for name in _SCALAR_FACETS] + [("origin", origin)]:
        parts.append(select(literal(name), column.cast(String), none_int, func.count(), none_float)
                     .where(column.is_not(None)).group_by(column))
    # CROSS JOIN fixes the join order on SQLite (from the matches to their themes): left to
    # itself, it scans every theme row to spare a sort. PostgreSQL reads it as a plain join.
    theme = literal_column("search_themes.theme", String)
    parts.append(select(literal("theme"), theme, none_int, func.count(), none_float)
                 .select_from(text("matched CROSS JOIN search_themes"))
                 .where(literal_column("search_themes.doc_id", Integer)
                        == literal_column("matched.id", Integer))
                 .group_by(theme))
    facets: dict[str, dict[str, int]] = {name: {} for name in FACETS}
    total = 0
    ranked: list[tuple[int, int, float]] = []
    for facet, value, doc_id, n, score in (await session.execute(union_all(*parts))).all():
        if facet == "page":
            ranked.append((int(n), int(doc_id), float(score)))
        elif facet == "total":
            total = int(n)
        else:
            facets[facet][value] = int(n)
    scores = {doc_id: score for _, doc_id, score in sorted(ranked)}
    rows = {} if not scores else {row["id"]: row for row in (await session.execute(
        select(*_COLUMNS).where(search_docs.c.id.in_(list(scores))))).mappings().all()}
    hits = [Hit(SearchDoc(**{name: rows[i][name] for name in SearchDoc.__dataclass_fields__}),
                score,
                distance_km(f.near, rows[i]["latitude"], rows[i]["longitude"]) if f.near
                else None)
            for i, score in scores.items() if i in rows]
    return SearchResult(hits, total, {name: dict(sorted(counts.items(),
                                                        key=lambda kv: (-kv[1], kv[0])))
                                      for name, counts in facets.items()})


def _distance_order(columns: Any, near: tuple[float, float]) -> Any:
    factor = math.cos(math.radians(near[0]))
    dy = columns.latitude - near[0]
    dx = (columns.longitude - near[1]) * factor
    return dy * dy + dx * dx
