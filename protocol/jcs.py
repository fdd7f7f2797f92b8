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
* ``true``, ``false``, ``null``; arrays; objects with keys sorted (§3.2.3). orjson sorts by code
  point, JCS by UTF-16 code unit: the two orders differ only when a key holds a character beyond
  U+FFFF (a surrogate pair, D800–DBFF, sorts below U+E000–U+FFFF), so such keys are not eligible.

Floats are not eligible (orjson writes ``5.0`` and ``1e+16`` where JCS writes ``5`` and
``10000000000000000``), nor is any other type or subclass (orjson would write a UUID, an enum or a
dataclass that JCS refuses). :func:`_plain` checks all of this in one walk, after ``orjson`` has
accepted the value (so the walk is over a finite, acyclic tree of bounded depth); anything else
goes through ``rfc8785``.

Usage::

    canonicalize({"b": 1, "a": [True, None]})   # b'{"a":[true,null],"b":1}'
"""

from __future__ import annotations

from typing import Any

import orjson
import rfc8785

from protocol.errors import DocumentError

__all__ = ["canonicalize"]

_SAFE_INTEGER = 2**53 - 1
# Subclasses, datetimes and dataclasses raise instead of being written as their base value;
# _plain refuses them anyway, this just gets there sooner.
_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_STRICT_INTEGER
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)
_PLAIN_SCALARS = frozenset({str, int, bool, type(None)})
_BMP_END = "\U00010000"


def _plain(value: Any) -> bool:
    """Whether ``orjson``'s sorted output of ``value`` is its JCS form (see the module docstring).

    Exact types only: dict, list, str, int, bool and None, and no object key with a character
    beyond U+FFFF. Integer range, key type and string validity are left to ``orjson``, which has
    already accepted ``value`` when this runs.
    """
    kind = type(value)
    if kind is dict:
        keys = "".join(value)
        if not keys.isascii() and max(keys) >= _BMP_END:
            return False
        for item in value.values():  # noqa: SIM110 - a loop costs half of all(generator)
            if type(item) is not str and not _plain(item):
                return False
        return True
    if kind is list:
        for item in value:  # noqa: SIM110 - as above
            if type(item) is not str and not _plain(item):
                return False
        return True
    return kind in _PLAIN_SCALARS


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
    """``orjson``'s sorted bytes of ``obj`` if they are its JCS form, else ``None``."""
    try:
        text = orjson.dumps(obj, option=_ORJSON_OPTIONS)
        return text if _plain(obj) else None
    except (TypeError, RecursionError):  # orjson.JSONEncodeError is a TypeError
        return None


def canonicalize(obj: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value.

    Raises:
        DocumentError: ``bad_json`` if the value is not representable in JCS (non-string key,
            unsafe integer, NaN, lone surrogate, non-JSON type); ``too_deep`` if it nests past
            the interpreter's recursion limit.

    >>> canonicalize({"b": 1, "a": [1.0, "é"]})
    b'{"a":[1,"\\xc3\\xa9"],"b":1}'
    """
    fast = _fast(obj)
    return fast if fast is not None else _reference(obj)
