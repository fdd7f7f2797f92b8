"""RFC 9421 against an independent implementation: pyauth/http-message-signatures (3.x).

Both directions, ed25519 and rsa-v1_5-sha256, with Content-Digest. It signs at a fixed time
(``created=``) that we verify with ``now=``; its verifier reads the real clock, so for that
direction we sign with the real time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)

from protocol.errors import ProtocolError
from protocol.httpsig import sign_request, verify_request
from tests.protocol.httpsig.conftest import BODY, INBOX, KEY_ID, NOW

Key = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
COVERED = ("@method", "@target-uri", "content-digest")


@dataclass
class Message:
    """The request shape http-message-signatures reads and writes."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


def _algorithm(key: Key) -> type[algorithms.HTTPSignatureAlgorithm]:
    return algorithms.ED25519 if isinstance(key, ed25519.Ed25519PrivateKey) else algorithms.RSA_V1_5_SHA256


def _resolver(key: Key) -> MappingKeyResolver:
    return MappingKeyResolver(public_keys={KEY_ID: key.public_key()}, private_keys={KEY_ID: key})


def _their_signed_post(key: Key, body: bytes = BODY) -> Message:
    message = Message("POST", INBOX, {"Content-Type": "application/activity+json"})
    signer = HTTPMessageSigner(signature_algorithm=_algorithm(key), key_resolver=_resolver(key))
    signer.sign(message, key_id=KEY_ID, created=NOW, label="sig1", covered_component_ids=COVERED,
                body=body)
    return message


def test_they_add_the_content_digest_we_expect(any_key: Key) -> None:
    message = _their_signed_post(any_key)
    assert message.headers["Content-Digest"].startswith("sha-256=:")


def test_we_verify_their_signature(any_key: Key) -> None:
    message = _their_signed_post(any_key)
    key_id = verify_request("POST", INBOX, message.headers, BODY, any_key.public_key(), now=NOW)
    assert key_id == KEY_ID


def test_we_refuse_their_signature_over_another_body(any_key: Key) -> None:
    message = _their_signed_post(any_key)
    with pytest.raises(ProtocolError):
        verify_request("POST", INBOX, message.headers, BODY + b" ", any_key.public_key(), now=NOW)


def test_we_refuse_their_signature_for_another_url(any_key: Key) -> None:
    message = _their_signed_post(any_key)
    with pytest.raises(ProtocolError):
        verify_request("POST", INBOX + "2", message.headers, BODY, any_key.public_key(), now=NOW)


def test_we_verify_their_signature_over_path_and_authority(ed_key: ed25519.Ed25519PrivateKey) -> None:
    message = Message("POST", INBOX, {})
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=_resolver(ed_key))
    signer.sign(message, key_id=KEY_ID, created=NOW, label="theirs",
                covered_component_ids=("@method", "@authority", "@path", "content-digest"), body=BODY)
    assert verify_request("POST", INBOX, message.headers, BODY, ed_key.public_key(), now=NOW)


def _verify_theirs(key: Key, message: Message, body: bytes) -> None:
    verifier = HTTPMessageVerifier(signature_algorithm=_algorithm(key), key_resolver=_resolver(key))
    results = verifier.verify(message, body=body, require_components=COVERED)
    assert [result.parameters["keyid"] for result in results] == [KEY_ID]


def test_they_verify_our_signature(any_key: Key) -> None:
    added = sign_request("POST", INBOX, {}, BODY, any_key, KEY_ID, flavour="rfc9421")
    _verify_theirs(any_key, Message("POST", INBOX, dict(added)), BODY)


def test_they_refuse_our_signature_over_another_body(any_key: Key) -> None:
    added = sign_request("POST", INBOX, {}, BODY, any_key, KEY_ID, flavour="rfc9421")
    with pytest.raises(InvalidSignature):
        _verify_theirs(any_key, Message("POST", INBOX, dict(added)), BODY + b" ")


def test_they_verify_our_signed_get(ed_key: ed25519.Ed25519PrivateKey) -> None:
    added = sign_request("GET", INBOX, {}, None, ed_key, KEY_ID, flavour="rfc9421")
    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.ED25519,
                                   key_resolver=_resolver(ed_key))
    (result,) = verifier.verify(Message("GET", INBOX, dict(added)),
                                require_components=("@method", "@target-uri"))
    assert result.parameters["alg"] == "ed25519"
