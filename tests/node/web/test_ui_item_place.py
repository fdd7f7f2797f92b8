"""The place of an item in the HTML item form: the same fieldset and parsing as the initiative
form (``_place.html``, ``node.web.forms.place_raw``), stored and federated as the API would;
and the item fields of the API the form lacked besides (licence, language, an online event)."""

from __future__ import annotations

import httpx
import pytest

from node.services.context import NodeContext
from node.services.items import get_item
from tests.node.web import AS_JSON, local_id, make_item
from tests.node.web.test_ui_edit import NEW, counts, post_form, story
from tests.node.web.test_ui_initiatives import admin_client

# The fixture, used by name: signed in as an admin; ``dorpsmolen`` is in Reduzum, a village
# the node knows.
__all__ = ["admin_client"]


async def saved(client: httpx.AsyncClient, ctx: NodeContext,
                response: httpx.Response) -> tuple[dict[str, object], dict[str, object]]:
    """The stored ``place`` of the item a form post created, and its ActivityPub JSON."""
    assert response.status_code == 303, response.text
    path = response.headers["location"].split("?")[0]
    item = await get_item(ctx, local_id(path))
    document = (await client.get(path, headers=AS_JSON)).json()
    return item.fields["place"], document


async def test_the_item_form_has_the_place_fieldset(admin_client: httpx.AsyncClient) -> None:
    response = await admin_client.get(NEW)
    html = response.text
    for name in ("place_name", "latitude", "longitude", "province_code", "exact"):
        assert f'id="veld-{name}" name="{name}"' in html
    assert '<option value="Reduzum"></option>' in html  # the known places are suggested
    assert '<script src="/static/place_picker.js" defer></script>' in html
    assert "img-src 'self' data:" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("kind,extra", [
    ("story", {}), ("guide", {}), ("question", {"question_category": "organisational"}),
    ("bottleneck", {}), ("event", {"start_time": "2026-12-03T19:30"})])
async def test_a_place_by_coordinates_is_stored_and_federated(
        admin_client: httpx.AsyncClient, ctx: NodeContext, kind: str,
        extra: dict[str, str]) -> None:
    response = await post_form(admin_client, NEW, story(
        kind=kind, place_name="Ruinen", latitude="52,7625", longitude="6.3518",
        province_code="PV22", toch_plaatsen="1", **extra))
    place, document = await saved(admin_client, ctx, response)
    # Village precision unless "exact" is ticked: the API's rule.
    assert place == {"name": "Ruinen", "latitude": 52.76, "longitude": 6.35,
                     "province_code": "PV22", "exact": False}
    assert document["location"] == {"type": "Place", "name": "Ruinen", "latitude": 52.76,
                                    "longitude": 6.35, "provinceCode": "PV22"} | (
        {"address": {"type": "PostalAddress", "addressCountry": "NL",
                     "addressLocality": "Ruinen", "addressRegion": "Drenthe"}}
        if kind == "event" else {})


async def test_exact_keeps_the_coordinates(admin_client: httpx.AsyncClient,
                                           ctx: NodeContext) -> None:
    response = await post_form(admin_client, NEW, story(
        latitude="52.7625", longitude="6.3518", exact="1"))
    place, document = await saved(admin_client, ctx, response)
    assert place == {"latitude": 52.7625, "longitude": 6.3518, "exact": True}
    assert document["location"] == {"type": "Place", "latitude": 52.7625, "longitude": 6.3518}


async def test_a_known_village_name_gets_its_coordinates(admin_client: httpx.AsyncClient,
                                                         ctx: NodeContext) -> None:
    response = await post_form(admin_client, NEW, story(place_name=" reduzum "))
    place, document = await saved(admin_client, ctx, response)
    assert place == {"name": "Reduzum", "latitude": 53.12, "longitude": 5.79,
                     "province_code": "PV21", "exact": False}
    assert document["location"]["name"] == "Reduzum"  # type: ignore[index]
    assert document["provinceCode"] == "PV21"


async def test_a_bad_place_is_shown_on_its_fields_and_stores_nothing(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    before = await counts(ctx)
    response = await post_form(admin_client, NEW, story(
        title="", place_name="Ruinen", latitude="95", longitude="6,35", exact="1",
        language="Fries!", license="CC0-1.0"))
    assert response.status_code == 422
    html = response.text
    assert '<p class="field-error" id="fout-latitude">' in html
    assert '<a href="#veld-latitude">' in html
    assert "Vul een titel in." in html  # every error at once
    assert '<p class="field-error" id="fout-language">' in html
    # What was typed is kept.
    assert 'name="place_name" value="Ruinen"' in html
    assert 'name="latitude" value="95"' in html
    assert 'name="longitude" value="6,35"' in html
    assert 'id="veld-exact" name="exact" value="1" checked' in html
    assert 'name="language" value="Fries!"' in html
    assert 'name="license" value="CC0-1.0"' in html
    assert await counts(ctx) == before


async def test_latitude_without_longitude_is_named(admin_client: httpx.AsyncClient) -> None:
    response = await post_form(admin_client, NEW, story(latitude="52.76"))
    assert response.status_code == 422
    assert '<p class="field-error" id="fout-longitude">' in response.text


async def test_edit_shows_sets_and_clears_the_place(admin_client: httpx.AsyncClient,
                                                   ctx: NodeContext) -> None:
    item = await make_item(ctx, place={"name": "Ruinen", "latitude": 52.76, "longitude": 6.35})
    url = f"/items/{local_id(item.ap_id)}/bewerken"
    html = (await admin_client.get(url)).text
    assert 'name="place_name" value="Ruinen"' in html
    assert 'name="latitude" value="52.76"' in html
    fields = {"title": item.title, "content": item.content}
    response = await post_form(admin_client, url, {**fields, "place_name": "Reduzum"})
    assert response.status_code == 303
    stored = await get_item(ctx, item.ap_id)
    assert stored.fields["place"]["name"] == "Reduzum"
    assert (stored.latitude, stored.longitude, stored.province_code) == (53.12, 5.79, "PV21")
    assert (await admin_client.get(item.ap_id, headers=AS_JSON)).json()["location"]["latitude"] == 53.12
    response = await post_form(admin_client, url, fields)  # the fieldset left blank: cleared
    assert response.status_code == 303
    stored = await get_item(ctx, item.ap_id)
    assert not stored.fields.get("place") and stored.latitude is None
    assert "location" not in (await admin_client.get(item.ap_id, headers=AS_JSON)).json()


# --- licence, language, an online event ----------------------------------------------------


async def test_licence_language_and_online_are_stored_and_federated(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    html = (await admin_client.get(NEW)).text
    assert 'name="license" value="CC-BY-4.0"' in html and 'name="language" value="nl"' in html
    assert 'id="veld-online" name="online" value="1" aria-describedby="hint-online"' in html
    response = await post_form(admin_client, NEW, story(
        kind="event", start_time="2026-12-03T19:30", license="CC0-1.0", language="fy",
        online="1"))
    assert response.status_code == 303, response.text
    path = response.headers["location"].split("?")[0]
    item = await get_item(ctx, local_id(path))
    assert (item.license, item.language, item.fields["online"]) == ("CC0-1.0", "fy", True)
    document = (await admin_client.get(path, headers=AS_JSON)).json()
    assert document["license"] == "CC0-1.0"
    assert list(document["contentMap"]) == ["fy"]
    assert document["isOnline"] is True
    # The edit form shows them; an unticked box makes the event not online any more.
    url = f"{path}/bewerken"
    html = (await admin_client.get(url)).text
    assert 'name="license" value="CC0-1.0"' in html and 'name="language" value="fy"' in html
    assert 'name="online" value="1" checked' in html
    response = await post_form(admin_client, url, {
        "title": item.title, "content": item.content, "start_time": "2026-12-03T19:30",
        "license": "CC0-1.0", "language": "fy"})
    assert response.status_code == 303
    assert (await get_item(ctx, item.ap_id)).fields["online"] is False

