"""protocol.httpsig.auth: HttpSignatureAuth signs what httpx actually sends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from protocol.errors import ProtocolError
from protocol.httpsig import Flavour, flavour_of, verify_request
from protocol.httpsig.auth import HttpSignatureAuth
from tests.protocol.httpsig.conftest import BODY, INBOX, KEY_ID, NOW

Key = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


def _verifying_transport(key: Key, seen: list[httpx.Request]) -> httpx.MockTransport:
    """A peer that answers 202 when the signature verifies, 401 with the reason otherwise."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        try:
            key_id = verify_request(
                request.method, str(request.url), request.headers, request.content,
                key.public_key(), now=NOW,
            )
        except ProtocolError as exc:
            return httpx.Response(401, text=repr(exc))
        return httpx.Response(202, text=key_id)

    return httpx.MockTransport(handle)


@pytest.mark.parametrize("flavour", ["cavage", "rfc9421"])
def test_signed_post_is_accepted(any_key: Key, flavour: Flavour) -> None:
    seen: list[httpx.Request] = []
    auth = HttpSignatureAuth(any_key, KEY_ID, flavour=flavour, clock=lambda: NOW)
    with httpx.Client(auth=auth, transport=_verifying_transport(any_key, seen)) as client:
        response = client.post(INBOX, content=BODY, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.text) == (202, KEY_ID)
    assert flavour_of(seen[0].headers) == flavour


@pytest.mark.parametrize("flavour", ["cavage", "rfc9421"])
def test_signed_get_is_accepted(any_key: Key, flavour: Flavour) -> None:
    seen: list[httpx.Request] = []
    auth = HttpSignatureAuth(any_key, KEY_ID, flavour=flavour, clock=lambda: NOW)
    with httpx.Client(auth=auth, transport=_verifying_transport(any_key, seen)) as client:
        response = client.get(INBOX + "?page=2", headers={"Accept": "application/activity+json"})
    assert (response.status_code, response.text) == (202, KEY_ID)
    assert "digest" not in seen[0].headers and "content-digest" not in seen[0].headers


async def test_async_client_signs_the_streamed_body(ed_key: ed25519.Ed25519PrivateKey) -> None:
    auth = HttpSignatureAuth(ed_key, KEY_ID, flavour="rfc9421", clock=lambda: NOW)

    async def chunks() -> AsyncIterator[bytes]:
        yield BODY[:10]
        yield BODY[10:]

    async def handle(request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        key_id = verify_request(
            request.method, str(request.url), request.headers, body, ed_key.public_key(), now=NOW
        )
        return httpx.Response(202, text=key_id)

    async with httpx.AsyncClient(auth=auth, transport=httpx.MockTransport(handle)) as client:
        response = await client.post(INBOX, content=chunks())
    assert (response.status_code, response.text) == (202, KEY_ID)


def test_pem_private_key_is_accepted(rsa_key: rsa.RSAPrivateKey) -> None:
    from cryptography.hazmat.primitives import serialization

    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    seen: list[httpx.Request] = []
    auth = HttpSignatureAuth(pem, KEY_ID, clock=lambda: NOW)
    with httpx.Client(auth=auth, transport=_verifying_transport(rsa_key, seen)) as client:
        assert client.post(INBOX, content=BODY).status_code == 202


def test_real_clock_is_the_default(ed_key: ed25519.Ed25519PrivateKey) -> None:
    auth = HttpSignatureAuth(ed_key, KEY_ID)
    request = next(auth.auth_flow(httpx.Request("POST", INBOX, content=BODY)))
    assert verify_request("POST", INBOX, request.headers, BODY, ed_key.public_key()) == KEY_ID
