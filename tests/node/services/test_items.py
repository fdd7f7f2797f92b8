"""node.services.items: a create canonicalizes and signs its item once (issue 13)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import select

from node.services import content, documents, search_text
from node.services.context import NodeContext
from node.services.items import delete_item
from node.services.outbox import RELAY_JOB
from node.services.permissions import SYSTEM
from node.store import activities as activity_store
from node.store import actors as actor_store
from node.store import jobs as job_store
from node.store import search as search_store
from node.store.jobs import Job
from node.store.schema import activities, objects, search_docs
from node.worker import run_once, run_until_idle
from protocol import jcs, proofs
from protocol.keys import multikey_decode
from protocol.proofs import verify_proof
from tests.node.web import make_initiative, make_item

CONTENT = "Een **verhaal** over de molen, met een plaats die coördinaten heeft."


async def test_a_create_canonicalizes_and_signs_its_item_once(
        ctx: NodeContext, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an initiative, and spies on signing and on the canonicalization walk
    await make_initiative(ctx)
    signed: list[str] = []
    walked: list[dict[str, Any]] = []
    real_sign, real_prepare = documents.add_proof, jcs._prepare

    def sign(document: dict[str, Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        signed.append(document["type"])
        return real_sign(document, *args, **kwargs)

    def prepare(value: Any) -> Any:
        result = real_prepare(value)
        if type(value) is dict and value.get("content") == CONTENT \
                and type(result) is not orjson.Fragment:
            walked.append(value)  # the item's source: canonicalized, not reused
        return result

    def reference(value: Any) -> bytes:
        raise AssertionError("a create never needs the pure-Python rfc8785 path")

    monkeypatch.setattr(documents, "add_proof", sign)
    monkeypatch.setattr(jcs, "_prepare", prepare)
    monkeypatch.setattr(jcs, "_reference", reference)
    # When an item with coordinates (floats) and two themes is created
    item = await make_item(ctx, content=CONTENT, themes=["meals", "energy-generation"],
                           place={"name": "Reduzum", "latitude": 53.12, "longitude": 5.78})
    # Then the request signed the item and its Create, and canonicalized the item once
    assert signed == ["Article", "Create"] and len(walked) == 1
    # And when the worker has made the Announces of the node actor and two theme feeds, the
    # item was still signed once and canonicalized once, embedded in all of them
    await run_until_idle(ctx)
    assert signed.count("Article") == 1
    assert signed.count("Create") == 1 and signed.count("Announce") >= 3
    assert len(walked) == 1
    # And every stored activity still carries the item exactly as signed, with valid proofs
    async with ctx.db.sessions() as session:
        rows = [(await activity_store.get(session, ap_id)).document  # type: ignore[union-attr]
                for ap_id in (await session.execute(select(activities.c.ap_id))).scalars()]
    embedded = [row["object"] for row in rows if isinstance(row.get("object"), dict)
                and row["object"].get("id") == item.ap_id]
    assert len(embedded) == signed.count("Create") + signed.count("Announce")
    assert all(obj == item.document for obj in embedded)
    monkeypatch.undo()
    assert jcs.canonicalize(item.document) == jcs._reference(item.document)
    author = await _public_key(ctx, item.attributed_to)
    assert verify_proof(item.document, author)
    for row in rows:
        if row.get("object") not in embedded:
            continue
        assert verify_proof(row, await _public_key(ctx, row["actor"]))


async def _public_key(ctx: NodeContext, ap_id: str) -> Any:
    async with ctx.db.sessions() as session:
        actor = await actor_store.get(session, ap_id)
    assert actor is not None and actor.ed_public_multibase
    return multikey_decode(actor.ed_public_multibase)


async def test_a_create_copies_no_document_and_signs_the_same_bytes_as_with_copies(
        ctx: NodeContext, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an initiative, and a spy on add_proof's deep copies of what it signs
    await make_initiative(ctx)
    copied: list[Any] = []
    real_clone = proofs._clone

    def clone(value: Any) -> Any:
        copied.append(value)
        return real_clone(value)

    monkeypatch.setattr(proofs, "_clone", clone)
    # When an item is created (signed, then embedded in its Create and three Announces)
    item = await make_item(ctx, content=CONTENT, themes=["meals", "energy-generation"],
                           place={"name": "Reduzum", "latitude": 53.12, "longitude": 5.78})
    # Then nothing was deep-copied: the documents are built for the signature and shared
    assert copied == []
    monkeypatch.undo()
    # And the item and its Create are byte for byte what signing copies would have given
    # (Ed25519 is deterministic: same key, same created, same bytes)
    async with ctx.db.sessions() as session:
        create = (await session.execute(select(activities.c.ap_id).where(
            activities.c.type == "Create", activities.c.object_ap_id == item.ap_id))).scalar_one()
        stored = [item.document,
                  (await activity_store.get(session, create)).document]  # type: ignore[union-attr]
        for document in stored:
            signer = await actor_store.get(
                session, document["proof"]["verificationMethod"].split("#")[0])
            assert signer is not None and signer.ed_private_pem
            unsigned = {k: v for k, v in document.items() if k != "proof"}
            again = proofs.add_proof(unsigned, documents.private_key(signer.ed_private_pem),
                                     document["proof"]["verificationMethod"],
                                     created=document["proof"]["created"])
            assert orjson.dumps(again) == orjson.dumps(document)


async def _activities_about(ctx: NodeContext, ap_id: str) -> list[tuple[str, str]]:
    """(type, actor) of the stored activities whose object is ``ap_id``, oldest first."""
    c = activities.c
    async with ctx.db.sessions() as session:
        rows = await session.execute(select(c.type, c.actor).where(c.object_ap_id == ap_id)
                                     .order_by(c.id))
        return [(r.type, r.actor) for r in rows]


async def _relay_jobs(ctx: NodeContext) -> list[Job]:
    async with ctx.db.sessions() as session:
        return await job_store.list_kind(session, RELAY_JOB)


async def test_a_create_leaves_its_relays_to_a_job_the_worker_runs_once(ctx: NodeContext
                                                                        ) -> None:
    # Given an initiative (announced by the node actor) and an item of two themes, created
    author = await make_initiative(ctx)
    item = await make_item(ctx, content=CONTENT, themes=["meals", "energy-generation"])
    # Then the item, its Create and its search entry are there at once, and its Announces are
    # a relay job written in the same transaction, not yet signed
    assert await _activities_about(ctx, item.ap_id) == [("Create", author.ap_id)]
    async with ctx.db.sessions() as session:
        assert await search_store.count(session) >= 1
    [job] = await _relay_jobs(ctx)
    assert job.state == "pending" and job.payload["themes"] == ["meals", "energy-generation"]
    # When the worker runs
    await run_until_idle(ctx)
    # Then the node actor and the two theme feeds announced the item (as the Create embeds
    # it), and the job is gone: running the worker again announces nothing more
    made = await _activities_about(ctx, item.ap_id)
    announced = [actor for kind, actor in made if kind == "Announce"]
    assert announced[0] == ctx.urls.actor(ctx.settings.node.handle) and len(announced) == 3
    assert await _relay_jobs(ctx) == []
    await run_until_idle(ctx)
    assert await _activities_about(ctx, item.ap_id) == made
    async with ctx.db.sessions() as session:
        create = (await session.execute(select(activities.c.ap_id).where(
            activities.c.type == "Create", activities.c.object_ap_id == item.ap_id))
        ).scalar_one()
        embedded = (await activity_store.get(session, create)).document  # type: ignore[union-attr]
        for ap_id in (await session.execute(select(activities.c.ap_id).where(
                activities.c.type == "Announce", activities.c.object_ap_id == item.ap_id))
                      ).scalars():
            announce = (await activity_store.get(session, ap_id)).document  # type: ignore[union-attr]
            assert announce["object"] == embedded["object"] == item.document


async def test_an_item_deleted_before_its_relay_job_ran_is_not_announced(ctx: NodeContext
                                                                         ) -> None:
    # Given an item whose relay job has not run yet
    await make_initiative(ctx)
    item = await make_item(ctx, content=CONTENT, themes=["meals"])
    # When it is deleted first, then the worker runs
    await delete_item(ctx, item.ap_id, SYSTEM)
    await run_until_idle(ctx)
    # Then nobody announced the item itself (only its deletion is relayed), and no job is left
    c = activities.c
    async with ctx.db.sessions() as session:
        relayed = (await session.execute(select(c.object_ap_id).where(
            c.type == "Announce"))).scalars().all()
    assert item.ap_id not in relayed
    assert await _relay_jobs(ctx) == []


async def test_a_create_analyses_its_texts_once_for_the_column_and_the_index(
        ctx: NodeContext, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an initiative, and spies on the two analyses a create used to run one after the
    # other (the ``search_text`` column's, then the index terms')
    await make_initiative(ctx)
    separate: list[str] = []
    real_words, real_stems = content.search_words, search_text.stems

    def words(text: str) -> list[str]:
        separate.append("column")
        return real_words(text)

    def stems(text: str) -> list[str]:
        separate.append("index")
        return real_stems(text)

    monkeypatch.setattr(content, "search_words", words)
    monkeypatch.setattr(search_text, "stems", stems)
    # When an item is created
    item = await make_item(ctx, title="Zonnepanelen op het dorpshuis", summary="Een coöperatie",
                           content=CONTENT)
    # Then each text was folded, split and stemmed once (``search_text.analyse``), and the
    # column and the index hold what the two analyses give
    assert separate == []
    monkeypatch.undo()
    terms = search_text.index_text(item.title, item.summary, item.content)
    c = search_docs.c
    async with ctx.db.sessions() as session:
        column = (await session.execute(select(objects.c.search_text).where(
            objects.c.ap_id == item.ap_id))).scalar_one()
        row = (await session.execute(select(c.terms_title, c.terms_summary, c.terms_body,
                                            c.terms_parts).where(c.ap_id == item.ap_id))).one()
    assert column == content.search_text(item.title, item.summary, item.content)
    assert tuple(row) == (terms.title, terms.summary, terms.body, terms.parts)


async def test_the_worker_relays_new_items_together_and_a_bad_job_holds_none_back(
        ctx: NodeContext) -> None:
    # Given three new items, and a relay job that cannot be run (no activity named)
    await make_initiative(ctx)
    made = [await make_item(ctx, title=f"Verhaal {n}", themes=["meals"]) for n in range(3)]
    async with ctx.db.transaction() as session:
        await job_store.schedule(session, kind=RELAY_JOB, key="relay:broken", payload={},
                                 now=ctx.now())
    # When the worker runs one round
    await run_once(ctx)
    # Then every item was announced by the node actor and its theme feed, and only the broken
    # job is left, to be tried again later
    for item in made:
        assert [kind for kind, _ in await _activities_about(ctx, item.ap_id)] == [
            "Create", "Announce", "Announce"]
    [left] = await _relay_jobs(ctx)
    assert left.key == "relay:broken" and left.attempts == 1 and left.last_error
    assert left.next_attempt_at > ctx.now()
