"""draft-cavage against an independent implementation: the ``httpsig`` package (1.3, pycryptodome).

Both directions with rsa-sha256. httpsig checks neither the clock nor the digest against the
body, so its signatures carry a fixed Date we verify with ``now=``, and when it verifies ours
the test checks the digest itself with hashlib.
"""

from __future__ import annotations

import hashlib
from base64 import b64encode

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from httpsig import HeaderSigner, HeaderVerifier

from protocol.digest import digest_header
from protocol.errors import ProtocolError
from protocol.httpsig import sign_request, verify_request
from tests.protocol.httpsig.conftest import BODY, INBOX, KEY_ID, NOW

HOST = "drenthe.test"
PATH = "/actors/dorpsmolen/inbox"
DATE = "Wed, 01 May 2024 12:00:00 GMT"
COVERED = ["(request-target)", "host", "date", "digest"]


def _pem(key: rsa.RSAPrivateKey) -> tuple[str, str]:
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private, public


def _their_signed_post(key: rsa.RSAPrivateKey, sign_header: str = "signature") -> dict[str, str]:
    private, _ = _pem(key)
    headers = {"Host": HOST, "Date": DATE, "Digest": digest_header(BODY)}
    signer = HeaderSigner(KEY_ID, private, algorithm="rsa-sha256", headers=COVERED,
                          sign_header=sign_header)
    return dict(signer.sign(headers, method="POST", path=PATH))


def test_we_verify_their_signature(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = _their_signed_post(rsa_key)
    assert verify_request("POST", INBOX, headers, BODY, rsa_key.public_key(), now=NOW) == KEY_ID


def test_we_verify_their_authorization_header(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = _their_signed_post(rsa_key, sign_header="authorization")
    assert headers["authorization"].startswith("Signature keyId=")
    assert verify_request("POST", INBOX, headers, BODY, rsa_key.public_key(), now=NOW) == KEY_ID


def test_we_refuse_their_signature_over_another_body(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = _their_signed_post(rsa_key)
    with pytest.raises(ProtocolError) as exc:
        verify_request("POST", INBOX, headers, BODY + b" ", rsa_key.public_key(), now=NOW)
    assert exc.value.reason == "digest_mismatch"


def test_we_refuse_their_signature_with_a_changed_date(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = _their_signed_post(rsa_key)
    headers["date"] = "Wed, 01 May 2024 12:00:01 GMT"
    with pytest.raises(ProtocolError) as exc:
        verify_request("POST", INBOX, headers, BODY, rsa_key.public_key(), now=NOW)
    assert exc.value.reason == "invalid_signature"


def _they_verify(key: rsa.RSAPrivateKey, headers: dict[str, str], method: str, path: str,
                 required: list[str]) -> bool:
    _, public = _pem(key)
    verifier = HeaderVerifier(headers, public, required_headers=required, method=method, path=path,
                              sign_header="signature")
    return bool(verifier.verify())


def test_they_verify_our_signed_post(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = {"Host": HOST, **sign_request("POST", INBOX, {"Host": HOST}, BODY, rsa_key, KEY_ID)}
    assert _they_verify(rsa_key, headers, "POST", PATH, COVERED)
    # httpsig does not look at the body; check that the signed digest is the body's.
    assert headers["Digest"] == "SHA-256=" + b64encode(hashlib.sha256(BODY).digest()).decode()


def test_they_verify_our_signed_get_with_a_query(rsa_key: rsa.RSAPrivateKey) -> None:
    url = INBOX + "?page=2"
    headers = sign_request("GET", url, {}, None, rsa_key, KEY_ID)
    assert _they_verify(rsa_key, headers, "GET", PATH + "?page=2", COVERED[:3])


def test_they_refuse_our_signature_for_another_path(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = sign_request("POST", INBOX, {"Host": HOST}, BODY, rsa_key, KEY_ID)
    assert not _they_verify(rsa_key, {"Host": HOST, **headers}, "POST", PATH + "x", COVERED)
