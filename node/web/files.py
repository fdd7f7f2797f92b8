"""Uploaded files: reading a multipart upload, and serving stored files at ``/bestanden/<sha256>``.

Served with the media type sniffed from the content, ``X-Content-Type-Options: nosniff``, a CSP
that allows nothing (``default-src 'none'; sandbox``), ``Content-Disposition: attachment`` for
everything but raster images (which may show inline), and a year of caching with the SHA-256
as ETag: the name is the content, so it never changes.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from node.services import attachments
from node.services.errors import BadRequestError, NotFoundError
from node.web.common import ctx_of
from node.web.forms import read_form

PATH = "/bestanden"


async def read_upload(request: Request, field: str = "file") -> tuple[bytes, str | None]:
    """The uploaded file's bytes and name (413 past ``uploads.max_bytes`` plus framing)."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "multipart/form-data":
        raise BadRequestError("bad_form", "send the file as multipart/form-data")
    form = await read_form(request)
    if field not in form.files:
        raise BadRequestError("bad_form", f"the form has no file field {field!r}")
    return form.files[field]


def headers_for(sha256: str, media_type: str) -> dict[str, str]:
    disposition = "inline" if media_type in attachments.IMAGES else "attachment"
    name = f"{sha256[:16]}.{attachments.EXTENSIONS[media_type]}"
    return {
        "Content-Disposition": f'{disposition}; filename="{name}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "public, max-age=31536000, immutable",
        "ETag": f'"{sha256}"',
    }


async def serve_file(request: Request) -> Response:
    sha256 = request.path_params["sha256"]
    found = attachments.load(ctx_of(request).settings.dir, sha256)
    if found is None:
        raise NotFoundError("not_found", "no such file")
    data, media_type = found
    headers = headers_for(sha256, media_type)
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)


routes: list[BaseRoute] = [Route(PATH + "/{sha256}", serve_file, methods=["GET", "HEAD"])]
