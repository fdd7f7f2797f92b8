"""JSON Canonicalization Scheme (RFC 8785): the exact bytes that object proofs sign.

The reference is the ``rfc8785`` package; this module is the one seam where its errors become
``DocumentError``. RFC 8785 §3.2.2.3 makes every number an IEEE-754 double. Python reads a large
JSON integer (``10000000000000000``, which is how JavaScript writes 1e16) as an ``int`` that
``rfc8785`` refuses; an integer written exactly as JCS writes some double is canonicalized as that
double, so proofs made by JavaScript signers still verify. Any other integer beyond ±(2**53 − 1)
(it would be silently rounded), NaN or an infinity cannot be canonicalized (reason ``bad_json``).

Fast path. ``rfc8785`` is pure Python (about 20 µs for a small activity). ``orjson`` with sorted
keys writes the same bytes for the values ActivityPub documents are made of, and only for them:

* strings: both write §3.2.2.2 — ``\\"``, ``\\\\``, ``\\b \\t \\n \\f \\r``, other controls as
  lower-case ``\\u00xx``, everything else (DEL, U+2028, non-ASCII) as raw UTF-8; both refuse lone
  surrogates. (The tests check every code point.)
* integers within ±(2**53 − 1) (``OPT_STRICT_INTEGER`` refuses the others): the decimal digits,
  which is also how ECMAScript writes such a double.
* finite floats: not as orjson writes them (``5.0``, ``1e+16``) but as :func:`_number` does,
  ECMAScript's Number::toString (§3.2.2.3), handed to orjson as a ``Fragment``.
* ``true``, ``false``, ``null``; arrays; objects with keys sorted (§3.2.3). orjson sorts by code
  point, JCS by UTF-16 code unit: the two orders differ only when a key holds a character beyond
  U+FFFF (a surrogate pair, D800–DBFF, sorts below U+E000–U+FFFF), so such keys are not eligible.

No other type or subclass is eligible (orjson would write a UUID, an enum or a dataclass that JCS
refuses), nor NaN or an infinity. :func:`_prepare` checks all of this in one walk and replaces
each float by its JCS text; anything else goes through ``rfc8785``.

Signed documents are canonicalized once. JCS is compositional: an object's form is its members'
forms, sorted and joined. :func:`canonicalize_members` and :func:`join_members` let a signer
canonicalize each member once and build both the unsigned form (which the proof signs) and the
signed form from them; :func:`remember` keeps the signed form, and when the same signed document
is embedded again (a Create, an Announce) the walk reuses those bytes after checking that the
document still equals what was remembered (a copy, or an unchanged original).

Usage::

    canonicalize({"b": 1, "a": [True, None]})   # b'{"a":[true,null],"b":1}'
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import orjson
import rfc8785

from protocol.errors import DocumentError

__all__ = ["canonicalize", "canonicalize_members", "join_members", "remember", "remember_list"]

_SAFE_INTEGER = 2**53 - 1
# Subclasses, datetimes and dataclasses raise instead of being written as their base value;
# _prepare refuses them anyway, this just gets there sooner.
_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_STRICT_INTEGER
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)
_PLAIN_SCALARS = frozenset({int, bool, type(None)})
_BMP_END = "\U00010000"
# Below 2**53 every integral double is written as its integer digits (ECMAScript pads the
# shortest digits with zeros, and no shorter digit string names the same double there).
_EXACT_INTEGRAL = 2.0**53
_REMEMBERED_MAX = 64


class _NotPlain(Exception):
    """A value the fast path does not take (it goes through ``rfc8785``)."""


def _number(value: float) -> bytes:
    """ECMAScript Number::toString of a finite double (ECMA-262 §7.1.12.1, RFC 8785 §3.2.2.3).

    ``repr`` gives the shortest digits that round-trip (closest to the value, as ECMAScript
    asks); only the notation differs: ECMAScript writes digits without an exponent from 1e-6
    up to 1e21, ``repr`` from 1e-4 up to 1e16, and spells exponents ``e+21`` / ``e-7``.
    """
    if value == 0:
        return b"0"  # -0 too
    magnitude = -value if value < 0 else value
    integral = value.is_integer()
    if integral and magnitude < _EXACT_INTEGRAL:
        return str(int(value)).encode()
    if not integral and 1e-4 <= magnitude < 1e16:
        return repr(value).encode()  # "ddd.ddd", the same notation in both
    if math.isnan(value) or math.isinf(value):
        raise _NotPlain
    mantissa, _, exponent = repr(magnitude).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    point = len(whole) + (int(exponent) if exponent else 0) - (len(whole + fraction) - len(digits))
    digits = digits.rstrip("0")
    # ECMAScript's k (number of digits) and n (the value is 0.digits × 10**n).
    k, n = len(digits), point
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        power = n - 1
        text = (digits[0] + ("." + digits[1:] if k > 1 else "") + ("e+" if power >= 0 else "e-")
                + str(abs(power)))
    return (("-" if value < 0 else "") + text).encode()


# proofValue -> (the signed document as JSON parsed back from its JCS, its JCS bytes)
_remembered: dict[str, tuple[Any, bytes]] = {}


def _proof_value(document: dict[str, Any]) -> str | None:
    proof = document.get("proof")
    if type(proof) is list and proof:
        proof = proof[-1]
    if type(proof) is dict:
        value = proof.get("proofValue")
        return value if type(value) is str else None
    return None


def remember(document: dict[str, Any], canonical: bytes, parsed: Any = None) -> None:
    """Keep ``canonical`` (the JCS bytes of the signed ``document``) to reuse when the document
    is canonicalized again, whole or embedded; only a bounded number of the latest are kept.
    ``parsed``: ``canonical`` parsed back, when the caller has it (a document that is never
    changed is its own); else it is parsed here, so a later change to ``document`` is seen.

    >>> signed = {"id": "https://kennis.example/items/1", "proof": {"proofValue": "z5T"}}
    >>> remember(signed, canonicalize(signed))
    >>> canonicalize({"object": dict(signed)})   # the remembered bytes, reused
    b'{"object":{"id":"https://kennis.example/items/1","proof":{"proofValue":"z5T"}}}'
    """
    key = _proof_value(document)
    if key is None:
        return
    _remembered[key] = (orjson.loads(canonical) if parsed is None else parsed, canonical)
    if len(_remembered) > _REMEMBERED_MAX:
        with contextlib.suppress(KeyError, RuntimeError, StopIteration):
            del _remembered[next(iter(_remembered))]


# Lists whose JCS bytes are known (the shared @context): (the list, its orjson bytes as given,
# its JCS bytes).
_known_lists: list[tuple[list[Any], bytes, bytes]] = []


def remember_list(value: list[Any]) -> None:
    """Keep the JCS bytes of ``value`` (a list that is never mutated: ``shared_context``) to
    write for it, or for a list that is the same JSON, instead of walking it again.

    >>> remember_list(["https://www.w3.org/ns/activitystreams", {"kk": "https://kk.example#"}])
    >>> canonicalize({"@context": ["https://www.w3.org/ns/activitystreams",
    ...                           {"kk": "https://kk.example#"}]})
    b'{"@context":["https://www.w3.org/ns/activitystreams",{"kk":"https://kk.example#"}]}'
    """
    _known_lists.append((value, orjson.dumps(value), canonicalize(value)))


def _recall_list(value: list[Any]) -> bytes | None:
    for known, raw, canonical in _known_lists:
        if value is known:
            return canonical
        # A copy (a received document's): Python's equality first, to refuse others cheaply,
        # then the bytes, since equality takes true for 1.
        if len(known) == len(value) and known == value and orjson.dumps(value) == raw:
            return canonical
    return None


def _recall(document: dict[str, Any]) -> bytes | None:
    key = _proof_value(document)
    entry = _remembered.get(key) if key is not None else None
    # Equality, not identity: a copy of a signed document is the same document. (JSON equality
    # differs from JCS only between true/false and 1/0, which no signed document mixes up.)
    return entry[1] if entry is not None and entry[0] == document else None


def _prepare(value: Any) -> Any:
    """What ``orjson`` must dump to write ``value``'s JCS form: ``value`` itself when it is plain,
    else a copy with each float (and each remembered signed document) as a ``Fragment`` of its
    JCS text. Raises _NotPlain (or TypeError for a non-string key) for ineligible values."""
    kind = type(value)
    if kind is dict:
        keys = "".join(value)
        if not keys.isascii() and max(keys) >= _BMP_END:
            raise _NotPlain
        if "proof" in value and _remembered:
            known = _recall(value)
            if known is not None:
                return orjson.Fragment(known)
        out = value
        for key, item in value.items():
            if type(item) is str:
                continue
            new = _prepare(item)
            if new is not item:
                if out is value:
                    out = dict(value)
                out[key] = new
        return out
    if kind is list:
        if _known_lists:
            known_list = _recall_list(value)
            if known_list is not None:
                return orjson.Fragment(known_list)
        out = value
        for index, item in enumerate(value):
            if type(item) is str:
                continue
            new = _prepare(item)
            if new is not item:
                if out is value:
                    out = list(value)
                out[index] = new
        return out
    if kind is float:
        return orjson.Fragment(_number(value))
    if kind is str or kind in _PLAIN_SCALARS:
        return value
    raise _NotPlain


def _exact_doubles(value: Any) -> Any:
    """Replace each integer beyond ±(2**53 − 1) by a double, if the integer is written exactly
    as JCS writes that double (so every double has one accepted integer spelling)."""
    if isinstance(value, dict):
        return {key: _exact_doubles(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_exact_doubles(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _SAFE_INTEGER:
        try:
            double = float(value)
        except OverflowError:
            return value  # rfc8785 reports it as out of domain
        return double if rfc8785.dumps(double) == str(value).encode() else value
    return value


def _reference(obj: Any) -> bytes:
    """Canonicalize with ``rfc8785``: every value the fast path does not take."""
    try:
        try:
            return rfc8785.dumps(obj)
        except rfc8785.IntegerDomainError:
            # Rare: only documents holding integers beyond 2**53 pay for the second walk.
            return rfc8785.dumps(_exact_doubles(obj))
    except rfc8785.CanonicalizationError as exc:
        raise DocumentError("bad_json", f"cannot canonicalize: {exc}") from exc
    except UnicodeError as exc:  # rfc8785 sorts keys by their UTF-16 form: a lone surrogate
        raise DocumentError("bad_json", "cannot canonicalize: a key is not valid Unicode") from exc
    except RecursionError as exc:
        raise DocumentError("too_deep", "document nests too deeply to canonicalize") from exc


def _fast(obj: Any) -> bytes | None:
    """``orjson``'s sorted bytes of ``obj`` (floats written as JCS) if eligible, else ``None``."""
    try:
        return orjson.dumps(_prepare(obj), option=_ORJSON_OPTIONS)
    except (_NotPlain, TypeError, RecursionError):  # orjson.JSONEncodeError is a TypeError
        return None


def canonicalize(obj: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value.

    Raises:
        DocumentError: ``bad_json`` if the value is not representable in JCS (non-string key,
            unsafe integer, NaN, lone surrogate, non-JSON type); ``too_deep`` if it nests past
            the interpreter's recursion limit.

    >>> canonicalize({"b": 1, "a": [1.0, "é", 1e21]})
    b'{"a":[1,"\\xc3\\xa9",1e+21],"b":1}'
    """
    fast = _fast(obj)
    return fast if fast is not None else _reference(obj)


def canonicalize_members(obj: dict[str, Any]) -> dict[str, bytes]:
    """The JCS bytes of each member of a JSON object (for :func:`join_members`).

    Raises:
        DocumentError: as :func:`canonicalize`.

    >>> canonicalize_members({"b": [0.5], "a": "x"})
    {'b': b'[0.5]', 'a': b'"x"'}
    """
    return {key: canonicalize(value) for key, value in obj.items()}


def _utf16(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def join_members(members: dict[str, bytes]) -> bytes:
    """The JCS bytes of an object from its members' (§3.2.3: keys sorted by UTF-16 code units).

    ``join_members(canonicalize_members(obj)) == canonicalize(obj)``.

    >>> join_members({"b": b"[0.5]", "a": b'"x"'})
    b'{"a":"x","b":[0.5]}'

    Raises:
        DocumentError: ``bad_json`` for a key that is not valid Unicode (a lone surrogate).
    """
    keys = "".join(members)
    if keys.isascii() or max(keys) < _BMP_END:  # orjson's key order is JCS's (module docstring)
        with contextlib.suppress(TypeError):  # a lone surrogate: refused below
            return orjson.dumps({key: orjson.Fragment(value) for key, value in members.items()},
                                option=_ORJSON_OPTIONS)
    parts = [canonicalize(key) + b":" + members[key] for key in sorted(members, key=_utf16)]
    return b"{" + b",".join(parts) + b"}"
