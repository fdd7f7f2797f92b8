"""Search quality on a fixed Dutch corpus (tests/data/search_corpus.json), on SQLite and PostgreSQL.

Each test states one rule of docs/search.md and checks the documents the corpus wrote for it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from node.services.context import NodeContext
from node.services.errors import ValidationError
from node.services.search import SearchPage, SearchRequest, search
from node.services.search_text import index_text
from node.store import search as search_store
from node.store.search import SearchDoc

CORPUS = Path(__file__).resolve().parents[2] / "data" / "search_corpus.json"
LOCAL = "drenthe.test"


def _doc(raw: dict[str, Any], n: int) -> SearchDoc:
    host = raw.get("origin", LOCAL)
    is_initiative = raw.get("type") == "initiative"
    ap_id = f"https://{host}/{'actors' if is_initiative else 'items'}/{raw['id']}"
    terms = index_text(raw["title"], raw["summary"], raw["body"])
    return SearchDoc(
        ap_id=ap_id, doc_type="initiative" if is_initiative else "item",
        kind=None if is_initiative else raw["kind"], is_local=host == LOCAL, host=host,
        province=raw["province"], legal_form=raw.get("legal_form"), phase=raw.get("phase"),
        status=raw.get("status"), latitude=raw.get("latitude"), longitude=raw.get("longitude"),
        url=ap_id, title=raw["title"], text=f"{raw['summary']}\n{raw['body']}",
        themes=raw["themes"],
        published=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=n),
        terms_title=terms.title, terms_summary=terms.summary, terms_body=terms.body,
        terms_parts=terms.parts)


@pytest.fixture
async def corpus(ctx: NodeContext) -> NodeContext:
    documents = json.loads(CORPUS.read_text(encoding="utf-8"))["documents"]
    async with ctx.db.transaction() as session:
        for n, raw in enumerate(documents):
            await search_store.put(session, _doc(raw, n))
    return ctx


async def _find(ctx: NodeContext, q: str | None = None, **filters: Any) -> SearchPage:
    return await search(ctx, SearchRequest(q=q, limit=50, **filters))


def _ids(page: SearchPage) -> list[str]:
    return [r.id.rsplit("/", 1)[1] for r in page.results]


async def test_stemming_finds_the_singular_for_a_plural(corpus: NodeContext) -> None:
    assert _ids(await _find(corpus, "windmolens"))[:1] == ["windmolens"]
    assert "windmolens" in _ids(await _find(corpus, "vergunningen"))


async def test_stopwords_are_ignored(corpus: NodeContext) -> None:
    page = await _find(corpus, "het zwembad van de")
    assert page.match == "all"
    assert set(_ids(page)) == {"zwembad-titel", "zwembad-samenvatting", "zwembad-tekst"}


async def test_diacritics_are_folded_both_ways(corpus: NodeContext) -> None:
    assert _ids(await _find(corpus, "cooperatie"))[:1] == ["cooperatie"]
    assert _ids(await _find(corpus, "coöperatie"))[:1] == ["cooperatie"]
    assert _ids(await _find(corpus, "fryslan")) == ["fryslan"]
    assert _ids(await _find(corpus, "FRYSLÂN")) == ["fryslan"]


async def test_title_weighs_more_than_summary_more_than_body(corpus: NodeContext) -> None:
    assert _ids(await _find(corpus, "zwembad")) == [
        "zwembad-titel", "zwembad-samenvatting", "zwembad-tekst"]


async def test_a_word_finds_compounds_ranked_below_whole_words(corpus: NodeContext) -> None:
    found = _ids(await _find(corpus, "energie", type="item"))
    assert "dorpsenergieproject" in found
    whole = {"energie-titel", "energie-tekst", "eigen-energie-frase", "eigen-los",
             "event-westerbork", "event-leeuwarden", "blocked"}
    assert set(found[:len(whole)]) == whole
    assert found.index("dorpsenergieproject") >= len(whole)


async def test_zorg_finds_mantelzorgers(corpus: NodeContext) -> None:
    found = _ids(await _find(corpus, "zorg"))
    assert "mantelzorgers" in found
    assert found[0] in {"zorg-titel", "ini-zorgcooperatie"}
    assert found.index("mantelzorgers") > found.index("zorg-titel")


async def test_several_words_mean_all_of_them(corpus: NodeContext) -> None:
    page = await _find(corpus, "zwembad vrijwilligers exploitatie")
    assert page.match == "all"
    assert set(_ids(page)) == {"zwembad-titel", "zwembad-samenvatting"}


async def test_when_all_find_nothing_any_of_them_do(corpus: NodeContext) -> None:
    page = await _find(corpus, "glasvezel zwembad")
    assert page.match == "any"
    assert {"glasvezel", "ini-glasvezel", "zwembad-titel"} <= set(_ids(page))


async def test_a_phrase_needs_its_words_in_order(corpus: NodeContext) -> None:
    assert _ids(await _find(corpus, '"eigen energie"')) == ["eigen-energie-frase"]
    assert "eigen-los" in _ids(await _find(corpus, "eigen energie"))


async def test_an_unbalanced_quote_is_read_leniently(corpus: NodeContext) -> None:
    assert _ids(await _find(corpus, '"eigen energie')) == ["eigen-energie-frase"]


async def test_minus_excludes_a_word(corpus: NodeContext) -> None:
    with_subsidy = set(_ids(await _find(corpus, "dorpshuis")))
    without = set(_ids(await _find(corpus, "dorpshuis -subsidie")))
    assert "dorpshuis-subsidie" in with_subsidy
    assert without == with_subsidy - {"dorpshuis-subsidie"}
    only_minus = set(_ids(await _find(corpus, "-subsidie", kind="question")))
    assert "dorpshuis-subsidie" not in only_minus and "ruis-4" in only_minus


async def test_snippets_mark_hits_and_escape_the_rest(corpus: NodeContext) -> None:
    result = (await _find(corpus, "koken"))
    snippet = next(r.snippet for r in result.results if r.id.endswith("snippet-html"))
    assert "<mark>koken</mark>" in snippet
    assert "<script>" not in snippet and "&lt;script&gt;" in snippet and "&amp;" in snippet


async def test_a_broader_theme_includes_its_narrower_ones(corpus: NodeContext) -> None:
    found = set(_ids(await _find(corpus, theme="care-wellbeing")))
    assert {"dementie", "vervoer", "mantelzorgers", "ini-zorgcooperatie", "zorg-titel"} <= found
    assert "windmolens" not in found


async def test_filters_combine_and_facets_count_the_whole_set(corpus: NodeContext) -> None:
    page = await _find(corpus, "energie", type="initiative")
    assert _ids(page) == ["ini-zonnedorp"]
    page = await _find(corpus, None, type="initiative", legal_form="cooperative")
    assert set(_ids(page)) == {"ini-zonnedorp", "ini-zorgcooperatie"}
    assert page.facets["phase"] == {"active": 1, "mature": 1}
    page = await _find(corpus, None, type="initiative", status="completed", phase="completed")
    assert _ids(page) == ["ini-glasvezel"]
    everything = await _find(corpus, None)
    assert everything.total == 38
    assert sum(everything.facets["origin"].values()) == 38
    assert everything.facets["kind"]["story"] == sum(
        1 for r in (await search(corpus, SearchRequest(kind="story", limit=100))).results)
    assert everything.facets["theme"]["energy-generation"] == 10
    local = await _find(corpus, "energie", origin="local", province="PV22")
    assert set(local.facets["origin"]) == {"local"}
    assert set(local.facets["province"]) == {"PV22"}
    assert local.total == len(local.results)


async def test_paging_walks_the_whole_result_set(corpus: NodeContext) -> None:
    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        page = await search(corpus, SearchRequest(q="dorp", limit=3, offset=offset))
        seen += [r.id for r in page.results]
        offset = page.next_offset
    assert len(seen) == len(set(seen)) == page.total


async def test_near_keeps_what_lies_within_and_gives_the_distance(corpus: NodeContext) -> None:
    page = await _find(corpus, "bijeenkomst", near="52.85,6.6", within_km=20)
    assert _ids(page) == ["event-westerbork"]
    assert page.results[0].distance_km is not None and page.results[0].distance_km < 1
    page = await _find(corpus, None, near="52.85,6.6", within_km=200)
    assert _ids(page) == ["event-westerbork", "ini-zonnedorp", "event-leeuwarden"]


@pytest.mark.parametrize(("q", "near", "reason"), [
    ("x" * 201, None, "too_long"),
    (" ".join(["woord"] * 33), None, "too_many_terms"),
    (None, "53.2", "bad_value"),
    (None, "abc,def", "bad_value"),
    (None, "91,5", "bad_value"),
    (None, "nan,5", "bad_value"),
])
async def test_bad_queries_are_refused(corpus: NodeContext, q: str | None, near: str | None,
                                       reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        await _find(corpus, q, near=near)
    assert caught.value.reason == reason


async def test_a_query_of_only_stopwords_or_signs_lists_everything(corpus: NodeContext) -> None:
    for q in ("de het een", '""', "- * ( ) : ^ ' \\ & | ! <->"):
        page = await _find(corpus, q)
        assert page.total == 38 and page.match is None, q
    # Words of the engines' own query languages are plain words here.
    assert (await _find(corpus, "OR AND NOT NEAR")).total == 0
