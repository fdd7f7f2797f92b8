"""Fixed keys and times for the HTTP signature tests (keys are the RFC 9421 Appendix B.1 ones)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tests.conftest import load_vector

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
INBOX = "https://drenthe.test/actors/dorpsmolen/inbox"
KEY_ID = "https://fryslan.test/actors/kerkje#main-key"
BODY = b'{"@context":"https://www.w3.org/ns/activitystreams","type":"Follow","id":"https://fryslan.test/a/1"}'


def _private(name: str) -> object:
    pem = load_vector("rfc9421_test_keys.json")["keys"][name]["private_pem"]
    return load_pem_private_key(pem.encode(), password=None)


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    """RFC 9421 B.1.1 test-key-rsa: RSA-2048."""
    key = _private("test-key-rsa")
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@pytest.fixture(scope="session")
def ed_key() -> ed25519.Ed25519PrivateKey:
    """RFC 9421 B.1.4 test-key-ed25519."""
    key = _private("test-key-ed25519")
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    return key


@pytest.fixture(scope="session", params=["rsa", "ed25519"])
def any_key(
    request: pytest.FixtureRequest, rsa_key: rsa.RSAPrivateKey, ed_key: ed25519.Ed25519PrivateKey
) -> rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey:
    """Each key type in turn."""
    return rsa_key if request.param == "rsa" else ed_key
