"""Origins of IRIs, normalised once (FEP-fe34: the host of an ``id`` is its only authority).

Hosts are compared only in the form the HTTP client connects to: lower-cased, a trailing dot
removed, internationalised names in their ASCII form per IDNA 2008 with the UTS #46 mapping
(non-transitional, so ``straße.de`` is ``xn--strae-oqa.de``, never ``strasse.de``), default ports
dropped. An origin is ``scheme://host[:port]``. :func:`normalise_host` is the one place this is
done; every comparison of hosts or origins in the node goes through it.

>>> origin_of("https://Kennis.Example.:443/actors/drenthe")
'https://kennis.example'
>>> authority_of("https://Straße.de:8443/x")
'xn--strae-oqa.de:8443'
>>> same_origin("https://a.example/x", "https://A.example/y")
True
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import urlsplit

import idna

from protocol.errors import DocumentError

__all__ = ["authority_of", "normalise_host", "origin_of", "same_origin"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
# What a DNS name (letters, digits, hyphen; underscore as some services use) or an IPv4
# address looks like once in ASCII; anything else cannot be compared safely.
_HOST_CHARS = re.compile(r"[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63})*")
_MAX_HOST = 253  # RFC 1035 §2.3.4, without the trailing dot


def _invalid(host: str, why: str = "") -> DocumentError:
    return DocumentError("bad_id", f"invalid host name {host[:100]!r}" + (f": {why}" if why else ""))


@lru_cache(maxsize=4096)
def normalise_host(host: str) -> str:
    """A host name in its one comparable form; raises ``DocumentError("bad_id")`` if it is not one.

    An ASCII name is lower-cased as it is (as httpx does before it connects), but an A-label
    (``xn--…``) in it must be valid IDNA; a name with other characters goes through IDNA 2008
    with the UTS #46 mapping (case folding, full-width forms, ideographic full stops). Applying
    it twice gives the same answer.

    >>> normalise_host("Straße.DE.")
    'xn--strae-oqa.de'
    >>> normalise_host("[::FFFF:1.2.3.4]")
    '::ffff:102:304'
    >>> normalise_host("xn--zz.example")
    Traceback (most recent call last):
    ...
    protocol.errors.DocumentError: bad_id: invalid host name 'xn--zz.example': bad A-label 'xn--zz'
    """
    text = host.strip().rstrip(".")
    if not text or any(ch.isspace() for ch in text):
        raise _invalid(host)
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:  # an IPv6 literal, in its one compressed form
        try:
            return ipaddress.IPv6Address(text.split("%")[0]).compressed
        except ValueError as exc:
            raise _invalid(host) from exc
    if text.isascii():
        ascii_host = text.lower()
        for label in ascii_host.split("."):
            if label.startswith("xn--"):
                _check_a_label(host, label)
    else:
        try:
            ascii_host = idna.encode(text, uts46=True).decode("ascii").rstrip(".")
        except idna.IDNAError as exc:
            raise _invalid(host, str(exc)) from exc
    if len(ascii_host) > _MAX_HOST or not _HOST_CHARS.fullmatch(ascii_host):
        raise _invalid(host)
    return ascii_host


def _check_a_label(host: str, label: str) -> None:
    try:
        idna.decode(label)
    except idna.IDNAError as exc:
        raise _invalid(host, f"bad A-label {label[:70]!r}") from exc


@lru_cache(maxsize=4096)  # an inbox request asks it some twenty times, mostly of the same IRIs
def authority_of(iri: str) -> str:
    """``host[:port]`` of an http(s) IRI, normalised, default port dropped.

    >>> authority_of("https://Straße.de:443/actors/x")
    'xn--strae-oqa.de'
    >>> authority_of("http://127.0.0.1:8000/")
    '127.0.0.1:8000'
    """
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
    """``scheme://authority`` of an http(s) IRI, normalised.

    >>> origin_of("HTTPS://Kennis.Example.:443/actors/drenthe")
    'https://kennis.example'
    """
    authority = authority_of(iri)
    return f"{urlsplit(iri).scheme.lower()}://{authority}"


def same_origin(a: str, b: str) -> bool:
    """Whether two IRIs have the same normalised origin (False if either is not an IRI).

    >>> same_origin("https://straße.de/a", "https://xn--strae-oqa.de/b")
    True
    >>> same_origin("https://straße.de/a", "https://strasse.de/a")
    False
    """
    try:
        return origin_of(a) == origin_of(b)
    except DocumentError:
        return False
