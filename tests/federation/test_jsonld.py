"""Every document a node sends or serves is valid JSON-LD with the contexts it ships, offline.

Peers built on JSON-LD processors (Fedify, bovine, Mitra) expand what they receive and refuse
a document that does not expand — Fedify answered our ``Accept`` with 400 because the ``Follow``
it embedded brought its own ``@context`` redefining a protected term. Here a node does all it
can do (follow, accept, items of every kind, update, delete, relays, theme feeds, unfollow),
every POST on the wire and every ActivityPub document it serves is caught, and each is expanded
by PyLD offline with the shipped contexts (``tests/jsonld.py``); an undefined term fails too.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from node.services import bottlenecks
from node.services.actors import create_initiative, delete_initiative, update_initiative
from node.services.documents import activity_document, follow_reference, sign
from node.services.follow import follow, unfollow
from node.services.inputs import (
    AttachmentInput,
    EndorsementInput,
    EndorsementWithdrawal,
    InitiativeInput,
    Patch,
    PlaceInput,
    item_input,
)
from node.services.items import create_item, delete_item, update_item
from node.services.permissions import SYSTEM
from node.services.resolve import node_actor
from tests.federation.harness import Federation, federation
from tests.jsonld import expansion_problems

ACCEPT_AP = "application/activity+json"


class Wire:
    """Holds every POST on the network, keeps its body, and lets it arrive."""

    def __init__(self, fed: Federation) -> None:
        self.fed = fed
        self.sent: list[dict[str, Any]] = []

    async def settle(self) -> None:
        for _ in range(100):
            self.fed.faults.hold = True
            steps = await self.fed.run_workers()
            held = list(self.fed.network.held)
            self.sent += [h.document for h in held]
            self.fed.faults.hold = False
            await self.fed.network.release_due(everything=True)
            if not steps and not held:
                return
        raise AssertionError("the federation did not settle")


async def _get(fed: Federation, url: str, *, gone: tuple[int, ...] = (410,)
               ) -> dict[str, Any] | None:
    """The document served at ``url``; None when it is one of ``gone``'s statuses."""
    response = await fed.http.get(url, headers={"accept": ACCEPT_AP})
    assert response.status_code in (200, *gone), (url, response.status_code)
    document: dict[str, Any] = response.json()
    return document if response.status_code in (200, 410) else None


async def _everything(fed: Federation) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Make Drenthe do all it can towards Fryslân; (POST bodies, served documents)."""
    drenthe, fryslan = fed["drenthe"], fed["fryslan"]
    wire = Wire(fed)
    initiative = await create_initiative(drenthe.ctx, InitiativeInput(
        handle="dorpsmolen", name="Dorpsmolen", summary="Een molen", description="**Sinds** 2004",
        legal_form="association", themes=("meals",), phase="active",
        place=PlaceInput(name="Reduzum", latitude=53.1, longitude=5.8, province_code="PV22",
                         municipality_code="GM0080"),
        goals="Malen", website="https://molen.example", contact="info@molen.example",
        networks=("LVKK",), partners=("Gemeente",), members_count=12,
        open_questions=("Wie helpt?",)), SYSTEM)
    await follow(fryslan.ctx, "drenthe@drenthe.test")
    await follow(fryslan.ctx, "dorpsmolen@drenthe.test")
    await follow(fryslan.ctx, "zorg@drenthe.test")
    await follow(drenthe.ctx, "fryslan@fryslan.test")
    await wire.settle()
    place = PlaceInput(name="Assen", latitude=53.0, longitude=6.56, province_code="PV22")
    items = {}
    for kind, extra in (
            ("story", {"place": place}), ("guide", {}),
            ("template", {"attachments": (AttachmentInput(
                url="https://drenthe.test/media/a.pdf", name="Verslag",
                media_type="application/pdf"),)}),
            ("question", {"question_category": "content"}),
            ("bottleneck", {"regulation": "Wmo 2015", "bottleneck_status": "open"}),
            ("event", {"start_time": datetime(2026, 12, 1, 19, tzinfo=UTC),
                       "end_time": datetime(2026, 12, 1, 21, tzinfo=UTC)})):
        items[kind] = await create_item(drenthe.ctx, item_input(
            kind=kind, title=f"Een {kind}", content=f"Over *{kind}*.", initiative="dorpsmolen",
            themes=("meals",), summary="Kort", **extra), SYSTEM)
    items["answer"] = await create_item(drenthe.ctx, item_input(
        kind="answer", title=None, content="Zo.", in_reply_to=items["question"].ap_id), SYSTEM)
    await wire.settle()
    await update_item(drenthe.ctx, items["question"].ap_id,
                      Patch({"accepted_answer": items["answer"].ap_id}), SYSTEM)
    await update_item(drenthe.ctx, items["story"].ap_id, Patch({"title": "Nieuw"}), SYSTEM)
    await update_initiative(drenthe.ctx, "dorpsmolen", Patch({"summary": "Een oude molen"}),
                            SYSTEM)
    await delete_item(drenthe.ctx, items["guide"].ap_id, SYSTEM)
    # Endorsements: of its own node's bottleneck (an Update with the tally), and of Fryslân's
    # (a Like with a note, then its Undo)
    theirs = await create_item(fryslan.ctx, item_input(
        kind="bottleneck", title="Windmolens", content="Clustering."), SYSTEM)
    await wire.settle()
    await bottlenecks.endorse(drenthe.ctx, EndorsementInput.model_validate(
        {"item": items["bottleneck"].ap_id, "as": "dorpsmolen", "note": "Ook hier"}), SYSTEM)
    await bottlenecks.endorse(drenthe.ctx, EndorsementInput.model_validate(
        {"item": theirs.ap_id, "as": "dorpsmolen", "note": "Ook hier"}), SYSTEM)
    await wire.settle()
    await bottlenecks.withdraw(drenthe.ctx, EndorsementWithdrawal.model_validate(
        {"item": theirs.ap_id, "as": "dorpsmolen"}), SYSTEM)
    await wire.settle()
    served: list[dict[str, Any] | None] = []
    for handle in ("drenthe", "dorpsmolen", "zorg"):
        actor = drenthe.ctx.urls.actor(handle)
        served.append(await _get(fed, actor))
        for name in ("outbox", "followers", "following"):
            served.append(await _get(fed, f"{actor}/{name}"))
            served.append(await _get(fed, f"{actor}/{name}?page=true"))
    for item in items.values():
        served.append(await _get(fed, item.ap_id))  # the guide: its Tombstone, with 410
    # the deleted guide's Create and Update are gone from the outbox (404)
    served += [await _get(fed, a["id"], gone=(404,)) for a in wire.sent
               if a["id"].startswith(drenthe.url)]
    await unfollow(drenthe.ctx, "fryslan@fryslan.test")
    await delete_initiative(drenthe.ctx, "dorpsmolen", SYSTEM)
    await wire.settle()
    served.append(await _get(fed, initiative.ap_id))  # its Tombstone
    # A Reject is sent by no code path yet; it is built the way the Accept is.
    node = await node_actor(drenthe.ctx)
    follow_doc = next(a for a in wire.sent if a["type"] == "Follow"
                      and a["actor"].startswith(fryslan.url))
    reject = sign(activity_document(
        ap_id=f"{drenthe.url}/activities/reject-1", type="Reject", actor=node,
        obj=follow_reference(ap_id=follow_doc["id"], actor=follow_doc["actor"],
                             followee=follow_doc["object"]), published=drenthe.ctx.now(),
        to=[follow_doc["actor"]], cc=[]), node, drenthe.ctx.now())
    sent = [a for a in wire.sent if a["actor"].startswith(drenthe.url)] + [reject]
    return sent, [document for document in served if document is not None]


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """What the scenario sent and served, made once for the module's tests."""

    async def run() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with federation(tmp_path_factory.mktemp("jsonld"), ["drenthe", "fryslan"]) as fed:
            return await _everything(fed)

    sent, served = asyncio.run(run())
    return {"sent": sent, "served": served}


def _kinds(documents: list[dict[str, Any]]) -> set[str]:
    kinds = set()
    for document in documents:
        inner = document.get("object")
        inner_type = inner.get("type") if isinstance(inner, dict) else None
        kinds.add(f"{document['type']}({inner_type})" if inner_type else document["type"])
    return kinds


def test_the_scenario_sends_every_kind_of_document(
        documents: dict[str, list[dict[str, Any]]]) -> None:
    assert {"Follow", "Accept(Follow)", "Reject(Follow)", "Undo(Follow)", "Create(Article)",
            "Create(Document)", "Create(Question)", "Create(Note)", "Create(Event)",
            "Update(Question)", "Update(Organization)", "Delete(Tombstone)", "Delete",
            "Announce(Article)", "Announce(Update)", "Announce(Delete)", "Like",
            "Undo(Like)", "Update(Article)"} <= _kinds(
        documents["sent"])
    assert {"Organization", "Group", "OrderedCollection", "OrderedCollectionPage", "Article",
            "Document", "Question", "Note", "Event", "Tombstone"} <= _kinds(documents["served"])


@pytest.mark.parametrize("where", ["sent", "served"])
def test_every_document_expands_cleanly_offline(documents: dict[str, list[dict[str, Any]]],
                                                where: str) -> None:
    problems: dict[str, str] = {}  # problem (a path's last step) -> the first document with it
    for document in documents[where]:
        for found in expansion_problems(document):
            problems.setdefault(found.rsplit("/", 1)[-1], f"{document['type']} {document['id']}")
    assert problems == {}


def test_a_fedify_follow_with_its_own_context_would_not_expand_in_an_accept() -> None:
    # The fault this guards against: a whole Follow, its @context included, inside our Accept.
    follow_doc = {"@context": ["https://www.w3.org/ns/activitystreams",
                               {"DataIntegrityProof": "https://example.org/other#Proof"}],
                  "id": "https://fedify.test/follows/1", "type": "Follow",
                  "actor": "https://fedify.test/users/a",
                  "object": "https://drenthe.test/actors/drenthe"}
    accept = {"@context": ["https://www.w3.org/ns/activitystreams",
                           "https://w3id.org/security/data-integrity/v2"],
              "id": "https://drenthe.test/activities/1", "type": "Accept",
              "actor": "https://drenthe.test/actors/drenthe", "object": follow_doc}
    assert expansion_problems(accept)  # a protected term redefined: refused
    reference = follow_reference(ap_id=follow_doc["id"], actor=follow_doc["actor"],
                                 followee=follow_doc["object"])
    assert expansion_problems(accept | {"object": reference}) == []
