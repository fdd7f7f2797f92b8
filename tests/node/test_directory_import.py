"""Directory imports (issue 15): initiatives from a provincial inventory CSV through a mapping
file, and from Murmurations (a profile, an index query) served on loopback; refused rows are
reported with their row and reason, valid rows import, a second run doubles nothing. Also the
Murmurations round trip: a profile exported by one node, imported by another (its own
database) and exported again is the same profile. On SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from node.app import create_app
from node.progress import progress
from node.remote import RemoteError
from node.services.actors import ensure_node_actor
from node.services.context import NodeContext
from node.services.transfer import (
    FileFormatError,
    export_hsds,
    import_rows,
    load_hsds,
    load_inventory,
    load_mapping,
    murmurations_rows,
    read_murmurations,
)
from node.services.transfer.directory import parse_mapping, rows_from_csv
from node.store import actors as actor_store
from tests import dbs
from tests.clock import FAST_HASHER, Clock
from tests.keys import pool_keygen
from tests.node.conftest import make_settings
from tests.node.services.test_hsds import validate as validate_hsds
from tests.node.web import make_initiative
from tests.servers import serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CSV = ROOT / "deploy" / "import" / "inventaris-voorbeeld.csv"
SAMPLE_MAP = ROOT / "deploy" / "import" / "mapping.toml"
SCHEMA = json.loads((ROOT / "tests" / "data" / "bridges" /
                     "murmurations-organizations_schema-v1.0.0.json").read_text())
ORG = "organizations_schema-v1.0.0"


async def stored(ctx: NodeContext, handle: str) -> Any:
    async with ctx.db.sessions() as session:
        return await actor_store.get_local(session, handle)


async def count_initiatives(ctx: NodeContext) -> int:
    async with ctx.db.sessions() as session:
        return len(await actor_store.list_local(session, kind="initiative", limit=1000))


# --- CSV with a mapping file ---------------------------------------------------------------------


async def test_sample_inventory_dry_run_names_every_refused_row_and_stores_nothing(
        ctx: NodeContext) -> None:
    rows = load_inventory(SAMPLE_CSV, load_mapping(SAMPLE_MAP))
    report = await import_rows(ctx, rows, dry_run=True)
    assert [(r.row, r.reason, r.field) for r in report.refused] == [
        ("row 5", "bad_value", "legal_form"),  # "Kerkgenootschap" is no legal form we know
        ("row 6", "required", "name"),  # a row without a name
        ("row 7", "bad_date", "founded"),  # founded in 2031
    ]
    assert report.created == ["zorgcooperatie-hollandscheveld", "energie-anloo",
                              "dorpshuis-de-schoel"]
    assert "dry run" in report.summary()
    assert await count_initiatives(ctx) == 0


async def test_sample_inventory_imports_valid_rows_mapped_and_twice_changes_nothing(
        ctx: NodeContext) -> None:
    rows = load_inventory(SAMPLE_CSV, load_mapping(SAMPLE_MAP))
    report = await import_rows(ctx, rows)
    assert len(report.created) == 3 and len(report.refused) == 3
    zorg = await stored(ctx, "zorgcooperatie-hollandscheveld")
    profile = zorg.profile
    assert zorg.name == "Zorgcoöperatie Hollandscheveld"
    assert profile["legal_form"] == "cooperative"  # "Coöperatie U.A." through [values]
    assert profile["themes"] == ["care-wellbeing", "meals"]  # "zorg, maaltijden"
    assert profile["phase"] == "active"  # "loopt"
    assert profile["founded"] == "2014-03-12"  # 12-03-2014, Dutch order
    assert profile["members_count"] == 310
    assert profile["place"] == {"name": "Hollandscheveld", "latitude": 52.7, "longitude": 6.53,
                                "province_code": "PV22", "municipality_code": "GM0118",
                                "exact": False}
    anloo = (await stored(ctx, "energie-anloo")).profile
    assert anloo["legal_form"] == "foundation"  # "Stichting": the vocabulary's own label
    assert anloo["phase"] == "starting" and anloo["founded"] == "2021-01-01"
    schoel = (await stored(ctx, "dorpshuis-de-schoel")).profile
    assert schoel["legal_form"] == "residents-company" and schoel["phase"] == "active"
    assert schoel["themes"] == ["village-hall"]
    # A second run: the handles exist, nothing is created or changed
    before = zorg.version
    again = await import_rows(ctx, load_inventory(SAMPLE_CSV, load_mapping(SAMPLE_MAP)))
    assert again.created == [] and len(again.existing) == 3 and len(again.refused) == 3
    assert await count_initiatives(ctx) == 3
    assert (await stored(ctx, "zorgcooperatie-hollandscheveld")).version == before


async def test_two_rows_with_one_handle_refuse_the_second(ctx: NodeContext) -> None:
    mapping = parse_mapping({"columns": {"Naam": "name", "Code": "handle"}})
    rows = rows_from_csv("Naam,Code\nDorpshuis,dorpshuis\nAnder dorpshuis,DORPSHUIS\n"
                         "Nog een,x\n", mapping)
    report = await import_rows(ctx, rows)
    assert report.created == ["dorpshuis"]
    assert [(r.row, r.reason, r.field) for r in report.refused] == [
        ("row 3", "duplicate_handle", "handle"), ("row 4", "bad_value", "handle")]


@pytest.mark.parametrize(("raw", "message"), [
    ({"columns": {"Naam": "naam"}}, "'naam' is not a field"),
    ({"columns": {}}, "maps no column"),
    ({"columns": {"Naam": "name"}, "values": {"kleur": {"rood": "red"}}}, "'kleur' is not"),
    ({"columns": {"Naam": "name"}, "opties": {}}, "unknown table [opties]"),
    ({"columns": {"Naam": "name", "Titel": "name"}}, "two columns to one field"),
])
def test_a_bad_mapping_is_refused_as_a_whole(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(FileFormatError) as caught:
        parse_mapping(raw)
    assert caught.value.reason == "bad_mapping" and message in caught.value.detail


def test_a_column_the_mapping_names_must_be_in_the_file() -> None:
    mapping = parse_mapping({"columns": {"Naam initiatief": "name"}})
    with pytest.raises(FileFormatError) as caught:
        rows_from_csv("Naam;Plaats\nA;B\n", mapping)
    assert caught.value.reason == "bad_mapping" and "'Naam initiatief'" in caught.value.detail


# --- Murmurations on loopback ----------------------------------------------------------------------


class Murmurations:
    """Profiles and an index (``GET /v2/nodes``, two pages) as the Murmurations services answer;
    records every request."""

    def __init__(self) -> None:
        self.profiles: dict[str, Any] = {}
        self.requests: list[str] = []
        self.base = ""

    async def profile(self, request: Request) -> Response:
        self.requests.append(str(request.url))
        found = self.profiles.get(request.path_params["name"])
        return JSONResponse(found) if found is not None else Response("weg", status_code=404)

    async def nodes(self, request: Request) -> Response:
        self.requests.append(str(request.url))
        assert request.query_params["schema"] == ORG
        names = [*sorted(self.profiles), "verdwenen"]
        page = int(request.query_params.get("page", "1"))
        chunk = names[(page - 1) * 2: page * 2]
        data = [{"profile_url": f"{self.base}/profiles/{n}.json", "status": "posted",
                 "linked_schemas": [ORG]} for n in chunk]
        if page == 1:
            data.append({"profile_url": f"{self.base}/profiles/weg.json", "status": "deleted"})
        links = {"self": f"/v2/nodes?schema={ORG}&page={page}"}
        if page * 2 < len(names):
            links["next"] = f"/v2/nodes?schema={ORG}&page={page + 1}"
        return JSONResponse({"data": data, "links": links,
                             "meta": {"number_of_results": len(names)}})


@contextlib.contextmanager
def serving(murmurations: Murmurations) -> Iterator[str]:
    app = Starlette(routes=[Route("/profiles/{name}.json", murmurations.profile),
                            Route("/v2/nodes", murmurations.nodes)])
    with serve_in_thread(app) as base:
        murmurations.base = base
        yield base


@pytest.fixture
def node(loopback_app: Starlette) -> NodeContext:
    context: NodeContext = loopback_app.state.ctx
    return context


def profile(name: str, **extra: Any) -> dict[str, Any]:
    return {"linked_schemas": [ORG], "name": name, "primary_url": "https://voorbeeld.example",
            **extra}


async def test_one_murmurations_profile_imports_with_its_fields(node: NodeContext) -> None:
    source = Murmurations()
    source.profiles["molen"] = profile(
        "De Molen van Anloo", description="Wij *malen* graan.", mission="Graan malen",
        locality="Anloo", region="Drenthe", geolocation={"lat": 53.0412, "lon": 6.6934},
        email="info@molen.example", tags=["Energieopwekking", "Stichting", "molens"])
    with serving(source) as base:
        found = await read_murmurations(node, f"{base}/profiles/molen.json")
        rows = await murmurations_rows(node, found)
    report = await import_rows(node, rows)
    assert report.created == ["de-molen-van-anloo"] and not report.refused
    actor = await stored(node, "de-molen-van-anloo")
    p = actor.profile
    assert p["website"] == "https://voorbeeld.example" and p["goals"] == "Graan malen"
    assert p["contact"] == "info@molen.example" and p["legal_form"] == "foundation"
    assert p["themes"] == ["energy-generation"]  # "molens" is no theme: left out
    assert p["place"]["province_code"] == "PV22" and p["place"]["latitude"] == 53.04
    assert "<em>" not in p["description_html"] and "*malen*" in p["description_html"]


async def test_an_index_query_follows_its_pages_and_refuses_per_profile(
        node: NodeContext) -> None:
    source = Murmurations()
    source.profiles = {
        "a": profile("Dorpsbelang Aa"),
        "b": profile("Buurtkracht Bee", geolocation={"lat": 200, "lon": 5}),
        "c": {"linked_schemas": ["people_schema-v0.1.0"], "name": "Iemand"},
        "d": profile("Dorpshuis Dee"),
    }
    advanced: list[int] = []

    def advance(n: int = 1) -> None:
        advanced.append(n)

    with serving(source) as base:
        found = await read_murmurations(node, f"{base}/v2/nodes?schema={ORG}")
        assert len(found.profile_urls) == 5  # a-d and the one the profile server lost
        assert not any("weg.json" in u for u in found.profile_urls)  # deleted in the index
        rows = await murmurations_rows(node, found, advance=advance)
    assert len(advanced) == 5
    report = await import_rows(node, rows)
    assert report.created == ["dorpsbelang-aa", "dorpshuis-dee"]
    assert [(r.row.split(" (")[0], r.reason, r.field) for r in report.refused] == [
        ("profile 2", "bad_coordinates", "place.latitude"),
        ("profile 3", "not_organizations_schema", "linked_schemas"),
        ("profile 5", "fetch_failed", None),
    ]
    assert "verdwenen.json" in report.refused[-1].row
    # Run again (the index unchanged): nothing doubles
    with serving(source) as base:
        found = await read_murmurations(node, f"{base}/v2/nodes?schema={ORG}")
        again = await import_rows(node, await murmurations_rows(node, found))
    assert again.created == [] and sorted(again.existing) == ["dorpsbelang-aa", "dorpshuis-dee"]
    assert await count_initiatives(node) == 2


async def test_murmurations_fetches_go_through_the_guarded_client(ctx: NodeContext) -> None:
    # The ordinary node (no allow_private_network) refuses loopback before connecting.
    source = Murmurations()
    source.profiles["a"] = profile("A")
    with serving(source) as base, pytest.raises(RemoteError) as caught:
        await read_murmurations(ctx, f"{base}/profiles/a.json")
    assert caught.value.reason in ("insecure_url", "private_address")  # refused before any request
    assert source.requests == []


# --- the round trip: export, import on another node, export again ----------------------------------


@pytest.fixture
def second_database(database_url: str, tmp_path: Path, sqlite_template: Path,
                    request: pytest.FixtureRequest) -> Iterator[str]:
    """Another database of the same kind as ``database_url``, for a second node."""
    if database_url.startswith("sqlite"):
        (tmp_path / "b").mkdir()
        yield dbs.fresh_sqlite(sqlite_template, tmp_path / "b")
        return
    url = dbs.create_pg_database("kk_test_b")
    try:
        yield url
    finally:
        dbs.drop_pg_database(url)


@contextlib.asynccontextmanager
async def second_node(tmp_path: Path, database_url: str, clock: Clock
                      ) -> AsyncIterator[Starlette]:
    """Another node (Fryslân) with its own database, which may fetch from loopback."""
    other = make_settings(tmp_path / "b", database_url, node__url="https://fryslan.test",
                          node__name="Doarpswurk", node__handle="fryslan",
                          node__province_code="PV21", node__allow_private_network=True)
    app = create_app(other, clock=clock, keygen=pool_keygen(), password_hasher=FAST_HASHER)
    async with app.router.lifespan_context(app):
        await ensure_node_actor(app.state.ctx)
        yield app


# Node-specific, so left out of the comparison: `urls` names the profile's page on the node
# that serves it, and `rss` that node's feed of the initiative; a copy on another node has its
# own (its page there, its items there). Everything else must come back the same.
NODE_SPECIFIC = ("urls", "rss")


def comparable(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in NODE_SPECIFIC}


async def test_a_profile_exported_imported_elsewhere_and_exported_again_is_unchanged(
        client: httpx.AsyncClient, ctx: NodeContext, second_database: str, tmp_path: Path,
        clock: Clock) -> None:
    await make_initiative(ctx, "zorgcoop", name="Zorgcoöperatie Hollandscheveld",
                          summary="Zorg door het dorp",
                          description="Vrijwilligers *helpen* ouderen.\n\nOok [met] eten.",
                          goals="Langer thuis wonen", contact="info@zorgcoop.example",
                          website="https://zorgcoop.example", legal_form="cooperative",
                          themes=["care-wellbeing", "meals"],
                          place={"name": "Hollandscheveld", "latitude": 52.7,
                                 "longitude": 6.53, "province_code": "PV22"})
    first = (await client.get("/api/initiatives/zorgcoop/murmurations")).json()
    jsonschema.Draft7Validator(SCHEMA).validate(first)

    served = Murmurations()
    served.profiles["zorgcoop"] = first
    async with second_node(tmp_path, second_database, clock) as app:
        b: NodeContext = app.state.ctx
        with serving(served) as base:
            rows = await murmurations_rows(b, await read_murmurations(
                b, f"{base}/profiles/zorgcoop.json"))
        report = await import_rows(b, rows)
        assert report.created == ["zorgcooperatie-hollandscheveld"], report.refused
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="https://fryslan.test") as client_b:
            response = await client_b.get(
                "/api/initiatives/zorgcooperatie-hollandscheveld/murmurations")
    second = response.json()
    jsonschema.Draft7Validator(SCHEMA).validate(second)
    assert comparable(second) == comparable(first)
    assert second["urls"][0]["url"] == "https://fryslan.test/actors/zorgcooperatie-hollandscheveld"


# HSDS ids are UUIDs made from the initiative's IRI on the exporting node, and `uri`/`url` are
# that IRI: a copy on another node has its own. The links between the tables are compared by
# what they link instead (each service and location stays with its organization).
HSDS_NODE_SPECIFIC = ("id", "organization_id", "service_id", "location_id", "uri", "url")


def hsds_comparable(document: dict[str, Any]) -> dict[str, Any]:
    names = {org["id"]: org["name"] for org in document["organizations"]}
    out: dict[str, Any] = {}
    for table in ("organizations", "services", "locations"):
        out[table] = [{**{k: v for k, v in r.items() if k not in HSDS_NODE_SPECIFIC},
                       "of": names.get(r.get("organization_id"))} for r in document[table]]
    out["service_at_locations"] = len(document["service_at_locations"])
    return out


async def test_an_hsds_export_imported_elsewhere_exports_the_same_records(
        ctx: NodeContext, second_database: str, tmp_path: Path, clock: Clock) -> None:
    await make_initiative(ctx, "eetpunt", name="Eetpunt Anloo", summary="Samen eten",
                          themes=["meals", "meeting"], legal_form="foundation",
                          place={"name": "Anloo", "latitude": 53.04, "longitude": 6.69,
                                 "province_code": "PV22"},
                          website="https://eetpunt.example", contact="info@eetpunt.example",
                          founded="2014-05-01", goals="Niemand eet alleen")
    await make_initiative(ctx, "rust", name="Rustpunt", themes=["care-wellbeing"],
                          description="Een *rustige* plek.", status="on-hold")
    await make_initiative(ctx, "molen", name="Molen", themes=["energy-generation"])
    first = await export_hsds(ctx)
    validate_hsds(first)
    path = tmp_path / "hsds.json"
    path.write_text(json.dumps(first), encoding="utf-8")
    async with second_node(tmp_path, second_database, clock) as app:
        b: NodeContext = app.state.ctx
        rows = load_hsds(path)
        assert rows is not None
        report = await import_rows(b, rows)
        assert report.created == ["eetpunt-anloo", "rustpunt"], report.refused
        second = await export_hsds(b)
        again = await import_rows(b, load_hsds(path) or [])
        assert again.created == [] and len(again.existing) == 2
    validate_hsds(second)
    assert hsds_comparable(second) == hsds_comparable(first)
    assert second["organizations"][0]["uri"] == "https://fryslan.test/actors/eetpunt-anloo"


def test_a_json_file_that_is_not_hsds_is_left_to_the_item_import(tmp_path: Path) -> None:
    path = tmp_path / "items.json"
    path.write_text('{"initiatives": []}', encoding="utf-8")
    assert load_hsds(path) is None and load_hsds(SAMPLE_CSV) is None


# --- the progress bar ------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_quiet_off_a_terminal_and_drawn_on_one() -> None:
    pipe = io.StringIO()
    with progress(3, "Initiatieven importeren", stream=pipe) as advance:
        advance()
        advance(2)
    assert pipe.getvalue() == ""
    terminal = Terminal()
    with progress(3, "Initiatieven importeren", stream=terminal) as advance:
        advance()
        advance(2)
    drawn = terminal.getvalue()
    assert "Initiatieven importeren" in drawn and "3/3" in drawn

