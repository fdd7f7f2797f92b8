"""Outbound bridges (docs/bridges.md): what other tools read from a node without ActivityPub.

``/feeds/items.atom`` (the filters of ``/api/items``) and ``/feeds/search.atom`` (those of
``/api/search``) for feed readers; ``/agenda.ics`` (``theme``, ``province``) and
``/items/{id}.ics`` for calendars; ``/sitemap.xml`` and ``/robots.txt`` for search engines;
``/api/initiatives/{handle}/murmurations`` for the maps of the Murmurations network. A bad
parameter is answered as the API answers it: 422 with ``{"error", "detail", "field"}``.

Inbound: ``POST/GET /api/feeds``, ``DELETE /api/feeds/{id}`` and the page ``/bewerken/feeds``
subscribe initiatives to RSS and Atom feeds (``node.services.subscriptions``).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from node.services import atom, calendar, editing, murmurations, sitemap, subscriptions
from node.services.atom import ATOM_MEDIA_TYPE, Person
from node.services.errors import ValidationError
from node.services.inputs import FEED_KINDS
from node.services.items import ItemQuery
from node.services.permissions import Caller
from node.services.validation import parse_feed
from node.web import feedlinks, session, strings
from node.web.api import Resource, authenticate, check_parameters, endpoint, item_query, json_body
from node.web.browse import EVENT_GEO_PARAMETERS, parse_filters
from node.web.common import JSONResponse, ctx_of
from node.web.feedlinks import query_string
from node.web.pages import page, render, theme_label
from node.web.search import search_request

MAX_AGE = "public, max-age=300"  # feed readers and calendars poll; five minutes is fresh enough
CALENDAR_TYPE = f"{calendar.CALENDAR_MEDIA_TYPE}; charset=utf-8"
HTML_LIST_FILTERS = ("kind", "theme", "province")


def _items_title(query: ItemQuery, name: str) -> str:
    if query.initiative:
        return strings.text("feed_initiative", initiative=query.initiative, name=name)
    if query.q:
        return strings.text("feed_search_for", q=query.q, name=name)
    if query.theme and not (query.kind or query.province):
        return strings.text("feed_theme", theme=theme_label(query.theme), name=name)
    return strings.text("feed_items", name=name)


def _items_page(base: str, query: ItemQuery) -> str:
    """The HTML page with the same list."""
    if query.initiative:
        return query.initiative if "/" in query.initiative else f"{base}/actors/{query.initiative}"
    params = {k: getattr(query, k) or "" for k in HTML_LIST_FILTERS}
    if query.q:
        return f"{base}/zoeken" + query_string({**params, "q": query.q})
    return f"{base}/kennis" + query_string(params)


def _atom_response(body: bytes) -> Response:
    return Response(body, media_type=f"{ATOM_MEDIA_TYPE}; charset=utf-8",
                    headers={"Cache-Control": MAX_AGE})


def _node_author(request: Request) -> Person:
    node = ctx_of(request).settings.node
    return Person(node.name, node.url)


async def items_atom(request: Request) -> Response:
    query = item_query(request)
    ctx = ctx_of(request)
    base, name = ctx.settings.node.url, ctx.settings.node.name
    params = {k: v for k, v in request.query_params.items() if k != "cursor"}
    feed = await atom.items_feed(ctx, query, title=_items_title(query, name),
                                 self_url=f"{base}/feeds/items.atom" + query_string(params),
                                 alternate=_items_page(base, query),
                                 node_author=_node_author(request))
    return _atom_response(atom.build_feed(feed))


async def search_atom(request: Request) -> Response:
    search = search_request(request)
    ctx = ctx_of(request)
    base, name = ctx.settings.node.url, ctx.settings.node.name
    params = dict(request.query_params)
    title = (strings.text("feed_search_for", q=search.q, name=name) if search.q
             else strings.text("feed_search", name=name))
    kept = query_string({k: v for k, v in params.items() if k not in ("offset", "limit")})
    feed = await atom.search_feed(ctx, search, title=title, self_url=base + feedlinks.search_feed(params),
                                  alternate=f"{base}/zoeken{kept}",
                                  node_author=_node_author(request))
    return _atom_response(atom.build_feed(feed))


async def agenda_ics(request: Request) -> Response:
    check_parameters(request, EVENT_GEO_PARAMETERS)
    filters = parse_filters(request, EVENT_GEO_PARAMETERS, strict=True)
    ctx = ctx_of(request)
    events = await calendar.upcoming_events(ctx, filters)
    body = calendar.build_calendar(
        events, name=strings.text("agenda_title", name=ctx.settings.node.name))
    return Response(body, media_type=CALENDAR_TYPE, headers={"Cache-Control": MAX_AGE})


async def event_ics(request: Request) -> Response:
    local_id = str(request.path_params["id"])
    item = await calendar.local_event(ctx_of(request), local_id)
    body = calendar.build_calendar([item], name=item.title or local_id)
    return Response(body, media_type=CALENDAR_TYPE, headers={
        "Content-Disposition": f'attachment; filename="{local_id}.ics"',
        "Cache-Control": MAX_AGE})


async def sitemap_xml(request: Request) -> Response:
    urls = await sitemap.sitemap_urls(ctx_of(request))
    return Response(sitemap.build_sitemap(urls), media_type="application/xml; charset=utf-8",
                    headers={"Cache-Control": MAX_AGE})


async def robots_txt(request: Request) -> Response:
    return PlainTextResponse(sitemap.robots_txt(ctx_of(request).settings.node.url),
                             headers={"Cache-Control": MAX_AGE})


def subscription_json(sub: subscriptions.Subscription) -> dict[str, Any]:
    return {"id": sub.id, "url": sub.url, "as": sub.handle, "actor": sub.actor,
            "kind": sub.kind, "themes": sub.themes,
            "state": "failing" if sub.failures else "ok", "failures": sub.failures,
            "last_error": sub.last_error, "last_fetched": sub.last_fetched,
            "next_fetch": sub.next_fetch.isoformat(), "entries": sub.entries}


@endpoint
async def subscribe_feed(request: Request) -> Response:
    caller = await authenticate(request)
    sub = await subscriptions.subscribe(ctx_of(request), parse_feed(await json_body(request)),
                                        caller)
    return JSONResponse(subscription_json(sub), status_code=201,
                        headers={"Location": f"/api/feeds/{sub.id}"})


async def list_feeds(request: Request) -> Response:
    # Public, as every read of the API: the URLs and fetch states hold nothing secret.
    found = await subscriptions.list_subscriptions(ctx_of(request))
    return JSONResponse({"feeds": [subscription_json(s) for s in found]})


@endpoint
async def unsubscribe_feed(request: Request) -> Response:
    caller = await authenticate(request)
    await subscriptions.unsubscribe(ctx_of(request), str(request.path_params["id"]), caller)
    return Response(status_code=204)


# --- the feeds page, for editors (the same use cases as /api/feeds) ------------------------------


async def _feeds_page(request: Request, caller: Caller, *, values: dict[str, str],
                      error: str | None = None, status: int = 200) -> Response:
    ctx = ctx_of(request)
    initiatives = await editing.editable_initiatives(ctx, caller)
    notice = next((strings.text(key) for param, key in (("opgeslagen", "feed_saved"),
                                                          ("gestopt", "feed_stopped"))
                   if param in request.query_params), None)
    return render(request, "feeds.html", status=status, no_store=True, values=values,
                  error=error, subscriptions=await subscriptions.list_subscriptions(ctx),
                  initiatives=initiatives, feed_kinds=FEED_KINDS, notice=notice,
                  editable=None if caller.is_admin else {a.handle for a in initiatives})


@page
async def feeds_page(request: Request) -> Response:
    web_session = await session.require_user(request)
    return await _feeds_page(request, web_session.caller, values={"url": "", "kind": "story"})


@page
async def subscribe_feed_form(request: Request) -> Response:
    caller, form = await session.signed_in_form(request)
    values = {name: form.get(name).strip()[:2000] for name in ("url", "as", "kind", "theme")}
    raw = {"url": values["url"], "as": values["as"], "kind": values["kind"] or "story",
           "themes": [values["theme"]] if values["theme"] else []}
    try:
        await subscriptions.subscribe(ctx_of(request), parse_feed(raw), caller)
    except ValidationError as exc:
        message = strings.validation_message(exc.field or "", exc.reason, exc.detail)
        label = strings.lookup(f"feed_field_{exc.field}", exc.field or "")
        return await _feeds_page(request, caller, values=values, status=422,
                                 error=f"{label}: {message}" if label else message)
    return RedirectResponse("/bewerken/feeds?opgeslagen=1", status_code=303)


@page
async def unsubscribe_feed_form(request: Request) -> Response:
    caller, _ = await session.signed_in_form(request)
    await subscriptions.unsubscribe(ctx_of(request), str(request.path_params["id"]), caller)
    return RedirectResponse("/bewerken/feeds?gestopt=1", status_code=303)


async def murmurations_profile(request: Request) -> Response:
    ctx = ctx_of(request)
    handle = str(request.path_params["handle"])
    profile = await murmurations.initiative_profile(
        ctx, handle, feed_url=ctx.settings.node.url + feedlinks.items_feed(initiative=handle))
    return JSONResponse(profile)


routes: list[BaseRoute] = [
    Route("/feeds/items.atom", items_atom, methods=["GET"]),
    Route("/feeds/search.atom", search_atom, methods=["GET"]),
    Route("/agenda.ics", agenda_ics, methods=["GET"]),
    Route("/items/{id}.ics", event_ics, methods=["GET"]),
    Route("/sitemap.xml", sitemap_xml, methods=["GET"]),
    Route("/robots.txt", robots_txt, methods=["GET"]),
    Resource("/api/initiatives/{handle}/murmurations", get=murmurations_profile),
    Resource("/api/feeds", get=list_feeds, post=subscribe_feed),
    Resource("/api/feeds/{id}", delete=unsubscribe_feed),
    Route("/bewerken/feeds", feeds_page, methods=["GET"]),
    Route("/bewerken/feeds", subscribe_feed_form, methods=["POST"]),
    Route("/bewerken/feeds/{id}/stoppen", unsubscribe_feed_form, methods=["POST"]),
]
