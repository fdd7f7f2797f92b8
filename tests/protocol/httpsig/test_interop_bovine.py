"""draft-cavage against an independent implementation: bovine (0.5.x), both directions.

bovine signs with ``HttpSignature.sign_for_http_draft`` (RSA only: it labels every signature
rsa-sha256 and encodes Ed25519 ones in multibase), at a fixed Date we verify with ``now=``.
Its ``SignatureChecker`` reads the real clock, so for that direction we sign with the real time;
it verifies RSA and, with ``hs2019``, Ed25519.
"""

from __future__ import annotations

import pytest
from bovine.crypto.http_signature import build_signature
from bovine.crypto.signature_checker import SignatureChecker
from bovine.crypto.types import CryptographicIdentifier, CryptographicSecret
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from protocol.digest import digest_header
from protocol.errors import ProtocolError
from protocol.httpsig import sign_request, verify_request
from tests.conftest import load_vector
from tests.protocol.httpsig.conftest import BODY, INBOX, KEY_ID, NOW

Key = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
HOST = "drenthe.test"
PATH = "/actors/dorpsmolen/inbox"
DATE = "Wed, 01 May 2024 12:00:00 GMT"
CONTROLLER = "https://fryslan.test/actors/kerkje"


def _their_signed(key: rsa.RSAPrivateKey, method: str, body: bytes | None) -> dict[str, str]:
    helper = build_signature(HOST, method.lower(), PATH).with_field("date", DATE)
    if body is not None:
        helper = helper.with_field("digest", digest_header(body))
    signature = helper.sign_for_http_draft(CryptographicSecret(KEY_ID, key))
    return {**helper.headers, "signature": signature}


def test_we_verify_their_signed_post(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = _their_signed(rsa_key, "POST", BODY)
    assert verify_request("POST", INBOX, headers, BODY, rsa_key.public_key(), now=NOW) == KEY_ID


def test_we_verify_their_signed_get(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = _their_signed(rsa_key, "GET", None)
    assert verify_request("GET", INBOX, headers, None, rsa_key.public_key(), now=NOW) == KEY_ID


def test_we_refuse_their_signature_over_another_body(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = _their_signed(rsa_key, "POST", BODY)
    with pytest.raises(ProtocolError) as exc:
        verify_request("POST", INBOX, headers, b"{}", rsa_key.public_key(), now=NOW)
    assert exc.value.reason == "digest_mismatch"


def test_we_refuse_their_signature_for_another_key(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = _their_signed(rsa_key, "POST", BODY)
    other = load_vector("rfc9421_test_keys.json")["keys"]["test-key-rsa-pss"]["public_pem"]
    with pytest.raises(ProtocolError) as exc:
        verify_request("POST", INBOX, headers, BODY, other, now=NOW)
    assert exc.value.reason == "invalid_signature"


async def _they_verify(key: Key, method: str, headers: dict[str, str], body: bytes) -> str | None:
    async def retrieve(key_id: str) -> CryptographicIdentifier | None:
        return CryptographicIdentifier(CONTROLLER, key.public_key()) if key_id == KEY_ID else None

    async def read_body() -> bytes:
        return body

    checker = SignatureChecker(retrieve)
    lowered = {name.lower(): value for name, value in headers.items()}
    result: str | None = await checker.validate_signature(method, INBOX, lowered, read_body)
    return result


async def test_they_verify_our_signed_post(any_key: Key) -> None:
    headers = sign_request("POST", INBOX, {}, BODY, any_key, KEY_ID)
    assert await _they_verify(any_key, "POST", headers, BODY) == CONTROLLER


async def test_they_verify_our_signed_get(any_key: Key) -> None:
    headers = sign_request("GET", INBOX, {}, None, any_key, KEY_ID)
    assert await _they_verify(any_key, "GET", headers, b"") == CONTROLLER


async def test_they_refuse_our_signature_over_another_body(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = sign_request("POST", INBOX, {}, BODY, rsa_key, KEY_ID)
    assert await _they_verify(rsa_key, "POST", headers, b"{}") is None
