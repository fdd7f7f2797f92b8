"""ActivityPub object endpoints (ActivityPub §3, §5): actors, their collections, items, activities.

Every URL negotiates (DESIGN.md, Protocol): a request that accepts an ActivityStreams media type
(or plain ``application/ld+json`` / ``application/json``) gets the JSON document, a browser gets
the HTML page of the same thing (``node.web.ui``). Both answers carry ``Vary: Accept`` so caches
keep them apart. A deleted item or initiative answers 410 with its Tombstone.

The inbox POST routes live in ``node.web.inbox``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from node.services import collections
from node.services.collections import CollectionName, PageRequest, Served
from node.services.errors import BadRequestError
from node.web import held, ui
from node.web.common import ACTIVITY_JSON, ActivityResponse, ctx_of, wants_activity_json

ACTIVITY_CONTENT_TYPE = f"{ACTIVITY_JSON}; charset=utf-8"


def activity_response(document: dict[str, Any], status: int = 200) -> Response:
    return ActivityResponse(document, status_code=status, media_type=ACTIVITY_CONTENT_TYPE,
                            headers={"Vary": "Accept"})


def _served(served: Served) -> Response:
    status = 410 if served.gone else 200
    if served.body is not None:
        return Response(served.body, status_code=status, media_type=ACTIVITY_CONTENT_TYPE,
                        headers={"Vary": "Accept"})
    assert served.document is not None
    return activity_response(served.document, status)


def _cursor(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value is None:
        return None
    if not value.isdigit() or len(value) > 18:
        raise BadRequestError("bad_request", f"{name} must be a non-negative integer")
    return int(value)


def _page_request(request: Request) -> PageRequest | None:
    """The page asked for: ``?page=true`` with an optional ``max_id`` or ``min_id``; else None."""
    max_id, min_id = _cursor(request, "max_id"), _cursor(request, "min_id")
    if max_id is not None and min_id is not None:
        raise BadRequestError("bad_request", "give max_id or min_id, not both")
    if request.query_params.get("page") is None and max_id is None and min_id is None:
        return None
    return PageRequest(max_id=max_id, min_id=min_id)


async def actor(request: Request) -> Response:
    handle = request.path_params["handle"]
    if not wants_activity_json(request):
        return await ui.actor_page(request, handle)
    return _served(await collections.served_actor(ctx_of(request), handle))


def _collection_endpoint(name: CollectionName) -> Any:
    async def endpoint(request: Request) -> Response:
        handle, page = request.path_params["handle"], _page_request(request)
        if not wants_activity_json(request):
            return await ui.collection_page(request, handle, name, page or PageRequest())
        ctx = ctx_of(request)
        if name != "outbox" or not held.holding(request):
            view = await collections.read_collection(ctx, handle, name, page)
            return activity_response(view.document)
        # Held, checked against the outbox's stamp; the same for everyone who asks.
        views: list[collections.CollectionView] = []

        async def render() -> Response:
            views.append(await collections.read_collection(ctx, handle, name, page, hold=True,
                                                           stamp=stamp))
            return activity_response(views[-1].document)

        stamp = await collections.outbox_stamp(ctx, handle)
        return await held.respond(request, ("outbox", handle.lower(), page), stamp, render,
                                  lambda: views[-1].holdable)

    endpoint.__name__ = name
    return endpoint


async def initiatives(request: Request) -> Response:
    """The node's directory of its initiatives (JSON only: the HTML directory is elsewhere)."""
    value = request.query_params.get("page")
    if value is not None and (not value.isdigit() or len(value) > 9 or int(value) < 1):
        raise BadRequestError("bad_request", "page must be a positive integer")
    document = await collections.read_initiatives(
        ctx_of(request), request.path_params["handle"], int(value) if value else None)
    return activity_response(document)


async def item(request: Request) -> Response:
    local_id = request.path_params["id"]
    if not wants_activity_json(request):
        return await ui.item_page(request, local_id)
    ctx = ctx_of(request)

    async def render() -> Response:
        return _served(await collections.served_item(ctx, local_id))

    if not held.holding(request):
        return await render()
    # The stored bytes, held like the item's API JSON, against the same stamp (its document
    # changes only with its version or update time; a tombstone is a 410, never held).
    ap_id = ctx.urls.item(local_id)
    stamp = await collections.item_stamp(ctx, ap_id)
    return await held.respond(request, ("object", ap_id), stamp and stamp.key, render)


async def activity(request: Request) -> Response:
    local_id = request.path_params["id"]
    if not wants_activity_json(request):
        return await ui.activity_page(request, local_id)
    ctx = ctx_of(request)

    async def render() -> Response:
        return _served(await collections.served_activity(ctx, local_id))

    if not held.holding(request):
        return await render()
    # Rebuilt from its parts (store-once) on a miss; held, checked against its stamp.
    stamp = await collections.activity_stamp(ctx, local_id)
    return await held.respond(request, ("activity", local_id), stamp, render)


routes: list[BaseRoute] = [
    Route("/actors/{handle}", actor, methods=["GET"]),
    *(Route(f"/actors/{{handle}}/{name}", _collection_endpoint(name), methods=["GET"])
      for name in collections.COLLECTIONS),
    Route("/actors/{handle}/initiatives", initiatives, methods=["GET"]),
    Route("/items/{id}", item, methods=["GET"]),
    Route("/activities/{id}", activity, methods=["GET"]),
]
