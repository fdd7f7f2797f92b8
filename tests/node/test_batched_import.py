"""Import writes in batches (issue 13): the same rows as ``create_item``, a few statements per
batch, and an interrupted import that a re-run completes without duplicates."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from node.progress import progress
from node.services import bulk
from node.services.content import render_markdown, search_text
from node.services.context import NodeContext
from node.services.inputs import item_input
from node.services.items import create_item
from node.services.permissions import SYSTEM
from node.services.search import SearchRequest, search
from node.services.search_text import index_text
from node.services.transfer import apply_plan, check_batch, import_batch, importing, load_json_document
from node.store import actors as actor_store
from node.store.schema import activities, deliveries, follows, objects, search_docs
from protocol.actors import find_key
from protocol.proofs import proof_verification_method, verify_proof

DATA = Path(__file__).resolve().parents[2] / "node" / "data"
FOLLOWER = "https://volger.test/actors/volger"


def demo() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "demo-fryslan.json").read_text(encoding="utf-8"))
    return data


def many(copies: int) -> list[dict[str, Any]]:
    """The demo's items ``copies`` times over, each copy's titles and refs numbered."""
    out = []
    for n in range(copies):
        for item in demo()["items"]:
            item = {**item, "ref": f"{item['ref']}-{n}"} if "ref" in item else dict(item)
            if str(item.get("in_reply_to", "")).startswith("ref:"):
                item["in_reply_to"] = f"{item['in_reply_to']}-{n}"
            item["title"] = f"{item.get('title') or 'Antwoord'} ({n})"
            out.append(item)
    return out


async def _remote_follower(ctx: NodeContext, *followees: str) -> None:
    """A remote actor following ``followees``: every activity of theirs gets a delivery."""
    now = ctx.now()
    async with ctx.db.transaction() as session:
        await actor_store.upsert_remote(
            session, FOLLOWER, host="volger.test", type="Organization", profile={},
            document={"id": FOLLOWER}, inbox=f"{FOLLOWER}/inbox",
            shared_inbox="https://volger.test/inbox", version=1, published=now, updated=now)
        for followee in followees:
            await session.execute(follows.insert().values(
                follower=FOLLOWER, followee=followee, state="accepted", created_at=now,
                updated_at=now))


async def _rows(ctx: NodeContext, table: Any, *where: Any) -> list[dict[str, Any]]:
    async with ctx.db.sessions() as session:
        result = await session.execute(select(table).where(*where).order_by(table.c.id))
        return [dict(r) for r in result.mappings()]


async def _count(ctx: NodeContext, table: Any, *where: Any) -> int:
    async with ctx.db.sessions() as session:
        return int((await session.execute(
            select(func.count()).select_from(table).where(*where))).scalar_one())


async def _footprint(ctx: NodeContext, ap_id: str) -> dict[str, Any]:
    """What one item left in the database, without what differs between two creations."""
    obj = (await _rows(ctx, objects, objects.c.ap_id == ap_id))[0]
    doc = (await _rows(ctx, search_docs, search_docs.c.ap_id == ap_id))[0]
    acts = await _rows(ctx, activities, activities.c.object_ap_id == ap_id)
    sent = [await _count(ctx, deliveries, deliveries.c.activity_ap_id == a["ap_id"])
            for a in acts]
    skip = {"id", "ap_id", "published", "updated", "received_at", "document", "title",
            "search_text", "url", "terms_title", "tsv"}
    return {
        "object": {k: v for k, v in obj.items() if k not in skip},
        "document": sorted(k for k in obj["document"] if k not in ("id", "url")),
        "search": {k: v for k, v in doc.items() if k not in skip},
        # the item stored once: each activity refers to it, its @context included
        "activities": [(a["type"], a["actor"], a["embeds"], a["shares_context"]) for a in acts],
        "deliveries": sent,
    }


async def test_batched_import_stores_what_create_item_stores(ctx: NodeContext) -> None:
    data = demo()
    await import_batch(ctx, load_json_document({"initiatives": data["initiatives"]}))
    async with ctx.db.sessions() as session:
        node = await actor_store.get_node(session)
        feeds = await actor_store.list_local(session, kind="theme")
        initiative = await actor_store.get_local(session, data["initiatives"][0]["handle"])
    assert node is not None and initiative is not None
    await _remote_follower(ctx, node.ap_id, initiative.ap_id, *(f.ap_id for f in feeds))
    row = next(i for i in data["items"] if i.get("initiative") == initiative.handle
               and i.get("themes") and i["kind"] == "story")
    # When the same item is imported (in a batch) and created one at a time
    report = await import_batch(ctx, load_json_document({"items": [row]}))
    assert report.items_created == 1
    fields = {k: v for k, v in row.items() if k != "ref"}
    made = await create_item(ctx, item_input(**{**fields, "title": row["title"] + "."}), SYSTEM)
    async with ctx.db.sessions() as session:
        imported = (await session.execute(select(objects.c.ap_id).where(
            objects.c.title == row["title"]))).scalar_one()
    # Then both left the same rows: columns, index entry, activities and their deliveries
    ours, theirs = await _footprint(ctx, imported), await _footprint(ctx, made.ap_id)
    assert ours == theirs
    assert ours["activities"][0] == ("Create", initiative.ap_id, "object", True)
    assert ("Announce", node.ap_id, "object", True) in ours["activities"]
    assert all(n == 1 for n in ours["deliveries"])  # one shared inbox per activity


async def test_every_batch_is_signed_indexed_and_answers_find_their_question(
        ctx: NodeContext) -> None:
    data = demo()
    report = await import_batch(ctx, load_json_document(data), batch_size=4)
    assert report.items_created == len(data["items"])
    items = await _rows(ctx, objects, objects.c.is_local.is_(True))
    assert len(items) == len(data["items"])
    async with ctx.db.sessions() as session:
        for item in items:  # every proof verifies against its author's key
            method = proof_verification_method(item["document"])
            author = await actor_store.get(session, method.split("#")[0])
            assert author is not None and author.document is not None
            key = find_key(author.document, method)
            assert key is not None
            verify_proof(item["document"], key.key)
    by_id = {i["ap_id"]: i for i in items}
    answers = [i for i in items if i["kind"] == "answer"]
    assert answers and all(by_id[a["in_reply_to"]]["kind"] == "question" for a in answers)
    # the index holds every item once, with its question's answered state and the facets
    indexed = await _rows(ctx, search_docs, search_docs.c.doc_type == "item")
    assert sorted(d["ap_id"] for d in indexed) == sorted(by_id)
    answered = {d["ap_id"]: d["answered"] for d in indexed if d["kind"] == "question"}
    asked = {a["in_reply_to"] for a in answers}
    assert all(answered[q] > 0 for q in asked)
    assert all(answered[q] == 0 for q in answered.keys() - asked)
    if ctx.db.is_sqlite:  # the packed facets beside each FTS row, which word searches read
        async with ctx.db.sessions() as session:
            packed = (await session.execute(text(
                "SELECT count(*) FROM search_fts_facets"))).scalar_one()
        assert packed == await _count(ctx, search_docs)
    result = await search(ctx, SearchRequest(type="item"))
    assert result.total == len(items)
    assert result.facets["kind"] == dict(Counter(i["kind"] for i in items))
    creates = await _count(ctx, activities, activities.c.type == "Create")
    assert creates == len(items)


@pytest.mark.parametrize("text_worker", [True, False], ids=["worker", "here"])
async def test_imported_texts_are_the_html_search_column_and_terms_of_their_source(
        ctx: NodeContext, text_worker: bool) -> None:
    # Given an import of several batches, its texts prepared in a worker process or here
    data = demo()
    plan = await check_batch(ctx, load_json_document(data))
    report = await apply_plan(ctx, plan, batch_size=4, text_worker=text_worker)
    assert report.items_created == len(data["items"])
    # Then every item holds the HTML and search column its own source makes, and is indexed
    # with its source's terms
    items = await _rows(ctx, objects, objects.c.is_local.is_(True))
    indexed = {d["ap_id"]: d for d in await _rows(ctx, search_docs)}
    for item in items:
        html = item["content_html"] if item["content_html"] is not None \
            else item["document"]["content"]  # stored once (objects.stored_values)
        assert html == render_markdown(item["content"])
        assert item["search_text"] == search_text(item["title"] or "", item["summary"] or "",
                                                  item["content"])
        terms = index_text(item["title"], item["summary"], item["content"])
        entry = indexed[item["ap_id"]]
        assert (entry["terms_title"], entry["terms_summary"], entry["terms_body"],
                entry["terms_parts"]) == (terms.title, terms.summary, terms.body, terms.parts)


async def test_an_interrupted_import_is_completed_by_a_rerun_without_duplicates(
        ctx: NodeContext, monkeypatch: pytest.MonkeyPatch) -> None:
    data = demo()
    real, written = bulk.create_items, []

    async def crashing(ctx: NodeContext, batch: list[bulk.NewItem], caller: Any,
                       **options: Any) -> None:
        if len(written) == 2:
            raise KeyboardInterrupt  # the process dies during the third batch
        await real(ctx, batch, caller, **options)
        written.append(len(batch))

    monkeypatch.setattr(importing, "create_items", crashing)
    with pytest.raises(KeyboardInterrupt):
        await import_batch(ctx, load_json_document(data), batch_size=5)
    assert await _count(ctx, objects, objects.c.is_local.is_(True)) == 10
    monkeypatch.setattr(importing, "create_items", real)
    # When the same file is imported again
    report = await import_batch(ctx, load_json_document(data), batch_size=5)
    # Then the rest is created and nothing twice
    assert (report.items_skipped, report.items_created) == (10, len(data["items"]) - 10)
    items = await _rows(ctx, objects, objects.c.is_local.is_(True))
    assert len(items) == len(data["items"])
    keys = Counter((i["kind"], i["title"] or i["content"]) for i in items)
    assert max(keys.values()) == 1
    assert await _count(ctx, search_docs, search_docs.c.doc_type == "item") == len(items)
    assert await _count(ctx, activities, activities.c.type == "Create") == len(items)
    answers = [i for i in items if i["kind"] == "answer"]
    by_id = {i["ap_id"]: i for i in items}
    assert all(by_id[a["in_reply_to"]]["kind"] == "question" for a in answers)


async def test_a_batch_costs_a_few_statements_not_dozens_per_item(ctx: NodeContext) -> None:
    data = demo()
    await import_batch(ctx, load_json_document({"initiatives": data["initiatives"]}))
    plan = await check_batch(ctx, load_json_document({"items": many(5)}))
    count = 0

    def hit(*_: Any) -> None:
        nonlocal count
        count += 1

    event.listen(ctx.db.engine.sync_engine, "before_cursor_execute", hit)
    try:
        report = await apply_plan(ctx, plan, batch_size=len(plan.items))
    finally:
        event.remove(ctx.db.engine.sync_engine, "before_cursor_execute", hit)
    assert report.items_created == len(plan.items) >= 60
    # One at a time this took about 25 statements per item.
    assert count <= 40, count


async def test_apply_plan_reports_progress_over_every_row(ctx: NodeContext) -> None:
    plan = await check_batch(ctx, load_json_document(demo()))
    steps: list[int] = []
    await apply_plan(ctx, plan, batch_size=7, advance=steps.append)
    assert sum(steps) == plan.size == len(plan.initiatives) + len(plan.items) + len(
        plan.accepts)
    assert max(steps) == 7


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_on_a_terminal_and_is_quiet_otherwise() -> None:
    quiet, terminal = io.StringIO(), _Terminal()
    for stream in (quiet, terminal):
        with progress(10, "importing", stream=stream) as advance:
            advance()
            advance(9)
    assert quiet.getvalue() == ""
    assert "importing" in terminal.getvalue() and "10/10" in terminal.getvalue()
