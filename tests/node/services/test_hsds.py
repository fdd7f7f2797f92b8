"""The HSDS export of care initiatives: every record valid against the (vendored, trimmed) HSDS 3
schemas, linked by stable UUIDs; other initiatives and deleted ones left out."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import jsonschema

from node.services.actors import delete_initiative
from node.services.context import NodeContext
from node.services.permissions import SYSTEM
from node.services.transfer import export_hsds
from tests.node.web import make_initiative

SCHEMAS = Path(__file__).resolve().parents[2] / "data" / "bridges" / "hsds"
TABLES = {"organizations": "organization", "services": "service", "locations": "location",
          "service_at_locations": "service_at_location"}
ANLOO = {"name": "Anloo", "latitude": 53.04, "longitude": 6.69, "province_code": "PV22"}


def validate(document: dict[str, Any]) -> None:
    for table, schema_name in TABLES.items():
        schema = json.loads((SCHEMAS / f"{schema_name}.json").read_text(encoding="utf-8"))
        validator = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        for record in document[table]:
            validator.validate(record)
            uuid.UUID(record["id"])


async def test_care_initiatives_export_as_valid_linked_hsds(ctx: NodeContext) -> None:
    await make_initiative(ctx, "eetpunt", name="Eetpunt Anloo", summary="Samen eten",
                          themes=["meals", "meeting"], place=ANLOO, legal_form="foundation",
                          website="https://eetpunt.example", contact="info@eetpunt.example",
                          founded="2014-05-01", goals="Niemand eet alleen")
    await make_initiative(ctx, "rust", name="Rustpunt", themes=["care-wellbeing"],
                          status="stopped")
    await make_initiative(ctx, "molen", name="Molen", themes=["energy-generation"])
    document = await export_hsds(ctx)
    validate(document)
    assert document["format"] == "hsds" and document["hsds_version"] == "3.0"
    orgs = {o["name"]: o for o in document["organizations"]}
    assert set(orgs) == {"Eetpunt Anloo", "Rustpunt"}
    eetpunt = orgs["Eetpunt Anloo"]
    assert eetpunt["legal_status"] == "Stichting" and eetpunt["year_incorporated"] == 2014
    assert eetpunt["website"] == "https://eetpunt.example"
    assert eetpunt["uri"] == "https://drenthe.test/actors/eetpunt"
    services = [s for s in document["services"] if s["organization_id"] == eetpunt["id"]]
    assert sorted(s["name"] for s in services) == ["Maaltijden", "Ontmoeting"]
    assert all(s["status"] == "active" and s["description"] == "Niemand eet alleen"
               for s in services)
    (stopped,) = [s for s in document["services"] if s["organization_id"] == orgs["Rustpunt"]["id"]]
    assert stopped["status"] == "inactive"
    (location,) = document["locations"]
    assert location["organization_id"] == eetpunt["id"] and location["name"] == "Anloo"
    assert (location["latitude"], location["longitude"]) == (53.04, 6.69)
    links = {(link["service_id"], link["location_id"]) for link in document["service_at_locations"]}
    assert links == {(s["id"], location["id"]) for s in services}


async def test_a_second_export_keeps_every_id_and_drops_deleted_initiatives(
        ctx: NodeContext) -> None:
    await make_initiative(ctx, "eetpunt", name="Eetpunt", themes=["meals"], place=ANLOO)
    await make_initiative(ctx, "weg", name="Weg", themes=["meals"])
    first = await export_hsds(ctx)
    await delete_initiative(ctx, "weg", SYSTEM)
    second = await export_hsds(ctx)
    validate(second)
    assert [o["name"] for o in second["organizations"]] == ["Eetpunt"]
    kept = {o["id"] for o in first["organizations"] if o["name"] == "Eetpunt"}
    assert {o["id"] for o in second["organizations"]} == kept
    for table in ("services", "locations", "service_at_locations"):
        assert {r["id"] for r in second[table]} <= {r["id"] for r in first[table]}
