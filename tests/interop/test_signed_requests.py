"""HTTP signatures (draft-cavage-12) between a node and independent implementations, in process.

Outgoing: the node's own ``RemoteClient`` (``ctx.remote``) signs GETs and POSTs by its node actor,
and a peer at ``https://bovine.test`` checks them with bovine's ``SignatureChecker`` — which
fetches the node actor's key from the node itself, checks the ``Date`` against the real clock
and, for a POST, the digest against the body. Incoming: requests signed by bovine's
``HttpSignature`` builder and by the ``httpsig`` package's ``HeaderSigner`` for the pasture's
test actor (served in process by fediverse-pasture's actor app) are accepted by the node's
inbox, and refused once the body no longer matches. ``httpsig`` never looks at the body, so the
node's own digest check is what refuses a body swapped under a valid signature.
"""

from __future__ import annotations

import hashlib
import uuid
from base64 import b64encode
from collections.abc import AsyncIterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import orjson
import pytest
from bovine.crypto.helper import content_digest_sha256
from bovine.crypto.http_signature import build_signature
from bovine.crypto.signature_checker import SignatureChecker
from bovine.crypto.types import CryptographicIdentifier, CryptographicSecret
from bovine.utils import get_gmt_now
from cryptography.hazmat.primitives import serialization
from fediverse_pasture.data_provider.models import ActorData
from fediverse_pasture.server.verify_actor import ActorVerifier
from fediverse_pasture.types import Message
from httpsig import HeaderSigner, HeaderVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from node.remote import RemoteError, Signer
from node.services.follow import follow
from node.services.resolve import node_actor, signer_of
from node.store import follows as follow_store
from node.store import inbox as inbox_store
from node.store import objects as object_store
from node.worker import run_until_idle
from protocol.keys import generate_rsa
from tests.federation.harness import activities_of
from tests.interop.conftest import PASTURE_ACTOR, PASTURE_ORIGIN, OpenWorld, PastureWorld
from tests.jsonld import expansion_problems

BOVINE = "https://bovine.test"
BOVINE_ACTOR = f"{BOVINE}/actor"
ACTIVITY_JSON = "application/activity+json"
COVERED = ["(request-target)", "host", "date", "digest"]


class BovinePeer:
    """A peer whose only job is to check signatures with bovine's checker; keeps each verdict."""

    def __init__(self, world: PastureWorld) -> None:
        self.world = world
        self.verdicts: list[str | None] = []  # the controller bovine verified, or None
        self.received: list[dict[str, Any]] = []

    async def _key(self, key_id: str) -> CryptographicIdentifier | None:
        response = await self.world.http.get(key_id.split("#")[0],
                                             headers={"accept": ACTIVITY_JSON})
        key = response.json().get("publicKey") or {}
        if key.get("id") != key_id:
            return None
        return CryptographicIdentifier.from_pem(key["publicKeyPem"], key["owner"])

    async def _verdict(self, request: Request) -> str | None:
        body = await request.body()

        async def read_body() -> bytes:
            return body

        checker = SignatureChecker(self._key)
        verdict: str | None = await checker.validate_signature(
            request.method, str(request.url), dict(request.headers), read_body)
        self.verdicts.append(verdict)
        return verdict

    async def actor(self, request: Request) -> Response:
        if await self._verdict(request) is None:  # authorized fetch, as GoToSocial does
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        document = {"@context": "https://www.w3.org/ns/activitystreams", "id": BOVINE_ACTOR,
                    "type": "Person", "inbox": f"{BOVINE}/inbox",
                    "preferredUsername": "bovine"}
        return JSONResponse(document, media_type=ACTIVITY_JSON)

    async def inbox(self, request: Request) -> Response:
        if await self._verdict(request) is None:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        self.received.append(orjson.loads(await request.body()))
        return Response(status_code=202)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/actor", self.actor, methods=["GET"]),
                                 Route("/inbox", self.inbox, methods=["POST"])])


@pytest.fixture
async def world(tmp_path: Path, open_pasture_world: OpenWorld,
                pasture_actor_data: ActorData) -> AsyncIterator[PastureWorld]:
    async with open_pasture_world(tmp_path, pasture_actor_data) as w:
        yield w


@pytest.fixture
def bovine(world: PastureWorld) -> BovinePeer:
    peer = BovinePeer(world)
    world.fed.network.add("bovine.test", peer.app())
    return peer


# --- ours, checked by bovine -----------------------------------------------------------------

async def test_bovine_verifies_our_signed_get(world: PastureWorld, bovine: BovinePeer) -> None:
    node = await node_actor(world.ctx)
    document = await world.ctx.remote.get_json(BOVINE_ACTOR, signer=signer_of(node))
    assert document["id"] == BOVINE_ACTOR
    assert bovine.verdicts == [node.ap_id]


async def test_bovine_verifies_our_signed_post(world: PastureWorld, bovine: BovinePeer) -> None:
    node = await node_actor(world.ctx)
    body = orjson.dumps({"id": f"{node.ap_id}#test", "type": "Note"})
    status = await world.ctx.remote.post(f"{BOVINE}/inbox", body, signer=signer_of(node))
    assert status == 202
    assert bovine.verdicts == [node.ap_id]


async def test_bovine_refuses_our_post_signed_with_a_key_we_do_not_publish(
        world: PastureWorld, bovine: BovinePeer) -> None:
    node = await node_actor(world.ctx)
    assert node.rsa_key_id
    forged = Signer(node.rsa_key_id, generate_rsa())
    with pytest.raises(RemoteError) as exc:
        await world.ctx.remote.post(f"{BOVINE}/inbox", b"{}", signer=forged)
    assert exc.value.status == 401
    assert bovine.verdicts == [None]


async def test_follow_of_a_bovine_actor_passes_bovines_checks(world: PastureWorld,
                                                              bovine: BovinePeer) -> None:
    # Given a peer that serves its actor only to signed GETs
    # When the node follows it (actor fetch, then the Follow delivered by the worker)
    await follow(world.ctx, BOVINE_ACTOR)
    await run_until_idle(world.ctx)
    # Then bovine verified both requests as the node actor's, and the Follow arrived
    node = await node_actor(world.ctx)
    assert bovine.verdicts == [node.ap_id, node.ap_id]
    assert [(a["type"], a["object"]) for a in bovine.received] == [("Follow", BOVINE_ACTOR)]
    async with world.ctx.db.sessions() as session:
        row = await follow_store.get(session, node.ap_id, BOVINE_ACTOR)
    assert row is not None and row.state == "pending"


# --- theirs, checked by our inbox ------------------------------------------------------------

def _create_note(content: str) -> dict[str, Any]:
    note_id = f"{PASTURE_ORIGIN}/object/{uuid.uuid4().hex}"
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{PASTURE_ORIGIN}/activity/{uuid.uuid4().hex}",
        "type": "Create",
        "actor": PASTURE_ACTOR,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {"id": note_id, "type": "Note", "attributedTo": PASTURE_ACTOR,
                   "to": ["https://www.w3.org/ns/activitystreams#Public"],
                   "published": "2026-11-27T09:00:00Z", "content": content},
    }


def _inbox(world: PastureWorld) -> str:
    return f"{world.ctx.urls.actor('drenthe')}/inbox"


def _bovine_signed(world: PastureWorld, body: bytes, *, signed_body: bytes | None = None,
                   secret: CryptographicSecret | None = None) -> dict[str, str]:
    """Headers as bovine's ``signed_post`` makes them (its HttpSignature builder)."""
    target = "/actors/drenthe/inbox"
    helper = (build_signature("drenthe.test", "post", target)
              .with_field("date", get_gmt_now())
              .with_field("digest", content_digest_sha256(signed_body or body))
              .with_field("content-type", ACTIVITY_JSON))
    secret = secret or CryptographicSecret.from_pem(world.key_id, world.private_pem)
    return {**helper.headers, "signature": helper.sign_for_http_draft(secret)}


async def test_our_inbox_accepts_a_post_signed_by_bovine(world: PastureWorld) -> None:
    activity = _create_note("Getekend door bovine")
    body = orjson.dumps(activity)
    response = await world.http.post(_inbox(world), content=body,
                                     headers=_bovine_signed(world, body))
    assert response.status_code == 202, response.text
    await run_until_idle(world.ctx)
    async with world.ctx.db.sessions() as session:
        stored = await object_store.get(session, activity["object"]["id"])
    assert stored is not None and stored.attributed_to == PASTURE_ACTOR


async def test_our_inbox_refuses_a_bovine_signature_over_another_body(
        world: PastureWorld) -> None:
    body = orjson.dumps(_create_note("Het echte bericht"))
    swapped = orjson.dumps(_create_note("Een ander bericht"))
    headers = _bovine_signed(world, swapped, signed_body=body)
    response = await world.http.post(_inbox(world), content=swapped, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "digest_mismatch"


async def test_our_inbox_refuses_a_bovine_signature_by_a_key_the_actor_does_not_list(
        world: PastureWorld) -> None:
    body = orjson.dumps(_create_note("Vervalst"))
    forged = CryptographicSecret(world.key_id, generate_rsa())
    response = await world.http.post(_inbox(world), content=body,
                                     headers=_bovine_signed(world, body, secret=forged))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_signature"


def _httpsig_signed(world: PastureWorld, body: bytes) -> dict[str, str]:
    """Headers signed by httpsig's HeaderSigner; the Digest is ours to add (httpsig has none)."""
    headers = {"Host": "drenthe.test", "Date": formatdate(usegmt=True),
               "Digest": "SHA-256=" + b64encode(hashlib.sha256(body).digest()).decode(),
               "Content-Type": ACTIVITY_JSON}
    signer = HeaderSigner(world.key_id, world.private_pem, algorithm="rsa-sha256",
                          headers=COVERED)
    return dict(signer.sign(headers, method="POST", path="/actors/drenthe/inbox"))


def _public_pem(world: PastureWorld) -> str:
    key = serialization.load_pem_private_key(world.private_pem.encode(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


async def test_our_inbox_accepts_a_post_signed_by_httpsig(world: PastureWorld) -> None:
    activity = _create_note("Getekend door httpsig")
    body = orjson.dumps(activity)
    response = await world.http.post(_inbox(world), content=body,
                                     headers=_httpsig_signed(world, body))
    assert response.status_code == 202, response.text
    await run_until_idle(world.ctx)
    async with world.ctx.db.sessions() as session:
        assert await object_store.get(session, activity["object"]["id"]) is not None


async def test_our_inbox_refuses_an_httpsig_post_whose_digest_is_not_the_bodys(
        world: PastureWorld) -> None:
    # Given a request httpsig signed for one body, carrying another
    signed_body = orjson.dumps(_create_note("Het echte bericht"))
    headers = _httpsig_signed(world, signed_body)
    swapped = orjson.dumps(_create_note("Een ander bericht"))
    # httpsig's own verifier accepts it: it checks the signed headers, never the body
    verifier = HeaderVerifier(headers, _public_pem(world), required_headers=COVERED,
                              method="POST", path="/actors/drenthe/inbox")
    assert verifier.verify()
    # When it reaches our inbox, Then the digest check refuses it
    response = await world.http.post(_inbox(world), content=swapped, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "digest_mismatch"


async def test_pasture_actor_check_gets_its_signed_like_accepted(world: PastureWorld) -> None:
    # Given fediverse-pasture's actor check, run for our node actor by the pasture's actor
    message = Message()
    verifier = ActorVerifier(actor_list=[world.actor_data], domain="pasture-one-actor",
                             remote_uri=world.ctx.urls.actor("drenthe"), message=message)
    verifier.remote_actor_uri = verifier.remote_uri
    # When it fetches our actor and posts its signed Like of itself to our inbox
    result = await verifier.fetch_remote_and_post_using_actor(await world.bovine_actor())
    # Then both steps pass, the Like was answered 202, and nothing of it was kept
    assert result == {"get_actor": True, "post_inbox": True}, message.steps
    assert "Successfully posted to inbox with result" in message.steps
    like = world.session.responses[-1]
    assert (like.request.method, like.status_code) == ("POST", 202), message.steps
    async with world.ctx.db.sessions() as session:
        assert await inbox_store.state_of(session, orjson.loads(like.request.content)["id"]) \
            is None


async def test_accept_of_a_fedify_follow_embeds_only_what_identifies_it(
        world: PastureWorld) -> None:
    # Given a Follow with its own @context, as Fedify sends one (Data Integrity v1, whose
    # protected terms our Accept's Data Integrity v2 defines differently)
    node = world.ctx.urls.actor("drenthe")
    follow_doc = {"@context": ["https://www.w3.org/ns/activitystreams",
                               "https://w3id.org/security/data-integrity/v1"],
                  "id": f"{PASTURE_ORIGIN}/follow/{uuid.uuid4().hex}", "type": "Follow",
                  "actor": PASTURE_ACTOR, "object": node}
    body = orjson.dumps(follow_doc)
    # When it is received and applied
    response = await world.http.post(_inbox(world), content=body,
                                     headers=_bovine_signed(world, body))
    assert response.status_code == 202, response.text
    await run_until_idle(world.ctx)
    # Then the Accept embeds {id, type, actor, object} of it, and is valid JSON-LD as a whole
    (accept,) = await activities_of(world.fed["drenthe"], node, "Accept")
    assert accept.document["object"] == {"id": follow_doc["id"], "type": "Follow",
                                         "actor": PASTURE_ACTOR, "object": node}
    assert expansion_problems(accept.document) == []
