"""Activities the node does not act on, as real servers send them: verified, then 202, then ignored.

Mastodon sends a ``Like`` when someone favourites an item and an ``Add`` when it is pinned;
Misskey sends ``EmojiReact`` (or a ``Like`` with a reaction). None of them is stored, but each
is answered the way its sender expects (202), and only after its HTTP signature verified: an
unsigned or forged one is refused like any other request.
An ``Update`` of an actor is acted on: the cached actor and its keys are refreshed. A ``Move``
is acted on too (tests/federation/test_moves.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from node.services.resolve import fetch_actor
from tests.hardening.conftest import AS, NODE, Refuse, RemoteActor, World, peer_keys

NODE_ACTOR = f"{NODE}/actors/drenthe"
# The tables an ignored activity must leave alone (the signer's actor is cached, and its host
# noted, as for every verified request).
CONTENT_TABLES = ("inbox", "objects", "activities", "deliveries", "follows", "feed", "flags",
                  "jobs")


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[World], dict[str, Any]]


def _activity(w: World, type: str, n: str = "1", **fields: Any) -> dict[str, Any]:
    actor = w.mallory.ap_id
    return {"@context": AS, "id": f"{w.mallory.origin}/activities/{type.lower()}-{n}",
            "type": type, "actor": actor, **fields}


def _like(w: World) -> dict[str, Any]:
    return _activity(w, "Like", object=f"{NODE}/items/1")


IGNORED = [
    Case("mastodon-like", _like),
    Case("misskey-emoji-react", lambda w: _activity(
        w, "EmojiReact", object=f"{NODE}/items/1", content=":blobcat:",
        tag=[{"id": f"{w.mallory.origin}/emojis/blobcat", "type": "Emoji", "name": ":blobcat:",
              "icon": {"type": "Image", "url": f"{w.mallory.origin}/blobcat.png"}}])),
    Case("misskey-like-with-reaction", lambda w: _activity(
        w, "Like", object=f"{NODE}/items/1", content="👍", _misskey_reaction="👍")),
    Case("mastodon-add-to-featured", lambda w: _activity(
        w, "Add", object=f"{w.mallory.origin}/notes/1",
        target=f"{w.mallory.ap_id}/collections/featured")),
    Case("remove-from-featured", lambda w: _activity(
        w, "Remove", object=f"{w.mallory.origin}/notes/1",
        target=f"{w.mallory.ap_id}/collections/featured")),
    Case("block", lambda w: _activity(w, "Block", object=NODE_ACTOR)),
    Case("undo-of-a-like", lambda w: _activity(w, "Undo", object=_like(w))),
    Case("create-of-a-chat-message", lambda w: _activity(
        w, "Create", object={"id": f"{w.mallory.origin}/chats/1", "type": "ChatMessage",
                             "attributedTo": w.mallory.ap_id, "to": [NODE_ACTOR],
                             "content": "Hoi"})),
]


async def _content_counts(world: World) -> dict[str, int]:
    counts = await world.counts()
    return {table: counts[table] for table in CONTENT_TABLES}


@pytest.mark.parametrize("case", IGNORED, ids=[c.id for c in IGNORED])
async def test_signed_activity_of_an_ignored_type_is_accepted_and_stored_nowhere(
        world: World, case: Case, caplog: pytest.LogCaptureFixture) -> None:
    # Given a genuine activity of a type the node does not act on
    activity = case.build(world)
    await world.work()  # the worker's own periodic jobs (retention) exist before we count
    before = await _content_counts(world)
    caplog.set_level(logging.DEBUG, logger="kennisknoop")
    # When its actor signs and sends it
    sent = await world.post(activity)
    await world.work()
    # Then it is answered 202, noted at debug level only, and nothing of it is kept
    assert sent.status == 202, sent.body
    assert await _content_counts(world) == before
    assert await world.inbox_state(activity["id"]) is None
    lines = [r for r in caplog.records if r.name.startswith("kennisknoop.inbox")]
    assert [r.levelno for r in lines] == [logging.DEBUG], [r.getMessage() for r in lines]
    assert activity["id"] in lines[0].getMessage()
    # and the only request it caused was the fetch of its signer's key
    assert world.net.log == [("GET", world.mallory.ap_id)]


async def test_unsigned_like_is_refused(world: World, refused: Refuse) -> None:
    await refused(world.sign(_like(world)).drop("Signature"), 401, "missing_signature")


async def test_like_signed_by_another_actor_is_refused(world: World, refused: Refuse) -> None:
    like = _activity(world, "Like", object=f"{NODE}/items/1") | {"actor": world.alice.ap_id}
    await refused(world.sign(like), 403, "actor_mismatch", allowed=[world.mallory.ap_id])


async def test_like_with_a_forged_signature_is_refused(world: World, refused: Refuse) -> None:
    wire = world.sign(_like(world), key=world.alice.rsa, key_id=world.mallory.key_id)
    await refused(wire, 401, "invalid_signature", allowed=[world.mallory.ap_id])


async def test_body_that_is_no_activity_is_refused_before_any_fetch(world: World,
                                                                    refused: Refuse) -> None:
    # fediverse-pasture's unsigned probe: a type and nothing else
    await refused(world.sign({"@context": AS, "type": "EchoRequest"}), 422, "missing_id")


async def test_actor_update_refreshes_the_cached_keys(world: World) -> None:
    # Given Mallory's actor and key, cached by the node
    await fetch_actor(world.ctx, world.mallory.ap_id)
    # When Mallory moves to a new RSA key and sends an Update of himself, signed with the old one
    rotated = RemoteActor(world.mallory.ap_id, peer_keys()[2][0], world.mallory.ed)
    document = rotated.document()
    world.evil.serve(rotated.ap_id, document)
    update = _activity(world, "Update", object=document)
    assert (await world.post(update)).status == 202
    await world.work()
    assert await world.inbox_state(update["id"]) == "done"
    # Then, with his origin silent from now on, a request signed by the new key verifies
    world.evil.forget(rotated.ap_id)
    create = world.activity(n="2")
    sent = await world.post(create, signer=rotated)
    assert sent.status == 202, sent.body
    await world.work()
    assert await world.stored(create["object"]["id"]) is not None
