"""Uploaded files: reading a multipart upload, and serving stored files at ``/bestanden/<sha256>``.

Served with the media type sniffed from the content, ``X-Content-Type-Options: nosniff``, a CSP
that allows nothing (``default-src 'none'; sandbox``), ``Content-Disposition: attachment`` for
everything but raster images (which may show inline), and a year of caching with the SHA-256
as ETag: the name is the content, so it never changes.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from node.services import attachments
from node.services.errors import BadRequestError, NotFoundError
from node.web.common import ctx_of, read_body

PATH = "/bestanden"
_MULTIPART_OVERHEAD = 64 * 1024  # field headers and boundaries around the file


async def read_upload(request: Request, field: str = "file") -> tuple[bytes, str | None, Any]:
    """The uploaded file's bytes and name, plus the other form fields (413 past the limit).

    The whole body is read within ``uploads.max_bytes`` (plus room for the multipart framing)
    before Starlette parses it, so an oversized upload is refused without being kept.
    """
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "multipart/form-data":
        raise BadRequestError("bad_form", "send the file as multipart/form-data")
    limit = ctx_of(request).settings.uploads.max_bytes + _MULTIPART_OVERHEAD
    # Starlette parses the form from the body read here, within the limit.
    request._body = await read_body(request, limit)
    try:
        form = await request.form(max_files=1, max_fields=200)
    except Exception as exc:  # python-multipart's errors: a malformed body
        raise BadRequestError("bad_form", "the multipart body could not be read") from exc
    upload = form.get(field)
    if not isinstance(upload, UploadFile):
        raise BadRequestError("bad_form", f"the form has no file field {field!r}")
    data = await upload.read()
    await upload.close()
    return data, upload.filename, form


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
