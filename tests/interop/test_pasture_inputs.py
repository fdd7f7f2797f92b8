"""Real-world activity shapes (fediverse-pasture-inputs 0.3) accepted by a node's inbox.

fediverse-pasture-inputs is the corpus funfedi.dev sends to Mastodon, Misskey, Pleroma,
GoToSocial, Mitra and others to chart what each of them accepts: every example is a set of
properties laid over a ``Note`` skeleton. Each example here travels the pasture's own way: its
``ActivitySender`` builds the ``Note`` and wraps it in a ``Create`` by the pasture's test actor
``http://pasture-one-actor/actor`` (the host the examples name, so object ids, ``attributedTo``
and the actor line up without rewriting anything), bovine's ``BovineActor`` signs the POST
(draft-cavage rsa-sha256 with bovine's lower-case ``sha-256=`` digest), and it lands in the
inbox of an in-process node, which fetches the actor's key from the pasture's own actor app.
Then the node's worker runs.

For every example: never a 5xx and never a crashed inbox job; everything valid ends up in
``objects`` with the kind its type maps to and its HTML sanitised. The examples the node refuses
on purpose are listed in ``REFUSED`` with the code it gives and why; each must still be refused
with exactly that code, so a change in behaviour shows up here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from fediverse_pasture.data_provider import bovine_actor_for_actor_data
from fediverse_pasture.data_provider.models import ActorData
from fediverse_pasture.runner import ActivitySender
from fediverse_pasture_inputs import available
from fediverse_pasture_inputs.version import __version__ as corpus_version
from sqlalchemy import select

from node.services.remote_objects import TYPE_KINDS
from node.store import objects as object_store
from node.store.objects import StoredObject
from node.store.schema import inbox
from node.worker import run_until_idle
from tests.interop.conftest import PASTURE_ACTOR, OpenWorld, PastureWorld

EXAMPLES = [(f"{name}-{index}", example) for name, data in sorted(available.items())
            for index, example in enumerate(data.examples)]

_REFERENCE = ("a typeless object is only a reference ({id: …}); fetched from its origin, which "
              "serves no such object (404), it leaves nothing to store")

# Examples the node refuses on purpose: example id -> (code, why). The code is the 4xx body's
# ``error``, else the reason the inbox job failed with, else the worker's note, else ``ignored``
# for a verified activity the node answered 202 and did not store (not even in its inbox).
REFUSED: dict[str, tuple[str, str]] = {
    "in_reply_to-3": ("bad_field", "inReplyTo as a Link without an id: an answer must name its "
                      "question by IRI; the node does not guess from href"),
    "in_reply_to-4": ("bad_field", "two inReplyTo values: an answer belongs to one question and "
                      "the node does not pick one"),
    "in_reply_to-5": ("bad_field", "inReplyTo as a Collection without an id names nothing to "
                      "answer"),
    "necessary_properties-1": ("missing_id", "without an id neither the object's origin nor "
                               "idempotent updates can be checked"),
    "necessary_properties-3": ("not_author", "without attributedTo the object has no author, "
                               "and only its author may create it (DESIGN.md, ownership); "
                               "Mastodon assumes the activity's actor instead"),
    "necessary_properties-4": ("nothing to store", _REFERENCE),
    "object_types-8": ("ignored", "a Profile is not content: answered 202, stored nowhere"),
    "object_types-9": ("ignored", "a Relationship is not content: answered 202, stored nowhere"),
    "object_types-10": ("nothing to store", "a Create of a Tombstone creates nothing"),
    "object_types-13": ("nothing to store", _REFERENCE),
}


@dataclass(frozen=True)
class Outcome:
    status: int
    code: str | None  # see REFUSED
    inbox_state: str | None
    stored: StoredObject | None
    note: dict[str, Any]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory, open_pasture_world: OpenWorld,
                pasture_actor_data: ActorData) -> AsyncIterator[PastureWorld]:
    async with open_pasture_world(tmp_path_factory.mktemp("pasture"), pasture_actor_data) as w:
        yield w


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sender(world: PastureWorld) -> ActivitySender:
    """The pasture's sender, exactly as its runner makes it for its one actor."""
    _, actor_object = bovine_actor_for_actor_data(PASTURE_ACTOR, world.actor_data)
    activity_sender = ActivitySender.for_actor(await world.bovine_actor(), actor_object)
    activity_sender.sleep_after_getting_inbox = False  # a pause for slow real servers
    return activity_sender


async def _deliver(world: PastureWorld, sender: ActivitySender, example: dict[str, Any]
                   ) -> Outcome:
    """Send one example to the node actor, run the worker, and see what became of it."""
    sender.init_create_note(lambda note: {**note, **example})
    sent_before = len(world.session.responses)
    await sender.send(world.ctx.urls.actor("drenthe"))
    assert len(world.session.responses) > sent_before, "the pasture sent nothing"
    response = world.session.responses[-1]
    assert response.request.method == "POST"
    await run_until_idle(world.ctx)
    activity = sender.activity or {}
    embedded = activity.get("object")
    note: dict[str, Any] = embedded if isinstance(embedded, dict) else {}
    object_id = note.get("id")
    async with world.ctx.db.sessions() as session:
        row = (await session.execute(select(inbox.c.state, inbox.c.last_error).where(
            inbox.c.activity_ap_id == activity.get("id")))).first()
        stored = await object_store.get(session, object_id) if isinstance(object_id, str) else None
    code = None
    if response.status_code >= 400:
        code = response.json().get("error")
    elif row is None:
        code = "ignored"
    elif row.last_error:
        code = row.last_error.split(":")[0] if row.state == "failed" else row.last_error
    return Outcome(response.status_code, code, row.state if row else None, stored, note)


def _expected_kind(note: dict[str, Any]) -> str:
    type_ = note["type"][0] if isinstance(note["type"], list) else note["type"]
    if type_ == "Note":
        return "answer" if note.get("inReplyTo") else "note"
    return TYPE_KINDS.get(type_, "note")


def test_corpus_is_the_reviewed_release() -> None:
    # REFUSED names examples by position: a new corpus release needs a new review.
    assert corpus_version.startswith("0.3."), corpus_version
    assert len(EXAMPLES) == 262


@pytest.mark.asyncio(loop_scope="module")  # one node for the whole corpus: it stays fast
@pytest.mark.parametrize(("example_id", "example"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
async def test_pasture_example_is_stored_or_refused_for_its_reason(
        world: PastureWorld, sender: ActivitySender, example_id: str,
        example: dict[str, Any]) -> None:
    outcome = await _deliver(world, sender, example)
    assert outcome.status < 500, outcome
    assert outcome.status == 202 or 400 <= outcome.status < 500, outcome
    if outcome.status == 202 and outcome.code != "ignored":  # the job ran to an end
        assert outcome.inbox_state in ("done", "failed"), outcome
    if example_id in REFUSED:
        assert outcome.stored is None, outcome
        assert outcome.code == REFUSED[example_id][0], outcome
        return
    assert outcome.status == 202 and outcome.inbox_state == "done", outcome
    assert outcome.stored is not None, outcome
    assert not outcome.stored.is_local and outcome.stored.attributed_to == PASTURE_ACTOR
    assert outcome.stored.kind == _expected_kind(outcome.note)
    html = (outcome.stored.content_html or "").lower()
    assert "<script" not in html and "javascript:" not in html and "onerror" not in html
