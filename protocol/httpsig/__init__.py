"""HTTP signatures, both flavours: draft-cavage-12 (what the fediverse speaks) and RFC 9421.

This module is the front door: sign an outgoing request, find out which key signed an incoming
one, and verify it under our inbox policy (Mastodon's, see :class:`VerifyPolicy`). The flavour
modules hold the spec-level pieces: :mod:`protocol.httpsig.cavage` (draft-cavage-12 §2–§4) and
:mod:`protocol.httpsig.rfc9421` (RFC 9421 §2–§4, with RFC 9530 ``Content-Digest``).

Usage::

    from protocol.httpsig import key_id_of, sign_request, verify_request

    added = sign_request("POST", inbox_url, {"Content-Type": ct}, body, key, key_id)
    # ... send with headers | added ...

    key_id = key_id_of(request_headers)          # fetch (or look up) this key, then:
    verify_request("POST", url, request_headers, body, public_key)  # raises SignatureError

A server that reads the key id before verifying parses the headers once and passes the value on::

    signed = parse_signed_request(request_headers)   # raises SignatureError if unreadable
    public_key = look_up(signed.key_id)
    verify_signed_request("POST", url, signed, body, public_key)

``headers`` may be any mapping (``dict``, ``httpx.Headers``, starlette ``Headers``) or a list of
``(name, value)`` pairs; names are case-insensitive. Keys are ``cryptography`` key objects or
PEM text. Every failure of a request's verification raises :class:`SignatureError` with a stable
``reason`` (see :mod:`protocol.errors`); a body that does not match its digest raises
:class:`protocol.errors.DigestError`, a kind of ``SignatureError`` (``digest_mismatch``). Only a
``public_key`` that cannot be used at all raises :class:`protocol.errors.KeyFormatError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from protocol.errors import SignatureError
from protocol.httpsig._headers import (
    DEFAULT_POLICY,
    HeadersLike,
    HeaderView,
    PrivateKeyLike,
    PublicKeyLike,
    VerifyPolicy,
    epoch_of,
)
from protocol.httpsig.cavage import (
    CavageSignature,
    parse_signature_header,
    sign_cavage,
    signature_value,
    verify_cavage,
)
from protocol.httpsig.rfc9421 import (
    SelectedSignature,
    select_signature,
    sign_rfc9421,
    verify_rfc9421,
)

__all__ = [
    "Flavour",
    "HeaderView",
    "HeadersLike",
    "PrivateKeyLike",
    "PublicKeyLike",
    "SignatureError",
    "SignedRequest",
    "VerifyPolicy",
    "flavour_of",
    "key_id_of",
    "parse_signed_request",
    "sign_request",
    "verify_request",
    "verify_signed_request",
]

Flavour = Literal["cavage", "rfc9421"]


def sign_request(
    method: str,
    url: str,
    headers: HeadersLike,
    body: bytes | None,
    private_key: PrivateKeyLike,
    key_id: str,
    *,
    flavour: Flavour = "cavage",
    now: datetime | None = None,
) -> dict[str, str]:
    """Sign a request; return the headers to add (the input is never changed).

    - ``cavage``: ``Signature`` over ``(request-target) host date`` (+ ``digest`` with content),
      ``rsa-sha256`` for RSA keys, ``hs2019`` for Ed25519; adds ``Date``/``Host`` when absent
      and ``Digest`` with content.
    - ``rfc9421``: ``Signature-Input``/``Signature`` (label ``sig1``) over ``@method``,
      ``@target-uri`` (+ ``content-digest``), ``ed25519`` or ``rsa-v1_5-sha256``; adds
      ``Content-Digest`` with content.

    A request has content when ``body`` is non-empty or the method is POST, PUT or PATCH.
    ``headers`` are only read (for cavage's ``Date`` and ``Host``); merge the result yourself:
    ``{**headers, **sign_request(...)}``.

    >>> from protocol.keys import generate_ed25519
    >>> key = generate_ed25519()
    >>> inbox = "https://lvkk.example/inbox"
    >>> headers = sign_request("POST", inbox, {}, b"{}", key, "https://kennis.example/a#k")
    >>> sorted(headers)
    ['Date', 'Digest', 'Host', 'Signature']
    >>> sorted(sign_request("POST", inbox, {}, b"{}", key, "https://kennis.example/a#k",
    ...                     flavour="rfc9421"))
    ['Content-Digest', 'Signature', 'Signature-Input']
    """
    epoch = epoch_of(now)
    if flavour == "rfc9421":
        return sign_rfc9421(method, url, body, private_key, key_id, epoch)
    if flavour == "cavage":
        return sign_cavage(method, url, headers, body, private_key, key_id, epoch)
    raise ValueError(f"unknown signature flavour {flavour!r}")


def flavour_of(headers: HeadersLike) -> Flavour:
    """Which flavour signed a request: ``rfc9421`` when ``Signature-Input`` is present.

    Raises ``SignatureError("missing_signature")`` for an unsigned request.

    >>> from protocol.keys import generate_ed25519
    >>> key = generate_ed25519()
    >>> inbox = "https://lvkk.example/inbox"
    >>> headers = sign_request("POST", inbox, {}, b"{}", key, "https://kennis.example/a#k")
    >>> flavour_of(headers)
    'cavage'
    """
    return _flavour(HeaderView(headers))


def _flavour(view: HeaderView) -> Flavour:
    if view.get_field("signature-input") is not None:
        return "rfc9421"
    if view.get_field("signature") is not None:
        return "cavage"
    authorization = view.get_field("authorization")
    if authorization is not None and authorization[:10].lower() == "signature ":
        return "cavage"
    raise SignatureError("missing_signature", "the request is not signed")


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """An incoming request's signature, parsed once (:func:`parse_signed_request`).

    ``headers`` is the request's header view, kept for the covered fields the verifier reads;
    ``signature`` the parsed ``Signature`` header (cavage) or selected member (RFC 9421).
    """

    headers: HeaderView
    flavour: Flavour
    key_id: str
    signature: CavageSignature | SelectedSignature


def parse_signed_request(headers: HeadersLike) -> SignedRequest:
    """Parse a request's signature fields, strictly, into what verifying needs.

    For RFC 9421 the signature verified is the first ``Signature-Input`` member's. Raises
    ``SignatureError``: ``missing_signature`` for an unsigned request, ``bad_signature_header``
    for one whose fields are malformed or lack a key id.

    >>> from protocol.keys import generate_ed25519
    >>> key = generate_ed25519()
    >>> inbox = "https://lvkk.example/inbox"
    >>> headers = sign_request("POST", inbox, {}, b"{}", key, "https://kennis.example/a#k")
    >>> signed = parse_signed_request(headers)
    >>> signed.key_id, signed.flavour
    ('https://kennis.example/a#k', 'cavage')
    """
    view = HeaderView(headers)
    if _flavour(view) == "rfc9421":
        selected = select_signature(view)
        return SignedRequest(view, "rfc9421", selected.keyid, selected)
    parsed = parse_signature_header(signature_value(view))
    return SignedRequest(view, "cavage", parsed.key_id, parsed)


def key_id_of(headers: HeadersLike) -> str:
    """Return the id of the key that signed a request, to fetch before verifying.

    For RFC 9421 this is the ``keyid`` of the first ``Signature-Input`` member. A server that
    goes on to verify the request keeps :func:`parse_signed_request`'s value instead.

    >>> from protocol.keys import generate_ed25519
    >>> key = generate_ed25519()
    >>> inbox = "https://lvkk.example/inbox"
    >>> headers = sign_request("POST", inbox, {}, b"{}", key, "https://kennis.example/a#k")
    >>> key_id_of(headers)
    'https://kennis.example/a#k'
    """
    return parse_signed_request(headers).key_id


def verify_request(
    method: str,
    url: str,
    headers: HeadersLike,
    body: bytes | None,
    public_key: PublicKeyLike,
    *,
    now: datetime | None = None,
    policy: VerifyPolicy | None = None,
) -> str:
    """Verify a signed request of either flavour under ``policy``; return the key id.

    ``url`` is the absolute URL the request was received at; ``body`` its exact bytes.
    Raises :class:`SignatureError` for every failure of the request, a body that does not
    match its ``Digest``/``Content-Digest`` included (``DigestError``, its subclass, reason
    ``digest_mismatch``); ``KeyFormatError`` only for a ``public_key`` that cannot be used.

    >>> from protocol.keys import generate_ed25519
    >>> key = generate_ed25519()
    >>> inbox = "https://lvkk.example/inbox"
    >>> headers = sign_request("POST", inbox, {}, b"{}", key, "https://kennis.example/a#k")
    >>> verify_request("POST", inbox, headers, b"{}", key.public_key())
    'https://kennis.example/a#k'
    >>> verify_request("POST", inbox, headers, b"[]", key.public_key())
    Traceback (most recent call last):
    ...
    protocol.errors.DigestError: digest_mismatch: the sha-256 digest does not match the body
    """
    return verify_signed_request(method, url, parse_signed_request(headers), body, public_key,
                                 now=now, policy=policy)


def verify_signed_request(
    method: str,
    url: str,
    signed: SignedRequest,
    body: bytes | None,
    public_key: PublicKeyLike,
    *,
    now: datetime | None = None,
    policy: VerifyPolicy | None = None,
) -> str:
    """:func:`verify_request` for a request whose signature is already parsed.

    >>> from protocol.keys import generate_ed25519
    >>> key = generate_ed25519()
    >>> inbox = "https://lvkk.example/inbox"
    >>> headers = sign_request("POST", inbox, {}, b"{}", key, "https://kennis.example/a#k")
    >>> signed = parse_signed_request(headers)   # key_id read once, key looked up, then:
    >>> verify_signed_request("POST", inbox, signed, b"{}", key.public_key())
    'https://kennis.example/a#k'
    """
    epoch = epoch_of(now)
    chosen = policy or DEFAULT_POLICY
    sig = signed.signature
    if isinstance(sig, SelectedSignature):
        return verify_rfc9421(method, url, signed.headers, body, public_key, now=epoch,
                              policy=chosen, parsed=sig)
    return verify_cavage(method, url, signed.headers, body, public_key, now=epoch,
                         policy=chosen, parsed=sig)
