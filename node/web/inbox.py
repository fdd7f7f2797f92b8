"""Inbox handlers (ActivityPub §7): the shared ``/inbox`` and each actor's ``/actors/{h}/inbox``.

Verify, store raw, answer 202; applying is the worker's job (STYLE.md rule 5). The flood
limits (``node.services.ratelimit``) come first, before even the body is read.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from node.services.errors import ServiceError
from node.services.inbox import read_signature, receive
from node.services.ratelimit import InboxLimits, RetryLaterError, admit_inbox
from node.web.common import ctx_of, error_response, read_body
from protocol.vocab import is_activitypub_media_type


class UnsupportedMediaError(ServiceError):
    status = 415
    default_reason = "unsupported_media_type"


def _check_media(request: Request) -> None:
    content_type = request.headers.get("content-type", "")
    essence = content_type.split(";")[0].strip().lower()
    if not (is_activitypub_media_type(content_type) or essence in ("application/json",
                                                                    "application/ld+json")):
        raise UnsupportedMediaError("unsupported_media_type",
                                    f"Content-Type {content_type[:80]!r} is not ActivityPub JSON")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise UnsupportedMediaError("unsupported_encoding",
                                    f"Content-Encoding {encoding[:40]!r} is not accepted")


async def retry_later_handler(request: Request, exc: Exception) -> Response:
    """429/503 with ``Retry-After`` and ``{"error", "detail"}`` (registered by create_app)."""
    assert isinstance(exc, RetryLaterError)
    # Not logged: under a flood the log would become the flood.
    response = error_response(exc.status, exc.reason, exc.detail)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def inbox(request: Request) -> Response:
    ctx = ctx_of(request)
    limits: InboxLimits = request.app.state.inbox_limits
    signature = read_signature(request.headers)  # parsed once, for the limits and the verifier
    host = await admit_inbox(ctx, limits, signature)
    _check_media(request)
    body = await read_body(request)
    # The URL as ``request.url`` gives it, without parsing one (this runs for every activity).
    scope = request.scope
    query = scope["query_string"].decode("latin-1")
    url = f"{ctx.settings.node.url}{scope.get('root_path', '')}{scope['path']}" \
          f"{'?' + query if query else ''}"
    await receive(ctx, url=url, signature=signature, body=body,
                  recipient_handle=request.path_params.get("handle"))
    limits.vouch(host)  # verified: from now on held to its own bucket only
    return Response(status_code=202)


routes: list[BaseRoute] = [
    Route("/inbox", inbox, methods=["POST"]),
    Route("/actors/{handle}/inbox", inbox, methods=["POST"]),
]
