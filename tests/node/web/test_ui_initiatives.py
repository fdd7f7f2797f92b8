"""Creating, editing and deleting an initiative through the HTML forms (node.web.initiative_pages)."""

from __future__ import annotations

import re

import httpx
import pytest

from node.services.actors import get_initiative
from node.services.context import NodeContext
from node.services.errors import GoneError
from node.services.users import add_user
from node.store.schema import activities, actors
from tests.node.conftest import BASE_URL
from tests.node.web import AS_JSON, make_initiative
from tests.node.web.test_ui_auth import PASSWORD, count_rows, csrf_of, sign_in
from tests.node.web.test_ui_edit import post_form

NEW = "/initiatieven/nieuw"
EDIT = "/actors/dorpsmolen/bewerken"
DELETE = "/actors/dorpsmolen/verwijderen"


@pytest.fixture
async def admin_client(client: httpx.AsyncClient, ctx: NodeContext) -> httpx.AsyncClient:
    """Signed in as an admin; ``dorpsmolen`` exists (in Reduzum, with coordinates)."""
    await add_user(ctx, "beheerder", PASSWORD, "admin")
    await make_initiative(ctx, "dorpsmolen", name="Dorpsmolen Reduzum", place={
        "name": "Reduzum", "latitude": 53.12, "longitude": 5.79, "province_code": "PV21"})
    assert (await sign_in(client)).status_code == 303
    return client


def full_profile(**fields: object) -> dict[str, object]:
    data: dict[str, object] = {
        "handle": "zonnedorp", "name": "Zonnedorp Ruinen", "summary": "Zonnepanelen op de school.",
        "description": "Wij leggen **zonnepanelen** op daken.", "themes": ["energy-generation",
                                                                           "sustainability"],
        "legal_form": "cooperative", "phase": "active", "status": "active",
        "founded": "2019-03-21", "website": "https://zonnedorp.example",
        "contact": "info@zonnedorp.example", "goals": "Het hele dorp op zonnestroom.",
        "reason_for_starting": "De energierekening.",
        "open_questions": "Hoe financieren we de batterij?\nWie doet het onderhoud?",
        "networks": "Energie Samen\nBOKD", "partners": "Hanzehogeschool", "members_count": "120",
        "last_confirmed": "2026-01-15", "place_name": "Ruinen", "latitude": "52,7625",
        "longitude": "6.3538", "province_code": "PV22"}
    data.update(fields)
    return data


async def counts(ctx: NodeContext) -> tuple[int, int]:
    return await count_rows(ctx, actors), await count_rows(ctx, activities)


# --- create ------------------------------------------------------------------------------------


async def test_directory_offers_a_new_initiative_only_when_signed_in(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    assert "/initiatieven/nieuw" not in (await client.get("/initiatieven")).text
    await add_user(ctx, "beheerder", PASSWORD, "admin")
    await sign_in(client)
    assert '<a href="/initiatieven/nieuw">Nieuw initiatief</a>' in (
        await client.get("/initiatieven")).text


async def test_new_form_sends_a_signed_out_browser_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get(NEW)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/aanmelden")


async def test_new_form_has_every_field_and_a_script_file_map(
        admin_client: httpx.AsyncClient) -> None:
    response = await admin_client.get(NEW)
    html = response.text
    for name in ("handle", "name", "summary", "description", "legal_form", "phase", "status",
                 "founded", "website", "contact", "goals", "reason_for_starting",
                 "open_questions", "networks", "partners", "members_count", "last_confirmed",
                 "place_name", "latitude", "longitude", "province_code", "exact"):
        assert f'name="{name}"' in html, name
    assert 'name="themes" value="energy-generation"' in html
    assert '<option value="Reduzum"></option>' in html  # a village the node knows
    assert '<script src="/static/place_picker.js" defer></script>' in html
    assert "<script>" not in html
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert (await admin_client.get("/static/place_picker.js")).status_code == 200


async def test_create_with_every_field_shows_the_profile(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    response = await post_form(admin_client, NEW, full_profile(), follow_redirects=True)
    assert response.status_code == 200
    assert str(response.url) == f"{BASE_URL}/actors/zonnedorp?opgeslagen=1"
    html = response.text
    assert "Het initiatief is opgeslagen en gepubliceerd." in html
    assert "<h1>Zonnedorp Ruinen</h1>" in html
    assert "<strong>zonnepanelen</strong>" in html
    assert "Wie doet het onderhoud?" in html
    assert "Ruinen" in html
    actor = await get_initiative(ctx, "zonnedorp")
    profile = actor.profile
    assert actor.summary == "Zonnepanelen op de school."
    assert profile["themes"] == ["energy-generation", "sustainability"]
    assert (profile["legal_form"], profile["phase"], profile["status"]) == (
        "cooperative", "active", "active")
    assert profile["founded"] == "2019-03-21"
    assert profile["last_confirmed"] == "2026-01-15"
    assert profile["website"] == "https://zonnedorp.example"
    assert profile["contact"] == "info@zonnedorp.example"
    assert profile["open_questions"] == ["Hoe financieren we de batterij?",
                                         "Wie doet het onderhoud?"]
    assert profile["networks"] == ["Energie Samen", "BOKD"]
    assert profile["partners"] == ["Hanzehogeschool"]
    assert profile["members_count"] == 120
    # Village precision: rounded to two decimals unless "exact" is ticked (the API's rule).
    assert profile["place"] == {"name": "Ruinen", "latitude": 52.76, "longitude": 6.35,
                                "province_code": "PV22", "exact": False}


async def test_a_known_village_name_gets_its_coordinates(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    response = await post_form(admin_client, NEW, {
        "handle": "dorpshuis", "name": "Dorpshuis", "status": "active",
        "place_name": " reduzum "})
    assert response.status_code == 303
    place = (await get_initiative(ctx, "dorpshuis")).profile["place"]
    assert place["name"] == "Reduzum"
    assert (place["latitude"], place["longitude"], place["province_code"]) == (53.12, 5.79, "PV21")


async def test_an_unknown_village_is_kept_as_a_name_without_a_point(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    response = await post_form(admin_client, NEW, {
        "handle": "dorpshuis", "name": "Dorpshuis", "status": "active", "place_name": "Nergenshuizen"})
    assert response.status_code == 303
    place = (await get_initiative(ctx, "dorpshuis")).profile["place"]
    assert place["name"] == "Nergenshuizen"
    assert "latitude" not in place


async def test_an_editor_may_create_and_is_granted_the_new_initiative(
        editor_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    # As POST /api/initiatives: any signed-in user may create; the creator may then edit it.
    response = await post_form(editor_client, NEW, {"handle": "nieuwdorp", "name": "Nieuwdorp",
                                                    "status": "active"})
    assert response.status_code == 303
    assert (await editor_client.get("/actors/nieuwdorp/bewerken")).status_code == 200


# --- errors ------------------------------------------------------------------------------------


async def test_errors_are_all_summarised_and_what_was_typed_is_kept(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    before = await counts(ctx)
    response = await post_form(admin_client, NEW, full_profile(
        handle="Niet Goed", name="", website="geen adres", members_count="veel",
        founded="2999-01-01", latitude="95", longitude="6.35"))
    assert response.status_code == 422
    html = response.text
    assert html.count('<li><a href="#veld-') == 6
    assert 'class="error-summary" role="alert" aria-labelledby="fouten-titel" tabindex="-1"' in html
    for name in ("handle", "name", "website", "members_count", "founded", "latitude"):
        assert f'<a href="#veld-{name}">' in html, name
    assert "Vul de naam van het initiatief in." in html
    assert 'value="Niet Goed"' in html
    assert 'value="geen adres"' in html
    assert 'value="veel"' in html
    assert "Hoe financieren we de batterij?\nWie doet het onderhoud?</textarea>" in html
    assert 'id="thema-energy-generation" checked' in html
    assert '<option value="cooperative" selected>' in html
    assert await counts(ctx) == before


async def test_a_taken_handle_is_a_field_error(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    before = await counts(ctx)
    response = await post_form(admin_client, NEW, {"handle": "dorpsmolen", "name": "Tweede",
                                                   "status": "active"})
    assert response.status_code == 409
    assert '<a href="#veld-handle">Korte naam: Deze korte naam is al in gebruik.' in response.text
    assert 'value="Tweede"' in response.text
    assert await counts(ctx) == before


async def test_post_without_csrf_token_is_403_and_stores_nothing(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    before = await counts(ctx)
    response = await admin_client.post(NEW, data=full_profile())
    assert response.status_code == 403
    response = await admin_client.post(EDIT, data={"name": "Gekaapt", "status": "active"})
    assert response.status_code == 403
    response = await admin_client.post(DELETE, data={})
    assert response.status_code == 403
    assert await counts(ctx) == before
    assert (await get_initiative(ctx, "dorpsmolen")).name == "Dorpsmolen Reduzum"


async def test_post_from_another_site_is_403_even_with_the_right_token(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    token = csrf_of((await admin_client.get(EDIT)).text)
    response = await admin_client.post(EDIT, data={"csrf_token": token, "name": "Gekaapt",
                                                   "status": "active"},
                                       headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert (await get_initiative(ctx, "dorpsmolen")).name == "Dorpsmolen Reduzum"


# --- edit --------------------------------------------------------------------------------------


async def test_initiative_page_offers_edit_and_delete_to_who_may(
        editor_client: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    own = (await editor_client.get("/actors/dorpsmolen")).text
    assert '<a href="/actors/dorpsmolen/bewerken">Bewerken</a>' in own
    assert '<a href="/actors/dorpsmolen/verwijderen">Verwijderen</a>' in own
    other = (await editor_client.get("/actors/zorgcoop")).text
    assert "/actors/zorgcoop/bewerken" not in other


async def test_edit_form_shows_the_stored_profile(admin_client: httpx.AsyncClient) -> None:
    html = (await admin_client.get(EDIT)).text
    assert "<h1>Bewerken: Dorpsmolen Reduzum</h1>" in html
    assert 'name="handle"' not in html  # the handle cannot change
    assert 'id="veld-place_name" name="place_name" value="Reduzum"' in html
    assert 'id="veld-latitude" name="latitude" value="53.12"' in html


async def test_edit_changes_and_clears_fields_and_publishes_an_update(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    before = await get_initiative(ctx, "dorpsmolen")
    response = await post_form(admin_client, EDIT, {
        "name": "Dorpsmolen De Hoop", "status": "on-hold", "phase": "idea",
        "themes": ["energy-generation"], "partners": "Gemeente\nProvincie"},
        follow_redirects=True)
    assert response.status_code == 200
    assert "<h1>Dorpsmolen De Hoop</h1>" in response.text
    after = await get_initiative(ctx, "dorpsmolen")
    assert after.version == before.version + 1
    assert after.profile["status"] == "on-hold"
    assert after.profile["partners"] == ["Gemeente", "Provincie"]
    assert "place" not in after.profile  # left blank: cleared, as null in a PATCH


async def test_edit_errors_keep_what_was_typed_and_store_nothing(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    before = await counts(ctx)
    response = await post_form(admin_client, EDIT, {
        "name": "", "status": "active", "latitude": "53,2", "contact": "<b>bel ons</b>"})
    assert response.status_code == 422
    html = response.text
    assert html.count('<li><a href="#veld-') == 3  # name, contact, longitude missing
    assert '<a href="#veld-longitude">' in html
    assert 'value="53,2"' in html
    assert 'value="&lt;b&gt;bel ons&lt;/b&gt;"' in html
    assert await counts(ctx) == before


async def test_editor_without_a_grant_gets_403_and_changes_nothing(
        editor_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    assert (await editor_client.get("/actors/zorgcoop/bewerken")).status_code == 403
    assert (await editor_client.get("/actors/zorgcoop/verwijderen")).status_code == 403
    token = csrf_of((await editor_client.get(EDIT)).text)
    before = await counts(ctx)
    response = await editor_client.post("/actors/zorgcoop/bewerken", data={
        "csrf_token": token, "name": "Gekaapt", "status": "active"})
    assert response.status_code == 403
    response = await editor_client.post("/actors/zorgcoop/verwijderen",
                                        data={"csrf_token": token})
    assert response.status_code == 403
    assert await counts(ctx) == before
    assert (await get_initiative(ctx, "zorgcoop")).name == "Zorgcoöperatie Hollandscheveld"


# --- delete ------------------------------------------------------------------------------------


async def test_delete_asks_for_confirmation_then_the_actor_is_gone(
        editor_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    page = await editor_client.get(DELETE)
    assert page.status_code == 200
    assert "Weet u zeker dat u dit initiatief wilt verwijderen?" in page.text
    assert (await get_initiative(ctx, "dorpsmolen")).deleted is False  # the GET deletes nothing
    token = csrf_of(page.text)
    response = await editor_client.post(DELETE, data={"csrf_token": token},
                                        follow_redirects=True)
    assert str(response.url) == f"{BASE_URL}/initiatieven?verwijderd=1"
    assert "Het initiatief is verwijderd." in response.text
    assert (await editor_client.get("/actors/dorpsmolen", headers=AS_JSON)).status_code == 410
    with pytest.raises(GoneError):
        await get_initiative(ctx, "dorpsmolen")
    assert (await editor_client.get(EDIT)).status_code == 410


def test_no_inline_script_in_the_picker() -> None:
    from node.web.pages import PACKAGE_DIR

    source = (PACKAGE_DIR / "templates" / "initiative_form.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", source)


async def test_robots_keeps_crawlers_off_the_initiative_forms(client: httpx.AsyncClient) -> None:
    lines = (await client.get("/robots.txt")).text.splitlines()
    for path in ("/initiatieven/nieuw", "/actors/*/bewerken", "/actors/*/verwijderen"):
        assert f"Disallow: {path}" in lines


async def test_the_form_and_its_errors_speak_english(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    english = {"Accept-Language": "en"}
    html = (await admin_client.get(NEW, headers=english)).text
    assert "<h1>New initiative</h1>" in html and "Village or town" in html
    token = csrf_of(html)
    response = await admin_client.post(NEW, headers=english, data={
        "csrf_token": token, "handle": "zonnedorp", "name": "", "status": "active"})
    assert response.status_code == 422
    assert '<a href="#veld-name">Name: Fill in the name of the initiative.</a>' in response.text
