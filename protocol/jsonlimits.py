"""Strict, bounded JSON loading for untrusted ActivityStreams documents.

Implements the I-JSON profile (RFC 7493 §2) that federation needs, plus size limits:
UTF-8 only without a BOM (§2.1, RFC 8259 §8.1), no duplicate member names (§2.3), numbers
that are finite and integers within IEEE-754 double precision, ±(2^53−1) (§2.2), no lone
surrogates (§2.1), exactly one top-level object, and caps on bytes, nesting, array/object
sizes and string length (Mastodon refuses bodies over 1 MB; we do the same by default).

Why the stdlib ``json`` rather than ``orjson``: only the stdlib exposes the hooks we need to
*reject* input (``object_pairs_hook`` sees duplicate keys, ``parse_constant`` sees ``NaN``,
``parse_int`` sees every integer literal before it becomes unbounded); orjson silently keeps
the last duplicate. Its C scanner recurses per nesting level, so before parsing we measure
the nesting depth of the raw bytes without recursion (strings removed by splitting on quotes,
brackets counted with ``itertools.accumulate``); a document deeper than ``max_depth`` never
reaches the parser, which is what guarantees no ``RecursionError`` on hostile input.
Two shortcuts give the same outcome for less: a body that is ``orjson``'s own output (what
Kennisknoop sends) is parsed by ``orjson`` and checked on its value, and known inline
``@context`` values are taken as parsed; each hands anything it cannot vouch for to the strict
parse.

Usage::

    doc = load_json(request_body)                                  # defaults
    doc = load_json(body, limits=JsonLimits(max_bytes=200_000))    # or keyword overrides:
    doc = load_json(body, max_depth=16)
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, Final, NoReturn

import orjson

from protocol.errors import DocumentError
from protocol.vocab import RawObject

MAX_SAFE_INTEGER: Final = 2**53 - 1
# The C scanner in ``json`` uses the interpreter's recursion budget (1000 by default); a
# ceiling well below it keeps ``max_depth`` from being configured into a RecursionError.
DEPTH_CEILING: Final = 256


@dataclass(frozen=True, slots=True)
class JsonLimits:
    """Caps applied by :func:`load_json`; all counts, all inclusive."""

    max_bytes: int = 1_000_000
    """Body size in bytes (Mastodon's inbox limit)."""
    max_depth: int = 32
    """Nesting of arrays/objects; the top-level object is depth 1."""
    max_items: int = 10_000
    """Members of one array, and of one object."""
    max_string: int = 200_000
    """Characters (code points) in one string, keys included."""

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"JsonLimits.{field.name} must be a positive int, not {value!r}")
        if self.max_depth > DEPTH_CEILING:
            raise ValueError(f"JsonLimits.max_depth must be at most {DEPTH_CEILING}")


DEFAULT_LIMITS: Final = JsonLimits()

_BOM: Final = b"\xef\xbb\xbf"
_NOT_STRUCTURE: Final = bytes(b for b in range(256) if b not in b'"[]{}')
_STEP: Final = tuple(1 if b in b"[{" else -1 for b in range(256))
_MAX_INT_DIGITS: Final = len(str(MAX_SAFE_INTEGER))


def _fail(reason: str, detail: str) -> NoReturn:
    raise DocumentError(reason, detail)


def nesting_depth(body: bytes) -> int:
    """Deepest array/object nesting in JSON bytes, computed without recursion.

    Brackets inside strings do not count. On invalid JSON the figure is still an upper bound
    of what a JSON parser would reach before it stops at the first syntax error.

    >>> nesting_depth(b'{"a": [1, {"b": []}]}')
    4
    """
    # Escaped backslashes first (pairs, from the left of each run), then escaped quotes; every
    # other byte but quotes and brackets goes. What is left between two quotes was in a string
    # (an unterminated one runs to the end): every other piece of a split on quotes. All of it
    # in C, a few passes over the bytes — a regex substitution per string took half of
    # ``load_json`` on an ActivityPub document (hundreds of short strings).
    quoted = body.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    brackets = b"".join(quoted.split(b'"')[::2])
    if not brackets:
        return 0
    return max(accumulate(map(_STEP.__getitem__, brackets)))


def _parse_constant(name: str) -> NoReturn:
    _fail("bad_number", f"{name} is not a JSON number (RFC 8259 §6)")


def _parse_int(literal: str) -> int:
    # Check the length first: int() of a 5,000-digit literal raises ValueError on its own
    # (CPython's int_max_str_digits) and costs quadratic time below that.
    value = int(literal) if len(literal.lstrip("-")) <= _MAX_INT_DIGITS else None
    if value is None or abs(value) > MAX_SAFE_INTEGER:
        _fail("bad_number", f"integer {literal[:24]} is beyond ±(2^53−1) (RFC 7493 §2.2)")
    return value


def _parse_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        _fail("bad_number", f"number {literal[:24]} overflows a double (RFC 7493 §2.2)")
    return value


def _object_pairs(pairs: list[tuple[str, Any]]) -> RawObject:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                _fail("duplicate_key", f"member name {key[:64]!r} appears twice (RFC 7493 §2.3)")
            seen.add(key)
    return obj


def _check_string(value: str, limits: JsonLimits) -> None:
    if len(value) > limits.max_string:
        _fail("too_large", f"a string has {len(value)} characters, over {limits.max_string}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            _fail("bad_json", "a string holds a lone surrogate escape (RFC 7493 §2.1)")


def _check_sizes(document: RawObject, limits: JsonLimits, skip: frozenset[int] = frozenset()
                 ) -> None:
    """Walk the parsed value (iteratively) for container sizes, string lengths and surrogates.

    A short ASCII string (nearly every one) is let through without a call: only a long or a
    non-ASCII one can fail ``_check_string``. ``skip``: the ids of containers known to pass
    these limits (known contexts put back by ``_load_with_known_contexts``), not walked.
    """
    stack: list[Any] = [document]
    max_string, max_items = limits.max_string, limits.max_items
    while stack:
        node = stack.pop()
        if type(node) is dict:
            if len(node) > max_items:
                _fail("too_large", f"an object has {len(node)} members, over {max_items}")
            for key, value in node.items():
                if len(key) > max_string or not key.isascii():
                    _check_string(key, limits)
                if type(value) is str:
                    if len(value) > max_string or not value.isascii():
                        _check_string(value, limits)
                elif (type(value) is dict or type(value) is list) and id(value) not in skip:
                    stack.append(value)
        else:  # a list: only dicts and lists are stacked
            if len(node) > max_items:
                _fail("too_large", f"an array has {len(node)} items, over {max_items}")
            for value in node:
                if type(value) is str:
                    if len(value) > max_string or not value.isascii():
                        _check_string(value, limits)
                elif type(value) is dict or type(value) is list:
                    stack.append(value)


def _cannot_exceed(body: bytes, limits: JsonLimits) -> bool:
    """Whether ``body`` is too small for any string or container to pass the limits, and holds
    no escape that could make a lone surrogate (UTF-8 decoding refused encoded ones): then the
    walk of ``_check_sizes`` cannot fail. A string has at most as many characters as bytes; a
    container of n members holds n − 1 commas."""
    return (len(body) <= limits.max_string and body.count(b",") < limits.max_items
            and b"\\ud" not in body and b"\\uD" not in body)


def load_json(
    body: bytes,
    *,
    limits: JsonLimits = DEFAULT_LIMITS,
    max_bytes: int | None = None,
    max_depth: int | None = None,
    max_items: int | None = None,
    max_string: int | None = None,
) -> RawObject:
    """Parse an untrusted JSON body into a dict, or raise :class:`DocumentError`.

    Keyword limits override the matching field of ``limits``.

    Raises:
        DocumentError: ``too_large`` (bytes, array/object size, string length), ``too_deep``,
            ``bad_json`` (syntax, encoding, BOM, trailing data, top level not an object,
            lone surrogate), ``duplicate_key``, ``bad_number`` (NaN/Infinity, overflow,
            integer beyond ±(2^53−1)).

    >>> load_json(b'{"type": "Note"}')
    {'type': 'Note'}
    >>> load_json(b'{"a": 1, "a": 2}')
    Traceback (most recent call last):
    ...
    protocol.errors.DocumentError: duplicate_key: member name 'a' appears twice (RFC 7493 §2.3)
    """
    overrides = {
        name: value
        for name, value in (
            ("max_bytes", max_bytes),
            ("max_depth", max_depth),
            ("max_items", max_items),
            ("max_string", max_string),
        )
        if value is not None
    }
    if overrides:
        limits = dataclasses.replace(limits, **overrides)
    return load_json_body(body, limits=limits)[0]


def load_json_body(body: bytes, *, limits: JsonLimits = DEFAULT_LIMITS) -> tuple[RawObject, bool]:
    """:func:`load_json`'s document, and whether ``body`` is exactly ``orjson.dumps`` of it
    (compact, members in order, UTF-8 unescaped: what Kennisknoop nodes send), known here at no
    cost: a caller storing the document can then write ``body`` instead of serialising it
    again.

    >>> load_json_body(b'{"type":"Note"}')
    ({'type': 'Note'}, True)
    >>> load_json_body(b'{"type": "Note"}')
    ({'type': 'Note'}, False)
    """
    if not isinstance(body, bytes):
        raise TypeError(f"load_json takes bytes, not {type(body).__name__}")
    document = _load_canonical(body, limits)
    if document is not None:
        return document, True
    return _load_slow(body, limits), False


def _load_slow(body: bytes, limits: JsonLimits) -> RawObject:
    """:func:`load_json` of a body that is not ``orjson``'s own output."""
    if b'"@context":' in body:
        document = _load_with_known_contexts(body, limits)
        if document is not None:
            return document
    return _load_strict(body, limits)


def _load_strict(body: bytes, limits: JsonLimits) -> RawObject:
    """The full strict parse behind :func:`load_json` (the reference for every outcome)."""
    if len(body) > limits.max_bytes:
        _fail("too_large", f"body has {len(body)} bytes, over {limits.max_bytes}")
    if body.startswith(_BOM):
        _fail("bad_json", "body starts with a byte order mark (RFC 8259 §8.1)")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError("bad_json", f"body is not UTF-8 at byte {exc.start}") from exc
    depth = nesting_depth(body)
    if depth > limits.max_depth:
        _fail("too_deep", f"nesting depth {depth} is over {limits.max_depth}")
    try:
        document = json.loads(
            text,
            object_pairs_hook=_object_pairs,
            parse_constant=_parse_constant,
            parse_int=_parse_int,
            parse_float=_parse_float,
        )
    except json.JSONDecodeError as exc:
        raise DocumentError("bad_json", f"{exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except RecursionError as exc:  # unreachable after the depth scan; kept as a last guard
        raise DocumentError("too_deep", "nesting exhausted the parser's recursion budget") from exc
    if not isinstance(document, dict):
        _fail("bad_json", f"top level is a JSON {type(document).__name__}, not an object")
    if not _cannot_exceed(body, limits):
        _check_sizes(document, limits)
    return document


# --- canonical bodies ----------------------------------------------------------------------------
#
# What a Kennisknoop node sends is ``orjson.dumps`` of the document (``delivery``), and so, byte
# for byte, is what many other servers send (compact, names in order, UTF-8 unescaped). Such a
# body is parsed with ``orjson`` and taken when serialising the value gives the body back and a
# walk of the value finds its integers safe and its nesting within the limit; anything else —
# an error of any kind included — goes to the strict parse, whose outcome is the reference.
# Why the value is then the strict parse's:
#
# - ``orjson.dumps`` never writes a member name twice in one object, so a body equal to its
#   output has no duplicate names (a duplicate is dropped by the parse, so the output differs);
#   nor whitespace, a byte order mark, invalid UTF-8, NaN or Infinity (``orjson.loads`` refuses
#   those, as it refuses lone surrogates and control characters in strings);
# - a number reads the same in both parsers: an integer literal is ``str`` of its value (one
#   beyond 64 bits becomes a float in ``orjson`` and is written back otherwise: a mismatch), a
#   float literal is the shortest text that reads back as the parsed double, so ``float()`` of it
#   is that double, finite; integers beyond ±(2^53−1) are found by the walk;
# - a container over ``max_items`` goes to the strict parse (which names the first one its walk
#   finds); no string can be longer than ``max_string`` when the body is not, else the strict
#   parse's walk runs on the same value.


def _within(document: RawObject, limits: JsonLimits) -> bool:
    """Whether every integer of ``document`` is within ±(2^53−1), its nesting within
    ``max_depth`` (the document itself at depth 1) and every object and array within
    ``max_items``; walked without recursion. An ``@context`` equal to a known context is not
    walked: its depth and sizes are known, and it holds no number."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    max_depth, max_items = limits.max_depth, limits.max_items
    known = _known()
    while stack:
        node, depth = stack.pop()
        if depth > max_depth or len(node) > max_items:
            return False
        context = None
        if type(node) is dict:
            values = node.values()
            context = node.get("@context")
            if context is not None:
                for placeholder in known:
                    if context == placeholder.value:
                        if (depth + placeholder.depth > max_depth
                                or placeholder.items > max_items):
                            return False
                        break
                else:
                    context = None
        else:
            values = node
        for value in values:
            kind = type(value)
            if kind is dict or kind is list:
                if value is not context:
                    stack.append((value, depth + 1))
            elif kind is int and not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
                return False
    return True


def _load_canonical(body: bytes, limits: JsonLimits) -> RawObject | None:
    """The strict parse of a body that is ``orjson``'s own output, through ``orjson``; None when
    the body is not, or breaks a limit or a number rule (the caller then parses it strictly and
    refuses it with the strict parse's error). A string over ``max_string`` is refused here as
    the strict parse refuses it: the same check on the same value."""
    if len(body) > limits.max_bytes:
        return None
    try:
        document = orjson.loads(body)
        if type(document) is not dict or orjson.dumps(document) != body:
            return None
    except (orjson.JSONDecodeError, TypeError):  # TypeError: orjson.JSONEncodeError
        return None
    if not _within(document, limits):
        return None
    if len(body) > limits.max_string:  # (no lone surrogate: orjson refuses them both ways)
        _check_sizes(document, limits)
    return document


# --- known inline contexts ----------------------------------------------------------------------
#
# A Kennisknoop document carries the same inline ``@context`` (2.2 KB) on the activity, its
# object and both proofs: over a third of a Create's bytes, parsed with the stdlib's hooks and
# scanned for depth four times per request. Each occurrence of ``"@context":`` followed by the
# exact bytes of a known context (as ``orjson.dumps`` writes ``build_context()``, which is what
# ``delivery`` sends) is replaced by a sentinel integer literal before the strict parse; the
# ``parse_int`` hook turns the sentinel into a placeholder and the objects hook puts a fresh copy
# of the pre-validated context in its place. The result is taken only when it is certainly the
# one the full parse gives; anything else (an error of any kind, a placeholder not put back as an
# ``@context`` member, a depth that the contexts could push over the limit) runs the full strict
# parse, so every error is the full parse's own. Why it is exact when taken:
#
# - a sentinel (21 digits, beyond ±(2^53−1)) cannot come from the body: bodies holding its
#   19-digit prefix are not rewritten; each replacement yields at most one placeholder (it is
#   preceded by ``:`` and any digit after it makes another literal, refused as too long);
# - every replacement became a placeholder that was put back, so each replaced span was a value
#   where the parser expected one, not part of a string: the two texts parse in step, the known
#   context (valid, duplicate-free, finite, ASCII) standing for the sentinel — same member names,
#   so the same duplicate verdicts;
# - ASCII for ASCII leaves the UTF-8 validity of the rest unchanged; the depth of the original
#   is at most the rewritten text's plus the context's (checked against the limit, else the full
#   parse); the size limits are checked on the original bytes and the final value as before.


class _Placeholder:
    """Stands for one known context in the rewritten text; ``raw`` are its exact bytes,
    ``value`` its parsed value (strings, arrays and objects only), ``depth`` its nesting and
    ``items`` the members of its largest array or object."""

    __slots__ = ("depth", "items", "raw", "value")

    def __init__(self, raw: bytes, value: Any, depth: int, items: int) -> None:
        self.raw = raw
        self.value = value
        self.depth = depth
        self.items = items


def _largest(value: Any) -> int | None:
    """The members of the largest array or object in ``value``; None when it holds anything
    but strings, arrays and objects."""
    if type(value) is str:
        return 0
    if type(value) is not dict and type(value) is not list:
        return None
    largest: int | None = len(value)
    for item in value.values() if type(value) is dict else value:
        inner = _largest(item)
        largest = None if inner is None or largest is None else max(largest, inner)
    return largest


_CONTEXT_KEY: Final = b'"@context":'
_SENTINEL_BASE: Final = 10**20
_SENTINEL_PREFIX: Final = str(_SENTINEL_BASE).encode()[:19]
_known_contexts: list[_Placeholder] | None = None


def _known() -> list[_Placeholder]:
    """The known contexts, each checked once against the strict parser (on first use: the
    vocabulary module is imported lazily)."""
    global _known_contexts
    if _known_contexts is None:
        from protocol.context import build_context

        known = []
        for context in (build_context(), build_context(data_integrity=False)):
            raw = orjson.dumps(context)
            parsed = _load_strict(b'{"@context":' + raw + b"}", DEFAULT_LIMITS)["@context"]
            items = _largest(parsed)
            if (raw.isascii() and raw[:1] in (b"[", b"{") and orjson.dumps(parsed) == raw
                    and items is not None):
                known.append(_Placeholder(raw, parsed, nesting_depth(raw), items))
        _known_contexts = known
    return _known_contexts


def _load_with_known_contexts(body: bytes, limits: JsonLimits) -> RawObject | None:
    """The strict parse with known contexts taken as parsed; None when it cannot be sure that
    the value is the full parse's (the caller then runs it). Over a size limit it raises the
    full parse's error: the same check on the same bytes and value."""
    if len(body) > limits.max_bytes or _SENTINEL_PREFIX in body:
        return None
    known = _known()
    pieces: list[bytes] = []
    sentinels: dict[str, _Placeholder] = {}
    extra_depth = 0
    start = position = 0
    while (position := body.find(_CONTEXT_KEY, position)) >= 0:
        position += len(_CONTEXT_KEY)
        for placeholder in known:
            if body.startswith(placeholder.raw, position):
                sentinel = str(_SENTINEL_BASE + len(sentinels))
                sentinels[sentinel] = placeholder
                pieces += (body[start:position], sentinel.encode())
                position = start = position + len(placeholder.raw)
                extra_depth = max(extra_depth, placeholder.depth)
                break
    if not sentinels:
        return None
    pieces.append(body[start:])
    rewritten = b"".join(pieces)
    if rewritten.startswith(_BOM) or nesting_depth(rewritten) + extra_depth > limits.max_depth:
        return None
    placed = 0
    checked: set[int] = set()  # contexts put back that pass the limits: not walked again

    def parse_int(literal: str) -> Any:
        found = sentinels.get(literal)
        return _parse_int(literal) if found is None else found

    def object_pairs(pairs: list[tuple[str, Any]]) -> RawObject:
        nonlocal placed
        obj = _object_pairs(pairs)
        context = obj.get("@context")
        if type(context) is _Placeholder:
            obj["@context"] = copy = orjson.loads(context.raw)  # fresh: callers may mutate
            placed += 1
            if _fits(context, limits):
                checked.add(id(copy))
        return obj

    try:
        document = json.loads(rewritten.decode("utf-8"), object_pairs_hook=object_pairs,
                              parse_constant=_parse_constant, parse_int=parse_int,
                              parse_float=_parse_float)
    except (ValueError, DocumentError, RecursionError):  # JSONDecodeError, UnicodeDecodeError
        return None
    if placed != len(sentinels) or not isinstance(document, dict):
        return None
    if not _cannot_exceed(body, limits):
        # An outbox page holds ~40 copies of the 5 KB context: walking them was most of its
        # parse (docs/performance.md, "Backfill: contexts not walked, pages read once").
        _check_sizes(document, limits, frozenset(checked))
    return document


_fitting: dict[tuple[bytes, JsonLimits], bool] = {}


def _fits(placeholder: _Placeholder, limits: JsonLimits) -> bool:
    """Whether a known context passes ``limits``' size walk (remembered per limits)."""
    key = (placeholder.raw, limits)
    if key not in _fitting:
        try:
            _check_sizes({"@context": orjson.loads(placeholder.raw)}, limits)
            _fitting[key] = True
        except DocumentError:
            _fitting[key] = False
    return _fitting[key]
