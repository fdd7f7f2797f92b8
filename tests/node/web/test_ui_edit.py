"""Editing items through the HTML forms: create, edit, delete; validation, CSRF, permissions."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette

from node.services.context import NodeContext
from node.services.items import get_item
from node.services.users import add_user
from node.store.schema import activities, objects
from tests.node.conftest import BASE_URL
from tests.node.web import local_id, make_initiative, make_item
from tests.node.web.test_ui_auth import PASSWORD, count_rows, csrf_of, sign_in

NEW = "/bewerken/item/nieuw"


@pytest.fixture
async def admin_client(client: httpx.AsyncClient, ctx: NodeContext) -> httpx.AsyncClient:
    """The test client, signed in as an admin; the initiative ``dorpsmolen`` exists."""
    await add_user(ctx, "beheerder", PASSWORD, "admin")
    await make_initiative(ctx, "dorpsmolen", name="Dorpsmolen Reduzum")
    assert (await sign_in(client)).status_code == 303
    return client


def story(**fields: object) -> dict[str, object]:
    data: dict[str, object] = {"kind": "story", "initiative": "dorpsmolen",
                               "title": "Zo begonnen wij", "content": "Een **sterk** verhaal.",
                               "themes": ["energy-generation", "sustainability"]}
    data.update(fields)
    return data


async def post_form(client: httpx.AsyncClient, form_url: str, data: dict[str, object],
                    action: str | None = None, **kwargs: object) -> httpx.Response:
    """Open the form page for its token, then post ``data`` to the form's action."""
    token = csrf_of((await client.get(form_url)).text)
    return await client.post(action or form_url, data={"csrf_token": token, **data},
                             **kwargs)  # type: ignore[arg-type]


async def counts(ctx: NodeContext) -> tuple[int, int]:
    return await count_rows(ctx, objects), await count_rows(ctx, activities)


# --- signed out ------------------------------------------------------------------------------


async def test_new_item_form_sends_a_signed_out_browser_to_sign_in(
        client: httpx.AsyncClient) -> None:
    response = await client.get(NEW)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/aanmelden")


async def test_post_without_a_session_is_401_and_stores_nothing(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    before = await counts(ctx)
    response = await client.post(NEW, data=story())
    assert response.status_code == 401
    assert "Niet aangemeld" in response.text
    assert await counts(ctx) == before


# --- the form ----------------------------------------------------------------------------------


async def test_new_item_form_offers_kinds_themes_and_initiatives_in_dutch(
        admin_client: httpx.AsyncClient) -> None:
    html = (await admin_client.get(NEW)).text
    assert '<option value="story" selected>Verhaal</option>' in html
    assert '<option value="event">Bijeenkomst</option>' in html
    assert '<option value="answer">' not in html
    assert '<label for="thema-energy-generation">Energieopwekking</label>' in html
    assert '<option value="dorpsmolen">Dorpsmolen Reduzum</option>' in html
    assert "(het knooppunt zelf)" in html
    assert '<label for="veld-title">Titel <span class="required">(verplicht)</span></label>' in html
    assert 'aria-describedby="hint-content"' in html


async def test_editor_is_offered_only_the_granted_initiatives(
        editor_client: httpx.AsyncClient) -> None:
    html = (await editor_client.get(NEW)).text
    assert '<option value="dorpsmolen">' in html
    assert "zorgcoop" not in html
    assert "(het knooppunt zelf)" not in html


# --- create ------------------------------------------------------------------------------------


async def test_create_item_through_the_form_shows_it_on_its_page(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    before = await counts(ctx)
    response = await post_form(admin_client, NEW, story(), follow_redirects=True)
    assert response.status_code == 200
    assert str(response.url).startswith(f"{BASE_URL}/items/")
    assert "Het item is opgeslagen en gepubliceerd." in response.text
    assert "<h1>Zo begonnen wij</h1>" in response.text
    assert "<strong>sterk</strong>" in response.text
    assert "Energieopwekking" in response.text
    assert '<a href="https://drenthe.test/actors/dorpsmolen">Dorpsmolen Reduzum</a>' in response.text
    after = await counts(ctx)
    assert after[0] == before[0] + 1
    assert after[1] > before[1]  # the Create (and the node's Announce of it)


async def test_create_event_takes_dutch_wall_clock_times(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    response = await post_form(admin_client, NEW, story(
        kind="event", title="Leerkring energie", start_time="2026-12-03T19:30",
        end_time="2026-12-03T21:30"), follow_redirects=True)
    assert "3 december 2026, 19:30" in response.text
    item = await get_item(ctx, local_id(str(response.url).split("?")[0]))
    assert item.fields["start_time"] == "2026-12-03T19:30:00+01:00"


async def test_create_question_keeps_its_category(admin_client: httpx.AsyncClient) -> None:
    response = await post_form(admin_client, NEW, story(
        kind="question", title="Hoe regel je de verzekering?",
        question_category="organisational"), follow_redirects=True)
    assert "Organisatorisch" in response.text


async def test_create_bottleneck_keeps_its_regulation(admin_client: httpx.AsyncClient) -> None:
    response = await post_form(admin_client, NEW, story(
        kind="bottleneck", title="Netcongestie", regulation="Energiewet",
        bottleneck_status="raised"), follow_redirects=True)
    assert "<dt>Regelgeving</dt><dd>Energiewet</dd>" in response.text
    assert "<dt>Stand van zaken</dt><dd>Aangekaart</dd>" in response.text


async def test_fields_of_other_kinds_are_ignored(admin_client: httpx.AsyncClient) -> None:
    # Without JavaScript the form shows every kind's fields; a story ignores the event's.
    response = await post_form(admin_client, NEW, story(start_time="2026-12-03T19:30",
                                                        regulation="Energiewet"))
    assert response.status_code == 303


# --- validation --------------------------------------------------------------------------------


async def test_missing_title_rerenders_the_form_with_the_message_and_stores_nothing(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    before = await counts(ctx)
    response = await post_form(admin_client, NEW, story(title=""))
    assert response.status_code == 422
    html = response.text
    assert '<p class="field-error" id="fout-title">' in html
    assert "Vul een titel in." in html
    assert '<a href="#veld-title">Titel: Vul een titel in.</a>' in html
    assert 'name="title" value="" aria-describedby="fout-title" aria-invalid="true"' in html
    assert "Een **sterk** verhaal.</textarea>" in html  # what was typed is kept
    assert 'value="energy-generation" id="thema-energy-generation" checked' in html
    assert await counts(ctx) == before


async def test_every_failing_field_gets_its_own_message(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    # Given a form with a title in HTML and no text at all: the API's checks find both
    before = await counts(ctx)
    response = await post_form(admin_client, NEW, story(title="<b>Vet</b>", content=""))
    # Then each field is marked with its own Dutch message, and nothing is stored
    assert response.status_code == 422
    assert '<p class="field-error" id="fout-title">' in response.text
    assert '<p class="field-error" id="fout-content">' in response.text
    assert "zonder HTML-code" in response.text
    assert "Schrijf de tekst van het item." in response.text
    assert await counts(ctx) == before


async def test_the_form_marks_what_the_kind_requires(admin_client: httpx.AsyncClient) -> None:
    html = (await admin_client.get(NEW)).text
    assert '<label for="veld-title">Titel <span class="required">' in html
    assert '<label for="veld-end_time">' in html
    assert '<label for="veld-start_time">Begint <span class="required">' in html
    assert '<label for="veld-end_time">Eindigt <span class="required">' not in html


async def test_html_in_the_title_is_refused_and_shown_back_escaped(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    before = await counts(ctx)
    response = await post_form(admin_client, NEW, story(title="<script>alert(1)</script>"))
    assert response.status_code == 422
    assert "zonder HTML-code" in response.text
    assert "<script>" not in response.text
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in response.text
    assert await counts(ctx) == before


async def test_event_ending_before_it_starts_is_named_on_the_end_field(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    response = await post_form(admin_client, NEW, story(
        kind="event", start_time="2026-12-03T19:30", end_time="2026-12-03T18:00"))
    assert response.status_code == 422
    assert '<p class="field-error" id="fout-end_time">' in response.text
    assert "Het einde mag niet vóór het begin liggen." in response.text


async def test_unknown_kind_is_named_on_the_kind_field(admin_client: httpx.AsyncClient) -> None:
    response = await post_form(admin_client, NEW, story(kind="answer"))
    assert response.status_code == 422
    assert "Kies een soort uit de lijst." in response.text


async def test_too_long_title_names_the_limit(admin_client: httpx.AsyncClient) -> None:
    response = await post_form(admin_client, NEW, story(title="x" * 301))
    assert response.status_code == 422
    assert "hoogstens 300 tekens" in response.text


# --- CSRF --------------------------------------------------------------------------------------


async def test_post_without_csrf_token_is_403_and_stores_nothing(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    before = await counts(ctx)
    response = await admin_client.post(NEW, data=story())
    assert response.status_code == 403
    assert "Er is niets opgeslagen." in response.text
    assert await counts(ctx) == before


async def test_post_with_a_wrong_csrf_token_is_403_and_stores_nothing(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    before = await counts(ctx)
    response = await admin_client.post(NEW, data={"csrf_token": "x" * 43, **story()})
    assert response.status_code == 403
    assert await counts(ctx) == before


async def test_post_with_another_sessions_token_is_403_and_stores_nothing(
        admin_client: httpx.AsyncClient, app: Starlette, ctx: NodeContext) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as other:
        assert (await sign_in(other)).status_code == 303
        other_token = csrf_of((await other.get(NEW)).text)
    before = await counts(ctx)
    response = await admin_client.post(NEW, data={"csrf_token": other_token, **story()})
    assert response.status_code == 403
    assert await counts(ctx) == before


async def test_post_from_another_site_is_403_even_with_the_right_token(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    before = await counts(ctx)
    response = await post_form(admin_client, NEW, story(),
                               headers={"Origin": "https://evil.test"})
    assert response.status_code == 403
    assert await counts(ctx) == before


async def test_text_plain_post_is_403(admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    token = csrf_of((await admin_client.get(NEW)).text)
    before = await counts(ctx)
    response = await admin_client.post(NEW, content=f"csrf_token={token}&kind=story",
                                       headers={"Content-Type": "text/plain"})
    assert response.status_code == 403
    assert await counts(ctx) == before


# --- edit and delete ---------------------------------------------------------------------------


async def test_edit_item_through_the_form(admin_client: httpx.AsyncClient,
                                          ctx: NodeContext) -> None:
    item = await make_item(ctx, title="Zo begonnen wij", content="Oude tekst.")
    url = f"/items/{local_id(item.ap_id)}/bewerken"
    form = (await admin_client.get(url)).text
    assert "Oude tekst.</textarea>" in form
    response = await post_form(admin_client, url, {"title": "Zo gingen wij verder",
                                                   "content": "Nieuwe tekst."},
                               follow_redirects=True)
    assert "<h1>Zo gingen wij verder</h1>" in response.text
    assert "Nieuwe tekst." in response.text
    assert (await get_item(ctx, item.ap_id)).version == 2


async def test_edit_form_shows_event_times_in_dutch_time(admin_client: httpx.AsyncClient,
                                                        ctx: NodeContext) -> None:
    item = await make_item(ctx, kind="event", title="Leerkring",
                           start_time=datetime(2026, 12, 3, 18, 30, tzinfo=UTC))
    html = (await admin_client.get(f"/items/{local_id(item.ap_id)}/bewerken")).text
    assert 'value="2026-12-03T19:30"' in html


async def test_invalid_edit_is_422_and_changes_nothing(admin_client: httpx.AsyncClient,
                                                       ctx: NodeContext) -> None:
    item = await make_item(ctx)
    before = await counts(ctx)
    url = f"/items/{local_id(item.ap_id)}/bewerken"
    response = await post_form(admin_client, url, {"title": "", "content": "Nieuw."})
    assert response.status_code == 422
    assert "Vul een titel in." in response.text
    assert (await get_item(ctx, item.ap_id)).version == 1
    assert await counts(ctx) == before


async def test_delete_item_after_the_confirmation_page(admin_client: httpx.AsyncClient,
                                                       ctx: NodeContext) -> None:
    item = await make_item(ctx, title="Weg ermee")
    url = f"/items/{local_id(item.ap_id)}/verwijderen"
    confirm = (await admin_client.get(url)).text
    assert "Weet u zeker dat u dit item wilt verwijderen?" in confirm
    response = await post_form(admin_client, url, {}, follow_redirects=True)
    assert "Het item is verwijderd." in response.text
    assert (await admin_client.get(item.ap_id)).status_code == 410


async def test_item_page_offers_edit_and_delete_when_signed_in(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    item = await make_item(ctx)
    html = (await admin_client.get(item.ap_id)).text
    assert f'href="/items/{local_id(item.ap_id)}/bewerken">Bewerken</a>' in html
    assert f'href="/items/{local_id(item.ap_id)}/verwijderen">Verwijderen</a>' in html


# --- permissions -------------------------------------------------------------------------------


async def test_editor_edits_an_item_of_their_own_initiative(
        editor_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    item = await make_item(ctx, "dorpsmolen")
    url = f"/items/{local_id(item.ap_id)}/bewerken"
    response = await post_form(editor_client, url, {"title": "Nieuw", "content": "Tekst."})
    assert response.status_code == 303


async def test_editor_cannot_open_another_initiatives_item_form(
        editor_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    item = await make_item(ctx, "zorgcoop")
    response = await editor_client.get(f"/items/{local_id(item.ap_id)}/bewerken")
    assert response.status_code == 403
    assert "Geen toegang" in response.text


async def test_editor_cannot_edit_another_initiatives_item(
        editor_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    item = await make_item(ctx, "zorgcoop")
    token = csrf_of((await editor_client.get(NEW)).text)
    before = await counts(ctx)
    response = await editor_client.post(f"/items/{local_id(item.ap_id)}/bewerken",
                                        data={"csrf_token": token, "title": "Gekaapt",
                                              "content": "Gekaapt."})
    assert response.status_code == 403
    assert (await get_item(ctx, item.ap_id)).title == "Zo begonnen wij"
    assert await counts(ctx) == before


async def test_editor_cannot_delete_another_initiatives_item(
        editor_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    item = await make_item(ctx, "zorgcoop")
    token = csrf_of((await editor_client.get(NEW)).text)
    response = await editor_client.post(f"/items/{local_id(item.ap_id)}/verwijderen",
                                        data={"csrf_token": token})
    assert response.status_code == 403
    assert not (await get_item(ctx, item.ap_id)).deleted


async def test_editor_cannot_create_for_another_initiative(
        editor_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    before = await counts(ctx)
    response = await post_form(editor_client, NEW, story(initiative="zorgcoop"))
    assert response.status_code == 403
    assert await counts(ctx) == before


# --- escaping ----------------------------------------------------------------------------------


async def test_script_in_a_title_is_escaped_on_every_page(admin_client: httpx.AsyncClient,
                                                          ctx: NodeContext) -> None:
    item = await make_item(ctx, title="<script>alert(1)</script> molen", unchecked=True)
    path = f"/items/{local_id(item.ap_id)}"
    for url in (item.ap_id, "/", "/actors/dorpsmolen", "/actors/dorpsmolen/outbox",
                f"{path}/bewerken", f"{path}/verwijderen"):
        html = (await admin_client.get(url)).text
        assert "<script>" not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt; molen" in html, url

