"""RFC 9421 HTTP Message Signatures: parse, build the signature base, sign and verify.

``Signature-Input`` and ``Signature`` are structured-field Dictionaries (RFC 9421 §4.1, §4.2,
RFC 8941). We sign ``ed25519`` and ``rsa-v1_5-sha256`` and also verify ``rsa-pss-sha512`` and
``ecdsa-p256-sha256`` (§3.3). The signature base (§2.5) ends with ``@signature-params``, the
serialization of the received member: its parameter order is part of the signed bytes.

Low-level functions (no policy; Appendix B.2 and §4.3 vectors go through these)::

    (sig_input,) = parse_signature_input(value)
    base = build_signature_base("POST", url, headers, sig_input.components, sig_input.params_text)
    verify_signature_base(base, signature, public_key, "ed25519")

:func:`sign_rfc9421` and :func:`verify_rfc9421` add our policy; call them through
:func:`protocol.httpsig.sign_request` / :func:`protocol.httpsig.verify_request`.
"""

from __future__ import annotations

import binascii
import re
from base64 import b64encode
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, NamedTuple, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from http_sfv.dictionary import Dictionary
from http_sfv.item import InnerList, Item

from protocol.digest import content_digest_header, verify_content_digest
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
    key_kind,
    needs_digest,
    private_key,
    public_key,
    url_parts,
    verification_key,
)

__all__ = [
    "SelectedSignature",
    "SignatureInput",
    "build_signature_base",
    "parse_signature",
    "parse_signature_input",
    "select_signature",
    "sign_rfc9421",
    "sign_signature_base",
    "verify_rfc9421",
    "verify_signature_base",
]

LABEL = "sig1"
_ALGORITHMS = frozenset({"ed25519", "rsa-v1_5-sha256", "rsa-pss-sha512", "ecdsa-p256-sha256"})
_PSS_SHA512 = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)  # RFC 9421 §3.3.1
_PKCS1V15 = padding.PKCS1v15()
# Hash algorithm objects are immutable descriptions: one instance serves every call.
_SHA256 = hashes.SHA256()
_SHA512 = hashes.SHA512()
_ECDSA_SHA256 = ec.ECDSA(_SHA256)

# Fast path: one member in canonical form, string components without parameters, integer or
# string signature parameters, no duplicates. Its text is then exactly its serialization.
# Everything else goes through http_sfv and is re-serialized, which gives the same bytes for
# canonical input (tests check the two paths agree).
_KEY = r"[a-z*][a-z0-9_.*-]*"
_CHARS = r"[ !#-\[\]-~]*"  # unescaped sf-string characters; the loop below is unrolled for speed
_STRING = rf'"{_CHARS}(?:\\[\\"]{_CHARS})*"'
_INTEGER = r"(?:0|-?[1-9][0-9]{0,14})"
_FAST_INPUT = re.compile(
    rf"({_KEY})=(\(((?:{_STRING}(?: {_STRING})*)?)\)((?:;{_KEY}=(?:{_INTEGER}|{_STRING}))*))"
)
# Fastest path: the shape sign_rfc9421 writes (and most signers do), no escapes, parameters
# created, keyid, alg in that order. One match gives every value.
_COMMON_INPUT = re.compile(
    rf'({_KEY})=(\(((?:"{_CHARS}"(?: "{_CHARS}")*)?)\)'
    rf';created=({_INTEGER});keyid="({_CHARS})";alg="({_CHARS})")'
)
_FAST_STRING = re.compile(rf'"({_CHARS}(?:\\[\\"]{_CHARS})*)"')
_FAST_PARAM = re.compile(rf";({_KEY})=({_INTEGER}|{_STRING})")
_FAST_SIGNATURE = re.compile(rf"({_KEY})=:([A-Za-z0-9+/]*={{0,2}}):")
_UNESCAPE = re.compile(r"\\(.)")
_COMPONENT_NAME = re.compile(r"@[a-z]+(?:-[a-z]+)*|[!#$%&'*+.^_`|~0-9a-z-]+")
_INT_PARAMS = frozenset({"created", "expires"})
_STR_PARAMS = frozenset({"keyid", "alg", "nonce", "tag"})


class SignatureInput(NamedTuple):
    """One member of ``Signature-Input`` (RFC 9421 §4.1)."""

    label: str
    components: tuple[str, ...]  # covered component names, in order
    params_text: str  # the ``@signature-params`` value: inner list and parameters, serialized
    created: int | None = None
    expires: int | None = None
    keyid: str | None = None
    alg: str | None = None
    component_parameters: bool = False  # a component carries ;parameters (we do not resolve those)


def parse_signature_input(value: str) -> tuple[SignatureInput, ...]:
    """Parse ``Signature-Input`` into its members, in order; raises ``bad_signature_header``.

    >>> (member,) = parse_signature_input('sig1=("@method");created=1714564800;keyid="k"')
    >>> member.label, member.components, member.keyid
    ('sig1', ('@method',), 'k')
    """
    common = _COMMON_INPUT.fullmatch(value)
    if common is not None:
        label, params_text, inner, created, keyid, alg = common.groups()
        # Unescaped sf-strings hold no '"': they are exactly the text between '" "'.
        components = tuple(inner[1:-1].split('" "')) if inner else ()
        return (SignatureInput(label, components, params_text, int(created), None, keyid, alg),)
    fast = _FAST_INPUT.fullmatch(value)
    if fast is not None:
        member = _fast_member(*fast.groups())
        if member is not None:
            return (member,)
    members = _parse_dictionary(value, "Signature-Input")
    result = []
    for label, member in members.items():
        if not isinstance(member, InnerList):
            raise _bad(f"Signature-Input member {label!r} is not an inner list")
        names = []
        for item in member:
            if type(item.value) is not str:
                raise _bad(f"Signature-Input member {label!r} lists a non-string component")
            names.append(item.value)
        with_params = any(item.params for item in member)
        try:
            # A repeated parameter keeps its last value (RFC 8941 §4.2.3.2); we sign over this
            # re-serialization, so such a header cannot make a different value verify.
            params_text = str(member)
        except ValueError as exc:
            raise _bad(f"Signature-Input member {label!r} cannot be serialized") from exc
        result.append(_member(label, tuple(names), params_text, dict(member.params), with_params))
    if not result:
        raise _bad("Signature-Input is empty")
    return tuple(result)


def _fast_member(label: str, params_text: str, inner: str, params: str) -> SignatureInput | None:
    """The member matched by ``_FAST_INPUT``, or ``None`` if a parameter repeats (http_sfv then
    applies RFC 8941's rule for it)."""
    pairs = _FAST_PARAM.findall(params)
    raw_values = dict(pairs)
    if len(raw_values) != len(pairs):
        return None
    created: int | None = None
    expires: int | None = None
    keyid: str | None = None
    alg: str | None = None
    for name, raw in raw_values.items():
        if raw[0] == '"':
            if name in _INT_PARAMS:
                raise _bad(f"signature parameter {name} must be an integer")
            text = _unescape(raw[1:-1]) if "\\" in raw else raw[1:-1]
            if name == "keyid":
                keyid = text
            elif name == "alg":
                alg = text
        else:
            if name in _STR_PARAMS:
                raise _bad(f"signature parameter {name} must be a string")
            if name == "created":
                created = int(raw)
            elif name == "expires":
                expires = int(raw)
    components: tuple[str, ...]
    if "\\" in inner:
        components = tuple(map(_unescape, _FAST_STRING.findall(inner)))
    else:  # unescaped sf-strings hold no '"': they are exactly the text between '" "'
        components = tuple(inner[1:-1].split('" "')) if inner else ()
    return SignatureInput(label, components, params_text, created, expires, keyid, alg)


def _member(
    label: str, components: tuple[str, ...], params_text: str, params: dict[str, Any], with_params: bool
) -> SignatureInput:
    for name, param in params.items():
        if name in _INT_PARAMS and type(param) is not int:
            raise _bad(f"signature parameter {name} must be an integer")
        if name in _STR_PARAMS and type(param) is not str:
            raise _bad(f"signature parameter {name} must be a string")
    get = params.get
    return SignatureInput(
        label, components, params_text, get("created"), get("expires"), get("keyid"), get("alg"),
        with_params,
    )


def parse_signature(value: str) -> tuple[tuple[str, bytes], ...]:
    """Parse ``Signature`` into ``(label, signature bytes)`` pairs; raises ``bad_signature_header``.

    >>> parse_signature("sig1=:c2ln:")
    (('sig1', b'sig'),)
    """
    fast = _FAST_SIGNATURE.fullmatch(value)
    if fast is not None:
        try:  # the pattern admits only the base64 alphabet; decoding checks the padding
            return ((fast.group(1), binascii.a2b_base64(fast.group(2))),)
        except binascii.Error as exc:
            raise _bad("Signature is not valid base64") from exc
    result = []
    for label, member in _parse_dictionary(value, "Signature").items():
        if not isinstance(member, Item) or type(member.value) is not bytes:
            raise _bad(f"Signature member {label!r} is not a byte sequence")
        result.append((label, member.value))
    if not result:
        raise _bad("Signature is empty")
    return tuple(result)


class _StrictDictionary(Dictionary):
    """RFC 8941 lets a repeated key win silently; for signatures that is ambiguity, so refuse."""

    def __setitem__(self, key: str, value: Any) -> None:
        if key in self.data:
            raise ValueError(f"duplicate member {key!r}")
        super().__setitem__(key, value)


def _parse_dictionary(value: str, field: str) -> Dictionary:
    members = _StrictDictionary()
    try:
        members.parse(value.encode("ascii"))
    except (ValueError, UnicodeError) as exc:
        raise _bad(f"{field} is not a structured dictionary") from exc
    return members


def _unescape(text: str) -> str:
    return _UNESCAPE.sub(r"\1", text) if "\\" in text else text


def _bad(detail: str) -> SignatureError:
    return SignatureError("bad_signature_header", detail)


def build_signature_base(
    method: str,
    url: str,
    headers: HeadersLike,
    components: Sequence[str],
    params_text: str,
    *,
    status: int | None = None,
) -> str:
    """Build the signature base of RFC 9421 §2.5.

    ``components`` are the covered component names (``"@method"``, ``"content-digest"``…);
    ``params_text`` is the ``@signature-params`` value. ``status`` serves ``@status`` when
    checking a response. Raises ``missing_component`` or ``bad_signature_header``.

    >>> print(build_signature_base("POST", "https://lvkk.example/inbox", {}, ["@method"],
    ...                            '("@method");created=1714564800'))
    "@method": POST
    "@signature-params": ("@method");created=1714564800
    """
    return _signature_base(
        method, url, HeaderView(headers).get_field, components, params_text, status
    )


def _signature_base(
    method: str,
    url: str,
    get_field: Callable[[str], str | None],
    components: Sequence[str],
    params_text: str,
    status: int | None,
) -> str:
    lines = []
    for name in components:
        if name == "@method":  # the two components every request we verify covers
            value = method
        elif name == "@target-uri":
            url_parts(url)  # refuses a URL that is not absolute
            value = url
        elif name[:1] == "@":
            value = _derived(name, method, url, status)
        else:
            if _COMPONENT_NAME.fullmatch(name) is None:
                raise _bad(f"malformed component name {name!r}")
            field = get_field(name)
            if field is None:
                raise SignatureError("missing_component", f"covered field {name!r} is missing")
            value = field
        if "\n" in value or "\r" in value:
            raise _bad(f"component {name!r} contains a line break")
        lines.append(f'"{name}": {value}')
    if len(set(components)) != len(components):
        raise _bad("a component is covered twice")
    lines.append(f'"@signature-params": {params_text}')
    return "\n".join(lines)


def _derived(name: str, method: str, url: str, status: int | None) -> str:
    if name == "@method":
        return method
    if name == "@target-uri":
        url_parts(url)  # refuses a URL that is not absolute
        return url
    if name == "@status":
        if status is None:
            raise SignatureError("missing_component", "@status applies to responses only")
        return str(status)
    parts = url_parts(url)
    if name == "@authority":
        return parts.authority
    if name == "@scheme":
        return parts.scheme
    if name == "@request-target":
        return parts.request_target
    if name == "@path":
        return parts.path
    if name == "@query":
        return f"?{parts.query}"
    raise _bad(f"unsupported derived component {name!r}")


def sign_signature_base(base: str, key: PrivateKeyLike, alg: str) -> bytes:
    """Sign a signature base with ``ed25519``, ``rsa-v1_5-sha256`` or ``rsa-pss-sha512``.

    >>> from protocol.keys import generate_ed25519
    >>> key = generate_ed25519()
    >>> len(sign_signature_base('"@method": POST', key, "ed25519"))
    64
    """
    signer = private_key(key)
    data = base.encode()
    if key_kind(signer) == "ed25519":
        if alg != "ed25519":
            raise SignatureError("key_mismatch", f"cannot sign {alg} with an Ed25519 key")
        return cast(ed25519.Ed25519PrivateKey, signer).sign(data)
    rsa_key = cast(rsa.RSAPrivateKey, signer)
    if alg == "rsa-v1_5-sha256":
        return rsa_key.sign(data, _PKCS1V15, _SHA256)
    if alg == "rsa-pss-sha512":
        return rsa_key.sign(data, _PSS_SHA512, _SHA512)
    raise SignatureError("key_mismatch", f"cannot sign {alg} with an RSA key")


def verify_signature_base(
    base: str | bytes, signature: bytes, key: PublicKeyLike, alg: str | None
) -> None:
    """Verify a signature over a signature base (RFC 9421 §3.2, §3.3).

    Without ``alg`` the key decides: Ed25519, RSA (v1.5 SHA-256, else PSS SHA-512), P-256.
    Raises ``unsupported_algorithm``, ``key_mismatch`` or ``invalid_signature``.

    >>> from protocol.keys import generate_ed25519
    >>> key = generate_ed25519()
    >>> signature = sign_signature_base('"@method": POST', key, "ed25519")
    >>> verify_signature_base('"@method": POST', signature, key.public_key(), "ed25519")
    >>> verify_signature_base('"@method": GET', signature, key.public_key(), "ed25519")
    Traceback (most recent call last):
    ...
    protocol.errors.SignatureError: invalid_signature: the signature does not verify
    """
    if alg is not None and alg not in _ALGORITHMS:
        raise SignatureError("unsupported_algorithm", f"algorithm {alg!r} is not supported")
    verifier = public_key(key)
    data = base.encode() if isinstance(base, str) else base
    _verify(data, signature, verifier, cast(str, key_kind(verifier)), alg)


def _verify(data: bytes, signature: bytes, key: PublicKey, kind: str, alg: str | None) -> None:
    try:
        if kind == "ed25519":
            if alg not in (None, "ed25519"):
                raise SignatureError("key_mismatch", f"{alg} signature, Ed25519 key")
            cast(ed25519.Ed25519PublicKey, key).verify(signature, data)
        elif kind == "rsa":
            rsa_key = cast(rsa.RSAPublicKey, key)
            if alg == "rsa-pss-sha512":
                rsa_key.verify(signature, data, _PSS_SHA512, _SHA512)
            elif alg in (None, "rsa-v1_5-sha256"):
                try:
                    rsa_key.verify(signature, data, _PKCS1V15, _SHA256)
                except InvalidSignature:
                    if alg is not None:
                        raise
                    rsa_key.verify(signature, data, _PSS_SHA512, _SHA512)
            else:
                raise SignatureError("key_mismatch", f"{alg} signature, RSA key")
        else:
            ec_key = cast(ec.EllipticCurvePublicKey, key)
            if not isinstance(ec_key.curve, ec.SECP256R1) or alg not in (None, "ecdsa-p256-sha256"):
                raise SignatureError("key_mismatch", f"{alg} signature, {ec_key.curve.name} key")
            # RFC 9421 §3.3.4: r and s as two 32-byte big-endian integers, not DER.
            if len(signature) != 64:
                raise InvalidSignature
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            ec_key.verify(der, data, _ECDSA_SHA256)
    except InvalidSignature as exc:
        raise SignatureError("invalid_signature", "the signature does not verify") from exc


@lru_cache(maxsize=64)
def _keyid_text(key_id: str) -> str:
    if not key_id or not key_id.isascii() or not key_id.isprintable():
        raise _bad("key id must be printable ASCII")
    return '"' + key_id.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sign_rfc9421(
    method: str, url: str, body: bytes | None, key: PrivateKeyLike, key_id: str, now: float
) -> dict[str, str]:
    """Sign a request; return ``Content-Digest`` (with content), ``Signature-Input``, ``Signature``.

    Covers ``@method``, ``@target-uri`` and ``content-digest`` with content, with parameters
    ``created``, ``keyid`` and ``alg``, under the label ``sig1``.

    >>> from protocol.keys import generate_ed25519
    >>> key = generate_ed25519()
    >>> added = sign_rfc9421("POST", "https://lvkk.example/inbox", b"{}", key,
    ...                      "https://kennis.example/a#k", now=1_714_564_800.0)
    >>> sorted(added)
    ['Content-Digest', 'Signature', 'Signature-Input']
    """
    signer = private_key(key)
    url_parts(url)  # refuses a URL that is not absolute
    alg = "ed25519" if key_kind(signer) == "ed25519" else "rsa-v1_5-sha256"
    method = method.upper()
    added: dict[str, str] = {}
    covered = '"@method" "@target-uri"'
    lines = f'"@method": {method}\n"@target-uri": {url}\n'
    if needs_digest(method, body):
        digest = added["Content-Digest"] = content_digest_header(body or b"")
        covered += ' "content-digest"'
        lines += f'"content-digest": {digest}\n'
    params = f'({covered});created={int(now)};keyid={_keyid_text(key_id)};alg="{alg}"'
    base = f'{lines}"@signature-params": {params}'
    signature = sign_signature_base(base, signer, alg)
    added["Signature-Input"] = f"{LABEL}={params}"
    added["Signature"] = f"{LABEL}=:{b64encode(signature).decode('ascii')}:"
    return added


class SelectedSignature(NamedTuple):
    """The signature we verify: the first ``Signature-Input`` member and its ``Signature``."""

    input: SignatureInput
    signature: bytes
    keyid: str


def selected_input(view: HeaderView) -> SignatureInput:
    """The member we verify: the first one of ``Signature-Input`` (raises ``missing_signature``)."""
    value = view.get_field("signature-input")
    if value is None:
        raise SignatureError("missing_signature", "no Signature-Input header")
    return parse_signature_input(value)[0]


def select_signature(view: HeaderView) -> SelectedSignature:
    """Parse both fields and pick the member we verify, with its signature and ``keyid``.

    Raises ``missing_signature`` without ``Signature-Input`` or ``Signature``, and
    ``bad_signature_header`` when either is malformed, the first member has no signature or
    no ``keyid``.

    >>> from protocol.httpsig import HeaderView
    >>> selected = select_signature(HeaderView({
    ...     "Signature-Input": 'sig1=("@method");created=1714564800;keyid="k"',
    ...     "Signature": "sig1=:c2ln:"}))
    >>> selected.keyid, selected.signature
    ('k', b'sig')
    """
    sig_input = selected_input(view)
    value = view.get_field("signature")
    if value is None:
        raise SignatureError("missing_signature", "no Signature header")
    signature = dict(parse_signature(value)).get(sig_input.label)
    if signature is None:
        raise _bad(f"no Signature for label {sig_input.label!r}")
    if sig_input.keyid is None:
        raise _bad("the keyid parameter is required")
    return SelectedSignature(sig_input, signature, sig_input.keyid)


def verify_rfc9421(
    method: str,
    url: str,
    view: HeaderView,
    body: bytes | None,
    key: PublicKeyLike,
    *,
    now: float,
    policy: VerifyPolicy = DEFAULT_POLICY,
    parsed: SelectedSignature | None = None,
) -> str:
    """Verify an RFC 9421-signed request under our inbox policy; return the key id.

    Requires ``@method``; ``@target-uri`` or both ``@path`` and ``@authority``;
    ``content-digest`` (matching the body) for a request with content; ``keyid``; ``created``
    inside the window and, when given, ``expires`` not passed. ``parsed`` is the request's
    already selected signature (:func:`select_signature`), if the caller has it.

    >>> from protocol.keys import generate_ed25519
    >>> key = generate_ed25519()
    >>> from protocol.httpsig import HeaderView
    >>> url, now = "https://lvkk.example/inbox", 1_714_564_800.0
    >>> added = sign_rfc9421("POST", url, b"{}", key, "https://kennis.example/a#k", now=now)
    >>> verify_rfc9421("POST", url, HeaderView(added), b"{}", key.public_key(), now=now)
    'https://kennis.example/a#k'
    """
    sig_input, signature, keyid = parsed or select_signature(view)
    _, covered, params_text, created, expires, _, alg, with_params = sig_input
    get_field = view.get_field
    if alg is not None and alg not in _ALGORITHMS:
        raise SignatureError("unsupported_algorithm", f"algorithm {alg!r} is not supported")
    if with_params:
        raise _bad("component parameters are not supported")
    if "@method" not in covered:
        raise SignatureError("missing_component", "the signature must cover @method")
    if "@target-uri" not in covered and ("@path" not in covered or "@authority" not in covered):
        raise SignatureError("missing_component", "the signature must cover @target-uri")
    has_digest = "content-digest" in covered
    if not has_digest and needs_digest(method, body):
        raise SignatureError("missing_component", "the signature must cover content-digest")
    if created is None:
        raise SignatureError("missing_component", "the created parameter is required")
    verifier, kind = verification_key(key, policy)
    check_window(created, expires, now, policy)
    if has_digest:
        verify_content_digest(get_field("content-digest"), body or b"")
    base = _signature_base(method, url, get_field, covered, params_text, None)
    _verify(base.encode(), signature, verifier, kind, alg)
    return keyid
