"""Following in the browser (issue 11, "Following, in the browser"): no JavaScript needed.

- Every actor page (node, initiative, theme feed) has a follow box (``follow_box``): a signed-in
  editor picks one of their initiatives (an admin also the node) and follows, or stops following
  (``POST /volgen``); anyone else gives their fediverse handle and is sent to their own server's
  remote-follow page (``GET /volgen/op-afstand``, ``node.services.following``).
- ``GET /volgen?uri=…`` is this node's own remote-follow page, the template our WebFinger names
  (``http://ostatus.org/schema/1.0/subscribe``): it follows any actor, here or elsewhere, so remote
  follow works between Kennisknoop nodes as it does from Mastodon.
- ``GET /actors/{handle}/volgend``: what an actor follows, as a feed page (newest first, paged
  with ``?voor=<entry>``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from node.services import following
from node.services.following import RemoteFollowError
from node.web import session, strings
from node.web.common import ctx_of
from node.web.pages import local_path, page, render

FEED_PAGE = 20
_NOTICES = {"gevolgd": "followed", "ontvolgd": "unfollowed"}


def follow_notice(request: Request) -> str | None:
    """The confirmation after a follow or unfollow (``?gevolgd=1`` / ``?ontvolgd=1``)."""
    for param, key in _NOTICES.items():
        if param in request.query_params:
            return strings.text(key)
    return None


async def follow_box(request: Request, target_iri: str) -> dict[str, Any]:
    """What the follow box on the page of ``target_iri`` shows to this visitor."""
    web_session = await session.current(request)
    choices = (await following.follow_choices(ctx_of(request), web_session.caller, target_iri)
               if web_session is not None else [])
    return {"uri": target_iri, "choices": choices, "back": request.url.path,
            "signed_in": web_session is not None,
            "csrf": web_session.csrf_token if web_session is not None else ""}


def _back(value: str, uri: str) -> str:
    """Where a follow form returns to: a path on this node, else this node's follow page."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value \
            and len(value) <= 500 and value.isprintable():
        return value
    return f"/volgen?{urlencode({'uri': uri})}"


@page
async def follow_page(request: Request) -> Response:
    uri = request.query_params.get("uri", "").strip()[:2048]
    if await session.current(request) is None:
        again = f"/volgen?{urlencode({'uri': uri})}"
        return RedirectResponse(f"/aanmelden?volgende={quote(again, safe='')}", status_code=303)
    ctx = ctx_of(request)
    found = await following.target(ctx, uri)
    box = await follow_box(request, found.ap_id)
    box["back"] = f"/volgen?{urlencode({'uri': found.ap_id})}"
    return render(request, "follow.html", target=found, follow=box,
                  notice=follow_notice(request))


@page
async def follow_submit(request: Request) -> Response:
    caller, form = await session.signed_in_form(request)
    uri, as_handle = form.get("uri").strip()[:2048], form.get("as").strip()[:64]
    ctx = ctx_of(request)
    if form.get("action") == "unfollow":
        await following.unfollow_as(ctx, caller, uri, as_handle)
        notice = "ontvolgd"
    else:
        await following.follow_as(ctx, caller, uri, as_handle)
        notice = "gevolgd"
    back = _back(form.get("terug"), uri)
    return RedirectResponse(f"{back}{'&' if '?' in back else '?'}{notice}=1", status_code=303)


@page
async def remote_follow(request: Request) -> Response:
    uri = request.query_params.get("uri", "").strip()[:2048]
    handle = request.query_params.get("handle", "").strip()[:300]
    try:
        target = await following.remote_follow_url(ctx_of(request), handle, uri)
    except RemoteFollowError as exc:
        message = strings.text(f"follow_remote_{exc.reason}", handle=handle)
        return render(request, "follow_remote.html", status=422, no_store=True, uri=uri,
                      handle=handle, error=message, back=local_path(uri))
    return RedirectResponse(target, status_code=303)


def _cursor(request: Request) -> int | None:
    raw = request.query_params.get("voor", "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


@page
async def following_feed(request: Request) -> Response:
    handle = str(request.path_params["handle"])
    view = await following.feed_view(ctx_of(request), handle, limit=FEED_PAGE,
                                     max_id=_cursor(request))
    path = f"/actors/{quote(handle)}/volgend"
    links = {"next": f"{path}?voor={view.next_max_id}" if view.next_max_id else None,
             "first": path if _cursor(request) is not None else None}
    return render(request, "following_feed.html", view=view, links=links)


routes: list[BaseRoute] = [
    Route("/volgen", follow_page, methods=["GET"]),
    Route("/volgen", follow_submit, methods=["POST"]),
    Route("/volgen/op-afstand", remote_follow, methods=["GET"]),
    Route("/actors/{handle}/volgend", following_feed, methods=["GET"]),
]
