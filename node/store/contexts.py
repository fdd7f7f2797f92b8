"""``@context`` values stored by number (issue 13: database bytes per item ≤ 2 × its JSON-LD).

Every document a Kennisknoop node signs carries the same 2.2 KB inline ``@context`` twice — in
the document and in its proof — so two thirds of an item's JSON-LD are those two copies, and
every stored document, received ones from other Kennisknoop nodes included, repeated them. A
JSON column's text is stored *packed*: each ``"@context":<known context>`` is written as
``"@context":<its number>``, and the text starts with one space, which ``orjson`` (every JSON
column's writer, ``node.store.db.json_text``) never writes; reading puts the contexts back.

- Exact: a text is packed only when unpacking the packed text gives back the very same text
  (checked on every write), so a document that happens to hold ``"@context":1`` somewhere is
  stored as it is; a text without the leading space is never changed when read. The bytes
  served and their proofs are those signed (``tests/node/store/test_contexts.py``).
- Cheap: no parsing either way, a few scans of the text; the JSON stays valid (SQLite's and
  PostgreSQL's JSON functions read it, the context being the number).
- One more repetition goes the same way: an item's ``contentMap`` holding one language whose
  value is exactly its ``content`` (the rendered HTML, a second time) is stored as
  ``"contentMap":{"nl":0}`` and read back from the first ``"content"`` string of the text.
- Append-only: the contexts are numbered in ``node/data/stored-contexts.json``. A stored row
  names one by number for ever, so a number's context never changes and none is removed; a new
  context (a term added to ``protocol.context``) gets the next number, and a test fails until
  it does. The file's digest is checked when this module loads.
"""

from __future__ import annotations

import hashlib
from importlib import resources

import orjson

_FILE = "stored-contexts.json"
# SHA-256 of the compact texts of contexts 1, 2, 3, … in order: the numbers' meaning is frozen.
DIGEST = "075fdcdf803b20ce5262b53030196fa6ae8d828093105fa56679a6db88177017"

_KEY = '"@context":'
_MARK = " "  # a packed text starts with it; orjson's output never does


def _load() -> dict[int, str]:
    raw = orjson.loads(resources.files("node.data").joinpath(_FILE).read_bytes())
    return {int(number): orjson.dumps(value).decode() for number, value in raw.items()}


def digest(contexts: dict[int, str]) -> str:
    hasher = hashlib.sha256()
    for number in sorted(contexts):
        hasher.update(f"{number}\n{contexts[number]}\n".encode())
    return hasher.hexdigest()


CONTEXTS: dict[int, str] = _load()
if digest(CONTEXTS) != DIGEST:  # pragma: no cover - a changed file must fail loudly
    raise RuntimeError(f"node/data/{_FILE} changed: stored rows name its contexts by number "
                       "(append a new one, never edit one)")

_BY_TEXT = {_KEY + text: f"{_KEY}{number}" for number, text in CONTEXTS.items()}


def _scannable(texts: list[str]) -> bool:
    """Whether finding the known contexts one ``"@context":`` after the other gives what
    replacing each in turn gives (``_contexts_out``): no context starts another one or with a
    digit, and no ``"@context":`` inside one (a scoped context) is followed by a digit or by
    text that starts another context or is the start of one. Then two matches never overlap
    (one would start at a ``"@context":`` inside the other), and a number written never makes
    a new match."""
    for text in texts:
        if text[:1].isdigit() or any(o != text and o.startswith(text) for o in texts):
            return False
        at = text.find(_KEY)
        while at >= 0:
            rest = text[at + len(_KEY):]
            if rest[:1].isdigit() or any(o.startswith(rest) or rest.startswith(o)
                                         for o in texts):
                return False
            at = text.find(_KEY, at + 1)
    return True


# Each context's text and its number, for ``_contexts_out``; empty when they cannot be found in
# one pass (``_scannable``): then each is replaced in turn.
_NUMBERED = tuple((text, str(number)) for number, text in CONTEXTS.items()) \
    if _scannable(list(CONTEXTS.values())) else ()
_DIGITS = frozenset("0123456789")
_CONTENT = '"content":"'
_MAP = '"contentMap":{"'


def _contexts_back(text: str) -> str:
    """``text`` with each ``"@context":<number>`` (then ``,`` or ``}``) of a known context
    written out."""
    parts: list[str] = []
    last = 0
    at = text.find(_KEY)
    while at >= 0:
        start = end = at + len(_KEY)
        while text[end:end + 1] in _DIGITS:
            end += 1
        context = CONTEXTS.get(int(text[start:end])) if end > start else None
        if context is not None and text[end:end + 1] in (",", "}"):
            parts += (text[last:start], context)
            last = end
        at = text.find(_KEY, end)
    return "".join((*parts, text[last:])) if parts else text


def _contexts_out(text: str) -> str:
    """``text`` with each ``"@context":<known context>`` written by number: what replacing each
    known ``"@context":<text>`` in turn gives (``_scannable``), found in one pass from one
    ``"@context":`` to the next (each replace scanned the whole text: 90 % of ``pack``)."""
    return _numbered(text)[0]


def _numbered(text: str) -> tuple[str, bool]:
    """``_contexts_out`` of ``text``, and whether ``_contexts_back`` gives ``text`` back
    (a sure yes, else False): each context found in one pass and followed by a ``,`` or a
    ``}`` (as in JSON), and no ``"@context":`` of ``text`` itself followed by a digit."""
    if not _NUMBERED:
        for whole, number in _BY_TEXT.items():
            text = text.replace(whole, number)
        return text, False
    parts: list[str] = []
    last = 0
    back = True
    at = text.find(_KEY)
    while at >= 0:
        start = at + len(_KEY)
        if text[start:start + 1] in _DIGITS:
            back = False
        for context, number in _NUMBERED:
            if text.startswith(context, start):
                parts += (text[last:start], number)
                last = start = start + len(context)
                if text[start:start + 1] not in _ENDS:
                    back = False
                break
        at = text.find(_KEY, start)
    return ("".join((*parts, text[last:])) if parts else text), back


_ENDS = frozenset(",}")


def _string_end(text: str, at: int) -> int:
    """Where the JSON string literal whose opening quote is at ``at`` ends (past its closing
    quote); -1 when it does not."""
    at += 1
    while (at := text.find('"', at)) >= 0:
        escapes = 0
        while text[at - 1 - escapes] == "\\":
            escapes += 1
        if escapes % 2 == 0:
            return at + 1
        at += 1
    return -1


def _content_map(text: str) -> tuple[str, int] | None:
    """The first ``"content"`` string of ``text`` (its literal) and, when a ``contentMap``
    follows it, where that map's first value starts."""
    at = text.find(_CONTENT)
    end = _string_end(text, at + len(_CONTENT) - 1) if at >= 0 else -1
    found = text.find(_MAP, end) if end >= 0 else -1
    value = _string_end(text, found + len(_MAP) - 1) if found >= 0 else -1
    if value < 0 or not text.startswith(":", value):
        return None
    return text[at + len(_CONTENT) - 1:end], value + 1


def unpack(text: str) -> str:
    """The JSON text as written: a packed text with its contexts and its ``contentMap`` put
    back, any other as is."""
    if not text.startswith(_MARK):
        return text
    text = text[1:]
    if (found := _content_map(text)) and text.startswith("0}", found[1]):
        content, at = found
        text = text[:at] + content + text[at + 1:]
    return _contexts_back(text)


def pack(text: str) -> str:
    """``text`` (compact JSON) as stored: its known contexts by number, and its ``contentMap``
    when it repeats its ``content``, if that gives the very same text back; else as it is.

    Whether it does is mostly known without unpacking (``unpack(packed) == text`` cost half of
    ``pack``): ``unpack`` first puts back the ``contentMap`` value at the very place it was
    taken from (the text before that place is unchanged, so ``_content_map`` finds it again),
    then writes out the numbers ``_numbered`` wrote, and that gives ``text`` back when it says
    so: each number is followed by what followed its context, a ``,`` or a ``}``; a number it
    did not write would follow a ``"@context":`` of the text itself followed by a digit; and
    writing a number makes no new ``"@context":`` (it holds no digit). A ``contentMap`` value
    of ``0`` that ``pack`` did not write would be read back as the content: such a text is
    stored as it is. Anything else is checked by unpacking it
    (``tests/node/store/test_contexts.py`` compares both ways on made-up texts).
    """
    if _KEY + "[" not in text and _MAP not in text:
        return text
    packed, back = _numbered(text)
    if found := _content_map(packed):
        content, at = found
        if packed.startswith(content + "}", at):
            packed = packed[:at] + "0" + packed[at + len(content):]
        elif packed.startswith("0}", at):
            return text  # it would be read back as the content
    if packed is text or packed == text:
        return text
    packed = _MARK + packed
    return packed if back or unpack(packed) == text else text
