"""Body digests for signed requests: ``Digest`` (RFC 3230) and ``Content-Digest`` (RFC 9530).

A signature covers the digest header, and the digest binds the body; this module builds both
headers and checks a received one against the body.

- ``Digest: SHA-256=<base64>`` is what Mastodon, GoToSocial and most of the fediverse send with
  draft-cavage signatures (RFC 3230 §4.3.2 instance digests, comma separated; algorithm names are
  case-insensitive, RFC 3230 §4.1.1).
- ``Content-Digest: sha-256=:<base64>:`` is the RFC 9530 §2 structured-field Dictionary that
  goes with RFC 9421 signatures; ``sha-256`` and ``sha-512`` are accepted (RFC 9530 §5).

Usage::

    headers["Digest"] = digest_header(body)
    verify_digest(request_headers.get("digest"), body)  # raises DigestError

Every failure raises :class:`protocol.errors.DigestError` with reason ``missing_digest``,
``bad_digest``, ``unsupported_digest`` or ``digest_mismatch``.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import re
from base64 import b64decode, b64encode
from collections.abc import Callable

from http_sfv.dictionary import Dictionary
from http_sfv.item import Item

from protocol.errors import DigestError

__all__ = [
    "content_digest_header",
    "digest_header",
    "verify_content_digest",
    "verify_digest",
]

# Algorithm name (lower case) -> hash function. RFC 9530 §5 marks sha-256 and sha-512 "Active";
# RFC 3230 names are the same strings in upper case.
_HASHES: dict[str, Callable[[bytes], bytes]] = {
    "sha-256": lambda data: hashlib.sha256(data).digest(),
    "sha-512": lambda data: hashlib.sha512(data).digest(),
}
_SIZES = {"sha-256": 32, "sha-512": 64}

# The one shape nearly every sender uses, checked without the general structured-field parser.
_FAST_DIGEST = re.compile(r"[Ss][Hh][Aa]-256=([A-Za-z0-9+/]{43}=)")
_FAST_CONTENT_DIGEST = re.compile(r"(sha-256|sha-512)=:([A-Za-z0-9+/]*={0,2}):")


def digest_header(body: bytes) -> str:
    """Return the RFC 3230 ``Digest`` value for ``body``: ``SHA-256=<base64>``.

    >>> digest_header(b'{"hello": "world"}')
    'SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE='
    """
    return "SHA-256=" + b64encode(hashlib.sha256(body).digest()).decode("ascii")


def content_digest_header(body: bytes, algorithm: str = "sha-256") -> str:
    """Return the RFC 9530 ``Content-Digest`` value for ``body``: ``sha-256=:<base64>:``.

    ``algorithm`` is ``"sha-256"`` (default) or ``"sha-512"``; anything else raises
    ``DigestError("unsupported_digest")``.

    >>> content_digest_header(b"{}")
    'sha-256=:RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o=:'
    """
    hash_fn = _HASHES.get(algorithm)
    if hash_fn is None:
        raise DigestError("unsupported_digest", f"cannot compute a {algorithm!r} digest")
    return f"{algorithm}=:{b64encode(hash_fn(body)).decode('ascii')}:"


def verify_digest(value: str | None, body: bytes) -> None:
    """Check an RFC 3230 ``Digest`` header value against ``body``, or raise ``DigestError``.

    Every supported algorithm listed must match; unknown algorithms are ignored, but at least
    one supported algorithm must be present.

    >>> verify_digest(digest_header(b"{}"), b"{}")
    >>> verify_digest(None, b"{}")
    Traceback (most recent call last):
    ...
    protocol.errors.DigestError: missing_digest: the Digest header is missing
    """
    if value is None or not value.strip():
        raise DigestError("missing_digest", "the Digest header is missing")
    fast = _FAST_DIGEST.fullmatch(value)
    if fast is not None:  # what Mastodon sends: one SHA-256 instance
        _compare("sha-256", _decode(fast.group(1), "sha-256", checked=True), body)
        return
    checked = False
    for part in value.split(","):
        name, sep, encoded = part.strip().partition("=")
        if not sep or not name or not encoded:
            raise DigestError("bad_digest", f"malformed Digest instance {part.strip()!r}")
        # interop(mastodon): Mastodon sends "SHA-256", others "sha-256" (RFC 3230 §4.1.1).
        algorithm = name.lower()
        if algorithm not in _HASHES:
            continue
        _compare(algorithm, _decode(encoded, algorithm), body)
        checked = True
    if not checked:
        raise DigestError("unsupported_digest", f"no supported algorithm in Digest {value!r}")


def verify_content_digest(value: str | None, body: bytes) -> None:
    """Check an RFC 9530 ``Content-Digest`` header value against ``body``, or raise ``DigestError``.

    The value is a structured-field Dictionary of byte sequences (RFC 9530 §2). Every
    supported algorithm listed must match; unknown ones are ignored (RFC 9530 §2), but at
    least one supported algorithm must be present.

    >>> verify_content_digest(content_digest_header(b"{}"), b"{}")
    >>> verify_content_digest(content_digest_header(b"{}"), b"[]")
    Traceback (most recent call last):
    ...
    protocol.errors.DigestError: digest_mismatch: the sha-256 digest does not match the body
    """
    if value is None or not value.strip():
        raise DigestError("missing_digest", "the Content-Digest header is missing")
    fast = _FAST_CONTENT_DIGEST.fullmatch(value.strip())
    if fast is not None:
        algorithm = fast.group(1)
        _compare(algorithm, _decode(fast.group(2), algorithm, checked=True), body)
        return
    members = _parse_dictionary(value)
    checked = False
    for algorithm, member in members.items():
        if algorithm not in _HASHES:
            continue
        if not isinstance(member, Item) or not isinstance(member.value, bytes):
            raise DigestError("bad_digest", f"Content-Digest {algorithm} is not a byte sequence")
        if len(member.value) != _SIZES[algorithm]:
            raise DigestError("bad_digest", f"Content-Digest {algorithm} has the wrong length")
        _compare(algorithm, member.value, body)
        checked = True
    if not checked:
        raise DigestError("unsupported_digest", f"no supported algorithm in {value!r}")


def _parse_dictionary(value: str) -> Dictionary:
    members = Dictionary()
    try:
        members.parse(value.encode("ascii"))
    except (ValueError, UnicodeError) as exc:
        raise DigestError("bad_digest", f"Content-Digest is not a structured dictionary: {exc}") from exc
    return members


def _decode(encoded: str, algorithm: str, *, checked: bool = False) -> bytes:
    """Decode base64; ``checked`` when a pattern already limited it to the base64 alphabet."""
    try:
        raw = binascii.a2b_base64(encoded) if checked else b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DigestError("bad_digest", f"{algorithm} digest is not valid base64") from exc
    if len(raw) != _SIZES[algorithm]:
        raise DigestError("bad_digest", f"{algorithm} digest has the wrong length")
    return raw


def _compare(algorithm: str, expected: bytes, body: bytes) -> None:
    if not hmac.compare_digest(_HASHES[algorithm](body), expected):
        raise DigestError("digest_mismatch", f"the {algorithm} digest does not match the body")
