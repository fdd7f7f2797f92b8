"""Dutch text analysis for search: index terms, compound parts, the query language, snippets.

Both engines (SQLite FTS5 and PostgreSQL full-text) index the *same pre-analysed text* made here,
so they match the same documents (docs/search.md). Analysis of a text:

1. lower-case, diacritics folded (``coöperatie`` → ``cooperatie``, ``Fryslân`` → ``fryslan``);
2. words are runs of letters and digits (``_`` and punctuation separate them);
3. Dutch stopwords dropped (the Snowball list), before stemming;
4. each word stemmed with the Snowball Dutch stemmer (PyStemmer).

Compounds: for every stem of :data:`COMPOUND_MIN` letters or more, its suffixes that start at a
letter position ≥ :data:`PART_START` and keep :data:`PART_MIN` letters go to a separate, lightly
weighted ``parts`` column, together with the stem itself. A query word of four letters or more
also matches a *prefix* of a part, so ``energie`` finds ``dorpsenergieproject`` (part
``energieproject``) and ``zorg`` finds ``mantelzorgers`` (part ``zorger``).

Query language (:func:`parse_query`): words (all of them must match, else any — the caller
decides), ``"a phrase"``, ``-word`` to exclude. Unbalanced quotes are read leniently (the open
quote is closed at the end); a query over :data:`MAX_QUERY_CHARS` characters or
:data:`MAX_TERMS` terms is refused.
"""

from __future__ import annotations

import functools
import html
import itertools
import re
from dataclasses import dataclass, field

from node.services.content import _WORD as _COLUMN_WORD
from node.services.content import _stemmer, folded
from node.services.errors import ValidationError

MAX_QUERY_CHARS = 200
MAX_TERMS = 32
COMPOUND_MIN = 7  # a stem this long may be a compound
PART_START = 3  # a compound's parts start after a first part of at least 3 letters
PART_MIN = 4  # and keep at least 4 letters; query words this long also match compound parts
MAX_WORD = 40  # longer "words" (hashes, URLs run together) are not split into parts

_WORD = re.compile(r"[^\W_]+")
_TOKEN = re.compile(r'"|-?[^\W_]+')

# The Snowball project's Dutch stop word list.
_STOPWORD_TEXT = """
de en van ik te dat die in een hij het niet zijn is was op aan met als voor had er maar om hem
dan zou of wat mijn men dit zo door over ze zich bij ook tot je mij uit der daar haar naar heb
hoe heeft hebben deze u want nog zal me zij nu ge geen omdat iets worden toch al waren veel meer
doen toen moet ben zonder kan hun dus alles onder ja eens hier wie werd altijd doch wordt wezen
kunnen ons zelf tegen na reeds wil kon niets uw iemand geweest andere
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def fold(text: str) -> str:
    """Lower-case without diacritics: ``Fryslân`` → ``fryslan``."""
    return folded(text)


def stems(text: str) -> list[str]:
    """The index terms of ``text``, in order: folded, stopwords dropped, Dutch-stemmed."""
    words = [w for w in _WORD.findall(fold(text)) if w not in STOPWORDS]
    if not words:
        return []
    return list(_stemmer().stemWords(words))


def compound_parts(terms: list[str]) -> list[str]:
    """The ``parts`` column for ``terms``: each long stem and its suffixes (see module doc)."""
    parts: dict[str, None] = {}
    # Each distinct stem once, in order of first use: a repeated stem adds no part that its
    # first use did not add (Dutch texts repeat their words), so the parts come out the same.
    for term in dict.fromkeys(terms):
        if COMPOUND_MIN <= len(term) <= MAX_WORD:
            parts[term] = None
            for start in range(PART_START, len(term) - PART_MIN + 1):
                parts[term[start:]] = None
    return list(parts)


@dataclass(frozen=True)
class IndexText:
    """Pre-analysed columns of one document, each a space-separated string of terms."""

    title: str
    summary: str
    body: str
    parts: str


def index_text(title: str | None, summary: str | None, body: str | None) -> IndexText:
    t, s, b = stems(title or ""), stems(summary or ""), stems(body or "")
    return IndexText(" ".join(t), " ".join(s), " ".join(b), " ".join(compound_parts(t + s + b)))


def analyse(title: str | None, summary: str | None, body: str | None) -> tuple[str, IndexText]:
    """``content.search_text(title, summary, body)`` (the ``search_text`` column) and
    ``index_text(title, summary, body)`` (the index entry's terms) from one pass over each text.

    Both fold a text the same way, and the Snowball stemmer stems each word on its own, so a
    text is folded, split and stemmed once: the column keeps every stem longer than one letter,
    the index the stems of the words that are not stopwords. Only ``_`` splits them apart (a
    column word, ``\\w+``, holds it; index words do not): a text holding one is split and
    stemmed again for the index.
    """
    column: list[str] = []
    terms: list[list[str]] = []
    stemmer = _stemmer()
    for text in (title, summary, body):
        lowered = fold(text) if text else ""
        tokens = _COLUMN_WORD.findall(lowered)
        found: list[str] = list(stemmer.stemWords(tokens)) if tokens else []
        column += [stem for stem in found if len(stem) > 1]
        if "_" in lowered:
            tokens = _WORD.findall(lowered)
            found = list(stemmer.stemWords(tokens)) if tokens else []
        terms.append([stem for word, stem in zip(tokens, found, strict=True)
                      if word not in STOPWORDS])
    t, s, b = terms
    return (" " + " ".join(column) + " ",
            IndexText(" ".join(t), " ".join(s), " ".join(b),
                      " ".join(compound_parts(t + s + b))))


# --- queries -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """A parsed query: ``units`` to find (a unit is one stem, or several for a phrase) and
    ``excluded`` stems. Empty ``units`` and ``excluded``: no text condition at all."""

    units: tuple[tuple[str, ...], ...] = ()
    excluded: tuple[str, ...] = ()
    stems: frozenset[str] = field(default_factory=frozenset)  # every positive stem, for snippets

    @property
    def empty(self) -> bool:
        return not self.units and not self.excluded


def _query_error(detail: str, reason: str) -> ValidationError:
    return ValidationError(reason, f"q: {detail}", field="q")


def parse_query(q: str | None) -> Query:
    """Read the query language; raises ValidationError (422) for an over-long query."""
    if not q or not q.strip():
        return Query()
    if len(q) > MAX_QUERY_CHARS:
        raise _query_error(f"at most {MAX_QUERY_CHARS} characters", "too_long")
    tokens = _TOKEN.findall(q)
    if sum(1 for t in tokens if t != '"') > MAX_TERMS:
        raise _query_error(f"at most {MAX_TERMS} words", "too_many_terms")
    units: list[tuple[str, ...]] = []
    excluded: list[str] = []
    phrase: list[str] | None = None
    for token in tokens:
        if token == '"':
            if phrase is None:
                phrase = []
            else:
                _add_phrase(units, phrase)
                phrase = None
        elif phrase is not None:
            phrase.extend(stems(token.lstrip("-")))
        elif token.startswith("-"):
            excluded.extend(stems(token[1:]))
        else:
            units.extend((s,) for s in stems(token))
    if phrase is not None:  # an unbalanced quote closes at the end
        _add_phrase(units, phrase)
    unique = tuple(dict.fromkeys(units))
    return Query(unique, tuple(dict.fromkeys(excluded)),
                 frozenset(s for unit in unique for s in unit))


def _add_phrase(units: list[tuple[str, ...]], phrase: list[str]) -> None:
    if phrase:
        units.append(tuple(phrase))


# --- snippets ----------------------------------------------------------------------------------

SNIPPET_WORDS = 30


@functools.lru_cache(maxsize=65_536)
def _word_stem(word: str) -> str:
    """The stem of a word of a text ('' for a stopword); cached across searches, as texts share
    most words (stemming is most of a snippet's cost)."""
    folded = word.lower() if word.isascii() else fold(word)
    return "" if folded in STOPWORDS else str(_stemmer().stemWord(folded))


_PIECES = re.compile(r"([^\W_]+)")  # split by words, kept: separator, word, …, word, separator


@functools.lru_cache(maxsize=64)
def _query_hits(wanted: frozenset[str]) -> tuple[dict[str, bool], re.Pattern[str] | None]:
    """Per query: which words of texts are hits (filled as the page's snippets go, which share
    most words), and a pattern finding a wanted word of ``PART_MIN`` letters or more inside a
    compound (one regular-expression search instead of a test per wanted word)."""
    parts = sorted(w for w in wanted if len(w) >= PART_MIN)
    return {}, re.compile("|".join(map(re.escape, parts))) if parts else None


def snippet(text: str | None, wanted: frozenset[str], *, words: int = SNIPPET_WORDS) -> str:
    """About ``words`` words of ``text`` around the most hits, hits in ``<mark>``; safe HTML.

    Everything but the ``<mark>`` tags is escaped. Without hits: the start of the text.
    A hit is a word whose stem is wanted, or a compound (``COMPOUND_MIN`` letters) containing a
    wanted word of ``PART_MIN`` letters after its first ``PART_START``.
    """
    if not text:
        return ""
    pieces = _PIECES.split(text)
    n = len(pieces) // 2
    if not n:
        return html.escape(text[:200])
    known, part = _query_hits(wanted)
    hits: list[bool] = []
    for word in pieces[1::2]:
        found = known.get(word)
        if found is None:
            term = _word_stem(word)
            found = known[word] = bool(term) and (term in wanted or (
                part is not None and len(term) >= COMPOUND_MIN
                and part.search(term, PART_START) is not None))
        hits.append(found)
    best, best_count = 0, 0
    if True in hits:  # the first window of ``words`` words with the most hits
        sums = list(itertools.accumulate(hits, initial=0))
        windows = [sums[min(start + words, n)] - sums[start] for start in range(n)]
        best_count = max(windows)
        best = windows.index(best_count)
    first = max(0, best - 3) if best_count > 0 else 0
    last = min(n, first + words) - 1
    out: list[str] = ["… " if first > 0 or pieces[0] else ""]
    # Only the hits are cut out; the text between them is escaped in one piece.
    between: list[str] = []
    for i in range(first, last + 1):
        if i > first:
            between.append(pieces[2 * i])
        if hits[i]:
            out += [html.escape("".join(between)), f"<mark>{html.escape(pieces[2 * i + 1])}</mark>"]
            between = []
        else:
            between.append(pieces[2 * i + 1])
    if last < n - 1:
        out += [html.escape("".join(between)), " …"]
    else:
        out.append(html.escape("".join([*between, pieces[2 * n]])))
    return "".join(out).strip()
