"""Origins of IRIs, normalised once (FEP-fe34: the host of an ``id`` is its only authority).

Hosts are compared only after one normalisation: lower-cased, a trailing dot removed,
internationalised names in their ASCII (IDNA/punycode) form, default ports dropped. An origin is
``scheme://host[:port]``.

Usage::

    origin_of("https://Kennis.Example.:443/actors/drenthe")  # 'https://kennis.example'
    same_origin("https://a.example/x", "https://A.example/y")  # True
"""

from __future__ import annotations

from urllib.parse import urlsplit

from protocol.errors import DocumentError

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_host(host: str) -> str:
    """A host name in its one comparable form; raises DocumentError(bad_id) if it is not one."""
    host = host.strip().rstrip(".").lower()
    if not host:
        raise DocumentError("bad_id", "empty host")
    if host.startswith("[") and host.endswith("]"):
        return host
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise DocumentError("bad_id", f"invalid host name {host!r}") from exc
    return ascii_host.lower()


def authority_of(iri: str) -> str:
    """``host[:port]`` of an http(s) IRI, normalised, default port dropped."""
    parts = urlsplit(iri)
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
    scheme = urlsplit(iri).scheme.lower()
    return f"{scheme}://{authority_of(iri)}"


def same_origin(a: str, b: str) -> bool:
    """Whether two IRIs have the same normalised origin (False if either is not an IRI)."""
    try:
        return origin_of(a) == origin_of(b)
    except DocumentError:
        return False
