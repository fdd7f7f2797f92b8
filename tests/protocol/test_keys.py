"""protocol.keys: W3C Multikey vector, PEM forms, base58btc, and rejection of malformed keys."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import KeyFormatError
from protocol.keys import (
    ED25519_PRIV_PREFIX,
    ED25519_PUB_PREFIX,
    VerificationKey,
    base58btc_decode,
    base58btc_encode,
    generate_ed25519,
    generate_rsa,
    load_private_pem,
    load_public_pem,
    load_verifying_pem,
    multikey_decode,
    multikey_encode,
    private_multikey_decode,
    private_multikey_encode,
    private_pem,
    public_pem,
)
from tests.conftest import load_vector

W3C = load_vector("vc_di_eddsa_jcs_2022.json")["keyPair"]
RFC9421_KEYS = load_vector("rfc9421_test_keys.json")["keys"]
CAVAGE_KEY = load_vector("draft_cavage_12.json")["key"]


def _raw_public(key: ed25519.Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# --- vectors ---------------------------------------------------------------------------------


def test_w3c_private_multikey_derives_the_published_public_multikey() -> None:
    private = private_multikey_decode(W3C["privateKeyMultibase"])
    assert multikey_encode(private.public_key()) == W3C["publicKeyMultibase"]


def test_w3c_private_multikey_reencodes_to_the_same_text() -> None:
    private = private_multikey_decode(W3C["privateKeyMultibase"])
    assert private_multikey_encode(private) == W3C["privateKeyMultibase"]


def test_w3c_public_multikey_decodes_and_reencodes() -> None:
    assert multikey_encode(multikey_decode(W3C["publicKeyMultibase"])) == W3C["publicKeyMultibase"]


def test_ed25519_public_multikey_starts_with_z6mk() -> None:
    # 0xed01 + 32 bytes always encodes with this prefix (FEP-521a examples).
    assert multikey_encode(generate_ed25519().public_key()).startswith("z6Mk")


def test_base58btc_known_values() -> None:
    assert base58btc_encode(b"") == ""
    assert base58btc_encode(b"\0\0\x01") == "112"
    assert base58btc_encode(b"hello world") == "StV1DL6CwTryKyV"
    assert base58btc_decode("StV1DL6CwTryKyV") == b"hello world"


# --- round trips -----------------------------------------------------------------------------


@given(st.binary(max_size=80))
def test_base58btc_round_trip(data: bytes) -> None:
    assert base58btc_decode(base58btc_encode(data)) == data


_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _digit_by_digit(data: bytes) -> str:
    """The textbook base58btc encoder: one digit per division, zero bytes as '1'."""
    number = int.from_bytes(data, "big")
    digits = ""
    while number:
        number, remainder = divmod(number, 58)
        digits = _ALPHABET[remainder] + digits
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + digits


@settings(derandomize=True, max_examples=500)
@given(st.binary(max_size=80) | st.binary(max_size=8).map(lambda tail: b"\0" * 3 + tail))
def test_base58btc_encodes_as_the_textbook_algorithm(data: bytes) -> None:
    assert base58btc_encode(data) == _digit_by_digit(data)


@settings(derandomize=True, max_examples=500)
@given(st.text(_ALPHABET, max_size=100))
def test_base58btc_decodes_any_alphabet_text_to_bytes_that_encode_back(text: str) -> None:
    # Every such text is canonical: leading '1's are zero bytes, the rest is the number.
    assert base58btc_encode(base58btc_decode(text)) == text


@pytest.mark.parametrize("text", ["0", "abc0", "I", "O", "l", "zz+", "é", "12 3"])
def test_base58btc_decode_refuses_characters_outside_the_alphabet(text: str) -> None:
    with pytest.raises(ValueError, match="not a base58btc character"):
        base58btc_decode(text)


@given(st.binary(min_size=32, max_size=32))
def test_public_multikey_round_trip(seed: bytes) -> None:
    public = ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key()
    assert _raw_public(multikey_decode(multikey_encode(public))) == _raw_public(public)


@given(st.binary(min_size=32, max_size=32))
def test_private_multikey_round_trip(seed: bytes) -> None:
    private = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    decoded = private_multikey_decode(private_multikey_encode(private))
    assert _raw_public(decoded.public_key()) == _raw_public(private.public_key())


def test_ed25519_private_pem_round_trip() -> None:
    key = generate_ed25519()
    loaded = load_private_pem(private_pem(key))
    assert isinstance(loaded, ed25519.Ed25519PrivateKey)
    assert public_pem(loaded) == public_pem(key)


def test_generated_rsa_key_is_2048_bits_and_round_trips_through_pem() -> None:
    key = generate_rsa()
    assert key.key_size == 2048
    loaded = load_private_pem(private_pem(key))
    assert isinstance(loaded, rsa.RSAPrivateKey)
    assert public_pem(loaded) == public_pem(key)


def test_private_pem_is_unencrypted_pkcs8() -> None:
    assert private_pem(generate_ed25519()).startswith(b"-----BEGIN PRIVATE KEY-----\n")


def test_public_pem_is_subject_public_key_info_as_mastodon_reads() -> None:
    key = load_private_pem(RFC9421_KEYS["test-key-rsa"]["private_pem"])
    assert public_pem(key).startswith("-----BEGIN PUBLIC KEY-----\n")


def test_public_pem_of_private_and_public_key_agree() -> None:
    key = load_private_pem(CAVAGE_KEY["private_pem"])
    assert public_pem(key) == public_pem(key.public_key()) == CAVAGE_KEY["public_pem"]


def test_load_public_pem_reads_pkcs1_rsa_public_key() -> None:
    key = load_public_pem(RFC9421_KEYS["test-key-rsa"]["public_pem"])
    private = load_private_pem(RFC9421_KEYS["test-key-rsa"]["private_pem"])
    assert public_pem(key) == public_pem(private)


def test_load_public_pem_tolerates_crlf_and_surrounding_whitespace() -> None:
    text = "\n  " + CAVAGE_KEY["public_pem"].replace("\n", "\r\n") + "  \n"
    assert public_pem(load_public_pem(text)) == CAVAGE_KEY["public_pem"]


def test_load_rfc9421_ed25519_keys() -> None:
    private = load_private_pem(RFC9421_KEYS["test-key-ed25519"]["private_pem"].encode())
    public = load_public_pem(RFC9421_KEYS["test-key-ed25519"]["public_pem"])
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    assert public_pem(private) == public_pem(public)


def test_an_ec_key_verifies_signatures_but_is_no_actor_key() -> None:
    pem = RFC9421_KEYS["test-key-ecc-p256"]["public_pem"]
    assert isinstance(load_verifying_pem(pem), ec.EllipticCurvePublicKey)
    with pytest.raises(KeyFormatError) as info:
        load_public_pem(pem)
    assert info.value.reason == "unsupported_key"


# --- rejection -------------------------------------------------------------------------------


def test_load_private_pem_rejects_ec_key_as_unsupported() -> None:
    with pytest.raises(KeyFormatError) as info:
        load_private_pem(RFC9421_KEYS["test-key-ecc-p256"]["private_pem"])
    assert info.value.reason == "unsupported_key"


def test_load_public_pem_rejects_ec_key_as_unsupported() -> None:
    with pytest.raises(KeyFormatError) as info:
        load_public_pem(RFC9421_KEYS["test-key-ecc-p256"]["public_pem"])
    assert info.value.reason == "unsupported_key"


def test_load_private_pem_rejects_garbage() -> None:
    with pytest.raises(KeyFormatError) as info:
        load_private_pem(b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    assert info.value.reason == "bad_key"


def test_load_private_pem_rejects_encrypted_key() -> None:
    encrypted = generate_ed25519().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    with pytest.raises(KeyFormatError) as info:
        load_private_pem(encrypted)
    assert info.value.reason == "bad_key"


def test_load_public_pem_rejects_a_changed_byte() -> None:
    pem = CAVAGE_KEY["public_pem"]
    broken = pem.replace("MIGfMA0G", "MIGfMA1G")
    with pytest.raises(KeyFormatError):
        load_public_pem(broken)


def test_public_multikey_rejects_private_key_prefix() -> None:
    text = "z" + base58btc_encode(ED25519_PRIV_PREFIX + bytes(32))
    with pytest.raises(KeyFormatError) as info:
        multikey_decode(text)
    assert info.value.reason == "unsupported_key"


def test_public_multikey_rejects_x25519_prefix() -> None:
    text = "z" + base58btc_encode(b"\xec\x01" + bytes(32))
    with pytest.raises(KeyFormatError) as info:
        multikey_decode(text)
    assert info.value.reason == "unsupported_key"


def test_private_multikey_rejects_public_key_prefix() -> None:
    with pytest.raises(KeyFormatError) as info:
        private_multikey_decode(W3C["publicKeyMultibase"])
    assert info.value.reason == "unsupported_key"


@pytest.mark.parametrize("length", [0, 31, 33])
def test_public_multikey_rejects_wrong_length(length: int) -> None:
    text = "z" + base58btc_encode(ED25519_PUB_PREFIX + bytes(range(1, length + 1)))
    with pytest.raises(KeyFormatError) as info:
        multikey_decode(text)
    assert info.value.reason == "bad_key"


def test_public_multikey_rejects_leading_zero_padding() -> None:
    # A '1' prepended is a leading zero byte: same number, different bytes, wrong prefix.
    with pytest.raises(KeyFormatError):
        multikey_decode("z1" + W3C["publicKeyMultibase"][1:])


@pytest.mark.parametrize(
    "text",
    [
        "",
        "6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",  # no multibase prefix
        "u7QGp2n2S",  # base64url multibase
        "f ed01",  # base16 multibase
        "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ0",  # '0' is not base58
        "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQl",  # 'l' is not base58
        "z" + "2" * 200,  # absurdly long
    ],
)
def test_public_multikey_rejects_malformed_text(text: str) -> None:
    with pytest.raises(KeyFormatError) as info:
        multikey_decode(text)
    assert info.value.reason == "bad_key"


def test_public_multikey_one_character_change_never_yields_the_same_key() -> None:
    original = _raw_public(multikey_decode(W3C["publicKeyMultibase"]))
    text = W3C["publicKeyMultibase"]
    for index in range(1, len(text)):
        replacement = "2" if text[index] != "2" else "3"
        mutated = text[:index] + replacement + text[index + 1 :]
        try:
            decoded = multikey_decode(mutated)
        except KeyFormatError:
            continue
        assert _raw_public(decoded) != original


def test_verification_key_is_frozen() -> None:
    key = VerificationKey("https://a.example/u#k", "https://a.example/u", generate_ed25519().public_key())
    with pytest.raises(dataclasses.FrozenInstanceError):
        key.key_id = "other"  # type: ignore[misc]
