"""An embedded object whose proof does not verify counts as one without a proof: its origin decides.

Fedify drops an object's ``@context`` when it embeds a signed object in a ``Create``, so the
object's ``eddsa-jcs-2022`` proof cannot verify as embedded, although the object is genuine.
Refusing it lost real replies; trusting it would let any altered copy through. So such an
object is fetched from its origin, and the origin's copy is what is stored (or nothing, when
the origin does not know it).
"""

from __future__ import annotations

from typing import Any

from node.services.inputs import item_input
from node.services.items import create_item
from node.services.permissions import SYSTEM
from protocol.proofs import add_proof
from tests.hardening.conftest import World


def _signed_reply(world: World, n: str, in_reply_to: str) -> dict[str, Any]:
    """Mallory's reply as his origin serves it, @context and proof included."""
    note = add_proof(world.note(world.mallory, n, inReplyTo=in_reply_to), world.mallory.ed,
                     world.mallory.ed_key_id, created=world.clock())
    world.evil.serve(note["id"], note)
    return note


async def _question(world: World) -> str:
    question = await create_item(world.ctx, item_input(
        kind="question", title="Wie rijdt de buurtbus?", content="Zoeken chauffeurs."), SYSTEM)
    return question.ap_id


async def test_reply_embedded_without_its_context_is_stored_from_its_origin(
        world: World) -> None:
    # Given a genuine signed reply, embedded in a Create the way Fedify does: without @context
    reply = _signed_reply(world, "5", await _question(world))
    embedded = {k: v for k, v in reply.items() if k != "@context"}
    # When its author sends the Create
    assert (await world.post(world.activity(obj=embedded, n="5"))).status == 202
    await world.work()
    # Then the node asked the origin, and stored the origin's copy as an answer
    assert await world.inbox_state(world.activity(n="5")["id"]) == "done"
    assert world.net.requested(reply["id"])
    stored = await world.stored(reply["id"])
    assert stored is not None and stored.kind == "answer"
    assert stored.document == reply


async def test_embedded_copy_whose_proof_fails_stores_the_origin_copy(world: World) -> None:
    # Given a signed reply whose embedded copy was altered after signing
    reply = _signed_reply(world, "6", await _question(world))
    altered = reply | {"content": "<p>Iets anders</p>"}
    # When the Create carrying the altered copy arrives
    assert (await world.post(world.activity(obj=altered, n="6"))).status == 202
    await world.work()
    # Then what is stored is what the origin serves
    stored = await world.stored(reply["id"])
    assert stored is not None and stored.content_html == "<p>Hallo Drenthe</p>"
    assert stored.document == reply


async def test_embedded_copy_whose_proof_fails_and_origin_denies_stores_nothing(
        world: World) -> None:
    # Given an embedded object with a broken proof that its origin does not serve
    reply = _signed_reply(world, "7", await _question(world))
    world.evil.forget(reply["id"])
    altered = reply | {"content": "<p>Iets anders</p>"}
    # When the Create arrives
    assert (await world.post(world.activity(obj=altered, n="7"))).status == 202
    await world.work()
    # Then nothing is stored, and the activity is done with (not retried)
    assert await world.inbox_state(world.activity(n="7")["id"]) == "done"
    assert await world.stored(reply["id"]) is None
