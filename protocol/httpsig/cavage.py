"""draft-cavage-http-signatures-12: parse, build the signing string, sign and verify.

This is the flavour Mastodon, GoToSocial and most of the fediverse speak: a ``Signature`` header
(draft-cavage-12 §4; ``Authorization: Signature …`` of §3 is accepted too) whose ``headers``
parameter lists what the signing string (§2.3) covers. We sign ``rsa-sha256`` with RSA keys and
``hs2019`` with Ed25519 keys, and verify ``rsa-sha256`` and ``hs2019`` (RSA or Ed25519, §2.1.3).

Low-level functions (no policy; the draft's Appendix C vectors go through these)::

    sig = parse_signature_header(value)
    text = build_signing_string("POST", "/foo?x=1", headers, sig.headers)
    verify_signing_string(text, sig.signature, public_key, sig.algorithm)

:func:`sign_cavage` and :func:`verify_cavage` add what our inbox requires; call them through
:func:`protocol.httpsig.sign_request` / :func:`protocol.httpsig.verify_request`.
"""

from __future__ import annotations

import binascii
import re
from base64 import b64encode
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import NamedTuple, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from protocol.digest import digest_header, verify_content_digest, verify_digest
from protocol.errors import SignatureError
from protocol.httpsig._headers import (
    DEFAULT_POLICY,
    HeadersLike,
    HeaderView,
    PrivateKeyLike,
    PublicKey,
    PublicKeyLike,
    VerifyPolicy,
    check_window,
    format_http_date,
    key_kind,
    needs_digest,
    parse_http_date,
    private_key,
    public_key,
    url_parts,
    verification_key,
)

__all__ = [
    "CavageSignature",
    "build_signing_string",
    "format_signature_header",
    "parse_signature_header",
    "sign_cavage",
    "sign_signing_string",
    "signature_value",
    "verify_cavage",
    "verify_signing_string",
]

# Algorithms we verify. "hs2019" means "derive it from the key" (draft-cavage-12 §2.1.3).
_ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})

# One auth-param of §2.1: name "=" quoted-string; created/expires may be bare numbers, as the
# draft's own examples write them (§2.1.4, §2.1.5). Anything else is refused, not skipped.
# The quoted-string is written as an unrolled loop (qdtext* (quoted-pair qdtext*)*): a long
# base64 signature then costs one character-class scan instead of an alternation per character.
_QDTEXT = r"[\t \x21\x23-\x5b\x5d-\x7e]*"
_PARAM = re.compile(
    rf'[ \t]*([A-Za-z][A-Za-z0-9_-]*)=(?:"({_QDTEXT}(?:\\[\t \x21-\x7e]{_QDTEXT})*)"'
    r"|([0-9]+(?:\.[0-9]+)?))[ \t]*(,|\Z)"
)
_INTEGER = re.compile(r"[0-9]{1,15}")
_DECIMAL = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,9})?")
_HEADER_NAME = r"(?:\([a-z]+(?:-[a-z]+)*\)|[!#$%&'*+.^_`|~0-9a-z-]+)"
_HEADER_NAMES = re.compile(rf"{_HEADER_NAME}(?: {_HEADER_NAME})*")
_PKCS1V15 = padding.PKCS1v15()
# Hash algorithm objects are immutable descriptions: one instance serves every call.
_SHA256 = hashes.SHA256()
_SHA512 = hashes.SHA512()
# hs2019 with RSA per the draft's recommendation (§2.1.3): RSASSA-PSS, SHA-512, 64-byte salt.
_PSS_SHA512 = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)
_UNESCAPE = re.compile(r"\\(.)")
# Fast path: the layout Mastodon and sign_cavage write, each value quoted without escapes.
_QDTEXT_PLAIN = r"[\t \x21\x23-\x5b\x5d-\x7e]*"
_COMMON = re.compile(
    rf'keyId="({_QDTEXT_PLAIN})",algorithm="({_QDTEXT_PLAIN})",headers="({_QDTEXT_PLAIN})",'
    r'signature="([A-Za-z0-9+/]*={0,2})"'
)
_SAFE_KEY_ID = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]+")


class CavageSignature(NamedTuple):
    """A parsed ``Signature`` header (draft-cavage-12 §2.1)."""

    key_id: str
    algorithm: str | None  # lower-cased; None when the header omits it
    headers: tuple[str, ...]  # lower-cased; ("date",) when omitted, as Mastodon and §C.1 do
    signature: bytes
    created: str | None = None  # exactly as received: it is signed verbatim as "(created)"
    expires: str | None = None


def signature_value(view: HeaderView) -> str:
    """The ``Signature`` header's value, or that of ``Authorization: Signature …`` (§3).

    Raises ``SignatureError("missing_signature")`` when there is neither.

    >>> from protocol.httpsig import HeaderView
    >>> signature_value(HeaderView({"Authorization": 'Signature keyId="k",signature="c2ln"'}))
    'keyId="k",signature="c2ln"'
    """
    value = view.get_field("signature")
    if value is None:
        authorization = view.get_field("authorization")
        if authorization is None or authorization[:10].lower() != "signature ":
            raise SignatureError("missing_signature", "no Signature header")
        value = authorization[10:]
    return value


def parse_signature_header(value: str) -> CavageSignature:
    """Parse a ``Signature`` header strictly; any doubt raises ``bad_signature_header``.

    Refused: duplicate or unquoted parameters (bar numeric created/expires), text that is not
    a parameter list, a missing ``keyId`` or ``signature``, and a signature that is not base64.
    Well-formed parameters the draft does not define are ignored (§2.1).

    >>> parsed = parse_signature_header('keyId="https://kennis.example/a#k",algorithm="hs2019",'
    ...                                 'headers="(request-target) host",signature="c2ln"')
    >>> parsed.key_id, parsed.headers, parsed.signature
    ('https://kennis.example/a#k', ('(request-target)', 'host'), b'sig')
    """
    common = _COMMON.fullmatch(value)
    if common is not None:
        key_id, algorithm, covered, encoded = common.groups()
        if key_id and encoded:  # else the general path below reports what is missing
            return CavageSignature(
                key_id, algorithm.lower(), _parse_covered(covered), _decode_signature(encoded)
            )
    params: dict[str, str] = {}
    pos, end = 0, len(value)
    while True:
        match = _PARAM.match(value, pos)
        if match is None:
            raise _bad(f"not a parameter list at offset {pos}")
        name, quoted, bare, separator = match.groups()
        if name in params:
            raise _bad(f"duplicate parameter {name!r}")
        if bare is not None and name not in ("created", "expires"):
            raise _bad(f"parameter {name!r} must be a quoted string")
        text = bare if bare is not None else quoted
        if "\\" in text:
            text = _UNESCAPE.sub(r"\1", text)
        params[name] = text
        pos = match.end()
        if not separator:
            if pos != end:
                raise _bad("trailing text after the parameters")
            break
        if pos == end:
            raise _bad("trailing comma")
    key_id = params.get("keyId")
    encoded = params.get("signature")
    if not key_id or not encoded:
        raise _bad("keyId and signature are required")
    signature = _decode_signature(encoded)
    covered = ("date",) if "headers" not in params else _parse_covered(params["headers"])
    created, expires = params.get("created"), params.get("expires")
    if created is not None and _INTEGER.fullmatch(created) is None:
        raise _bad("created must be an integer Unix time")
    if expires is not None and _DECIMAL.fullmatch(expires) is None:
        raise _bad("expires must be a Unix time")
    algorithm = params.get("algorithm")
    return CavageSignature(
        key_id=key_id,
        algorithm=None if algorithm is None else algorithm.lower(),
        headers=covered,
        signature=signature,
        created=created,
        expires=expires,
    )


def _decode_signature(encoded: str) -> bytes:
    try:  # what b64decode(validate=True) does, without its wrapper
        signature = binascii.a2b_base64(encoded, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise _bad("signature is not base64") from exc
    if not signature:
        raise _bad("signature is empty")
    return signature


@lru_cache(maxsize=64)  # a sender signs the same list every time
def _parse_covered(text: str) -> tuple[str, ...]:
    lowered = text.lower()
    if _HEADER_NAMES.fullmatch(lowered) is None:
        raise _bad(f"malformed headers parameter {text!r}")
    names = tuple(lowered.split(" "))
    if len(set(names)) != len(names):
        raise _bad("headers parameter lists a header twice")
    return names


def _bad(detail: str) -> SignatureError:
    return SignatureError("bad_signature_header", detail)


def build_signing_string(
    method: str,
    target: str,
    headers: HeadersLike,
    covered: Sequence[str],
    *,
    created: str | None = None,
    expires: str | None = None,
    default_host: str | None = None,
) -> str:
    """Build the signing string of draft-cavage-12 §2.3.

    ``target`` is the request target (path and query); ``default_host`` stands in for a
    ``Host`` header the mapping lacks. Raises ``missing_component`` for an absent header.

    >>> print(build_signing_string("POST", "/inbox", {"Host": "lvkk.example", "Date": "x"},
    ...                            ["(request-target)", "host", "date"]))
    (request-target): post /inbox
    host: lvkk.example
    date: x
    """
    get_field = HeaderView(headers).get_field
    return _signing_string(method, target, get_field, covered, created, expires, default_host)


def _signing_string(
    method: str,
    target: str,
    get_field: Callable[[str], str | None],
    covered: Sequence[str],
    created: str | None,
    expires: str | None,
    default_host: str | None,
) -> str:
    lines = []
    for name in covered:
        if name == "(request-target)":
            value: str | None = f"{method.lower()} {target}"
        elif name == "(created)":
            value = created
        elif name == "(expires)":
            value = expires
        else:
            value = get_field(name)
            if value is None and name == "host":
                value = default_host
        if value is None:
            raise SignatureError("missing_component", f"signed header {name!r} is missing")
        lines.append(f"{name}: {value}")
    return "\n".join(lines)


def sign_signing_string(signing_string: str, key: PrivateKeyLike) -> bytes:
    """Sign with RSASSA-PKCS1-v1_5 SHA-256 (RSA keys) or Ed25519 (Ed25519 keys).

    >>> from protocol.keys import generate_ed25519
    >>> key = generate_ed25519()
    >>> signature = sign_signing_string("host: lvkk.example", key)
    >>> len(signature)
    64
    """
    signer = private_key(key)
    data = signing_string.encode()
    if key_kind(signer) == "rsa":
        return cast(rsa.RSAPrivateKey, signer).sign(data, _PKCS1V15, _SHA256)
    return cast(ed25519.Ed25519PrivateKey, signer).sign(data)


def verify_signing_string(
    signing_string: str, signature: bytes, key: PublicKeyLike, algorithm: str | None
) -> None:
    """Verify a signing string; raises ``unsupported_algorithm``, ``key_mismatch`` or
    ``invalid_signature``. Any key size is accepted here; policy lives in :func:`verify_cavage`.

    >>> from protocol.keys import generate_ed25519
    >>> key = generate_ed25519()
    >>> signature = sign_signing_string("host: lvkk.example", key)
    >>> verify_signing_string("host: lvkk.example", signature, key.public_key(), "hs2019")
    >>> verify_signing_string("host: elders.example", signature, key.public_key(), "hs2019")
    Traceback (most recent call last):
    ...
    protocol.errors.SignatureError: invalid_signature: the signature does not verify
    """
    checked = _checked_algorithm(algorithm)
    verifier = public_key(key)
    _verify(signing_string.encode(), signature, verifier, cast(str, key_kind(verifier)), checked)


def _checked_algorithm(algorithm: str | None) -> str | None:
    if algorithm is not None and algorithm not in _ALGORITHMS:
        raise SignatureError("unsupported_algorithm", f"algorithm {algorithm!r} is not supported")
    return algorithm


def _verify(
    data: bytes, signature: bytes, key: PublicKey, kind: str, algorithm: str | None
) -> None:
    try:
        if kind == "rsa":
            rsa_key = cast(rsa.RSAPublicKey, key)
            try:
                rsa_key.verify(signature, data, _PKCS1V15, _SHA256)
            except InvalidSignature:
                if algorithm != "hs2019":
                    raise
                # hs2019 with RSA is PKCS#1 v1.5 in practice (Mastodon, GoToSocial), RSASSA-PSS
                # SHA-512 in the draft's own recommendation (§2.1.3): accept either.
                rsa_key.verify(signature, data, _PSS_SHA512, _SHA512)
        elif kind == "ed25519":
            if algorithm == "rsa-sha256":
                raise SignatureError("key_mismatch", "rsa-sha256 signature, Ed25519 key")
            cast(ed25519.Ed25519PublicKey, key).verify(signature, data)
        else:
            raise SignatureError("key_mismatch", f"cannot verify cavage with {type(key).__name__}")
    except InvalidSignature as exc:
        raise SignatureError("invalid_signature", "the signature does not verify") from exc


def format_signature_header(
    key_id: str,
    algorithm: str,
    covered: Sequence[str] | None,
    signature: bytes,
    *,
    created: str | None = None,
    expires: str | None = None,
) -> str:
    """Serialize a ``Signature`` header: ``keyId="…",algorithm="…",headers="…",signature="…"``.

    >>> format_signature_header("https://kennis.example/a#k", "hs2019", ["(request-target)", "host"],
    ...                         b"sig")
    'keyId="https://kennis.example/a#k",algorithm="hs2019",headers="(request-target) host",signature="c2ln"'
    """
    parts = [f"keyId={_quoted_key_id(key_id)}", f'algorithm="{algorithm}"']
    if created is not None:
        parts.append(f"created={created}")
    if expires is not None:
        parts.append(f"expires={expires}")
    if covered is not None:
        parts.append(f'headers="{" ".join(covered)}"')
    parts.append(f'signature="{b64encode(signature).decode("ascii")}"')
    return ",".join(parts)


@lru_cache(maxsize=64)
def _quoted_key_id(key_id: str) -> str:
    if _SAFE_KEY_ID.fullmatch(key_id) is None:
        raise SignatureError("bad_signature_header", "key id must be printable ASCII, no quotes")
    return f'"{key_id}"'


def sign_cavage(
    method: str,
    url: str,
    headers: HeadersLike,
    body: bytes | None,
    key: PrivateKeyLike,
    key_id: str,
    now: float,
) -> dict[str, str]:
    """Sign a request as Mastodon expects; return the headers to add.

    Covers ``(request-target) host date``, plus ``digest`` when the request has content.
    ``Date`` and ``Host`` are reused when present, else added.

    >>> from protocol.keys import generate_ed25519
    >>> key = generate_ed25519()
    >>> added = sign_cavage("POST", "https://lvkk.example/inbox", {}, b"{}", key,
    ...                     "https://kennis.example/a#k", now=1_714_564_800.0)
    >>> added["Date"]
    'Wed, 01 May 2024 12:00:00 GMT'
    """
    signer = private_key(key)
    view = HeaderView(headers)
    parts = url_parts(url)
    added: dict[str, str] = {}
    host = view.get_field("host")
    if host is None:
        host = added["Host"] = parts.authority
    date = view.get_field("date")
    if date is None:
        date = added["Date"] = format_http_date(now)
    covered = ["(request-target)", "host", "date"]
    lines = [f"(request-target): {method.lower()} {parts.request_target}", f"host: {host}"]
    lines.append(f"date: {date}")
    if needs_digest(method, body):
        digest = added["Digest"] = digest_header(body or b"")
        covered.append("digest")
        lines.append(f"digest: {digest}")
    signature = sign_signing_string("\n".join(lines), signer)
    algorithm = "rsa-sha256" if key_kind(signer) == "rsa" else "hs2019"
    added["Signature"] = format_signature_header(key_id, algorithm, covered, signature)
    return added


def verify_cavage(
    method: str,
    url: str,
    view: HeaderView,
    body: bytes | None,
    key: PublicKeyLike,
    *,
    now: float,
    policy: VerifyPolicy = DEFAULT_POLICY,
    parsed: CavageSignature | None = None,
) -> str:
    """Verify a cavage-signed request under our inbox policy; return the key id.

    Requires ``(request-target)``, ``host``, ``date`` (or ``(created)``, as Mastodon allows)
    and, for a request with content, ``digest`` (or ``content-digest``) matching the body.
    ``parsed`` is the request's already parsed ``Signature`` header, if the caller has it.

    >>> from protocol.keys import generate_ed25519
    >>> key = generate_ed25519()
    >>> from protocol.httpsig import HeaderView
    >>> url, now = "https://lvkk.example/inbox", 1_714_564_800.0
    >>> added = sign_cavage("POST", url, {}, b"{}", key, "https://kennis.example/a#k", now=now)
    >>> verify_cavage("POST", url, HeaderView(added), b"{}", key.public_key(), now=now)
    'https://kennis.example/a#k'
    """
    sig = parsed or parse_signature_header(signature_value(view))
    algorithm = _checked_algorithm(sig.algorithm)
    covered = sig.headers
    for required in ("(request-target)", "host"):
        if required not in covered:
            raise SignatureError("missing_component", f"the signature must cover {required}")
    if "date" not in covered and "(created)" not in covered:
        raise SignatureError("missing_component", "the signature must cover date or (created)")
    digests = [name for name in ("digest", "content-digest") if name in covered]
    if not digests and needs_digest(method, body):
        raise SignatureError("missing_component", "the signature must cover digest")
    verifier, kind = verification_key(key, policy)
    if algorithm == "rsa-sha256" and kind != "rsa":
        raise SignatureError("key_mismatch", "rsa-sha256 signature needs an RSA key")
    _check_time(sig, view, now, policy)
    get_field = view.get_field
    for name in digests:
        check = verify_digest if name == "digest" else verify_content_digest
        check(get_field(name), body or b"")
    parts = url_parts(url)
    signing_string = _signing_string(
        method, parts.request_target, get_field, covered, sig.created, sig.expires, parts.authority
    )
    _verify(signing_string.encode(), sig.signature, verifier, kind, algorithm)
    return sig.key_id


def _check_time(sig: CavageSignature, view: HeaderView, now: float, policy: VerifyPolicy) -> None:
    created: float | None = None
    if "date" in sig.headers:
        date = view.get_field("date")
        if date is None:
            raise SignatureError("missing_component", "signed header 'date' is missing")
        created = parse_http_date(date)
    if "(created)" in sig.headers:
        if sig.created is None:
            raise _bad("(created) is signed but the created parameter is missing")
        created = float(sig.created)
    expires: float | None = None
    if "(expires)" in sig.headers:
        if sig.expires is None:
            raise _bad("(expires) is signed but the expires parameter is missing")
        expires = float(sig.expires)
    if created is None:  # unreachable through verify_cavage, which requires one of them
        raise SignatureError("missing_component", "the signature must cover date or (created)")
    check_window(created, expires, now, policy)
