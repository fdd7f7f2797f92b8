"""Answer a GET from the rendered bytes held in memory (``node.services.rendered``).

``respond`` takes the key of a response, the stamp of the rows it is rendered from (read just
now) and the handler that renders it: an entry with that stamp is answered as it was held
(headers and body, byte for byte what the handler answered); otherwise the handler renders and
a plain 200 is held for the next reader, with the ETag the conditional GET middleware gives
it (made once), and a held hit answers a matching ``If-None-Match`` with that 304 itself. Never
held: a response that sets a cookie or must not be stored (``Cache-Control: no-store``: a
signed-in person's page), or anything but a 200 — callers only ask for what does not depend on
who asks (docs/performance.md, "Rendered bytes held").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from node.services.rendered import Held
from node.web import conditional
from node.web.common import ctx_of


class HeldResponse(Response):
    """A held response, sent again as it was (with its ETag); or its 304."""

    def __init__(self, held: Held, *, not_modified: bool = False) -> None:
        self.status_code = 304 if not_modified else 200
        self.body = b"" if not_modified else held.body
        self.raw_headers = list(held.not_modified if not_modified else held.headers)
        self.background: BackgroundTask | None = None


def _if_none_match(request: Request) -> str | None:
    """The request's ``If-None-Match`` on a GET (``ConditionalGetMiddleware`` answers GETs)."""
    if request.scope["method"] != "GET":
        return None
    headers: list[tuple[bytes, bytes]] = request.scope["headers"]
    for name, value in headers:
        if name == b"if-none-match":
            return value.decode("latin-1")
    return None


def holding(request: Request) -> bool:
    """Whether this node holds rendered responses at all (``server.render_cache_bytes``)."""
    return ctx_of(request).rendered.max_bytes > 0


def _holdable(response: Response) -> bool:
    if response.status_code != 200 or response.background is not None:
        return False
    body = getattr(response, "body", None)
    if not isinstance(body, bytes) or len(body) > conditional.MAX_BUFFERED:
        return False  # streamed, or too big for the middleware to tag
    for name, value in response.raw_headers:
        if name == b"set-cookie" or (name == b"cache-control" and b"no-store" in value):
            return False
    return True


async def respond(request: Request, key: Hashable, stamp: Hashable | None,
                  render: Callable[[], Awaitable[Response]],
                  may_hold: Callable[[], bool] = lambda: True) -> Response:
    """The held response of ``key`` rendered from rows stamped ``stamp``, else ``render()``'s
    (held when it may be, and ``may_hold()`` after the render agrees). ``stamp`` None: the rows
    are not there; render (a 404 or 410)."""
    cache = ctx_of(request).rendered
    if stamp is None:
        return await render()
    held = cache.get(key, stamp)
    if held is not None:
        if_none_match = _if_none_match(request)
        return HeldResponse(held, not_modified=if_none_match is not None
                            and conditional.matches(if_none_match, held.etag))
    response = await render()
    if _holdable(response) and may_hold():
        # Its ETag is made once, here, as the middleware would (after the handler's headers),
        # so a hit skips the hash; the middleware leaves a response with an ETag alone.
        body = bytes(response.body)
        etag = conditional.etag_of(body)
        headers = (*response.raw_headers, (b"etag", etag.encode("latin-1")))
        cache.put(key, Held(stamp, headers, body, etag, tuple(conditional.kept_on_304(
            list(headers)))))
    return response
