"""The search index: one row per item or initiative, searched with FTS5 or PostgreSQL full-text.

Both engines index the same pre-analysed terms (``node.services.search_text``) in four weighted
columns — title, summary, body, compound parts — and answer the same contract (:func:`search`):
the page of hits in relevance order, the total, and facet counts over the whole filtered set.
The engine-specific text of a match is built by :mod:`node.store.search_engines`.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    Select,
    String,
    bindparam,
    case,
    column,
    delete,
    func,
    literal,
    literal_column,
    null,
    select,
    table,
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
    answered: int = 0  # questions: 0 open, 1 with answers, 2 answered (node.store.questions)


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

# SQLite: beside each row of search_fts (same rowid) ``search_fts_facets`` (migration 0014) holds
# the document's filter and facet values as small integers, so a search filters and counts its
# matches without reading ``search_docs`` or joining ``search_themes``. ``facets`` packs 8 bits
# per value below (a code from ``search_fts_codes``; 0: none), bit 48 "local" and bits 49-50 how
# far a question is answered; ``themes`` has bit ``code`` set for each theme (codes 0-61).
# A value gets its code the first time it is indexed and keeps it (the triggers of migration
# 0017 write both tables when ``search_docs`` gets a row). Codes past those ranges
# (more than 255 kinds, provinces, ... or 62 themes ever indexed) are never read: searches then
# take the general statement, which reads ``search_docs`` (:func:`search`).
FACET_SHIFTS = {"kind": 0, "province": 8, "legal_form": 16, "phase": 24, "status": 32,
                "doc_type": 40}
_LOCAL_BIT = 48
_ANSWERED_SHIFT = 49
_CODE_MAX = 255
_THEME_CODE_MAX = 61
# The bits of ``facets`` the facet counts group by: kind to status, and local.
_GROUPED = (1 << FACET_SHIFTS["doc_type"]) - 1 | 1 << _LOCAL_BIT
_SIMPLE: Any = literal_column("'simple'::regconfig")


async def remove(session: AsyncSession, ap_id: str) -> None:
    """Take ``ap_id`` out of the index (nothing happens if it is not there): one statement,
    the triggers of migration 0017 take its FTS5 row, packed facets and themes with it."""
    await session.execute(_REMOVE, {"ap_id": ap_id})


async def remove_host(session: AsyncSession, host: str) -> None:
    """Take everything received from ``host`` out of the index (a purge)."""
    c = search_docs.c
    await session.execute(delete(search_docs).where(c.host == host, c.is_local.is_(False)))


_REMOVE = delete(search_docs).where(search_docs.c.ap_id == bindparam("ap_id", type_=String))
_PUT = search_docs.insert()


async def put(session: AsyncSession, doc: SearchDoc) -> None:
    """Index ``doc``, replacing what the index held for its ``ap_id``: one statement.

    The triggers of migration 0017 delete the row held before, and write the FTS5 row and the
    packed facets (SQLite) or the ``tsv`` (PostgreSQL), and the themes."""
    await session.execute(_PUT, row(doc))


def row(doc: SearchDoc) -> dict[str, Any]:
    """The ``search_docs`` row of ``doc`` (what :func:`put` inserts)."""
    return {name: getattr(doc, name) for name in SearchDoc.__dataclass_fields__}


async def put_many(session: AsyncSession, docs: list[SearchDoc]) -> None:
    """Index many documents with one statement (``executemany``), replacing what the index
    held for them: :func:`put`'s triggers run for each row."""
    if not docs:
        return
    docs = list({doc.ap_id: doc for doc in docs}.values())  # the last of each wins, as put
    await session.execute(_PUT, [row(doc) for doc in docs])


async def count(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(search_docs))).scalar_one())


# --- searching ---------------------------------------------------------------------------------


def _hits(sqlite: bool, name: str = "hits", *, scored: bool = True) -> Any:
    """A subquery ``(id, score)`` of the documents matching the bound ``{name}_match`` (an FTS5
    expression or a tsquery, :func:`_match_text`); higher scores first.

    Without ``scored`` only ``id``: counting needs no relevance, and computing it is the most
    expensive part of a match.
    """
    if sqlite:
        # bm25() weights per column: title 10, summary 4, body 1.5, compound parts 0.3.
        score = ", -bm25(search_fts, 10.0, 4.0, 1.5, 0.3) AS score" if scored else ""
        sql = f"SELECT rowid AS id{score} FROM search_fts WHERE search_fts MATCH :{name}_match"
        columns: dict[str, Any] = {"id": Integer, "score": Float} if scored else {"id": Integer}
        textual = text(sql).columns(**columns)
        # Materialised, the match runs first whatever the filters: SQLite refuses bm25() when
        # its planner would rather probe the FTS table from another one.
        return (textual.cte(name).prefix_with("MATERIALIZED") if scored
                else textual.subquery(name))
    query = _tsquery(name)
    selected = [search_docs.c.id.label("id")] + ([_rank(query).label("score")] if scored else [])
    return select(*selected).where(search_docs.c.tsv.op("@@")(query)).subquery(name)


def _tsquery(name: str) -> Any:
    """PostgreSQL: the bound ``{name}_match`` as a tsquery."""
    return func.to_tsquery(_SIMPLE, bindparam(f"{name}_match", type_=String))


def _rank(query: Any) -> Any:
    """PostgreSQL: a document's relevance to ``query``. ts_rank weights in the order
    {D, C, B, A}: parts, body, summary, title; normalised by the logarithm of the length (flag
    1), as BM25 damps long documents."""
    return func.ts_rank(literal_column("'{0.03, 0.15, 0.4, 1.0}'::float4[]"), search_docs.c.tsv,
                        query, 1)


def _match_text(sqlite: bool, match: TextMatch) -> str:
    return fts5_match(match) if sqlite else tsquery(match)


def _excluded(sqlite: bool) -> Any:
    """A condition keeping only documents without any of the bound ``excluded_match`` words."""
    return search_docs.c.id.not_in(select(_hits(sqlite, "excluded", scored=False).c.id))


_EQUALS = ("doc_type", "kind", "province", "legal_form", "phase", "status")


def _conditions(f: SearchFilter) -> list[Any]:
    """The filters as conditions on bound parameters (``f_*``: :func:`_parameters`)."""
    d = search_docs.c
    conds: list[Any] = [d[name] == bindparam(f"f_{name}", type_=String)
                        for name in _EQUALS if getattr(f, name) is not None]
    if f.origin == "local":
        conds.append(d.is_local.is_(True))
    elif f.origin == "remote":
        conds.append(d.is_local.is_(False))
    if f.hosts is not None and (f.hosts.blocked or f.hosts.allowed is not None):
        conds.append(visible(d.host, d.is_local, f.hosts))
    if f.themes_any:
        conds.append(d.id.in_(select(search_themes.c.doc_id).where(
            search_themes.c.theme.in_(bindparam("f_themes", expanding=True)))))
    if f.near is not None and f.within_km is not None:
        conds += [d.latitude.between(bindparam("f_lat_min", type_=Float),
                                     bindparam("f_lat_max", type_=Float)),
                  d.longitude.is_not(None),
                  _distance_squared(d) <= bindparam("f_within_squared", type_=Float)]
    return conds


def _parameters(f: SearchFilter) -> dict[str, Any]:
    """The values of the filters' bound parameters."""
    values: dict[str, Any] = {f"f_{name}": getattr(f, name) for name in _EQUALS
                              if getattr(f, name) is not None}
    if f.themes_any:
        values["f_themes"] = list(f.themes_any)
    if f.near is not None:
        lat, lon = f.near
        values.update(f_lat=lat, f_lon=lon, f_factor=math.cos(math.radians(lat)))
        if f.within_km is not None:
            span = f.within_km / KM_PER_DEGREE
            values.update(f_lat_min=lat - span, f_lat_max=lat + span,
                          f_within_squared=f.within_km ** 2)
    return values


def _distance_squared(columns: Any) -> Any:
    """Squared equirectangular distance in km² from the bound ``f_lat``, ``f_lon`` — plain
    arithmetic, the same on both engines (under 0.5 % off the great-circle distance at the
    scale of a province)."""
    dy = (columns.latitude - bindparam("f_lat", type_=Float)) * KM_PER_DEGREE
    dx = ((columns.longitude - bindparam("f_lon", type_=Float))
          * (bindparam("f_factor", type_=Float) * KM_PER_DEGREE))
    return dy * dy + dx * dx


def distance_km(near: tuple[float, float], lat: float | None, lon: float | None) -> float | None:
    if lat is None or lon is None:
        return None
    factor = math.cos(math.radians(near[0]))
    dy = (lat - near[0]) * KM_PER_DEGREE
    dx = (lon - near[1]) * KM_PER_DEGREE * factor
    return math.sqrt(dy * dy + dx * dx)


_COLUMNS = [c for c in search_docs.c if c.name != "tsv"]
_COMBO_SEPARATOR = "\x1f"  # between the facet values of one combination (no value holds it)
_SCALAR_FACETS = ("kind", "province", "legal_form", "phase", "status")
_COMBO_FACETS = (*_SCALAR_FACETS, "origin")
# What the one search statement reads of every matching document: all of it is in the covering
# index ``ix_search_docs_facets``, so the pass over the matches never reads the wide rows.
_ORDER_COLUMNS = ("published", "latitude", "longitude")
_MATCHED_COLUMNS = ("id", *_SCALAR_FACETS, "is_local", *_ORDER_COLUMNS)
# Relevance times this for a question with answers (1) or an accepted answer (2): answered
# questions rank above open ones whose relevance is comparable — up to 30 % higher
# (docs/questions.md, "Search").
ANSWERED_BOOST = {1: 1.15, 2: 1.3}


def _boosted(score: Any) -> Any:
    d = search_docs.c
    return score * case(*((d.answered == state, factor) for state, factor in
                          ANSWERED_BOOST.items()), else_=1.0)


def _matched(sqlite: bool, has_match: bool, has_excluded: bool, f: SearchFilter) -> Select[Any]:
    """The documents matching and passing the filters: id, score, facet and order columns."""
    d = search_docs.c
    conds = _conditions(f)
    if has_excluded:
        conds.append(_excluded(sqlite))
    # With words the order is by score alone: the matches need no date or place (a narrower
    # materialised row is cheaper to write and to read three times).
    columns = [d[name] for name in _MATCHED_COLUMNS[1:]
               if not (has_match and name in _ORDER_COLUMNS)]
    if not has_match:
        return select(d.id, literal(0.0, Float).label("score"), *columns).where(*conds)
    if not sqlite:
        # The match is a condition of the same scan as the filters: the planner starts from
        # whichever is narrower (a province's rows, or the index's matches). Joined to the
        # filtered rows by id, the match ran over the whole table first: a relaxed query (any
        # word) matching a third of 10,000 items took 40 ms in a sequential scan, for the 800
        # rows of one province (docs/performance.md, "Search on PostgreSQL: one scan").
        query = _tsquery("hits")
        return (select(d.id, _boosted(_rank(query)).label("score"), *columns)
                .where(d.tsv.op("@@")(query), *conds))
    hits = _hits(sqlite)
    return (select(hits.c.id, _boosted(hits.c.score).label("score"), *columns)
            .select_from(hits.join(search_docs, hits.c.id == d.id)).where(*conds))


def _order(columns: Any, f: SearchFilter, has_match: bool) -> list[Any]:
    if has_match:
        return [columns.score.desc(), columns.id]
    if f.near is not None and f.within_km is not None:
        return [_distance_squared(columns), columns.id]
    return [columns.published.desc(), columns.id.desc()]


_Shape = tuple[bool, bool, bool, bool, tuple[str, ...], str | None, bool, bool, HostRule | None]
_STATEMENTS: OrderedDict[_Shape, Any] = OrderedDict()
_MAX_STATEMENTS = 256


def _statement(sqlite: bool, has_match: bool, has_excluded: bool, f: SearchFilter,
               fast: bool) -> Any:
    """The one search statement for this shape of search, built once: every value in it is a
    bound parameter, so a search only binds values (building it costs more than running a
    small search). ``fast``: SQLite's statement over ``search_fts_facets`` (:func:`_build_fts`),
    else the general one (:func:`_build`)."""
    near = f.near is not None and f.within_km is not None
    shape: _Shape = (sqlite, fast, has_match, has_excluded,
                     tuple(n for n in _EQUALS if getattr(f, n) is not None), f.origin,
                     bool(f.themes_any), near, f.hosts)
    found = _STATEMENTS.get(shape)
    if found is not None:
        _STATEMENTS.move_to_end(shape)
        return found
    statement = (_build_fts(has_excluded, f) if fast
                 else _build(sqlite, has_match, has_excluded, f))
    _STATEMENTS[shape] = statement
    if len(_STATEMENTS) > _MAX_STATEMENTS:
        _STATEMENTS.popitem(last=False)
    return statement


def _build(sqlite: bool, has_match: bool, has_excluded: bool, f: SearchFilter) -> Any:
    """Match once (the only relevance computation), keep the matches' narrow columns in a
    materialised CTE, and answer from it the page's ids in order, the total and every facet."""
    cte = _matched(sqlite, has_match, has_excluded, f).cte("matched").prefix_with("MATERIALIZED")
    page = (select(cte.c.id, cte.c.score,
                   *[cte.c[name] for name in _ORDER_COLUMNS if not has_match])
            .order_by(*_order(cte.c, f, has_match))
            .limit(bindparam("page_limit", type_=Integer))
            .offset(bindparam("page_offset", type_=Integer)).subquery("page"))
    none_str, none_int, none_float = null().cast(String), null().cast(Integer), null().cast(Float)
    parts: list[Any] = [
        select(literal("page").label("facet"), none_str.label("value"), page.c.id.label("id"),
               func.row_number().over(order_by=_order(page.c, f, has_match)).label("n"),
               page.c.score.label("score"))]
    # Every scalar facet and the total from ONE grouped pass over the matches: one sort of the
    # narrow combination (kind, province, …, origin) instead of one per facet. The combinations
    # come back one row each (``facet`` 'combo', the values joined by a unit separator); Python
    # adds them up per facet, so the counts stay exact and add up to the total.
    origin = case((cte.c.is_local.is_(True), "local"), else_="remote")
    combo: Any = origin
    for name in reversed(_SCALAR_FACETS):
        combo = func.coalesce(cte.c[name], "") + _COMBO_SEPARATOR + combo
    parts.append(select(literal("combo"), combo, none_int, func.count(), none_float)
                 .group_by(*[cte.c[name] for name in _SCALAR_FACETS], cte.c.is_local))
    # CROSS JOIN fixes the join order on SQLite (from the matches to their themes): left to
    # itself, it scans every theme row to spare a sort. PostgreSQL reads it as a plain join.
    theme = literal_column("search_themes.theme", String)
    parts.append(select(literal("theme"), theme, none_int, func.count(), none_float)
                 .select_from(text("matched CROSS JOIN search_themes"))
                 .where(literal_column("search_themes.doc_id", Integer)
                        == literal_column("matched.id", Integer))
                 .group_by(theme))
    return union_all(*parts)


_fts_facets = table("search_fts_facets", column("id", Integer), column("facets", Integer),
                    column("themes", Integer))
_fts_codes = table("search_fts_codes", column("facet", String), column("value", String),
                   column("code", Integer))


def _code_of(facet: str, value: Any) -> Any:
    """The code of ``value`` (a bound parameter) for ``facet``: NULL if it has none (then no
    document has that value, and a condition comparing with it is false)."""
    c = _fts_codes.c
    return select(c.code).where(c.facet == facet, c.value == value).scalar_subquery()


def _fts_conditions(has_excluded: bool, f: SearchFilter) -> list[Any]:
    """The filters on the packed codes of ``sf`` (``search_fts_facets``); near and the
    federation policy on the document's row in ``search_docs``."""
    packed = literal_column("sf.facets", Integer)
    conds: list[Any] = [
        packed.op(">>")(FACET_SHIFTS[name]).op("&")(_CODE_MAX)
        == _code_of(name, bindparam(f"f_{name}", type_=String))
        for name in _EQUALS if getattr(f, name) is not None]
    if f.origin is not None:
        conds.append(packed.op(">>")(_LOCAL_BIT).op("&")(1) == int(f.origin == "local"))
    if f.themes_any:
        c = _fts_codes.c
        mask = (select(func.coalesce(func.sum(literal(1).op("<<")(c.code)), 0))
                .where(c.facet == "theme", c.code <= _THEME_CODE_MAX,
                       c.value.in_(bindparam("f_themes", expanding=True)))
                .scalar_subquery())
        conds.append(literal_column("sf.themes", Integer).op("&")(mask) != 0)
    rows = _conditions(SearchFilter(hosts=f.hosts, near=f.near, within_km=f.within_km))
    if rows:
        conds.append(select(search_docs.c.id).where(
            search_docs.c.id == literal_column("sf.id", Integer), *rows).exists())
    if has_excluded:
        conds.append(literal_column("sf.id", Integer).not_in(
            select(_hits(True, "excluded", scored=False).c.id)))
    return conds


def _build_fts(has_excluded: bool, f: SearchFilter) -> Any:
    """SQLite, with words: like :func:`_build`, but the matches' filter and facet values come
    from the packed integers of ``search_fts_facets`` beside the FTS rowid (one narrow lookup
    per match, no join to ``search_themes``); the facet counts group by those integers (the
    combinations are few) and the codes are turned back into values per combination only."""
    boost = " ".join(f"WHEN {state} THEN {factor}" for state, factor in ANSWERED_BOOST.items())
    hits = (select(literal_column("search_fts.rowid", Integer).label("id"),
                   literal_column(f"-bm25(search_fts, 10.0, 4.0, 1.5, 0.3) * CASE (sf.facets >> "
                                  f"{_ANSWERED_SHIFT}) & 3 {boost} ELSE 1.0 END", Float)
                   .label("score"),
                   literal_column(f"sf.facets & {_GROUPED}", Integer).label("facets"),
                   literal_column("sf.themes", Integer).label("themes"))
            # CROSS JOIN: the match runs first (SQLite refuses bm25() otherwise).
            .select_from(text("search_fts CROSS JOIN search_fts_facets AS sf"))
            .where(text("search_fts MATCH :hits_match").bindparams(
                       bindparam("hits_match", type_=String)),
                   literal_column("sf.id", Integer) == literal_column("search_fts.rowid", Integer),
                   *_fts_conditions(has_excluded, f))
            .cte("hits").prefix_with("MATERIALIZED"))
    combos = (select(hits.c.facets, func.count().label("n")).group_by(hits.c.facets)
              .cte("combos"))
    themesets = (select(hits.c.themes, func.count().label("n")).group_by(hits.c.themes)
                 .cte("themesets"))
    page = (select(hits.c.id, hits.c.score).order_by(hits.c.score.desc(), hits.c.id)
            .limit(bindparam("page_limit", type_=Integer))
            .offset(bindparam("page_offset", type_=Integer)).subquery("page"))
    none_str, none_int, none_float = null().cast(String), null().cast(Integer), null().cast(Float)
    c = _fts_codes.c
    # Each facet from the combinations (a few hundred rows at most), its codes turned back into
    # values per group: the rows are the counts themselves, as for the themes.
    parts: list[Any] = [select(literal("total"), none_str, none_int,
                               func.coalesce(func.sum(combos.c.n), 0), none_float)]
    for name in (*_SCALAR_FACETS, "origin"):
        bits = (f"(combos.facets >> {_LOCAL_BIT}) & 1" if name == "origin"
                else f"(combos.facets >> {FACET_SHIFTS[name]}) & {_CODE_MAX}")
        grouped = (select(literal_column(bits, Integer).label("code"),
                          func.sum(combos.c.n).label("n"))
                   .group_by(literal_column(bits, Integer)).subquery(f"by_{name}"))
        value: Any = (case((grouped.c.code == 1, "local"), else_="remote") if name == "origin"
                      else select(c.value).where(c.facet == name, c.code == grouped.c.code)
                      .scalar_subquery())
        parts.append(select(literal(name), value, none_int, grouped.c.n, none_float)
                     .where(literal(name == "origin") | (grouped.c.code != 0)))
    themes = themesets.join(_fts_codes, (c.facet == "theme")
                            & (themesets.c.themes.op(">>")(c.code).op("&")(1) == 1))
    # Codes out of the ranges above: the facets cannot be read here (:func:`search` then runs
    # the general statement).
    overflow = select(c.code).where(c.code > case((c.facet == "theme", _THEME_CODE_MAX),
                                                   else_=_CODE_MAX)).exists()
    # The page's rows come with it (the other parts leave those columns empty): no second
    # statement.
    empty = [null().cast(column.type) for column in _PAGE_COLUMNS]
    return union_all(
        select(literal("page").label("facet"), none_str.label("value"), page.c.id.label("id"),
               func.row_number().over(order_by=[page.c.score.desc(), page.c.id]).label("n"),
               page.c.score.label("score"), *_PAGE_COLUMNS)
        .select_from(page.join(search_docs, search_docs.c.id == page.c.id)),
        *[part.add_columns(*empty) for part in parts],
        select(literal("theme"), c.value, none_int, func.sum(themesets.c.n), none_float, *empty)
        .select_from(themes).group_by(c.value),
        select(literal("overflow"), none_str, none_int, literal(1), none_float, *empty)
        .where(overflow))


_PAGE_COLUMNS = [c for c in _COLUMNS if c.name != "id"]
_PAGE_FIELDS = [c.name for c in _PAGE_COLUMNS]


async def search(session: AsyncSession, match: TextMatch | None, excluded: tuple[str, ...],
                 f: SearchFilter, *, limit: int, offset: int) -> SearchResult:
    """One page of hits, the total and the facets, for ``match`` (None: every document).

    On SQLite with words one statement (:func:`_build_fts`: the page's rows included); else two,
    the search (:func:`_build`) and the whole rows of the page only.
    """
    sqlite = _is_sqlite(session)
    values = _parameters(f) | {"page_limit": limit, "page_offset": offset}
    if match is not None:
        values["hits_match"] = _match_text(sqlite, match)
    if excluded:
        only = TextMatch(units=tuple((s,) for s in excluded), mode="any", compounds=False)
        values["excluded_match"] = _match_text(sqlite, only)
    fast = sqlite and match is not None
    found = (await session.execute(
        _statement(sqlite, match is not None, bool(excluded), f, fast), values)).all()
    if fast and any(row[0] == "overflow" for row in found):
        found = (await session.execute(
            _statement(sqlite, True, bool(excluded), f, False), values)).all()
    facets: dict[str, dict[str, int]] = {name: {} for name in FACETS}
    total = 0
    ranked: list[tuple[int, int, float]] = []
    rows: dict[int, Any] = {}
    for facet, value, doc_id, n, score, *row in found:
        if facet == "page":
            ranked.append((int(n), int(doc_id), float(score)))
            if row:  # the statement over search_fts_facets: with the page's rows
                rows[int(doc_id)] = dict(zip(_PAGE_FIELDS, row, strict=True))
        elif facet == "total":
            total = int(n)
        elif facet == "combo":
            total += int(n)
            for name, part in zip(_COMBO_FACETS, value.split(_COMBO_SEPARATOR), strict=True):
                if part:
                    facets[name][part] = facets[name].get(part, 0) + int(n)
        else:
            facets[facet][value] = int(n)
    scores = {doc_id: score for _, doc_id, score in sorted(ranked)}
    if scores and not rows:
        rows = {row["id"]: row for row in (await session.execute(
            select(*_COLUMNS).where(search_docs.c.id.in_(list(scores))))).mappings().all()}
    hits = [Hit(SearchDoc(**{name: rows[i][name] for name in SearchDoc.__dataclass_fields__}),
                score,
                distance_km(f.near, rows[i]["latitude"], rows[i]["longitude"]) if f.near
                else None)
            for i, score in scores.items() if i in rows]
    return SearchResult(hits, total, {name: dict(sorted(counts.items(),
                                                        key=lambda kv: (-kv[1], kv[0])))
                                      for name, counts in facets.items()})
