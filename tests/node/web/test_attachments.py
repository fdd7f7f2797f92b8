"""Uploaded attachments: type by content, size limit, one file per content, safe serving, and
the federated Document attachment with mediaType and digestMultibase."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from node.services import attachments
from node.services.context import NodeContext
from node.services.errors import TooLargeError
from tests.node.conftest import BASE_URL
from tests.node.web.api_helpers import HANDLE, create_initiative, create_item
from tests.node.web.test_ui_edit import NEW, admin_client, counts, post_form, story

__all__ = ["admin_client"]  # the fixture, used by name


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
SAMPLES: dict[str, bytes] = {
    "application/pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
    "image/png": PNG,
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "image/gif": b"GIF89a\x01\x00\x01\x00",
    "image/webp": b"RIFF\x24\x00\x00\x00WEBPVP8 ",
    attachments.ODT: _zip({"mimetype": attachments.ODT.encode(), "content.xml": b"<x/>"}),
    attachments.DOCX: _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}),
    attachments.XLSX: _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<x/>"}),
}
REFUSED = {
    "html": b"<!DOCTYPE html><script>alert(1)</script>",
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "plain zip": _zip({"a.txt": b"hi"}),
    "other odf": _zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"}),
    "empty": b"",
}


@pytest.mark.parametrize("media_type", list(SAMPLES))
def test_each_accepted_type_is_recognised_by_its_content(media_type: str) -> None:
    assert attachments.sniff(SAMPLES[media_type]) == media_type


@pytest.mark.parametrize("name", list(REFUSED))
def test_other_content_is_not_recognised(name: str) -> None:
    assert attachments.sniff(REFUSED[name]) is None


def test_digest_multibase_is_base58btc_of_the_sha256_multihash() -> None:
    # The multihash of sha2-256 always starts "Qm" in base58btc (0x12 0x20 prefix).
    digest = attachments.digest_multibase(b"hello")
    assert digest.startswith("zQm") and len(digest) == 47
    assert digest == attachments.digest_of_hex(hashlib.sha256(b"hello").hexdigest())
    # The known CIDv0 of sha256("hello") as a bare multihash.
    assert digest == "zQmRN6wdp1S2A5EtjW9A3M1vKSBuQQGcgvuhoMUoEz4iiT5"


def _files(directory: Path) -> list[str]:
    folder = directory / "attachments"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


async def _upload(client: httpx.AsyncClient, auth: dict[str, str], data: bytes,
                  name: str = "stappenplan.pdf", ctype: str = "application/pdf") -> httpx.Response:
    return await client.post("/api/attachments", headers=auth,
                             files={"file": (name, data, ctype)})


async def test_upload_stores_by_sha256_once_and_answers_the_description(
        client: httpx.AsyncClient, auth: dict[str, str], ctx: NodeContext) -> None:
    data = SAMPLES["application/pdf"]
    sha = hashlib.sha256(data).hexdigest()
    first = await _upload(client, auth, data)
    assert first.status_code == 201
    assert first.json() == {"url": f"{BASE_URL}/bestanden/{sha}", "mediaType": "application/pdf",
                            "name": "stappenplan.pdf", "size": len(data),
                            "digestMultibase": attachments.digest_multibase(data)}
    again = await _upload(client, auth, data, name="ander.pdf")
    assert again.json()["url"] == first.json()["url"]
    assert _files(ctx.settings.dir) == [sha]
    assert (ctx.settings.dir / "attachments" / sha).read_bytes() == data


async def test_a_renamed_html_file_is_refused_and_nothing_stored(
        client: httpx.AsyncClient, auth: dict[str, str], ctx: NodeContext) -> None:
    response = await _upload(client, auth, REFUSED["html"], name="rapport.pdf")
    assert response.status_code == 422
    assert response.json()["error"] == "unsupported_type"
    assert _files(ctx.settings.dir) == []


async def test_an_upload_needs_a_token(client: httpx.AsyncClient, ctx: NodeContext) -> None:
    response = await _upload(client, {}, SAMPLES["application/pdf"])
    assert response.status_code == 401
    assert _files(ctx.settings.dir) == []


async def test_a_file_over_the_limit_is_refused_and_nothing_stored(
        tmp_path: Path, ctx: NodeContext) -> None:
    small = b"%PDF-" + b"x" * 95
    with pytest.raises(TooLargeError):
        attachments.store(tmp_path, small + b"y", max_bytes=100)
    assert _files(tmp_path) == []
    assert attachments.store(tmp_path, small, max_bytes=100).size == 100


async def test_an_upload_over_the_setting_is_refused_with_413(
        client: httpx.AsyncClient, auth: dict[str, str], ctx: NodeContext) -> None:
    big = b"%PDF-" + b"x" * (ctx.settings.uploads.max_bytes + 70 * 1024)
    response = await _upload(client, auth, big)
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert _files(ctx.settings.dir) == []


@pytest.mark.parametrize(("media_type", "disposition"), [
    ("application/pdf", "attachment"), (attachments.DOCX, "attachment"),
    ("image/png", "inline")])
async def test_files_are_served_with_safe_headers(
        client: httpx.AsyncClient, auth: dict[str, str], media_type: str,
        disposition: str) -> None:
    data = SAMPLES[media_type]
    url = (await _upload(client, auth, data, ctype="text/html")).json()["url"]
    response = await client.get(url)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"].split(";")[0] == media_type
    assert response.headers["content-disposition"].startswith(disposition + ";")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "max-age=31536000" in response.headers["cache-control"]
    etag = response.headers["etag"]
    assert etag == f'"{hashlib.sha256(data).hexdigest()}"'
    assert (await client.get(url, headers={"If-None-Match": etag})).status_code == 304


async def test_unknown_or_malformed_file_names_are_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/bestanden/" + "0" * 64)).status_code == 404
    assert (await client.get("/bestanden/..%2Fkennisknoop.db")).status_code == 404


async def test_the_federated_item_carries_media_type_and_digest(
        client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await create_initiative(client, auth)
    data = SAMPLES[attachments.DOCX]
    uploaded: dict[str, Any] = (await _upload(client, auth, data, name="statuten.docx")).json()
    # The request's media type is overruled by the stored file's.
    item = await create_item(client, auth, initiative=HANDLE, kind="template", attachments=[
        {"url": uploaded["url"], "name": "Statuten", "media_type": "text/html"}])
    document = (await client.get(item["id"], headers={
        "Accept": "application/activity+json"})).json()
    assert document["attachment"] == [{
        "type": "Document", "url": uploaded["url"], "name": "Statuten",
        "mediaType": attachments.DOCX, "digestMultibase": uploaded["digestMultibase"]}]


async def test_an_item_naming_a_missing_local_file_is_refused(
        client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await create_initiative(client, auth)
    response = await client.post("/api/items", headers=auth, json={
        "kind": "guide", "title": "Gids", "content": "x", "initiative": HANDLE,
        "attachments": [{"url": f"{BASE_URL}/bestanden/{'a' * 64}"}]})
    assert response.status_code == 422
    assert response.json()["error"] == "unknown_attachment"


# --- the item form -------------------------------------------------------------------------------


async def test_the_item_form_uploads_an_image_shown_as_preview(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    page = (await admin_client.get(NEW)).text
    assert 'enctype="multipart/form-data"' in page and 'type="file"' in page
    response = await post_form(admin_client, NEW, story(kind="guide"), files={
        "bijlage": ("molen.png", PNG, "image/png")})
    assert response.status_code == 303
    item = (await admin_client.get(response.headers["location"])).text
    sha = hashlib.sha256(PNG).hexdigest()
    assert f'<img class="attachment-preview" src="{BASE_URL}/bestanden/{sha}" alt="molen.png"' in item
    assert _files(ctx.settings.dir) == [sha]


async def test_the_item_form_refuses_a_renamed_html_file_keeping_the_form(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    before = await counts(ctx)
    response = await post_form(admin_client, NEW, story(kind="guide", title="Mijn titel blijft"), files={
        "bijlage": ("foto.png", REFUSED["html"], "image/png")})
    assert response.status_code == 422
    assert "Dit soort bestand kan niet als bijlage" in response.text
    assert 'value="Mijn titel blijft"' in response.text
    assert await counts(ctx) == before
    assert _files(ctx.settings.dir) == []


async def test_the_item_form_refuses_a_file_over_the_limit_keeping_the_form(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    big = b"%PDF-" + b"x" * ctx.settings.uploads.max_bytes
    response = await post_form(admin_client, NEW, story(kind="guide", title="Mijn titel blijft"), files={
        "bijlage": ("groot.pdf", big, "application/pdf")})
    assert response.status_code == 413
    assert "te groot" in response.text and 'value="Mijn titel blijft"' in response.text
    assert _files(ctx.settings.dir) == []


async def test_an_invalid_item_keeps_no_uploaded_file(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    response = await post_form(admin_client, NEW, story(title=""), files={
        "bijlage": ("molen.png", PNG, "image/png")})
    assert response.status_code == 422
    assert _files(ctx.settings.dir) == []


async def test_a_story_cannot_carry_an_upload(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    response = await post_form(admin_client, NEW, story(), files={
        "bijlage": ("molen.png", PNG, "image/png")})
    assert response.status_code == 422
    assert "Alleen een handleiding of voorbeelddocument" in response.text
    assert _files(ctx.settings.dir) == []
