"""JSON Canonicalization Scheme (RFC 8785): the exact bytes that object proofs sign.

Canonicalization is delegated to the ``rfc8785`` package; this module is the one seam where its
errors become ``DocumentError``. RFC 8785 §3.2.2.3 makes every number an IEEE-754 double. Python reads a large
JSON integer (``10000000000000000``, which is how JavaScript writes 1e16) as an ``int`` that
``rfc8785`` refuses; an integer written exactly as JCS writes some double is canonicalized as that
double, so proofs made by JavaScript signers still verify. Any other integer beyond ±(2**53 − 1)
(it would be silently rounded), NaN or an infinity cannot be canonicalized (reason ``bad_json``).

Usage::

    canonicalize({"b": 1, "a": [True, None]})   # b'{"a":[true,null],"b":1}'
"""

from __future__ import annotations

from typing import Any

import rfc8785

from protocol.errors import DocumentError

__all__ = ["canonicalize"]

_SAFE_INTEGER = 2**53 - 1


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


def canonicalize(obj: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value.

    Raises:
        DocumentError: ``bad_json`` if the value is not representable in JCS (non-string key,
            unsafe integer, NaN, lone surrogate, non-JSON type); ``too_deep`` if it nests past
            the interpreter's recursion limit.
    """
    try:
        try:
            return rfc8785.dumps(obj)
        except rfc8785.IntegerDomainError:
            # Rare: only documents holding integers beyond 2**53 pay for the second walk.
            return rfc8785.dumps(_exact_doubles(obj))
    except rfc8785.CanonicalizationError as exc:
        raise DocumentError("bad_json", f"cannot canonicalize: {exc}") from exc
    except RecursionError as exc:
        raise DocumentError("too_deep", "document nests too deeply to canonicalize") from exc
