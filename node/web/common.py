"""Shared pieces of the web layer: JSON responses, error bodies, body limits, negotiation."""

from __future__ import annotations

import functools
import logging
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from node.services.context import NodeContext
from node.services.errors import BadRequestError, ServiceError, TooLargeError
from protocol.errors import (
    DigestError,
    DocumentError,
    KeyFormatError,
    ProofError,
    ProtocolError,
    SignatureError,
)
from protocol.vocab import is_activitypub_media_type

log = logging.getLogger("kennisknoop.web")

ACTIVITY_JSON = "application/activity+json"
AS_PROFILE = "https://www.w3.org/ns/activitystreams"
LD_JSON = f'application/ld+json; profile="{AS_PROFILE}"'


def ctx_of(request: Request) -> NodeContext:
    ctx: NodeContext = request.app.state.ctx
    return ctx


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class ActivityResponse(JSONResponse):
    media_type = ACTIVITY_JSON


def error_response(status: int, reason: str, detail: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"error": reason, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status)


def _protocol_status(exc: ProtocolError) -> int:
    if isinstance(exc, DigestError):  # before SignatureError, of which it is a kind
        return 401 if exc.reason == "digest_mismatch" else 400
    if isinstance(exc, SignatureError):
        return 401
    if isinstance(exc, ProofError):
        return 401
    if isinstance(exc, DocumentError):
        return 413 if exc.reason == "too_large" else 400
    if isinstance(exc, KeyFormatError):
        return 400
    return 400


async def service_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    log.info("%s %s -> %s %s: %s", request.method, request.url.path, exc.status, exc.reason,
             exc.detail)
    return error_response(exc.status, exc.reason, exc.detail, field=exc.field)


async def protocol_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProtocolError)
    status = _protocol_status(exc)
    log.info("%s %s -> %s %s: %s", request.method, request.url.path, status, exc.reason,
             exc.detail)
    return error_response(status, exc.reason, exc.detail)


async def read_body(request: Request, limit: int | None = None) -> bytes:
    """The request body, refused (413) past ``limit`` (default ``limits.max_body_bytes``)
    without reading it all."""
    if limit is None:
        limit = ctx_of(request).settings.limits.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadRequestError("bad_request", "invalid Content-Length")
        if int(declared) > limit:
            raise TooLargeError("too_large", f"body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLargeError("too_large", f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def wants_activity_json(request: Request) -> bool:
    """True when the Accept header asks for ActivityStreams JSON rather than a page."""
    return _asks_activity_json(request.headers.get("accept", ""))


@functools.lru_cache(maxsize=256)  # clients send a few Accept values over and over
def _asks_activity_json(accept: str) -> bool:
    for part in accept.split(","):
        media = part.strip()
        if not media:
            continue
        if is_activitypub_media_type(media.split(";q=")[0].strip()):
            return True
        # interop: some peers send plain ld+json (no profile) or plain JSON for AS2 documents.
        if media.split(";")[0].strip().lower() in ("application/json", "application/ld+json"):
            return True
    return False
