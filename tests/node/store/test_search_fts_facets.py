"""SQLite's search over ``search_fts_facets``: the packed facet codes beside the FTS rowid
(docs/search.md, "How a search runs") answer exactly as the general statement does, stay in step
with the index, and give way to the general statement when the codes run out."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import text

from node.services.context import NodeContext
from node.services.search_text import parse_query
from node.store import search as search_store
from node.store.blocks import HostRule
from node.store.search import SearchFilter, SearchResult
from node.store.search_engines import TextMatch
from tests.node.services.test_search_quality import CORPUS, _doc


@pytest.fixture
async def corpus(ctx: NodeContext) -> NodeContext:
    if not ctx.db.is_sqlite:
        pytest.skip("search_fts_facets is SQLite's")
    documents = json.loads(CORPUS.read_text(encoding="utf-8"))["documents"]
    async with ctx.db.transaction() as session:
        for n, raw in enumerate(documents):
            await search_store.put(session, _doc(raw, n))
    return ctx


async def _search(ctx: NodeContext, q: str, mode: str, f: SearchFilter) -> SearchResult:
    query = parse_query(q)
    async with ctx.db.sessions() as session:
        return await search_store.search(session, TextMatch(query.units, mode), query.excluded,
                                         f, limit=5, offset=1)


def _seen(result: SearchResult) -> tuple[Any, ...]:
    return ([(h.doc.ap_id, round(h.score, 9), h.distance_km) for h in result.hits],
            result.total, result.facets)


QUERIES = ("energie", "zorg", "dorp", "dorpshuis -subsidie", "eigen energie", '"eigen energie"',
           "vrijwilligers", "glasvezel zwembad")
FILTERS = (
    SearchFilter(),
    SearchFilter(kind="story"),
    SearchFilter(doc_type="initiative"),
    SearchFilter(doc_type="item", province="PV21"),
    SearchFilter(themes_any=("care-wellbeing", "dementia", "meals")),
    SearchFilter(origin="local"),
    SearchFilter(origin="remote", kind="guide"),
    SearchFilter(legal_form="cooperative", phase="active", status="active"),
    SearchFilter(kind="no-such-kind"),
    SearchFilter(hosts=HostRule(blocked=frozenset({"fryslan.test"}))),
    SearchFilter(hosts=HostRule(allowed=frozenset({"overijssel.test"}))),
    SearchFilter(near=(52.85, 6.6), within_km=150.0),
)


async def test_the_fast_statement_answers_as_the_general_one(
        corpus: NodeContext, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = {(q, mode, f): _seen(await _search(corpus, q, mode, f))
            for q in QUERIES for mode in ("all", "any") for f in FILTERS}
    assert sum(1 for seen in fast.values() if seen[1]) > len(fast) // 2  # most find something
    search_store._STATEMENTS.clear()
    monkeypatch.setattr(search_store, "_build_fts", lambda has_excluded, f: search_store._build(
        True, True, has_excluded, f))
    try:
        for (q, mode, f), seen in fast.items():
            assert _seen(await _search(corpus, q, mode, f)) == seen, (q, mode, f)
    finally:
        search_store._STATEMENTS.clear()


async def _rows(ctx: NodeContext, sql: str) -> list[Any]:
    async with ctx.db.sessions() as session:
        return list((await session.execute(text(sql))).all())


async def test_the_codes_follow_every_write_of_the_index(corpus: NodeContext) -> None:
    docs = await _rows(corpus, "SELECT id FROM search_docs ORDER BY id")
    assert await _rows(corpus, "SELECT id FROM search_fts_facets ORDER BY id") == docs
    codes = dict(((facet, value), code) for facet, value, code in await _rows(
        corpus, "SELECT facet, value, code FROM search_fts_codes"))
    assert sorted(c for (f, _), c in codes.items() if f == "kind") == list(range(1, 8))
    raw = json.loads(CORPUS.read_text(encoding="utf-8"))["documents"][0]
    doc = _doc(raw, 0)
    async with corpus.db.transaction() as session:  # changed: a new kind, province and theme
        await search_store.put(session, replace(doc, kind="poll", province="PV99",
                                                themes=["dementia", "a-new-theme"], answered=2))
    (facets, themes), = await _rows(corpus, "SELECT f.facets, f.themes FROM search_fts_facets f "
                                            f"JOIN search_docs d USING (id) "
                                            f"WHERE d.ap_id = '{doc.ap_id}'")
    after = dict(((facet, value), code) for facet, value, code in await _rows(
        corpus, "SELECT facet, value, code FROM search_fts_codes"))
    assert {k: v for k, v in after.items() if k in codes} == codes  # a code never changes
    assert after["kind", "poll"] == 8 and after["province", "PV99"] == max(
        c for (f, _), c in codes.items() if f == "province") + 1
    assert facets & 255 == 8 and (facets >> 8) & 255 == after["province", "PV99"]
    assert (facets >> 48) & 1 == int(doc.is_local) and (facets >> 49) & 3 == 2
    assert themes == 1 << after["theme", "dementia"] | 1 << after["theme", "a-new-theme"]
    async with corpus.db.transaction() as session:
        await search_store.remove(session, doc.ap_id)
    assert len(await _rows(corpus, "SELECT id FROM search_fts_facets")) == len(docs) - 1
    assert (await _rows(corpus, "SELECT count(*) FROM search_fts_facets f "
                                "LEFT JOIN search_docs d USING (id) WHERE d.id IS NULL")) == [(0,)]


async def test_documents_indexed_many_at_a_time_get_their_codes(corpus: NodeContext) -> None:
    raw = json.loads(CORPUS.read_text(encoding="utf-8"))["documents"][0]
    doc = _doc(raw, 0)
    batch = [replace(doc, ap_id=f"{doc.ap_id}-{n}", kind=("story", "poll")[n % 2],
                     title="Kwispelstaart", terms_title="kwispelstaart") for n in range(10)]
    async with corpus.db.transaction() as session:
        await search_store.put_many(session, batch)
    docs = await _rows(corpus, "SELECT id FROM search_docs ORDER BY id")
    assert await _rows(corpus, "SELECT id FROM search_fts_facets ORDER BY id") == docs
    result = await _search(corpus, "kwispelstaart", "all", SearchFilter())
    assert result.total == 10 and result.facets["kind"] == {"poll": 5, "story": 5}
    assert (await _search(corpus, "kwispelstaart", "all", SearchFilter(kind="poll"))).total == 5


async def test_beyond_the_codes_facets_and_filters_stay_exact(corpus: NodeContext) -> None:
    """More themes than bits, or more legal forms than a field holds: the general statement."""
    raw = json.loads(CORPUS.read_text(encoding="utf-8"))["documents"][0]
    doc = _doc(raw, 0)
    async with corpus.db.transaction() as session:
        for n in range(64):
            await search_store.put(session, replace(
                doc, ap_id=f"{doc.ap_id}-{n}", themes=[f"theme-{n:02}"], title="Kwispelstaart",
                terms_title="kwispelstaart", legal_form=f"form-{n}"))
    result = await _search(corpus, "kwispelstaart", "all", SearchFilter())
    assert result.total == 64
    assert result.facets["theme"] == {f"theme-{n:02}": 1 for n in range(64)}
    found = await _search(corpus, "kwispelstaart", "all", SearchFilter(themes_any=("theme-63",)))
    assert found.total == 1 and found.facets["theme"] == {"theme-63": 1}
    async with corpus.db.transaction() as session:
        for n in range(64, 300):
            await search_store.put(session, replace(
                doc, ap_id=f"{doc.ap_id}-{n}", themes=["meals"], title="Kwispelstaart",
                terms_title="kwispelstaart", legal_form=f"form-{n}"))
    found = await _search(corpus, "kwispelstaart", "all", SearchFilter(legal_form="form-299"))
    assert found.total == 1 and found.facets["legal_form"] == {"form-299": 1}
    assert len((await _search(corpus, "kwispelstaart", "all", SearchFilter())
                ).facets["legal_form"]) == 300
