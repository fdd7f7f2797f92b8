"""The two search analyses of an item (its ``search_text`` column and its index terms) fold
each text once, and reuse changes none of their output (docs/performance.md, issue 13)."""

from __future__ import annotations

import json
from pathlib import Path

from node.services import content
from node.services.search_text import (
    COMPOUND_MIN,
    MAX_WORD,
    PART_MIN,
    PART_START,
    compound_parts,
    index_text,
    stems,
)

CORPUS = Path(__file__).resolve().parents[2] / "data" / "search_corpus.json"


def _texts() -> list[tuple[str, str, str]]:
    raw = json.loads(CORPUS.read_text(encoding="utf-8"))
    docs = raw["documents"] if isinstance(raw, dict) else raw
    return [(d["title"], d["summary"], d["body"]) for d in docs]


def _parts_of_every_use(terms: list[str]) -> list[str]:
    """The module's rule, applied to every use of every stem (as before distinct stems)."""
    parts: dict[str, None] = {}
    for term in terms:
        if COMPOUND_MIN <= len(term) <= MAX_WORD:
            parts[term] = None
            for start in range(PART_START, len(term) - PART_MIN + 1):
                parts[term[start:]] = None
    return list(parts)


def test_compound_parts_of_distinct_stems_are_those_of_every_use() -> None:
    texts = _texts()
    assert texts
    for title, summary, body in texts:
        terms = stems(title) + stems(summary) + stems(body) + stems(body)  # repeated on purpose
        assert compound_parts(terms) == _parts_of_every_use(terms)


def test_an_items_texts_are_folded_once_for_both_analyses_with_the_same_result() -> None:
    title, summary, body = _texts()[0]
    body = body + " Coöperatie Fryslân dorpsenergieproject " * 20
    content.folded.cache_clear()
    column = content.search_text(title, summary, body)
    terms = index_text(title, summary, body)
    # the second analysis found each of the three texts folded already
    assert content.folded.cache_info().hits == 3
    content.folded.cache_clear()
    uncached = content.folded.__wrapped__
    assert uncached(body) == content.strip_marks(body.lower())
    assert "cooperatie fryslan" in uncached(body)
    # and both outputs are those of a fresh analysis
    assert content.search_text(title, summary, body) == column
    content.folded.cache_clear()
    assert index_text(title, summary, body) == terms
