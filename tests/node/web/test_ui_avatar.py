"""An initiative's avatar (issue 12): uploaded in the create/edit form or set through the JSON
API, an image of this node only, published as the actor's ``icon`` and shown on the
initiative's page, in the directory and beside its items — never hotlinked from elsewhere."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx
import pytest

from node.services.actors import get_initiative
from node.services.context import NodeContext
from node.services.errors import NotFoundError
from node.services.profiles import initiative_profile
from node.services.users import create_token
from node.web.pages import CSP, avatar_path
from tests.node.conftest import BASE_URL
from tests.node.web import AS_JSON
from tests.node.web.api_helpers import create_initiative, create_item
from tests.node.web.test_ui_edit import post_form
from tests.node.web.test_ui_initiatives import EDIT, NEW, admin_client, counts

__all__ = ["admin_client"]  # the fixture, used by name

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + b"\x01" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x02" * 40
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"
FILES = f"{BASE_URL}/bestanden/"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stored(directory: Path) -> list[str]:
    folder = directory / "attachments"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def new_initiative(**fields: object) -> dict[str, object]:
    return {"handle": "zonnedorp", "name": "Zonnedorp Ruinen", "status": "active", **fields}


def image(data: bytes, name: str = "logo.png", ctype: str = "image/png") -> dict[str, object]:
    return {"files": {"avatar_bestand": (name, data, ctype)}}


# --- the form ----------------------------------------------------------------------------------


async def test_an_uploaded_avatar_is_published_as_icon_and_shown_everywhere(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    # Given an editor who creates an initiative with a logo (sent as any name and type)
    response = await post_form(admin_client, NEW, new_initiative(),
                               **image(PNG, "logo.jpg", "application/octet-stream"))
    assert response.status_code == 303, response.text
    # Then the actor's document carries it as an icon Mastodon reads
    url = FILES + sha(PNG)
    document = (await admin_client.get("/actors/zonnedorp", headers=AS_JSON)).json()
    assert document["icon"] == {"type": "Image", "mediaType": "image/png", "url": url}
    assert stored(ctx.settings.dir) == [sha(PNG)]
    served = await admin_client.get(f"/bestanden/{sha(PNG)}")
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    # And the initiative's page, the directory and its items show it, with alt text
    img = f'src="/bestanden/{sha(PNG)}"'
    page = (await admin_client.get("/actors/zonnedorp")).text
    assert f'<img class="avatar" {img} alt="Logo van Zonnedorp Ruinen">' in page
    directory = (await admin_client.get("/initiatieven")).text
    assert f'<img class="avatar avatar-small" {img} alt="">Zonnedorp Ruinen</a>' in directory
    token = await _token(ctx)
    item = await create_item(admin_client, token, initiative="zonnedorp")
    assert img in (await admin_client.get(item["id"])).text
    # And the JSON API names it
    assert (await admin_client.get("/api/initiatives/zonnedorp")).json()["avatar"] == url


async def _token(ctx: NodeContext) -> dict[str, str]:
    return {"Authorization": f"Bearer {await create_token(ctx, 'beheerder')}"}


@pytest.mark.parametrize(("data", "name"), [(SVG, "logo.svg"), (PDF, "logo.png"),
                                            (b"GIF8 not quite", "logo.gif")])
async def test_what_is_no_raster_image_is_refused_and_nothing_is_stored(
        admin_client: httpx.AsyncClient, ctx: NodeContext, data: bytes, name: str) -> None:
    before = await counts(ctx)
    response = await post_form(admin_client, NEW, new_initiative(),
                               **image(data, name, "image/svg+xml"))
    assert response.status_code == 422
    assert "Dit bestand is geen afbeelding die hier kan" in response.text
    assert 'href="#veld-avatar"' in response.text  # the summary leads to the field
    assert 'value="Zonnedorp Ruinen"' in response.text  # what was typed is kept
    assert await counts(ctx) == before
    assert stored(ctx.settings.dir) == []


async def test_an_image_over_the_avatar_limit_is_refused_with_413(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    big = PNG + b"\x00" * ctx.settings.uploads.avatar_max_bytes
    response = await post_form(admin_client, NEW, new_initiative(), **image(big))
    assert response.status_code == 413
    assert "De afbeelding is te groot: hooguit 2 MB." in response.text
    assert 'value="Zonnedorp Ruinen"' in response.text
    assert stored(ctx.settings.dir) == []


async def test_the_avatar_is_kept_after_a_form_error_and_saved_with_the_corrected_form(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    # Given a form with a logo and an error elsewhere (no name)
    response = await post_form(admin_client, NEW, new_initiative(name=""), **image(PNG))
    # Then the form comes back with the error, and with the logo as a preview and hidden value
    assert response.status_code == 422
    html = response.text
    assert f'<img class="avatar" src="/bestanden/{sha(PNG)}"' in html
    assert f'<input type="hidden" name="avatar" value="{FILES}{sha(PNG)}">' in html
    assert "Deze afbeelding komt bij het initiatief zodra u opslaat:" in html
    # When the corrected form is sent (the browser cannot send the file again)
    response = await post_form(admin_client, NEW, new_initiative(avatar=FILES + sha(PNG)))
    # Then the initiative has the logo
    assert response.status_code == 303
    profile = (await get_initiative(ctx, "zonnedorp")).profile
    assert (profile["avatar"], profile["avatar_media_type"]) == (FILES + sha(PNG), "image/png")


async def test_a_markdown_preview_keeps_the_chosen_avatar(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    response = await post_form(admin_client, NEW, new_initiative(voorbeeld="1"), **image(PNG))
    assert response.status_code == 200
    assert f'name="avatar" value="{FILES}{sha(PNG)}"' in response.text
    with pytest.raises(NotFoundError):  # nothing was created
        await get_initiative(ctx, "zonnedorp")


async def test_edit_replaces_keeps_and_removes_the_avatar(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    # Given dorpsmolen, edited with a logo
    form = (await admin_client.get(EDIT)).text
    assert 'enctype="multipart/form-data"' in form and 'name="avatar_bestand"' in form
    fields = {"name": "Dorpsmolen Reduzum", "status": "active"}
    assert (await post_form(admin_client, EDIT, fields, **image(PNG))).status_code == 303
    actor = await get_initiative(ctx, "dorpsmolen")
    assert actor.profile["avatar"] == FILES + sha(PNG)
    # The edit form shows it as the current one, with the box to remove it
    form = (await admin_client.get(EDIT)).text
    assert "Deze afbeelding staat nu bij het initiatief:" in form
    assert 'name="avatar_weghalen"' in form
    # An edit that keeps the hidden value changes nothing (no new version)
    kept = {**fields, "avatar": FILES + sha(PNG)}
    assert (await post_form(admin_client, EDIT, kept)).status_code == 303
    assert (await get_initiative(ctx, "dorpsmolen")).version == actor.version
    # A new image replaces it
    assert (await post_form(admin_client, EDIT, kept, **image(JPEG, "foto.jpg"))).status_code == 303
    document = (await admin_client.get("/actors/dorpsmolen", headers=AS_JSON)).json()
    assert document["icon"]["url"] == FILES + sha(JPEG)
    assert document["icon"]["mediaType"] == "image/jpeg"
    # "Afbeelding weghalen" removes it from the profile, the document and the page
    removed = {**fields, "avatar": FILES + sha(JPEG), "avatar_weghalen": "1"}
    assert (await post_form(admin_client, EDIT, removed)).status_code == 303
    actor = await get_initiative(ctx, "dorpsmolen")
    assert "avatar" not in actor.profile and "avatar_media_type" not in actor.profile
    assert "icon" not in (await admin_client.get("/actors/dorpsmolen", headers=AS_JSON)).json()
    assert 'class="avatar"' not in (await admin_client.get("/actors/dorpsmolen")).text


async def test_a_forged_hidden_avatar_is_refused(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    before = await counts(ctx)
    response = await post_form(admin_client, NEW, new_initiative(
        avatar="https://elders.example/logo.png"))
    assert response.status_code == 422
    assert "Deze afbeelding staat niet (meer) op dit knooppunt" in response.text
    assert await counts(ctx) == before


# --- the JSON API -------------------------------------------------------------------------------


async def _upload(client: httpx.AsyncClient, auth: dict[str, str], data: bytes) -> str:
    response = await client.post("/api/attachments", headers=auth,
                                 files={"file": ("f", data, "application/octet-stream")})
    assert response.status_code == 201, response.text
    url: str = response.json()["url"]
    return url


async def test_the_api_sets_and_clears_the_avatar(
        client: httpx.AsyncClient, ctx: NodeContext, auth: dict[str, str]) -> None:
    url = await _upload(client, auth, PNG)
    created = await create_initiative(client, auth, "zonnedorp", avatar=url)
    assert created["avatar"] == url
    document = (await client.get("/actors/zonnedorp", headers=AS_JSON)).json()
    assert document["icon"] == {"type": "Image", "mediaType": "image/png", "url": url}
    response = await client.patch("/api/initiatives/zonnedorp", json={"avatar": None},
                                  headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["avatar"] is None
    assert "icon" not in (await client.get("/actors/zonnedorp", headers=AS_JSON)).json()


@pytest.mark.parametrize(("kind", "error"), [("pdf", "not_an_image"),
                                             ("too large", "too_large"),
                                             ("elsewhere", "unknown_attachment"),
                                             ("missing", "unknown_attachment")])
async def test_the_api_refuses_an_avatar_that_is_no_image_of_this_node(
        client: httpx.AsyncClient, ctx: NodeContext, auth: dict[str, str], kind: str,
        error: str) -> None:
    big = PNG + b"\x00" * ctx.settings.uploads.avatar_max_bytes  # an attachment, not an avatar
    uploaded = {"pdf": PDF, "too large": big}
    url = await _upload(client, auth, uploaded[kind]) if kind in uploaded else {
        "elsewhere": "https://elders.example/logo.png", "missing": FILES + "0" * 64}[kind]
    before = await counts(ctx)
    response = await client.post("/api/initiatives", headers=auth, json={
        "handle": "zonnedorp", "name": "Zonnedorp", "avatar": url})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == error, body
    assert await counts(ctx) == before


async def test_openapi_documents_the_avatar(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/api/openapi.json")).json()["components"]["schemas"]
    for name in ("InitiativeInput", "InitiativePatch"):
        assert "avatar" in schema[name]["properties"], name
        assert "icon" in schema[name]["properties"]["avatar"]["description"]


# --- received actors ----------------------------------------------------------------------------


def test_a_received_icon_is_kept_but_shown_only_when_it_is_a_file_of_this_node() -> None:
    raw = {"type": "Organization", "kind": "initiative", "icon": {
        "type": "Image", "mediaType": "image/png", "url": "https://fryslan.test/bestanden/" + "a" * 64}}
    profile = initiative_profile(raw)
    assert profile["avatar"] == "https://fryslan.test/bestanden/" + "a" * 64
    assert profile["avatar_media_type"] == "image/png"

    class Remote:
        def __init__(self, profile: dict[str, object]) -> None:
            self.profile = profile

    assert avatar_path(FILES, Remote(profile)) is None  # never hotlinked
    assert avatar_path(FILES, Remote({**profile, "avatar": FILES + "b" * 64})) == \
        "/bestanden/" + "b" * 64
    # Something that is no raster image, or no URL, is not kept at all
    for icon in ({"type": "Image", "mediaType": "image/svg+xml", "url": "https://x.test/a.svg"},
                 {"type": "Image", "mediaType": "image/png", "url": "javascript:alert(1)"},
                 "https://x.test/a.png"):
        assert "avatar" not in initiative_profile({**raw, "icon": icon})


def test_the_page_csp_allows_no_other_site_s_images() -> None:
    assert re.search(r"default-src 'self'", CSP) and "img-src" not in CSP
