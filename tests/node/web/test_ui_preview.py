"""The Markdown preview of the item and initiative forms ("Voorbeeld bekijken", no JavaScript),
and an attachment uploaded through the item edit form."""

from __future__ import annotations

import hashlib

import httpx

from node.services import attachments
from node.services.context import NodeContext
from node.services.items import get_item
from tests.node.conftest import BASE_URL
from tests.node.web import AS_JSON, local_id, make_item
from tests.node.web.test_attachments import PNG, REFUSED, SAMPLES, _files
from tests.node.web.test_ui_edit import NEW, admin_client, counts, post_form, story
from tests.node.web.test_ui_initiatives import EDIT as EDIT_INITIATIVE
from tests.node.web.test_ui_initiatives import counts as initiative_counts

__all__ = ["admin_client"]  # the fixture, used by name

MARKDOWN = "Een **sterk** verhaal.\n\n<script>alert('x')</script>\n\n[link](javascript:alert(1))"
PREVIEW = {"voorbeeld": "1"}


def _preview_part(html: str) -> str:
    start = html.index('<section class="preview"')
    return html[start:html.index("</section>", start)]


# --- preview -------------------------------------------------------------------------------------


async def test_the_new_item_form_offers_a_preview_button(admin_client: httpx.AsyncClient) -> None:
    html = (await admin_client.get(NEW)).text
    assert '<button type="submit" name="voorbeeld" value="1"' in html
    assert "Voorbeeld bekijken" in html
    assert 'class="preview"' not in html
    # the enhancement: a script file (the form's CSP allows only same-origin scripts)
    assert '<script src="/static/preview.js" defer></script>' in html
    assert 'data-field="content"' in html
    script = await admin_client.get("/static/preview.js")
    assert script.status_code == 200 and 'button[name="voorbeeld"]' in script.text


async def test_preview_of_a_new_item_is_sanitised_kept_and_stores_nothing(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    before = await counts(ctx)
    response = await post_form(admin_client, NEW, {
        **story(title="Mijn titel blijft", content=MARKDOWN), **PREVIEW})
    assert response.status_code == 200
    preview = _preview_part(response.text)
    assert "<strong>sterk</strong>" in preview
    assert "<script" not in preview and 'href="javascript' not in preview
    assert "&lt;script&gt;" in preview  # shown as text, never run
    assert "<script>alert" not in response.text  # the textarea keeps it escaped
    assert 'value="Mijn titel blijft"' in response.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;\n\n[link](javascript:alert(1))</textarea>" \
        in response.text
    assert 'value="energy-generation" id="thema-energy-generation" checked' in response.text
    assert await counts(ctx) == before


async def test_preview_shows_no_errors_for_an_unfinished_item(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    before = await counts(ctx)
    response = await post_form(admin_client, NEW, {**story(title="", content="*Nog* bezig"),
                                                   **PREVIEW})
    assert response.status_code == 200
    assert "<em>Nog</em>" in _preview_part(response.text)
    assert "Vul een titel in." not in response.text
    assert await counts(ctx) == before


async def test_preview_of_an_item_edit_changes_nothing(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    item = await make_item(ctx, title="Zo begonnen wij", content="Oude tekst.")
    before = await counts(ctx)
    url = f"/items/{local_id(item.ap_id)}/bewerken"
    response = await post_form(admin_client, url, {"title": "Nieuwe titel", "content": MARKDOWN,
                                                   **PREVIEW})
    assert response.status_code == 200
    preview = _preview_part(response.text)
    assert "<strong>sterk</strong>" in preview and "<script" not in preview
    assert 'value="Nieuwe titel"' in response.text
    stored = await get_item(ctx, item.ap_id)
    assert (stored.version, stored.content) == (1, "Oude tekst.")
    assert await counts(ctx) == before


async def test_preview_uploads_nothing(admin_client: httpx.AsyncClient,
                                       ctx: NodeContext) -> None:
    response = await post_form(admin_client, NEW, {**story(kind="guide"), **PREVIEW}, files={
        "bijlage": ("molen.png", PNG, "image/png")})
    assert response.status_code == 200
    assert _files(ctx.settings.dir) == []


async def test_preview_of_an_initiative_description(admin_client: httpx.AsyncClient,
                                                    ctx: NodeContext) -> None:
    before = await initiative_counts(ctx)
    response = await post_form(admin_client, EDIT_INITIATIVE, {
        "name": "Nieuwe naam", "status": "active", "description": MARKDOWN, **PREVIEW})
    assert response.status_code == 200
    preview = _preview_part(response.text)
    assert "<strong>sterk</strong>" in preview and "<script" not in preview
    assert 'value="Nieuwe naam"' in response.text
    assert '<script src="/static/preview.js" defer></script>' in response.text
    assert 'data-field="description"' in response.text
    assert await initiative_counts(ctx) == before


# --- uploading through the edit form -------------------------------------------------------------


async def test_the_edit_form_of_a_guide_adds_an_upload_to_its_attachments(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    pdf = SAMPLES["application/pdf"]
    item = await make_item(ctx, kind="guide", title="Handleiding", content="Stap voor stap.")
    url = f"/items/{local_id(item.ap_id)}/bewerken"
    assert 'type="file"' in (await admin_client.get(url)).text
    response = await post_form(admin_client, url, {"title": "Handleiding", "content": "Stap."},
                               files={"bijlage": ("eerste.pdf", pdf, "application/pdf")})
    assert response.status_code == 303
    response = await post_form(admin_client, url, {"title": "Handleiding", "content": "Stap."},
                               files={"bijlage": ("molen.png", PNG, "image/png")})
    assert response.status_code == 303
    document = (await admin_client.get(f"/items/{local_id(item.ap_id)}", headers=AS_JSON)).json()
    assert document["attachment"] == [
        {"type": "Document", "url": f"{BASE_URL}/bestanden/{hashlib.sha256(data).hexdigest()}",
         "name": name, "mediaType": media_type,
         "digestMultibase": attachments.digest_multibase(data)}
        for data, name, media_type in ((pdf, "eerste.pdf", "application/pdf"),
                                       (PNG, "molen.png", "image/png"))]
    assert (await get_item(ctx, item.ap_id)).version == 3


async def test_the_edit_form_of_a_story_has_no_upload_field(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    item = await make_item(ctx)
    url = f"/items/{local_id(item.ap_id)}/bewerken"
    assert 'type="file"' not in (await admin_client.get(url)).text
    response = await post_form(admin_client, url, {"title": "Titel", "content": "Tekst."},
                               files={"bijlage": ("molen.png", PNG, "image/png")})
    assert response.status_code == 422
    assert "Alleen een handleiding of voorbeelddocument" in response.text
    assert _files(ctx.settings.dir) == []


async def test_a_refused_edit_upload_keeps_the_form_and_stores_nothing(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    item = await make_item(ctx, kind="template", title="Statuten", content="Model.")
    url = f"/items/{local_id(item.ap_id)}/bewerken"
    before = await counts(ctx)
    response = await post_form(admin_client, url, {"title": "Mijn titel blijft", "content": "x"},
                               files={"bijlage": ("foto.png", REFUSED["html"], "image/png")})
    assert response.status_code == 422
    assert "Dit soort bestand kan niet als bijlage" in response.text
    assert 'value="Mijn titel blijft"' in response.text
    big = b"%PDF-" + b"x" * ctx.settings.uploads.max_bytes
    response = await post_form(admin_client, url, {"title": "Mijn titel blijft", "content": "x"},
                               files={"bijlage": ("groot.pdf", big, "application/pdf")})
    assert response.status_code == 413
    assert "te groot" in response.text and 'value="Mijn titel blijft"' in response.text
    assert await counts(ctx) == before
    assert (await get_item(ctx, item.ap_id)).version == 1
    assert _files(ctx.settings.dir) == []
