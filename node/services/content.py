"""Text handling: Markdown rendering, THE HTML sanitiser, plain-text checks and search words.

Every piece of HTML the node shows or sends — rendered Markdown of local editors and ``content``
of remote objects alike — passes through :func:`sanitise_html`, so there is exactly one allowlist
to review (DESIGN.md, "Markdown for long text, sanitised"). Search text is pre-stemmed with the
Snowball Dutch stemmer because Python's ``sqlite3`` cannot register an FTS5 tokenizer
(DESIGN.md, "Storage"); queries go through the same :func:`search_words` so both sides match.
Coordinates are rounded to village precision unless an exact place is an explicit choice
(DESIGN.md, "Places").
"""

from __future__ import annotations

import html
import re
import threading
import unicodedata
from collections.abc import Sequence
from functools import cache, lru_cache
from html.parser import HTMLParser
from typing import Any

import nh3
from markdown_it import MarkdownIt

# --- sanitiser ---------------------------------------------------------------------------------

_ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "a", "em", "strong", "b", "i", "s", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "span",
    "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td",
})
_ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "ol": {"start"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
}
# interop(mastodon): remote HTML marks mentions and hashtags with these classes; keeping them
# (and nothing else) lets the stylesheet show them as Mastodon does. No other class survives.
_ALLOWED_CLASSES: dict[str, set[str]] = {
    "a": {"mention", "hashtag", "u-url"},
    "span": {"h-card", "invisible", "ellipsis"},
}
# Tags whose *content* goes too: their text is code or markup, never something to show.
_DROP_WITH_CONTENT = frozenset({
    "script", "style", "iframe", "object", "embed", "svg", "math", "template", "noscript",
    "textarea", "select", "frame", "frameset", "noembed", "noframes", "xmp", "plaintext", "title",
})
_URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"


def sanitise_html(html_text: str) -> str:
    """Return ``html_text`` reduced to the allowlist: the one sanitiser for user and remote HTML.

    No images, media, frames, SVG, forms, ``style``, ``id``, or event handlers; links only to
    http(s) and mailto and always with ``rel="nofollow noopener noreferrer"``. Relative URLs are
    kept (they cannot carry a scheme, so they cannot run script).
    """
    return nh3.clean(
        html_text,
        tags=set(_ALLOWED_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={tag: set(attrs) for tag, attrs in _ALLOWED_ATTRIBUTES.items()},
        allowed_classes={tag: set(classes) for tag, classes in _ALLOWED_CLASSES.items()},
        url_schemes=set(_URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


# --- Markdown ----------------------------------------------------------------------------------


def _render_image_as_link(renderer: Any, tokens: Sequence[Any], idx: int, options: Any, env: Any
                          ) -> str:
    # We show no remote images (privacy: they leak readers' addresses to third parties), but
    # the reader should still reach the picture: render it as a link labelled with its alt text.
    token = tokens[idx]
    src = html.escape(str(token.attrGet("src") or ""), quote=True)
    alt = "".join(child.content for child in (token.children or [])) or src
    return f'<a href="{src}">{html.escape(alt, quote=False)}</a>'


@cache
def _markdown() -> MarkdownIt:
    # Built on first use, not at import. A MarkdownIt instance keeps no per-render state, so
    # one per process is safe to share between threads once configured.
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.add_render_rule("image", _render_image_as_link)
    return md


def render_markdown(text: str) -> str:
    """Render CommonMark (plus tables and strikethrough, no raw HTML) to sanitised HTML."""
    return sanitise_html(_markdown().render(text))


# --- plain text --------------------------------------------------------------------------------

# "<" followed by a letter (a tag), "/" (an end tag), "!" (comment, doctype, CDATA) or "?" (a
# processing instruction): what an HTML parser would not show as text.
_TAG_LIKE = re.compile(r"<[A-Za-z/!?]")


def contains_html(text: str) -> bool:
    """True if plain ``text`` holds something tag-like, directly or behind an entity (``&lt;b``)."""
    if _TAG_LIKE.search(text):
        return True
    # A plain-text field is often re-used as HTML by other servers (AS2 ``name``/``summary``
    # may be HTML there), so an encoded tag is as unwelcome as a literal one.
    return "&" in text and _TAG_LIKE.search(html.unescape(text)) is not None


_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
    "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
})
_SKIP_CONTENT = frozenset({"script", "style", "template", "noscript", "svg", "math", "title"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_CONTENT:
            self._skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_CONTENT:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


_WHITESPACE = re.compile(r"\s+")


_MARKDOWN_CHARACTER = re.compile(r"([\\`*_\[\]#<>|])")


def escape_markdown(text: str) -> str:
    """Plain text as Markdown that renders as the same text: Markdown's own characters escaped."""
    return _MARKDOWN_CHARACTER.sub(r"\\\1", text)


@lru_cache(maxsize=4)  # a received item's content: for its row, then for its search entry
def plain_text_from_html(html_text: str) -> str:
    """The visible text of ``html_text``: tags removed, entities decoded, whitespace collapsed.

    A text without ``<`` or ``&`` (a title, most often) is all data to the parser: only its
    whitespace is collapsed. The last few are kept (a pure function of the text)."""
    if "<" not in html_text and "&" not in html_text:
        return _WHITESPACE.sub(" ", html_text).strip()
    parser = _TextExtractor()
    parser.feed(html_text)
    parser.close()
    return _WHITESPACE.sub(" ", "".join(parser.parts)).strip()


# --- search words ------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")
_local = threading.local()


def _stemmer() -> Any:  # PyStemmer ships no type information
    # PyStemmer objects keep a word cache and are not thread-safe: one per thread, made on
    # first use (not at import) so importing this module stays cheap.
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import Stemmer  # type: ignore[import-not-found]  # PyStemmer has no stubs

        stemmer = Stemmer.Stemmer("dutch")
        _local.stemmer = stemmer
    return stemmer


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _mark_gone(match: re.Match[str]) -> str:
    char = match.group()
    return "" if unicodedata.combining(char) else char


def strip_marks(text: str) -> str:
    """``text`` decomposed (NFKD) without its combining marks: ``Fryslân`` → ``Fryslan``.

    Only non-ASCII characters can be marks, and most text is ASCII: those alone are looked at.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed if decomposed.isascii() else _NON_ASCII.sub(_mark_gone, decomposed)


@lru_cache(maxsize=4)  # an item's texts are up to a request body (1 MB) long
def folded(text: str) -> str:
    """``text`` lower-cased without its diacritics, the form both search analyses start from:
    an item's texts are folded for its ``search_text`` column and again, moments later, for its
    index terms (``search_text.index_text``); the last few are kept (a pure function of
    ``text``, so a kept one is the same string)."""
    return strip_marks(text.lower())


def search_words(text: str) -> list[str]:
    """Dutch-stemmed, lower-case, diacritic-free words of ``text`` (the indexing and query form)."""
    tokens = _WORD.findall(folded(text))
    if not tokens:
        return []
    stems: list[str] = _stemmer().stemWords(tokens)
    return [stem for stem in stems if len(stem) > 1]


def search_text(*parts: str | None) -> str:
    """The search column for ``parts``: words separated and surrounded by single spaces.

    The leading and trailing space let ``LIKE '% word%'`` match a word prefix anywhere.
    """
    words: list[str] = []
    for part in parts:
        if part:
            words.extend(search_words(part))
    return " " + " ".join(words) + " "


# --- coordinates -------------------------------------------------------------------------------

VILLAGE_DECIMALS = 2  # 0.01° of latitude ≈ 1.1 km: the village, not the street
EXACT_DECIMALS = 6  # ≈ 0.1 m: as exact as anyone enters


def round_coordinates(lat: float, lon: float, exact: bool) -> tuple[float, float]:
    """Round a position to village precision, or to 6 decimals when ``exact`` was chosen."""
    decimals = EXACT_DECIMALS if exact else VILLAGE_DECIMALS
    # "+ 0.0" turns -0.0 (from rounding a tiny negative) into 0.0 so equal places compare equal.
    return round(lat, decimals) + 0.0, round(lon, decimals) + 0.0
