"""Answers for what no handler answered: an unknown path (404), a method a route does not take
(405), any other ``HTTPException``, and a fault (500).

A person's browser gets the site's page in Dutch (``error.html`` in the layout, with the
search box and the menu); the API, ActivityPub and every other client keep the JSON body
``{"error": <code>, "detail": …}`` (STYLE.md, Types and errors). A request is a browser's when
its ``Accept`` names ``text/html`` and its path is not one of the machine paths
(``/api``, ``/.well-known``, ``/nodeinfo``, the inboxes) — the same negotiation the object URLs
use (``node.web.common.wants_activity_json``). Errors that handlers raise as ``ServiceError``
are answered where they are raised (``node.web.pages.page`` for pages, the JSON handler
otherwise); this module covers what Starlette itself raises, and what nobody expected.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from node.web import session, strings
from node.web.common import error_response, log, wants_activity_json
from node.web.pages import error_page

_MACHINE_PREFIXES = ("/api/", "/.well-known/", "/nodeinfo/")
# status → (reason code for JSON, key of the Dutch page texts)
_KNOWN = {
    400: ("bad_request", "bad_request"),
    403: ("forbidden", "forbidden"),
    404: ("not_found", "not_found"),
    405: ("method_not_allowed", "method_not_allowed"),
    410: ("gone", "gone"),
    413: ("too_large", "too_large"),
    500: ("internal_error", "server_error"),
}


def wants_html(request: Request) -> bool:
    """True for a person's browser: ``Accept`` names HTML and the path is not a machine path."""
    path = request.url.path
    if path == "/api" or path.startswith(_MACHINE_PREFIXES) or path.endswith("/inbox"):
        return False
    if wants_activity_json(request):
        return False
    accept = request.headers.get("accept", "").lower()
    return "text/html" in accept or "application/xhtml+xml" in accept


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """404/405/… that routing or static files raised: a Dutch page or the JSON body."""
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    reason, key = _KNOWN.get(status, ("error", "error"))
    if wants_html(request):
        await session.current(request)  # the page shows who is signed in, like any other
        response = error_page(request, status, key)
    else:
        response = error_response(status, reason, exc.detail)
    response.headers.update(exc.headers or {})  # Allow, for a 405
    return response


async def server_error_handler(request: Request, exc: Exception) -> Response:
    """A fault nobody expected: 500, without details. Starlette re-raises ``exc`` after this
    answer went out, so the server logs the traceback."""
    if not wants_html(request):
        return error_response(500, "internal_error", "the server failed; it was logged")
    try:
        # No session lookup: the database may be what failed.
        return error_page(request, 500, "server_error")
    except Exception:  # the page itself failed: still answer in Dutch, plainly
        log.exception("rendering the 500 page failed")
        return PlainTextResponse(strings.text("server_error"), status_code=500)
