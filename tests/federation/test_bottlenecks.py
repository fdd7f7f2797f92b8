"""Bottlenecks endorsed across provinces and ranked on the aggregator (issue 11, docs/bottlenecks.md).

Drenthe holds a bottleneck; initiatives in Fryslân and Overijssel endorse it through their own
nodes' API (a Like to Drenthe); Drenthe counts them once each and publishes the tally, and the
aggregator ranks it first with its count and provinces. Withdrawing sends an Undo; replayed
Likes and Undos change nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from node.services.actors import create_initiative
from node.services.follow import follow
from node.services.inputs import InitiativeInput, PlaceInput, item_input
from node.services.items import create_item
from node.services.permissions import SYSTEM
from node.services.users import add_user, create_token, grant
from node.store import endorsements as endorsement_store
from tests.clock import FAST_HASHER
from tests.federation.harness import Federation, federation, postgres

NAMES = ["drenthe", "fryslan", "overijssel", "lvkk"]
INITIATIVES = {"drenthe": ("zorgcooperatie-sleen", "Zorgcoöperatie Sleen", "PV22"),
               "fryslan": ("doarpshus-reduzum", "Doarpshûs Reduzum", "PV21"),
               "overijssel": ("hoonhorst", "Duurzaam Hoonhorst", "PV23")}


@pytest.fixture
async def fed(tmp_path: Path) -> AsyncIterator[Federation]:
    async with _federation(tmp_path, None) as f:
        yield f


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def fed_both(request: pytest.FixtureRequest, tmp_path: Path
                   ) -> AsyncIterator[Federation]:
    """The federation on SQLite, and on PostgreSQL (one database per node)."""
    if request.param == "postgres":
        with postgres() as database:
            async with _federation(tmp_path, database) as f:
                yield f
    else:
        async with _federation(tmp_path, None) as f:
            yield f


@asynccontextmanager
async def _federation(tmp_path: Path, database: Any) -> AsyncIterator[Federation]:
    """Four nodes: the provinces follow Drenthe (Overijssel Fryslân too), the aggregator all."""
    overrides = {"lvkk": {"aggregator__follow": tuple(
        f"https://{n}.test/actors/{n}" for n in ("drenthe", "fryslan", "overijssel"))}}
    async with federation(tmp_path, NAMES, database=database, overrides=overrides) as f:
        for node in f.nodes.values():
            node.ctx.password_hasher = FAST_HASHER
        for name, (handle, title, province) in INITIATIVES.items():
            await create_initiative(f[name].ctx, InitiativeInput(
                handle=handle, name=title, place=PlaceInput(province_code=province)), SYSTEM)
        for name in ("fryslan", "overijssel"):
            await follow(f[name].ctx, "https://drenthe.test/actors/drenthe")
        await follow(f["overijssel"].ctx, "https://fryslan.test/actors/fryslan")
        await f.settle()
        yield f


async def _editor(fed: Federation, name: str) -> httpx.AsyncClient:
    """An editor of the node's initiative, with an API token."""
    ctx = fed[name].ctx
    await add_user(ctx, f"editor-{name}", "correct horse battery", "editor")
    await grant(ctx, f"editor-{name}", INITIATIVES[name][0])
    token = await create_token(ctx, f"editor-{name}")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=fed[name].app),
                             base_url=ctx.settings.node.url,
                             headers={"Authorization": f"Bearer {token}"})


async def _bottleneck(fed: Federation, name: str, title: str) -> str:
    item = await create_item(fed[name].ctx, item_input(
        kind="bottleneck", title=title, content="Uitleg.", initiative=INITIATIVES[name][0],
        themes=["care-wellbeing"], regulation_area="tax"), SYSTEM)
    return item.ap_id


async def _ranking(fed: Federation, name: str, **params: str) -> list[tuple[str, dict[str, Any]]]:
    response = await fed.http.get(f"https://{name}.test/api/bottlenecks",
                                  params={"sort": "endorsements", **params})
    assert response.status_code == 200, response.text
    return [(b["title"], b["endorsements"]) for b in response.json()["bottlenecks"]]


async def _tally(fed: Federation, name: str, iri: str) -> dict[str, Any]:
    response = await fed.http.get(f"https://{name}.test/api/items/by-id", params={"id": iri})
    assert response.status_code == 200, response.text
    tally: dict[str, Any] = response.json()["endorsements"]
    return tally


def _endorsement(fryslan: int, overijssel: int = 0) -> dict[str, Any]:
    provinces = [p for p, n in (("PV21", fryslan), ("PV23", overijssel)) if n]
    return {"count": fryslan + overijssel, "provinces": provinces, "support": 0}


async def test_endorsed_in_two_provinces_it_ranks_first_on_the_aggregator(
        fed_both: Federation) -> None:
    fed = fed_both
    # Given a bottleneck in Drenthe and one in Fryslân, both copied to every node
    vpb = await _bottleneck(fed, "drenthe", "Vennootschapsbelasting voor zorgcoöperaties")
    anbi = await _bottleneck(fed, "fryslan", "Geen ANBI-status voor coöperaties")
    await fed.settle()
    async with await _editor(fed, "fryslan") as fryslan, \
            await _editor(fed, "overijssel") as overijssel:
        # When initiatives in Fryslân and Overijssel endorse Drenthe's from their own nodes
        first = await fryslan.post("/api/endorsements", json={
            "item": vpb, "as": "doarpshus-reduzum", "note": "Ook bij ons"})
        again = await fryslan.post("/api/endorsements", json={
            "item": vpb, "as": "doarpshus-reduzum", "note": "Ook bij ons"})
        other = await overijssel.post("/api/endorsements", json={"item": vpb, "as": "hoonhorst"})
        # and Overijssel's also endorses Fryslân's own
        await overijssel.post("/api/endorsements", json={"item": anbi, "as": "hoonhorst"})
        await fed.settle()
    # Then the API said 201 for a new endorsement and 200 for the same again
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert first.json()["note"] == "Ook bij ons"
    # and the origin counted each initiative once, with its province and note
    async with fed["drenthe"].ctx.db.sessions() as session:
        rows = await endorsement_store.active(session, vpb)
    assert sorted((r.actor, r.province_code, r.note) for r in rows) == [
        ("https://fryslan.test/actors/doarpshus-reduzum", "PV21", "Ook bij ons"),
        ("https://overijssel.test/actors/hoonhorst", "PV23", None)]
    # and every copy agrees, the aggregator ranking Drenthe's first
    for name in NAMES:
        assert await _tally(fed, name, vpb) == _endorsement(1, 1), name
    assert await _ranking(fed, "lvkk") == [
        ("Vennootschapsbelasting voor zorgcoöperaties", _endorsement(1, 1)),
        ("Geen ANBI-status voor coöperaties", _endorsement(0, 1))]
    assert [t for t, _ in await _ranking(fed, "lvkk", bottleneck_status="open",
                                         regulation_area="tax", theme="care-wellbeing")] == [
        "Vennootschapsbelasting voor zorgcoöperaties", "Geen ANBI-status voor coöperaties"]
    page = await fed.http.get("https://lvkk.test/knelpunten")
    assert "Landelijke agenda" in page.text
    assert page.text.index("Vennootschapsbelasting") < page.text.index("ANBI-status")
    assert "2 initiatieven lopen hier ook tegenaan</strong> uit Fryslân, Overijssel" in page.text
    # and the aggregator's own page of its copy shows the same count
    copy = await fed.http.get("https://lvkk.test/kennis/item", params={"id": vpb})
    assert "2 initiatieven lopen hier ook tegenaan</strong> uit Fryslân, Overijssel" in copy.text
    assert f'href="/kennis/item?id={quote(vpb, safe="/")}"' in page.text


async def test_a_withdrawn_endorsement_leaves_the_count_everywhere(fed: Federation) -> None:
    vpb = await _bottleneck(fed, "drenthe", "Vennootschapsbelasting")
    await fed.settle()
    async with await _editor(fed, "fryslan") as fryslan, \
            await _editor(fed, "overijssel") as overijssel:
        await fryslan.post("/api/endorsements", json={"item": vpb, "as": "doarpshus-reduzum"})
        await overijssel.post("/api/endorsements", json={"item": vpb, "as": "hoonhorst"})
        await fed.settle()
        # When Fryslân's initiative withdraws
        withdrawn = await fryslan.request("DELETE", "/api/endorsements", json={
            "item": vpb, "as": "doarpshus-reduzum"})
        twice = await fryslan.request("DELETE", "/api/endorsements", json={
            "item": vpb, "as": "doarpshus-reduzum"})
        await fed.settle()
    # Then it is gone from the count on every node, Overijssel's still counts
    assert (withdrawn.status_code, twice.status_code) == (204, 404)
    assert twice.json()["error"] == "not_endorsed"
    for name in NAMES:
        assert await _tally(fed, name, vpb) == _endorsement(0, 1), name


async def test_replayed_likes_and_undos_count_once(fed: Federation) -> None:
    vpb = await _bottleneck(fed, "drenthe", "Vennootschapsbelasting")
    await fed.settle()
    async with await _editor(fed, "fryslan") as fryslan:
        # Given Fryslân's Like held on the way, delivered, and then delivered twice more
        fed.faults.hold = True
        await fryslan.post("/api/endorsements", json={"item": vpb, "as": "doarpshus-reduzum"})
        await fed.run_workers(names=["fryslan"])
        fed.faults.hold = False
        [like] = [h for h in fed.network.held if h.document["type"] == "Like"]
        for _ in range(3):
            assert (await fed.network.replay(like)).status_code == 202
        await fed.settle()
        assert await _tally(fed, "drenthe", vpb) == _endorsement(1)
        # When the Undo is held, delivered twice, and the Like replayed after it
        fed.faults.hold = True
        await fryslan.request("DELETE", "/api/endorsements", json={
            "item": vpb, "as": "doarpshus-reduzum"})
        await fed.run_workers(names=["fryslan"])
        fed.faults.hold = False
    [undo] = [h for h in fed.network.held if h.document["type"] == "Undo"]
    for held in (undo, undo, like):
        assert (await fed.network.replay(held)).status_code == 202
    await fed.settle()
    # Then it counted once and is withdrawn once: nothing is left
    for name in NAMES:
        assert await _tally(fed, name, vpb) == _endorsement(0), name


async def test_refusals_store_nothing(fed: Federation) -> None:
    vpb = await _bottleneck(fed, "drenthe", "Vennootschapsbelasting")
    story = await create_item(fed["drenthe"].ctx, item_input(
        kind="story", title="Een verhaal", content="Tekst."), SYSTEM)
    await create_initiative(fed["fryslan"].ctx, InitiativeInput(
        handle="dorpsmolen", name="Dorpsmolen"), SYSTEM)
    await fed.settle()
    async with await _editor(fed, "fryslan") as fryslan:
        cases = [
            ({"item": vpb, "as": "hoonhorst"}, 422, "unknown_initiative"),
            ({"item": story.ap_id, "as": "doarpshus-reduzum"}, 422, "not_a_bottleneck"),
            ({"item": vpb, "as": "fryslan"}, 422, "not_an_initiative"),
            ({"item": "https://drenthe.test/items/none", "as": "doarpshus-reduzum"}, 404,
             "not_found"),
            ({"item": vpb}, 422, "missing_field"),
        ]
        for body, status, reason in cases:
            response = await fryslan.post("/api/endorsements", json=body)
            assert (response.status_code, response.json()["error"]) == (status, reason), body
        # An initiative of this node the editor may not act for: 403
        response = await fryslan.post("/api/endorsements", json={"item": vpb, "as": "dorpsmolen"})
        assert (response.status_code, response.json()["error"]) == (403, "forbidden")
    await fed.settle()
    async with fed["fryslan"].ctx.db.sessions() as session:
        assert await endorsement_store.active(session, vpb) == []
    assert await _tally(fed, "drenthe", vpb) == _endorsement(0)
