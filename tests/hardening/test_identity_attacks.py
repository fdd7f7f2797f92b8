"""Borrowed identities and origins (FEP-fe34): whose key, whose activity, whose object.

Mallory (``evil.test``) has a valid key and signs correctly; what she tries is to speak for Alice
(``victim.test``), for Bob (another actor of her own host), or for this node — through the body,
through key and actor documents that lie, through redirects, through ids on other origins,
through hosts spelled differently. The cheap rules that need no fetch are checked at the inbox
before anything is stored (403); rules that need state or a fetch (a relayed object's origin,
the stored author of an object) are applied by the worker, which then stores nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from protocol.proofs import add_proof
from tests.hardening.conftest import NODE, Refuse, RemoteActor, Wire, World, peer_keys


def _bob(world: World) -> RemoteActor:
    """A second actor of Mallory's host, whose document is served there."""
    rsa_key, ed_key = peer_keys()[2]
    bob = RemoteActor(f"{world.evil.origin}/actors/bob", rsa_key, ed_key)
    world.evil.serve(bob.ap_id, bob.document())
    return bob


def _key_document(world: World, owner: str) -> Wire:
    """A separate key document on Mallory's host naming ``owner``, who does not list it."""
    key_id = f"{world.evil.origin}/keys/1"
    world.evil.serve(key_id, {"@context": "https://w3id.org/security/v1", "id": key_id,
                              "owner": owner, "publicKeyPem":
                              world.mallory.document()["publicKey"]["publicKeyPem"]})
    return world.sign(world.activity(), key_id=key_id, key=world.mallory.rsa)


def _served_actor(world: World, path: str, *, document: dict[str, Any] | None = None,
                  content_type: str = "application/activity+json",
                  redirect: str | None = None) -> Wire:
    """Mallory signs as ``evil.test/actors/<path>``, whose URL answers as the test says."""
    ap_id = f"{world.evil.origin}/actors/{path}"
    liar = RemoteActor(ap_id, world.mallory.rsa, world.mallory.ed)
    if redirect is not None:
        world.evil.redirect(ap_id, redirect)
    else:
        world.evil.serve(ap_id, document or liar.document(), content_type=content_type)
    return world.sign(world.activity(actor=liar, obj=world.note(liar)), signer=liar)


def _alice_object(world: World, type: str, obj: Any) -> Wire:
    return world.sign(world.activity(type, obj))


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[World], Wire]
    status: int
    reason: str
    allowed: Callable[[World], list[str]] = lambda w: [w.mallory.ap_id]


def _fetched(*urls: str) -> Callable[[World], list[str]]:
    return lambda w: [u.replace("{evil}", w.evil.origin).replace("{victim}", w.victim.origin)
                      for u in urls]


CASES = [
    # the key's owner is not the activity's actor
    Case("actor-is-another-host",
         lambda w: w.sign(w.activity(actor=w.alice, obj=w.note(w.alice))),
         403, "actor_mismatch"),
    Case("actor-is-another-actor-of-the-same-host",
         lambda w: w.sign(w.activity(actor=_bob(w), obj=w.note(_bob(w)))),
         403, "actor_mismatch"),
    Case("actor-is-this-node",
         lambda w: w.sign(w.activity(actor=w.mallory, obj=w.note())
                          | {"actor": f"{NODE}/actors/drenthe"}),
         403, "actor_mismatch"),
    # key and actor documents that lie
    Case("key-document-owner-does-not-list-it", lambda w: _key_document(w, w.mallory.ap_id),
         401, "unknown_key", _fetched("{evil}/keys/1", "{evil}/actors/mallory")),
    Case("key-document-owner-on-another-origin", lambda w: _key_document(w, w.alice.ap_id),
         401, "unknown_key", _fetched("{evil}/keys/1")),
    Case("actor-url-redirects-to-another-origin",
         lambda w: _served_actor(w, "moved", redirect=w.alice.ap_id),
         401, "unknown_key", _fetched("{evil}/actors/moved", "{victim}/actors/alice")),
    Case("actor-url-redirects-to-another-actor",
         lambda w: _served_actor(w, "moved", redirect=w.mallory.ap_id),
         401, "unknown_key", _fetched("{evil}/actors/moved", "{evil}/actors/mallory")),
    Case("actor-document-with-another-id",
         lambda w: _served_actor(w, "liar", document=w.mallory.document()),
         401, "unknown_key", _fetched("{evil}/actors/liar")),
    Case("actor-document-as-text-html",
         lambda w: _served_actor(w, "page", content_type="text/html"),
         401, "unknown_key", _fetched("{evil}/actors/page")),
    Case("actor-document-as-plain-json",
         lambda w: _served_actor(w, "plain", content_type="application/json"),
         401, "unknown_key", _fetched("{evil}/actors/plain")),
    # ids on another origin than the actor
    Case("activity-id-on-another-origin",
         lambda w: w.sign(w.activity(id=f"{w.victim.origin}/activities/create-1")),
         403, "origin_mismatch"),
    Case("object-id-on-another-origin",
         lambda w: w.sign(w.activity(obj=w.note(id=f"{w.victim.origin}/notes/1"))),
         403, "origin_mismatch"),
    Case("object-id-on-another-origin-spelled-differently",
         lambda w: w.sign(w.activity(obj=w.note(id="https://Victim.TEST.:443/notes/1"))),
         403, "origin_mismatch"),
    Case("object-iri-on-another-origin",
         lambda w: w.sign(w.activity(obj=f"{w.victim.origin}/notes/1")),
         403, "origin_mismatch"),
    Case("object-attributed-to-another-host",
         lambda w: w.sign(w.activity(obj=w.note(attributedTo=w.alice.ap_id))),
         403, "not_author"),
    Case("object-attributed-to-another-actor-of-the-same-host",
         lambda w: w.sign(w.activity(obj=w.note(attributedTo=f"{w.evil.origin}/actors/bob"))),
         403, "not_author"),
    Case("object-without-author",
         lambda w: w.sign(w.activity(obj=w.note(attributedTo=None))), 403, "not_author"),
    Case("update-of-an-object-of-another-origin",
         lambda w: _alice_object(w, "Update", w.note(w.alice, version=9)),
         403, "origin_mismatch"),
    Case("update-of-another-actor-of-the-same-host",
         lambda w: _alice_object(w, "Update", _bob(w).document()), 403, "not_author"),
    Case("create-of-another-actor",
         lambda w: _alice_object(w, "Create", w.alice.document()), 403, "origin_mismatch"),
    Case("delete-of-an-object-of-another-origin",
         lambda w: _alice_object(w, "Delete", f"{w.victim.origin}/notes/1"),
         403, "origin_mismatch"),
    Case("delete-with-a-tombstone-of-another-origin",
         lambda w: _alice_object(w, "Delete", {"id": f"{w.victim.origin}/notes/1",
                                               "type": "Tombstone"}),
         403, "origin_mismatch"),
    Case("undo-of-another-actors-follow",
         lambda w: _alice_object(w, "Undo", {"id": f"{w.victim.origin}/follows/1",
                                             "type": "Follow", "actor": w.alice.ap_id,
                                             "object": f"{NODE}/actors/drenthe"}),
         403, "not_author"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_borrowed_identity_is_refused(world: World, refused: Refuse, case: Case) -> None:
    await refused(case.build(world), case.status, case.reason, allowed=case.allowed(world))


# --- federation policy, hosts spelled differently -----------------------------------------------

def _spelled(world: World, origin: str) -> Wire:
    """Mallory's request with her key and actor spelled on ``origin``."""
    actor = RemoteActor(f"{origin}/actors/mallory", world.mallory.rsa, world.mallory.ed)
    return world.sign(world.activity(actor=actor, obj=world.note(actor)), signer=actor)


@pytest.mark.parametrize("node_overrides", [{"federation__mode": "allowlist",
                                             "federation__allow": ["fryslan.test"]}])
async def test_peer_outside_the_allowlist_is_refused_without_a_fetch(
        world: World, refused: Refuse) -> None:
    await refused(world.sign(world.activity()), 403, "host_not_allowed", allowed=[])


@pytest.mark.parametrize("node_overrides", [{"federation__block": ["evil.test"]}])
async def test_blocked_host_spelled_differently_is_refused_without_a_fetch(
        world: World, refused: Refuse) -> None:
    await refused(_spelled(world, "https://EVIL.Test.:443"), 403, "host_not_allowed",
                  allowed=[])


@pytest.mark.parametrize("node_overrides", [{"federation__block": ["Bücher.Test."]}])
async def test_blocked_international_host_is_refused_in_its_ascii_form(
        world: World, refused: Refuse) -> None:
    await refused(_spelled(world, "https://xn--bcher-kva.test"), 403, "host_not_allowed",
                  allowed=[])


@pytest.mark.parametrize("node_overrides", [{"federation__mode": "allowlist",
                                             "federation__allow": ["EVIL.test."]}])
async def test_allowlisted_host_spelled_differently_is_accepted(world: World) -> None:
    assert (await world.post(world.activity())).status == 202


# --- the genuine activity survives a forgery of its id ------------------------------------------

async def test_genuine_activity_is_accepted_after_a_forgery_of_its_id(
        world: World, refused: Refuse) -> None:
    genuine = world.activity(actor=world.alice, obj=world.note(world.alice))
    # Given Mallory sent an activity under the id of Alice's, first
    await refused(world.sign(world.activity(id=genuine["id"])), 403, "origin_mismatch",
                  allowed=[world.mallory.ap_id])
    # When Alice's own activity with that id arrives
    sent = await world.post(genuine, signer=world.alice)
    await world.work()
    # Then it is accepted and applied
    assert sent.status == 202
    assert await world.inbox_state(genuine["id"]) == "done"
    assert await world.stored(genuine["object"]["id"]) is not None


async def test_a_foreign_key_listed_by_an_actor_is_never_cached_as_that_key(
        world: World, refused: Refuse) -> None:
    # Given Mallory's actor document also lists her own key under Alice's key id, and she
    # gets it cached by a valid request
    document = world.mallory.document()
    world.evil.serve(world.mallory.ap_id, document | {"publicKey": [
        document["publicKey"], {**document["publicKey"], "id": world.alice.key_id}]})
    assert (await world.post(world.activity())).status == 202
    # When she signs as Alice with that key id
    wire = world.sign(world.activity(actor=world.alice, obj=world.note(world.alice), n="2"),
                      key=world.mallory.rsa, key_id=world.alice.key_id)
    # Then the node asks Alice's origin for the key, and refuses the signature
    await refused(wire, 401, "invalid_signature", allowed=[world.alice.ap_id])


# --- refused when applied: stored state decides, or a fetch does ---------------------------------

async def _accepted_and_applied(world: World, activity: dict[str, Any], **sign: Any) -> str:
    sent = await world.post(activity, **sign)
    assert sent.status == 202, sent.body
    await world.work()
    state = await world.inbox_state(activity["id"])
    assert state is not None
    return state


async def test_update_of_another_actors_object_on_the_same_host_changes_nothing(
        world: World) -> None:
    # Given Bob's note, received from Bob
    bob = _bob(world)
    note = world.note(bob, "b1", version=1)
    assert await _accepted_and_applied(world, world.activity(actor=bob, obj=note),
                                       signer=bob) == "done"
    # When Mallory, on the same host, sends a newer version claiming she wrote it
    hijack = world.note(id=note["id"], version=5, content="<p>Gekaapt</p>")
    state = await _accepted_and_applied(world, world.activity("Update", hijack))
    # Then Bob's note is unchanged and the update was rejected when applied
    stored = await world.stored(note["id"])
    assert stored is not None and stored.attributed_to == bob.ap_id
    assert (stored.version, stored.content_html) == (1, "<p>Hallo Drenthe</p>")
    assert state == "failed"


async def test_delete_of_another_actors_object_on_the_same_host_changes_nothing(
        world: World) -> None:
    bob = _bob(world)
    note = world.note(bob, "b1")
    assert await _accepted_and_applied(world, world.activity(actor=bob, obj=note),
                                       signer=bob) == "done"
    state = await _accepted_and_applied(world, world.activity("Delete", note["id"]))
    stored = await world.stored(note["id"])
    assert stored is not None and not stored.deleted
    assert state == "failed"


def _forged(world: World, n: str = "9", **changes: Any) -> dict[str, Any]:
    """A note that claims to be Alice's, made up by Mallory."""
    return world.note(world.alice, n, content="<p>Vervalst</p>", **changes)


def _announce(world: World, obj: Any) -> dict[str, Any]:
    return world.activity("Announce", obj)


@dataclass(frozen=True)
class Relay:
    id: str
    build: Callable[[World], tuple[dict[str, Any], list[str]]]  # activity, ids never stored
    # The inbox row afterwards: done (nothing to store: the origin does not know the object),
    # failed (rejected), pending (the fetch from the origin failed; retried later).
    state: str


def _no_proof(w: World) -> tuple[dict[str, Any], list[str]]:
    forged = _forged(w)
    return _announce(w, forged), [forged["id"]]


def _proof_under_victims_key_id(w: World) -> tuple[dict[str, Any], list[str]]:
    forged = add_proof(_forged(w), w.mallory.ed, w.alice.ed_key_id, created=w.clock())
    return _announce(w, forged), [forged["id"]]


def _proof_by_own_key(w: World) -> tuple[dict[str, Any], list[str]]:
    forged = add_proof(_forged(w), w.mallory.ed, w.mallory.ed_key_id, created=w.clock())
    return _announce(w, forged), [forged["id"]]


def _forged_create(w: World) -> tuple[dict[str, Any], list[str]]:
    forged = _forged(w)
    create = w.activity(actor=w.alice, obj=forged)
    return _announce(w, create), [forged["id"]]


def _mirror_with_other_id(w: World) -> tuple[dict[str, Any], list[str]]:
    # Mallory's URL serves Alice's (made-up) note under Alice's id.
    forged = _forged(w)
    mirror = f"{w.evil.origin}/notes/mirror"
    w.evil.serve(mirror, forged)
    return _announce(w, mirror), [forged["id"], mirror]


def _served_as_html(w: World) -> tuple[dict[str, Any], list[str]]:
    genuine = w.genuine_note("7")
    w.victim.serve(genuine["id"], genuine, content_type="text/html")
    return _announce(w, {k: v for k, v in genuine.items() if k != "proof"}
                     | {"content": "<p>Vervalst</p>"}), [genuine["id"]]


def _origin_through_url(w: World) -> tuple[dict[str, Any], list[str]]:
    # Claims Alice's authorship through ``url``; its ``id`` is on Mallory's host.
    fake = w.note(w.alice, id=f"{w.evil.origin}/notes/7", url=f"{w.victim.origin}/notes/7")
    w.evil.serve(fake["id"], fake)
    return _announce(w, fake), [fake["id"], f"{w.victim.origin}/notes/7"]


RELAYS = [
    Relay("announce-of-a-forged-object-without-proof", _no_proof, "done"),
    Relay("announce-with-a-proof-under-the-victims-key-id", _proof_under_victims_key_id,
          "done"),
    Relay("announce-with-a-proof-by-the-relays-own-key", _proof_by_own_key, "done"),
    Relay("announce-of-a-forged-create-without-proof", _forged_create, "done"),
    Relay("announce-of-an-iri-serving-another-id", _mirror_with_other_id, "pending"),
    Relay("announce-of-an-object-served-as-html", _served_as_html, "pending"),
    Relay("announce-claiming-origin-through-url", _origin_through_url, "failed"),
]


@pytest.mark.parametrize("relay", RELAYS, ids=[r.id for r in RELAYS])
async def test_relayed_forgery_is_accepted_but_stores_nothing(world: World,
                                                             relay: Relay) -> None:
    activity, never = relay.build(world)
    state = await _accepted_and_applied(world, activity)
    for ap_id in never:
        assert await world.stored(ap_id) is None, ap_id
    assert state == relay.state


async def test_relayed_forged_copy_stores_the_origin_copy(world: World) -> None:
    genuine = world.genuine_note("3")
    altered = {k: v for k, v in genuine.items() if k != "proof"} | {"content": "<p>Onzin</p>"}
    assert await _accepted_and_applied(world, _announce(world, altered)) == "done"
    stored = await world.stored(genuine["id"])
    assert stored is not None and stored.content_html == "<p>Hallo Drenthe</p>"
    assert world.net.requested(genuine["id"])
