"""Key material: RSA/Ed25519 generation, PEM, and Multikey (FEP-521a) encoding.

Every local actor has two keys (DESIGN.md, Protocol): RSA-2048, published as ``publicKey`` in PEM
for draft-cavage HTTP signatures (what Mastodon reads), and Ed25519, published as a ``Multikey`` in
``assertionMethod`` (FEP-521a) for RFC 9421 signatures and FEP-8b32 object proofs.

A Multikey value is multibase base58btc (``z`` prefix) of a multicodec-prefixed raw key:
``0xed 0x01`` + 32 public bytes (``ed25519-pub``) or ``0x80 0x26`` + 32 seed bytes
(``ed25519-priv``), as in W3C Controlled Identifiers §2.2.2 and the vc-di-eddsa test vectors.

Usage::

    key = generate_ed25519()
    text = multikey_encode(key.public_key())      # "z6Mk..."
    assert multikey_decode(text) == key.public_key()
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeAlias

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from protocol.errors import KeyFormatError

__all__ = [
    "PrivateKey",
    "PublicKey",
    "VerificationKey",
    "base58btc_decode",
    "base58btc_encode",
    "generate_ed25519",
    "generate_rsa",
    "load_private_pem",
    "load_public_pem",
    "load_verifying_pem",
    "multikey_decode",
    "multikey_encode",
    "private_multikey_decode",
    "private_multikey_encode",
    "private_pem",
    "public_pem",
]

PrivateKey: TypeAlias = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
PublicKey: TypeAlias = rsa.RSAPublicKey | ed25519.Ed25519PublicKey

ED25519_PUB_PREFIX = b"\xed\x01"
ED25519_PRIV_PREFIX = b"\x80\x26"
_RAW_KEY_LENGTH = 32
# 34 bytes encode to at most 47 base58 digits; anything far longer is refused before the
# quadratic big-integer decode runs on attacker-chosen input.
_MAX_MULTIKEY_LENGTH = 64


@dataclass(frozen=True)
class VerificationKey:
    """A public key an actor publishes: its id, the actor controlling it, and the key itself."""

    key_id: str
    controller: str
    key: PublicKey


# --- base58btc (the Bitcoin alphabet; multibase code "z") -----------------------------------

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {char: index for index, char in enumerate(_B58_ALPHABET)}
# Two digits at a time (base 58**2 = 3364): half the big-integer steps of digit-by-digit
# conversion, which is what a proofValue costs on every signed and verified object.
_B58_PAIRS = [high + low for high in _B58_ALPHABET for low in _B58_ALPHABET]
_B58_PAIR_INDEX = {pair: index for index, pair in enumerate(_B58_PAIRS)}
_B58_BASE2 = 58 * 58
_TWO_CHARACTERS = re.compile("..", re.DOTALL)


def base58btc_encode(data: bytes) -> str:
    """Encode bytes as base58btc (no multibase prefix); leading zero bytes become ``1``.

    >>> base58btc_encode(b"\\x00ab")
    '18Qq'
    """
    number = int.from_bytes(data, "big")
    pairs: list[str] = []
    append = pairs.append
    while number:
        number, remainder = divmod(number, _B58_BASE2)
        append(_B58_PAIRS[remainder])
    pairs.reverse()
    # The top pair may start with a zero digit ("1"); leading zero bytes are written as "1"s.
    digits = "".join(pairs).lstrip("1")
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + digits


def base58btc_decode(text: str) -> bytes:
    """Decode base58btc text (no multibase prefix).

    Raises:
        ValueError: a character outside the base58btc alphabet. Callers translate it into
            their own error (``KeyFormatError``, ``ProofError``) and bound the input length.

    >>> base58btc_decode("18Qq")
    b'\\x00ab'
    """
    odd = len(text) % 2
    try:
        number = _B58_INDEX[text[0]] if odd else 0
        for pair in _TWO_CHARACTERS.findall(text, odd):
            number = number * _B58_BASE2 + _B58_PAIR_INDEX[pair]
    except KeyError as exc:
        bad = next(char for char in text if char not in _B58_INDEX)
        raise ValueError(f"not a base58btc character: {bad!r}") from exc
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")


# --- generation and PEM --------------------------------------------------------------------


def generate_rsa(bits: int = 2048) -> rsa.RSAPrivateKey:
    """Generate an RSA key (public exponent 65537) for draft-cavage signatures.

    >>> key = generate_rsa()
    >>> key.key_size
    2048
    >>> public_pem(key).splitlines()[0]
    '-----BEGIN PUBLIC KEY-----'
    """
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def generate_ed25519() -> ed25519.Ed25519PrivateKey:
    """Generate an Ed25519 key for RFC 9421 signatures and object proofs.

    >>> key = generate_ed25519()
    >>> multikey_encode(key.public_key())[:4]
    'z6Mk'
    """
    return ed25519.Ed25519PrivateKey.generate()


def _as_bytes(data: bytes | str) -> bytes:
    # interop: some servers publish PEM with surrounding whitespace or CRLF line ends.
    raw = data.encode("ascii", "replace") if isinstance(data, str) else data
    return raw.strip().replace(b"\r\n", b"\n")


def load_private_pem(data: bytes | str) -> PrivateKey:
    """Load an unencrypted PEM private key (PKCS#8 or traditional) that is RSA or Ed25519.

    Raises:
        KeyFormatError: ``bad_key`` if it cannot be parsed (or is encrypted),
            ``unsupported_key`` for any other key type.

    >>> key = generate_ed25519()
    >>> loaded = load_private_pem(private_pem(key))      # bytes or str, PKCS#8 or traditional
    >>> public_pem(loaded) == public_pem(key)
    True
    """
    try:
        key = serialization.load_pem_private_key(_as_bytes(data), password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFormatError("bad_key", "not an unencrypted PEM private key") from exc
    except UnsupportedAlgorithm as exc:
        raise KeyFormatError("unsupported_key", "unsupported private key algorithm") from exc
    if isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        return key
    raise KeyFormatError("unsupported_key", f"unsupported private key type {type(key).__name__}")


def load_public_pem(data: bytes | str) -> PublicKey:
    """Load a PEM public key, SubjectPublicKeyInfo or PKCS#1 ``RSA PUBLIC KEY``.

    Raises:
        KeyFormatError: ``bad_key`` if it cannot be parsed, ``unsupported_key`` unless RSA
            or Ed25519.

    >>> key = generate_ed25519()
    >>> load_public_pem(public_pem(key)) == key.public_key()
    True
    """
    key = load_verifying_pem(data)
    if isinstance(key, ec.EllipticCurvePublicKey):
        raise KeyFormatError("unsupported_key", "unsupported public key type EllipticCurvePublicKey")
    return key


def load_verifying_pem(data: bytes | str) -> PublicKey | ec.EllipticCurvePublicKey:
    """Like :func:`load_public_pem`, also admitting an EC key: RFC 9421 §3.3.4 verifies
    ``ecdsa-p256-sha256``, though no actor of ours publishes one.

    Raises:
        KeyFormatError: ``bad_key`` if it cannot be parsed, ``unsupported_key`` unless RSA,
            Ed25519 or EC.

    >>> key = generate_ed25519()
    >>> load_verifying_pem(public_pem(key)) == key.public_key()
    True
    """
    try:
        key = serialization.load_pem_public_key(_as_bytes(data))
    except (ValueError, TypeError) as exc:
        raise KeyFormatError("bad_key", "not a PEM public key") from exc
    except UnsupportedAlgorithm as exc:
        raise KeyFormatError("unsupported_key", "unsupported public key algorithm") from exc
    if isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
        return key
    raise KeyFormatError("unsupported_key", f"unsupported public key type {type(key).__name__}")


def private_pem(key: PrivateKey) -> bytes:
    """Serialize a private key as unencrypted PKCS#8 PEM (for storage; never published).

    >>> private_pem(generate_ed25519()).splitlines()[0]
    b'-----BEGIN PRIVATE KEY-----'
    """
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_pem(key: PrivateKey | PublicKey) -> str:
    """Serialize the public half as SubjectPublicKeyInfo PEM (``-----BEGIN PUBLIC KEY-----``).

    interop(mastodon): this is the form Mastodon publishes and parses in ``publicKeyPem``.

    >>> key = generate_ed25519()
    >>> public_pem(key) == public_pem(key.public_key())   # from either half
    True
    >>> public_pem(key).splitlines()[0]
    '-----BEGIN PUBLIC KEY-----'
    """
    public: PublicKey
    if isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        public = key.public_key()
    elif isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        public = key
    else:
        raise KeyFormatError("unsupported_key", f"unsupported key type {type(key).__name__}")
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


# --- Multikey (FEP-521a) -------------------------------------------------------------------


def _multikey_bytes(text: object, prefix: bytes) -> bytes:
    """Return the raw 32 key bytes of a multibase Multikey with the given multicodec prefix."""
    if not isinstance(text, str) or not text:
        raise KeyFormatError("bad_key", "a Multikey must be a non-empty string")
    if text[0] != "z":
        raise KeyFormatError("bad_key", "a Multikey must be multibase base58btc ('z')")
    if len(text) > _MAX_MULTIKEY_LENGTH:
        raise KeyFormatError("bad_key", "Multikey too long")
    try:
        decoded = base58btc_decode(text[1:])
    except ValueError as exc:
        raise KeyFormatError("bad_key", "Multikey is not valid base58btc") from exc
    if decoded[: len(prefix)] != prefix:
        raise KeyFormatError("unsupported_key", "Multikey has an unsupported multicodec prefix")
    if len(decoded) != len(prefix) + _RAW_KEY_LENGTH:
        raise KeyFormatError("bad_key", "Multikey has the wrong length for Ed25519")
    return decoded[len(prefix) :]


def multikey_encode(public_key: ed25519.Ed25519PublicKey) -> str:
    """Encode an Ed25519 public key as ``publicKeyMultibase`` (``z6Mk…``).

    >>> multikey_encode(generate_ed25519().public_key()).startswith("z6Mk")
    True
    """
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + base58btc_encode(ED25519_PUB_PREFIX + raw)


def multikey_decode(text: str) -> ed25519.Ed25519PublicKey:
    """Decode a ``publicKeyMultibase`` value into an Ed25519 public key.

    Raises:
        KeyFormatError: ``bad_key`` (not 'z', not base58btc, wrong length) or
            ``unsupported_key`` (multicodec prefix other than ed25519-pub 0xed01).

    >>> key = generate_ed25519()
    >>> multikey_decode(multikey_encode(key.public_key())) == key.public_key()
    True
    """
    return ed25519.Ed25519PublicKey.from_public_bytes(_multikey_bytes(text, ED25519_PUB_PREFIX))


def private_multikey_encode(private_key: ed25519.Ed25519PrivateKey) -> str:
    """Encode an Ed25519 private key as ``secretKeyMultibase`` (multicodec 0x8026).

    >>> private_multikey_encode(generate_ed25519())[:1]
    'z'
    """
    raw = private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return "z" + base58btc_encode(ED25519_PRIV_PREFIX + raw)


def private_multikey_decode(text: str) -> ed25519.Ed25519PrivateKey:
    """Decode a ``secretKeyMultibase`` value into an Ed25519 private key.

    Raises:
        KeyFormatError: as ``multikey_decode``, with prefix ed25519-priv 0x8026.

    >>> key = generate_ed25519()
    >>> private_pem(private_multikey_decode(private_multikey_encode(key))) == private_pem(key)
    True
    """
    return ed25519.Ed25519PrivateKey.from_private_bytes(_multikey_bytes(text, ED25519_PRIV_PREFIX))
