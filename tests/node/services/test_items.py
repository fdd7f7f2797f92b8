"""node.services.items: a create canonicalizes and signs its item once (issue 13)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import select

from node.services import content, documents, search_text
from node.services.context import NodeContext
from node.store import activities as activity_store
from node.store import actors as actor_store
from node.store.schema import activities, objects, search_docs
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
    # Then the item was signed once and its content canonicalized once, although it is
    # embedded in its Create and in the Announces of the node actor and two theme feeds
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
