"""Import (validate every row first, then create; safe to repeat) and export (signed, verifiable)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from node.services.context import NodeContext
from node.services.items import delete_item
from node.services.permissions import SYSTEM
from node.services.transfer import (
    FileFormatError,
    ImportRowsError,
    export_node,
    import_batch,
    import_file,
    load_csv,
    load_file,
    load_json_document,
)
from node.store import actors as actor_store
from node.store import objects as object_store
from node.store.objects import ItemFilter
from protocol.actors import find_key
from protocol.errors import ProofError
from protocol.proofs import proof_verification_method, verify_proof

DATA = Path(__file__).resolve().parents[2] / "node" / "data"
DEMO_FILES = sorted(p.name for p in DATA.glob("demo-*.json"))


def demo(name: str = "demo-fryslan.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return data


async def counts(ctx: NodeContext) -> tuple[int, int]:
    async with ctx.db.sessions() as session:
        initiatives = await actor_store.count_local(session, kind="initiative")
        items = await object_store.count(session, ItemFilter(origin="local"))
    return initiatives, items


def verify_export(export: dict[str, Any]) -> int:
    """Verify every document of an export with keys from the export alone; the number checked."""
    actors = {doc["id"]: doc for doc in
              [export["node"], *export["initiatives"], *export["deleted_initiatives"]]}
    checked = 0
    for doc in [*actors.values(), *export["items"]]:
        method = proof_verification_method(doc)
        key = find_key(actors[method.split("#")[0]], method)
        assert key is not None, method
        assert isinstance(key.key, Ed25519PublicKey)
        if doc["type"] != "Tombstone":
            assert key.controller == doc.get("attributedTo", doc["id"])
        verify_proof(doc, key.key)
        checked += 1
    return checked


def test_demo_files_are_there() -> None:
    assert {"demo-fryslan.json", "demo-drenthe.json", "demo-overijssel.json"} <= set(DEMO_FILES)


@pytest.mark.parametrize("name", DEMO_FILES)
async def test_demo_file_imports_completely(ctx: NodeContext, name: str) -> None:
    data = demo(name)
    report = await import_file(ctx, DATA / name)
    assert report.initiatives_created == len(data["initiatives"])
    assert report.items_created == len(data["items"])
    assert report.answers_accepted == len(data.get("accept", []))
    assert await counts(ctx) == (len(data["initiatives"]), len(data["items"]))


async def test_accepted_answer_links_the_imported_answer(ctx: NodeContext) -> None:
    await import_file(ctx, DATA / "demo-fryslan.json")
    async with ctx.db.sessions() as session:
        questions = await object_store.list_page(session, ItemFilter(kind="question"), limit=50)
        answered = [q for q in questions if q.document.get("acceptedAnswer")]
        assert answered
        for question in answered:
            answer = await object_store.get(session, question.document["acceptedAnswer"])
            assert answer is not None and answer.in_reply_to == question.ap_id


async def test_importing_twice_creates_nothing_new(ctx: NodeContext) -> None:
    await import_file(ctx, DATA / "demo-fryslan.json")
    before = await counts(ctx)
    again = await import_file(ctx, DATA / "demo-fryslan.json")
    assert (again.initiatives_created, again.items_created, again.answers_accepted) == (0, 0, 0)
    assert again.initiatives_skipped == before[0] and again.items_skipped == before[1]
    assert await counts(ctx) == before


async def test_one_bad_row_imports_nothing_and_names_every_bad_row(ctx: NodeContext) -> None:
    data = demo()
    data["initiatives"][1]["themes"] = ["knitting"]
    data["items"][4]["kind"] = "poem"
    with pytest.raises(ImportRowsError) as info:
        await import_batch(ctx, load_json_document(data))
    rows = [str(e) for e in info.value.errors]
    assert len(rows) == 2
    assert rows[0].startswith("initiative 2 (") and "themes" in rows[0]
    assert rows[1].startswith("item 5 (") and "kind" in rows[1]
    assert await counts(ctx) == (0, 0)


async def test_answer_to_a_question_not_earlier_in_the_file_is_refused(ctx: NodeContext) -> None:
    data = demo()
    answer = next(i for i in data["items"] if i["kind"] == "answer")
    answer["in_reply_to"] = "ref:no-such-question"
    with pytest.raises(ImportRowsError) as info:
        await import_batch(ctx, load_json_document(data))
    assert any(e.field == "in_reply_to" for e in info.value.errors)


async def test_a_ref_used_twice_is_refused_also_after_a_failed_row(ctx: NodeContext) -> None:
    data = demo()
    items = [i for i in data["items"] if "ref" in i]
    ok, failed = items[0], items[1]
    failed["kind"] = "poem"  # fails, yet still defines its ref
    data["items"] += [{**ok, "title": "Een tweede"}, {**failed, "kind": ok["kind"]}]
    with pytest.raises(ImportRowsError) as info:
        await import_batch(ctx, load_json_document(data))
    twice = [str(e) for e in info.value.errors if e.field == "ref"]
    assert len(twice) == 2 and all("is used twice" in e for e in twice)
    assert f"{ok['ref']!r}" in twice[0] and f"{failed['ref']!r}" in twice[1]


async def test_item_of_an_unknown_initiative_is_refused(ctx: NodeContext) -> None:
    data = demo()
    data["items"][0]["initiative"] = "nergens-te-vinden"
    with pytest.raises(ImportRowsError) as info:
        await import_batch(ctx, load_json_document(data))
    assert [e.field for e in info.value.errors] == ["initiative"]


async def test_item_may_name_an_initiative_already_on_the_node(ctx: NodeContext) -> None:
    data = demo()
    await import_batch(ctx, load_json_document({"initiatives": data["initiatives"]}))
    report = await import_batch(ctx, load_json_document({"items": data["items"][:1]}))
    assert report.items_created == 1


async def test_accept_must_pair_an_answer_with_its_own_question(ctx: NodeContext) -> None:
    data = demo()
    first, second = data["accept"][0], data["accept"][1]
    data["accept"] = [{"question": first["question"], "answer": second["answer"]}]
    with pytest.raises(ImportRowsError) as info:
        await import_batch(ctx, load_json_document(data))
    assert [e.field for e in info.value.errors] == ["answer"]


async def test_accept_row_must_name_two_refs(ctx: NodeContext) -> None:
    data = demo()
    data["accept"] = [{"question": "geen-verwijzing", "answer": data["accept"][0]["answer"]}]
    with pytest.raises(ImportRowsError) as info:
        await import_batch(ctx, load_json_document(data))
    assert [e.row for e in info.value.errors] == ["accept 1"]
    assert "ref:" in info.value.errors[0].detail
    assert await counts(ctx) == (0, 0)


async def test_csv_errors_carry_spreadsheet_row_numbers(ctx: NodeContext) -> None:
    text = ("handle,name,themes\n"
            "dorpshuis-een,Dorpshuis Een,village-hall\n"
            "-fout,Verkeerde handle,\n"
            "dorpshuis-twee,Dorpshuis Twee,meals;onbekend\n")
    with pytest.raises(ImportRowsError) as info:
        await import_batch(ctx, load_csv(text))
    assert [e.row for e in info.value.errors] == ["row 3", "row 4"]
    assert await counts(ctx) == (0, 0)


async def test_csv_of_initiatives_reads_lists_places_and_dutch_spreadsheets(
        ctx: NodeContext) -> None:
    # A Dutch spreadsheet: ';' between cells, a decimal comma, lists quoted with ';' inside.
    text = ("handle;name;themes;place_name;latitude;longitude;province_code;members_count\n"
            'dorpshuis-een;Dorpshuis Eén;"village-hall;meeting";Een;53,07;6,41;PV22;120\n')
    report = await import_batch(ctx, load_csv(text))
    assert report.initiatives_created == 1
    async with ctx.db.sessions() as session:
        actor = await actor_store.get_local(session, "dorpshuis-een")
    assert actor is not None
    assert actor.profile["themes"] == ["village-hall", "meeting"]
    assert actor.profile["place"]["province_code"] == "PV22"
    assert actor.profile["place"]["latitude"] == pytest.approx(53.07, abs=0.01)
    assert actor.profile["members_count"] == 120


async def test_csv_of_items_resolves_refs_between_rows(ctx: NodeContext) -> None:
    await import_batch(ctx, load_json_document({"initiatives": demo()["initiatives"][:2]}))
    handle = demo()["initiatives"][0]["handle"]
    text = ("ref,kind,title,content,initiative,in_reply_to,themes\n"
            f"v,question,Hoe begin je?,Wie weet het?,{handle},,meeting\n"
            f"a,answer,Zo,Klein beginnen.,{handle},ref:v,\n")
    report = await import_batch(ctx, load_csv(text))
    assert report.items_created == 2


def test_csv_without_handle_or_kind_column_is_refused() -> None:
    with pytest.raises(FileFormatError, match="handle column"):
        load_csv("name,title\nx,y\n")


def test_file_of_another_type_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "initiatives.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(FileFormatError, match=r"\.json or \.csv"):
        load_file(path)


def test_json_with_an_unknown_top_level_key_is_refused() -> None:
    with pytest.raises(FileFormatError, match="verhalen"):
        load_json_document({"verhalen": []})


async def test_export_holds_everything_the_node_owns(ctx: NodeContext) -> None:
    data = demo()
    await import_file(ctx, DATA / "demo-fryslan.json")
    export = await export_node(ctx)
    assert export["node"]["id"] == ctx.urls.actor(ctx.settings.node.handle)
    assert sorted(a["preferredUsername"] for a in export["initiatives"]) == sorted(
        i["handle"] for i in data["initiatives"])
    assert sorted(d["name"] for d in export["items"]) == sorted(i["title"] for i in data["items"])
    assert export["activities"] >= len(data["items"])


async def test_export_keeps_tombstones_of_deleted_items(ctx: NodeContext) -> None:
    await import_file(ctx, DATA / "demo-fryslan.json")
    first = (await export_node(ctx))["items"][0]
    await delete_item(ctx, first["id"], SYSTEM)
    items = {d["id"]: d for d in (await export_node(ctx))["items"]}
    assert items[first["id"]]["type"] == "Tombstone"


async def test_every_exported_document_verifies_offline_after_a_json_round_trip(
        ctx: NodeContext) -> None:
    await import_file(ctx, DATA / "demo-fryslan.json")
    await delete_item(ctx, (await export_node(ctx))["items"][-1]["id"], SYSTEM)
    export = await export_node(ctx)
    loaded = orjson.loads(orjson.dumps(export))
    assert loaded == export
    assert verify_export(loaded) == 1 + len(export["initiatives"]) + len(export["items"])


async def test_an_altered_exported_document_fails_verification(ctx: NodeContext) -> None:
    await import_file(ctx, DATA / "demo-fryslan.json")
    export = copy.deepcopy(await export_node(ctx))
    export["items"][0]["name"] += "!"
    with pytest.raises(ProofError):
        verify_export(export)
