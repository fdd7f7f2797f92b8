"""The map: GeoJSON of initiatives and upcoming events (RFC 7946), /kaart with its list and
vendored Leaflet, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from node.services.context import NodeContext
from node.web.browse import map_csp
from tests.clock import Clock
from tests.node.web import BROWSER, make_initiative, make_item

ANLOO = {"name": "Anloo", "latitude": 53.04, "longitude": 6.69, "province_code": "PV22"}
REDUZUM = {"name": "Reduzum", "latitude": 53.11, "longitude": 5.83, "province_code": "PV21"}


async def geojson(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geo+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == "FeatureCollection"
    for feature in body["features"]:
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"]
        assert -180 <= lon <= 180 and -90 <= lat <= 90
    return body


async def test_initiatives_geojson_is_lon_lat_with_properties(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx, "molen", name="Dorpsmolen", place=ANLOO, themes=["meals"])
    await make_initiative(ctx, "zonder", name="Zonder plek")
    body = await geojson(client, "/api/initiatives.geojson")
    (feature,) = body["features"]
    assert feature["geometry"]["coordinates"] == [6.69, 53.04]
    props = feature["properties"]
    assert props["name"] == "Dorpsmolen" and props["kind"] == "initiative"
    assert props["province"] == "PV22" and props["province_name"] == "Drenthe"
    assert props["origin"] == "drenthe.test" and props["themes"] == ["meals"]
    assert props["url"] == "https://drenthe.test/actors/molen" and props["place"] == "Anloo"


async def test_geojson_filters_combine(client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx, "molen", name="Dorpsmolen", place=ANLOO, themes=["meals"])
    await make_initiative(ctx, "doarp", name="Doarpswurk", place=REDUZUM, themes=["meals"])
    await make_initiative(ctx, "zon", name="Zonnepark", place=ANLOO,
                          themes=["energy-generation"])
    names = {f["properties"]["name"] for f in (await geojson(
        client, "/api/initiatives.geojson?theme=care-wellbeing&province=PV22"))["features"]}
    assert names == {"Dorpsmolen"}


async def test_events_geojson_has_only_upcoming_events_with_a_place(
        client: httpx.AsyncClient, ctx: NodeContext, clock: Clock) -> None:
    await make_initiative(ctx)
    now = ctx.now()
    soon = await make_item(ctx, kind="event", title="Burendag", place=ANLOO,
                           start_time=now + timedelta(days=3))
    await make_item(ctx, kind="event", title="Later", place=REDUZUM,
                    start_time=now + timedelta(days=9))
    await make_item(ctx, kind="event", title="Voorbij", place=ANLOO,
                    start_time=now + timedelta(hours=1), end_time=now + timedelta(hours=2))
    await make_item(ctx, kind="event", title="Online", start_time=now + timedelta(days=1))
    await make_item(ctx, title="Verhaal met plek", place=ANLOO)
    clock.advance(3 * 3600)  # "Voorbij" has ended
    body = await geojson(client, "/api/events.geojson")
    assert [f["properties"]["name"] for f in body["features"]] == ["Burendag", "Later"]
    first = body["features"][0]
    assert first["id"] == soon.ap_id and first["properties"]["kind"] == "event"
    assert first["properties"]["start_time"].startswith(str((now + timedelta(days=3)).date()))
    only = await geojson(client, "/api/events.geojson?province=PV21")
    assert [f["properties"]["name"] for f in only["features"]] == ["Later"]


@pytest.mark.parametrize("query", ["province=XX", "theme=katten", "kind=event"])
async def test_geojson_bad_filter_is_422(client: httpx.AsyncClient, query: str) -> None:
    response = await client.get(f"/api/events.geojson?{query}")
    assert response.status_code == 422
    assert response.json()["error"] in ("bad_value", "unknown_parameter")


async def test_map_page_lists_the_places_and_loads_only_vendored_scripts(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx, "molen", name="Dorpsmolen", place=ANLOO)
    await make_item(ctx, "molen", kind="event", title="Burendag", place=ANLOO,
                    start_time=ctx.now() + timedelta(days=3))
    response = await client.get("/kaart?province=pv22", headers=BROWSER)
    assert response.status_code == 200
    page = response.text
    assert "Dorpsmolen" in page and "Burendag" in page  # the list: works without JavaScript
    assert 'data-initiatives="/api/initiatives.geojson?province=PV22"' in page
    scripts = [part.split('"', 1)[0] for part in page.split('<script src="')[1:]]
    assert scripts == ["/static/vendor/leaflet/leaflet.js",
                       "/static/vendor/leaflet.markercluster/leaflet.markercluster.js",
                       "/static/map.js"]
    assert "tile.openstreetmap.org/{z}/{x}/{y}.png" in page and "OpenStreetMap" in page
    csp = response.headers["content-security-policy"]
    assert csp == map_csp("https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in csp
    assert "script-src 'self';" in csp and "unsafe" not in csp
    assert '<a href="/kaart">Kaart</a>' in page


@pytest.mark.parametrize("path", [
    "/static/vendor/leaflet/leaflet.js", "/static/vendor/leaflet/leaflet.css",
    "/static/vendor/leaflet/LICENSE", "/static/vendor/leaflet/images/marker-icon.png",
    "/static/vendor/leaflet.markercluster/leaflet.markercluster.js",
    "/static/vendor/leaflet.markercluster/MarkerCluster.css",
    "/static/vendor/leaflet.markercluster/MarkerCluster.Default.css",
    "/static/vendor/leaflet.markercluster/MIT-LICENCE.txt", "/static/map.js"])
async def test_vendored_files_are_served(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200 and response.content


async def test_licences_are_the_packages_own(client: httpx.AsyncClient) -> None:
    leaflet = (await client.get("/static/vendor/leaflet/LICENSE")).text
    cluster = (await client.get("/static/vendor/leaflet.markercluster/MIT-LICENCE.txt")).text
    assert "Volodymyr Agafonkin" in leaflet and "Permission is hereby granted" in cluster
    assert "Leaflet 1.9.4" in (await client.get("/static/vendor/leaflet/leaflet.js")).text
