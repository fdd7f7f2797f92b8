"""Answer a GET from the rendered bytes held in memory (``node.services.rendered``).

``respond`` takes the key of a response, the stamp of the rows it is rendered from (read just
now) and the handler that renders it: an entry with that stamp is answered as it was held
(headers and body, byte for byte what the handler answered); otherwise the handler renders and
a plain 200 is held for the next reader. Never held: a response that sets a cookie or must not be
stored (``Cache-Control: no-store``: a signed-in person's page), or anything but a 200 — callers
only ask for what does not depend on who asks (docs/performance.md, "Rendered bytes held").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from node.services.rendered import Held
from node.web.common import ctx_of


class HeldResponse(Response):
    """A held response, sent again as it was."""

    def __init__(self, held: Held) -> None:
        self.status_code = 200
        self.body = held.body
        self.raw_headers = list(held.headers)
        self.background: BackgroundTask | None = None


def holding(request: Request) -> bool:
    """Whether this node holds rendered responses at all (``server.render_cache_bytes``)."""
    return ctx_of(request).rendered.max_bytes > 0


def _holdable(response: Response) -> bool:
    if response.status_code != 200 or response.background is not None:
        return False
    if not isinstance(getattr(response, "body", None), bytes):
        return False  # streamed
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
        return HeldResponse(held)
    response = await render()
    if _holdable(response) and may_hold():
        cache.put(key, Held(stamp, tuple(response.raw_headers), bytes(response.body)))
    return response
