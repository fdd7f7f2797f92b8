"""HTML pages: Dutch, escaped, sanitised, with the security headers; one behaviour per test."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import httpx

from node.services.actors import delete_initiative
from node.services.context import NodeContext
from node.services.inputs import AttachmentInput, Patch, PlaceInput
from node.services.items import delete_item, update_item
from node.services.permissions import SYSTEM
from tests.node.web import BROWSER, local_id, make_initiative, make_item

CSP = ("default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'")


async def page(client: httpx.AsyncClient, url: str, status: int = 200) -> str:
    response = await client.get(url, headers=BROWSER)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == CSP
    return response.text


async def test_home_shows_node_name_latest_items_and_initiatives(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx, "dorpsmolen", name="Dorpsmolen Reduzum")
    await make_initiative(ctx, "zorgcoop", name="Zorgcoöperatie Hollandscheveld")
    await make_item(ctx, "dorpsmolen", title="Zo begonnen wij")
    html = await page(client, "/")
    assert "<h1>BOKD Drenthe</h1>" in html
    assert "Zo begonnen wij" in html
    assert 'href="https://drenthe.test/actors/zorgcoop">Zorgcoöperatie Hollandscheveld</a>' in html


async def test_home_page_is_dutch_and_has_the_csp_header(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.headers["content-security-policy"] == CSP
    assert '<html lang="nl">' in response.text
    assert "Nog geen items." in response.text


async def test_home_links_the_node_actor_as_alternate(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.headers["link"] == ('<https://drenthe.test/actors/drenthe>; rel="alternate"; '
                                        'type="application/activity+json"')


async def test_theme_page_lists_the_items_of_its_theme_and_narrower_ones(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    # Given items of the care theme, of a narrower one, and of another theme
    await make_initiative(ctx)
    await make_item(ctx, title="Zorg dichtbij", themes=("care-wellbeing",))
    await make_item(ctx, None, title="Maaltijden aan huis", themes=("meals",))
    await make_item(ctx, title="Zonnedak", themes=("energy-generation",))
    # When the care theme feed's page is read
    html = await page(client, "https://drenthe.test/actors/zorg")
    # Then it lists both care items and nothing else
    assert "Zorg dichtbij" in html and "Maaltijden aan huis" in html
    assert "Zonnedak" not in html and "Nog geen items." not in html


async def test_item_title_with_script_is_escaped(client: httpx.AsyncClient,
                                                 ctx: NodeContext) -> None:
    await make_initiative(ctx)
    item = await make_item(ctx, title="<script>alert(1)</script> molen", unchecked=True)
    for url in (item.ap_id, "/", "https://drenthe.test/actors/dorpsmolen"):
        html = await page(client, url)
        assert "<script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt; molen" in html


async def test_item_content_is_rendered_sanitised_html(client: httpx.AsyncClient,
                                                       ctx: NodeContext) -> None:
    await make_initiative(ctx)
    item = await make_item(ctx, content="Een **sterk** verhaal.\n\n<img src=x onerror=alert(1)>")
    html = await page(client, item.ap_id)
    assert "<strong>sterk</strong>" in html
    assert "<img" not in html


async def test_item_page_shows_kind_themes_author_and_place(client: httpx.AsyncClient,
                                                            ctx: NodeContext) -> None:
    await make_initiative(ctx, name="Dorpsmolen Reduzum")
    item = await make_item(ctx, kind="guide", title="Zo start je een energiecoöperatie",
                           themes=("energy-generation", "sustainability"),
                           place=PlaceInput(name="Reduzum", province_code="PV22"))
    html = await page(client, item.ap_id)
    assert "Handleiding" in html
    assert "Energieopwekking" in html and "Duurzaamheid" in html
    assert '<a href="https://drenthe.test/actors/dorpsmolen">Dorpsmolen Reduzum</a>' in html
    assert "Reduzum, Drenthe" in html


async def test_initiative_page_shows_profile_fields_with_dutch_labels(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx, name="Dorpsmolen Reduzum", legal_form="cooperative",
                          phase="starting", status="on-hold", themes=("energy-generation",),
                          founded=date(2019, 5, 1), open_questions=("Hoe vinden we vrijwilligers?",))
    html = await page(client, "https://drenthe.test/actors/dorpsmolen")
    assert "<dt>Rechtsvorm</dt><dd>Coöperatie</dd>" in html
    assert "<dt>Fase</dt><dd>Opstartfase</dd>" in html
    assert "<dt>Status</dt><dd>Gepauzeerd</dd>" in html
    assert "Energieopwekking" in html
    assert "1 mei 2019" in html
    assert "Hoe vinden we vrijwilligers?" in html
    assert "@dorpsmolen@drenthe.test" in html


async def test_initiative_website_with_a_script_url_is_not_linked(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx, website="javascript:alert(1)", unchecked=True)
    html = await page(client, "https://drenthe.test/actors/dorpsmolen")
    assert 'href="javascript:' not in html


async def test_question_page_lists_answers_and_marks_the_accepted_one(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    question = await make_item(ctx, kind="question", title="Hoe regel je de verzekering?",
                               question_category="organisational")
    await make_item(ctx, kind="answer", title=None, content="Via de gemeente.",
                    in_reply_to=question.ap_id)
    accepted = await make_item(ctx, kind="answer", title=None, content="Bij een collectief.",
                               in_reply_to=question.ap_id)
    await update_item(ctx, question.ap_id, Patch({"accepted_answer": accepted.ap_id}), SYSTEM)
    html = (await page(client, question.ap_id)).split("</head>")[1]  # the head has JSON-LD
    assert "Antwoorden (2)" in html
    assert "Organisatorisch" in html
    # The accepted answer comes first, whenever it was given (issue 11).
    assert html.index("Bij een collectief.") < html.index("Via de gemeente.")
    assert "Beantwoord" in html
    marked = html[html.index('class="accepted"'):]
    assert "Geaccepteerd antwoord" in marked and "Bij een collectief." in marked
    assert html.count('class="accepted"') == 1


async def test_answer_page_links_its_question(client: httpx.AsyncClient,
                                              ctx: NodeContext) -> None:
    await make_initiative(ctx)
    question = await make_item(ctx, kind="question", title="Wie weet het?")
    answer = await make_item(ctx, kind="answer", title=None, content="Ik.",
                             in_reply_to=question.ap_id)
    html = await page(client, answer.ap_id)
    assert f'<a href="{question.ap_id}">Wie weet het?</a>' in html


async def test_event_page_shows_start_and_end_in_local_time(client: httpx.AsyncClient,
                                                            ctx: NodeContext) -> None:
    await make_initiative(ctx)
    cet = timezone(timedelta(hours=1))
    item = await make_item(ctx, kind="event", title="Leerkring energie",
                           start_time=datetime(2026, 12, 3, 19, 30, tzinfo=cet),
                           end_time=datetime(2026, 12, 3, 21, 30, tzinfo=cet))
    html = await page(client, item.ap_id)
    assert "Bijeenkomst" in html
    assert "3 december 2026, 19:30" in html
    assert "3 december 2026, 21:30" in html


async def test_bottleneck_page_shows_regulation_and_status(client: httpx.AsyncClient,
                                                           ctx: NodeContext) -> None:
    await make_initiative(ctx)
    item = await make_item(ctx, kind="bottleneck", title="Netcongestie", regulation="Energiewet",
                           bottleneck_status="raised")
    html = await page(client, item.ap_id)
    assert "<dt>Regelgeving</dt><dd>Energiewet</dd>" in html
    assert "<dt>Stand van zaken</dt><dd>Aangekaart</dd>" in html


async def test_template_page_lists_its_attachments(client: httpx.AsyncClient,
                                                   ctx: NodeContext) -> None:
    await make_initiative(ctx)
    item = await make_item(ctx, kind="template", title="Modelstatuten", attachments=(
        AttachmentInput(url="https://example.org/statuten.docx", name="Statuten",
                        media_type="application/vnd.openxmlformats-officedocument"),))
    html = await page(client, item.ap_id)
    assert "Voorbeelddocument" in html
    assert 'href="https://example.org/statuten.docx"' in html
    assert ">Statuten</a>" in html


async def test_deleted_item_page_is_410(client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    item = await make_item(ctx, title="Weg ermee")
    await delete_item(ctx, item.ap_id, SYSTEM)
    html = await page(client, item.ap_id, status=410)
    assert "Verwijderd" in html
    assert "Weg ermee" not in html


async def test_deleted_initiative_page_is_410(client: httpx.AsyncClient,
                                             ctx: NodeContext) -> None:
    await make_initiative(ctx, name="Dorpsmolen Reduzum")
    await delete_initiative(ctx, "dorpsmolen", SYSTEM)
    html = await page(client, "https://drenthe.test/actors/dorpsmolen", status=410)
    assert "Dorpsmolen Reduzum" not in html


async def test_request_without_accept_gets_the_html_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/actors/drenthe", headers={"Accept": "*/*"})
    assert response.headers["content-type"] == "text/html; charset=utf-8"


async def test_unknown_item_page_is_404(client: httpx.AsyncClient) -> None:
    html = await page(client, "/items/0123456789abcdef", status=404)
    assert "Niet gevonden" in html


async def test_outbox_page_lists_activities(client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    await make_item(ctx, title="Zo begonnen wij")
    html = await page(client, "https://drenthe.test/actors/dorpsmolen/outbox")
    assert "Nieuw" in html and "Zo begonnen wij" in html


async def test_activity_page_names_type_actor_and_object(client: httpx.AsyncClient,
                                                         ctx: NodeContext) -> None:
    await make_initiative(ctx, name="Dorpsmolen Reduzum")
    item = await make_item(ctx, title="Zo begonnen wij")
    outbox = (await client.get("https://drenthe.test/actors/dorpsmolen/outbox?page=true",
                               headers={"Accept": "application/activity+json"})).json()
    [create] = outbox["orderedItems"]
    html = await page(client, f"/activities/{local_id(create['id'])}")
    assert "<h1>Nieuw</h1>" in html
    assert "Dorpsmolen Reduzum" in html
    assert f'<a href="{item.ap_id}">Zo begonnen wij</a>' in html


async def test_stylesheet_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/kennisknoop.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")


async def test_page_dates_are_dutch(client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    item = await make_item(ctx)
    assert item.published == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    html = await page(client, item.ap_id)
    assert '<time datetime="2026-11-27T09:00:00+00:00">27 november 2026</time>' in html
