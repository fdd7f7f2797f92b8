"""Origins of IRIs, normalised once (FEP-fe34: the host of an ``id`` is its only authority).

Hosts are compared only after one normalisation: lower-cased, a trailing dot removed,
internationalised names in their ASCII (IDNA/punycode) form, default ports dropped. An origin is
``scheme://host[:port]``.

Usage::

    origin_of("https://Kennis.Example.:443/actors/drenthe")  # 'https://kennis.example'
    same_origin("https://a.example/x", "https://A.example/y")  # True
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from protocol.errors import DocumentError

_DEFAULT_PORTS = {"http": 80, "https": 443}
# What a DNS name (letters, digits, hyphen; underscore as some services use) or an IPv4
# address looks like once in ASCII; anything else cannot be compared safely.
_HOST_CHARS = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")


def normalise_host(host: str) -> str:
    """A host name in its one comparable form; raises DocumentError(bad_id) if it is not one.

    Applying it twice gives the same answer: a host with white space inside is refused, and the
    trailing dot is removed again after IDNA (which turns an ideographic full stop into ".").
    """
    host = host.strip().rstrip(".").lower()
    if not host or any(ch.isspace() for ch in host):
        raise DocumentError("bad_id", f"invalid host name {host[:100]!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:  # an IPv6 literal, in its one compressed form
        try:
            return ipaddress.IPv6Address(host.split("%")[0]).compressed
        except ValueError as exc:
            raise DocumentError("bad_id", f"invalid host name {host[:100]!r}") from exc
    try:
        ascii_host = host.encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError as exc:
        raise DocumentError("bad_id", f"invalid host name {host[:100]!r}") from exc
    if not ascii_host or not _HOST_CHARS.fullmatch(ascii_host):
        raise DocumentError("bad_id", f"invalid host name {host[:100]!r}")
    return ascii_host


def authority_of(iri: str) -> str:
    """``host[:port]`` of an http(s) IRI, normalised, default port dropped."""
    try:
        parts = urlsplit(iri)
    except ValueError as exc:  # a broken IPv6 literal, a netloc invalid under NFKC
        raise DocumentError("bad_id", f"not an IRI: {iri[:200]!r}") from exc
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise DocumentError("bad_id", f"not an http(s) IRI: {iri[:200]!r}")
    try:
        port = parts.port
    except ValueError as exc:
        raise DocumentError("bad_id", f"invalid port in {iri[:200]!r}") from exc
    host = normalise_host(parts.hostname)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[parts.scheme]:
        return host
    return f"{host}:{port}"


def origin_of(iri: str) -> str:
    """``scheme://authority`` of an http(s) IRI, normalised."""
    authority = authority_of(iri)
    return f"{urlsplit(iri).scheme.lower()}://{authority}"


def same_origin(a: str, b: str) -> bool:
    """Whether two IRIs have the same normalised origin (False if either is not an IRI)."""
    try:
        return origin_of(a) == origin_of(b)
    except DocumentError:
        return False
