"""The JSON API under ``/api/``: initiatives, knowledge items, themes — described by OpenAPI 3.1.

Addressing: a local record by its short name (``/api/initiatives/{handle}``,
``/api/items/{local_id}``) or any record by its IRI (``/api/initiatives/by-id?id=<IRI>``,
``/api/items/by-id?id=<IRI>``); both forms take GET, PATCH and DELETE. Reads are public; writes
need ``Authorization: Bearer <token>`` (RFC 6750) and answer 401 with ``WWW-Authenticate: Bearer``
without one. Request bodies are JSON objects (``application/json`` or any ``+json`` type, else 415)
parsed with the I-JSON limits of ``protocol.jsonlimits``; every error is
``{"error": <reason>, "detail": …}`` (plus ``field`` for a bad field). The document at
``/api/openapi.json`` (``node/web/openapi.py``) lists every route here; a test keeps them equal.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from node.services import actors, attachments, collections, directory, items
from node.services.errors import (
    AuthenticationError,
    BadRequestError,
    GoneError,
    NotFoundError,
    ServiceError,
    TooLargeError,
    ValidationError,
)
from node.services.items import ItemQuery
from node.services.permissions import Caller
from node.services.users import caller_for_token
from node.services.validation import (
    parse_initiative,
    parse_initiative_patch,
    parse_item,
    parse_item_patch,
)
from node.web import held
from node.web.common import JSONResponse, ctx_of, error_response, read_body
from node.web.files import read_upload
from node.web.openapi import build_openapi
from node.web.questions_api import list_questions_api, similar_api
from node.web.representations import caller_json, directory_json, initiative_json, item_json
from node.web.search import search_api
from protocol import themes
from protocol.errors import DocumentError
from protocol.jsonlimits import load_json

MAX_LIMIT = 100
ITEM_LIST_PARAMETERS = ("kind", "theme", "province", "q", "origin", "initiative",
                        "bottleneck_status", "regulation_area", "cursor", "limit")
INITIATIVE_LIST_PARAMETERS = ("limit", "offset", "origin", "theme", "province", "legal_form",
                              "phase", "status", "stale")
_MAX_QUERY = 200

Handler = Callable[[Request], Awaitable[Response]]


class UnsupportedMediaTypeError(ServiceError):
    status = 415
    default_reason = "unsupported_media_type"


# --- request parsing -----------------------------------------------------------------------------


def endpoint(handler: Handler) -> Handler:
    """Answer a failed authentication with 401 and the ``WWW-Authenticate`` challenge (RFC 6750 §3)."""
    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except AuthenticationError as exc:
            response = error_response(401, exc.reason, exc.detail)
            challenge = 'Bearer realm="api"'
            if exc.reason == "bad_token":
                challenge += ', error="invalid_token"'
            response.headers["WWW-Authenticate"] = challenge
            return response
    return wrapper


async def authenticate(request: Request) -> Caller:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("unauthenticated", "this request needs Authorization: Bearer <token>")
    return await caller_for_token(ctx_of(request), token.strip())


def is_json_media_type(content_type: str) -> bool:
    """``application/json`` or a ``+json`` structured syntax type (RFC 6839 §3.1)."""
    media = content_type.split(";", 1)[0].strip().lower()
    main, _, sub = media.partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


async def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, within the node's size and depth limits."""
    content_type = request.headers.get("content-type", "")
    if not is_json_media_type(content_type):
        raise UnsupportedMediaTypeError(
            "unsupported_media_type", f"send application/json, not {content_type or 'nothing'!r}")
    settings = ctx_of(request).settings
    body = await read_body(request)
    try:
        return load_json(body, max_bytes=settings.limits.max_body_bytes,
                         max_depth=settings.limits.max_json_depth)
    except DocumentError as exc:
        if exc.reason == "too_large":
            raise TooLargeError("too_large", exc.detail) from exc
        raise BadRequestError("bad_json", exc.detail) from exc


def _param_error(name: str, detail: str, reason: str = "bad_value") -> ValidationError:
    return ValidationError(reason, f"{name}: {detail}", field=name)


def check_parameters(request: Request, allowed: tuple[str, ...]) -> None:
    # A misspelt filter (``themes=``) would silently list everything: refuse it instead.
    for name in request.query_params:
        if name not in allowed:
            raise _param_error(name, "is not a parameter of this list", "unknown_parameter")


def integer_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    # ASCII digits only ("²".isdigit() is true) and short, so int() can neither fail nor be slow.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9) or not low <= int(raw) <= high:
        raise _param_error(name, f"must be an integer from {low} to {high}")
    return int(raw)


def limit_param(request: Request) -> int:
    default = min(max(ctx_of(request).settings.limits.page_size, 1), MAX_LIMIT)
    return integer_param(request, "limit", default, 1, MAX_LIMIT)


def _choice(request: Request, name: str, allowed: Any, *, upper: bool = False) -> str | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    value = raw.strip().upper() if upper else raw.strip()
    if value not in allowed:
        raise _param_error(name, f"must be one of {', '.join(sorted(allowed))}")
    return value


def item_query(request: Request) -> ItemQuery:
    check_parameters(request, ITEM_LIST_PARAMETERS)
    params = request.query_params
    q = params.get("q") or None
    if q is not None and len(q) > _MAX_QUERY:
        raise _param_error("q", f"at most {_MAX_QUERY} characters", "too_long")
    origin = (params.get("origin") or "").strip().lower() or None
    return ItemQuery(
        kind=_choice(request, "kind", themes.ITEM_KINDS),
        theme=_choice(request, "theme", {t.id for t in themes.all_themes()}),
        province=_choice(request, "province", themes.PROVINCES, upper=True),
        q=q, origin=origin, initiative=(params.get("initiative") or "").strip() or None,
        bottleneck_status=_choice(request, "bottleneck_status", themes.BOTTLENECK_STATUSES),
        regulation_area=_choice(request, "regulation_area", themes.REGULATION_AREAS),
        cursor=params.get("cursor") or None, limit=limit_param(request))


def _directory_query(request: Request) -> directory.DirectoryQuery:
    stale = _choice(request, "stale", ("true", "false"))
    return directory.DirectoryQuery(
        origin=_choice(request, "origin", ("all", "local", "remote")) or "all",
        theme=_choice(request, "theme", {t.id for t in themes.all_themes()}),
        province=_choice(request, "province", themes.PROVINCES, upper=True),
        legal_form=_choice(request, "legal_form", themes.LEGAL_FORMS),
        phase=_choice(request, "phase", themes.PHASES),
        status=_choice(request, "status", themes.STATUSES),
        stale=None if stale is None else stale == "true")


def _iri_param(request: Request) -> str:
    check_parameters(request, ("id",))
    iri = (request.query_params.get("id") or "").strip()
    if not iri:
        raise _param_error("id", "the IRI is required", "missing_parameter")
    if "://" not in iri:
        raise _param_error("id", "must be an absolute IRI")
    return iri


def _initiative_ref(request: Request) -> str:
    handle = request.path_params.get("handle")
    return str(handle) if handle is not None else _iri_param(request)


def _item_ref(request: Request) -> str:
    local_id = request.path_params.get("local_id")
    return str(local_id) if local_id is not None else _iri_param(request)


def next_url(request: Request, path: str, **changes: object) -> str:
    params = {**request.query_params, **{k: str(v) for k, v in changes.items()}}
    return f"{ctx_of(request).settings.node.url}{path}?{urlencode(params)}"


def _created(body: dict[str, Any], location: str) -> JSONResponse:
    return JSONResponse(body, status_code=201, headers={"Location": location})


# --- service info --------------------------------------------------------------------------------


async def openapi_document(request: Request) -> Response:
    return JSONResponse(build_openapi(ctx_of(request).settings.node.url))


@endpoint
async def me(request: Request) -> Response:
    return JSONResponse(caller_json(await authenticate(request)))


async def theme_list(request: Request) -> Response:
    return JSONResponse({"themes": [
        {"id": t.id, "labels": {"nl": t.label.nl, "en": t.label.en}, "hashtag": t.hashtag,
         "iri": themes.concept_iri(t.id), "broader": t.broader, "narrower": themes.narrower(t.id)}
        for t in themes.all_themes()
    ]})


# --- initiatives -----------------------------------------------------------------------------------


async def list_initiatives(request: Request) -> Response:
    check_parameters(request, INITIATIVE_LIST_PARAMETERS)
    limit = limit_param(request)
    offset = integer_param(request, "offset", 0, 0, 1_000_000)
    entries, more = await directory.list_directory(ctx_of(request), _directory_query(request),
                                                   limit=limit, offset=offset)
    return JSONResponse({
        "initiatives": [directory_json(e) for e in entries],
        "next": next_url(request, "/api/initiatives", offset=offset + limit) if more else None,
    })


@endpoint
async def create_initiative(request: Request) -> Response:
    caller = await authenticate(request)
    data = parse_initiative(await json_body(request))
    actor = await actors.create_initiative(ctx_of(request), data, caller)
    return _created(initiative_json(actor), f"/api/initiatives/{actor.handle}")


async def get_initiative(request: Request) -> Response:
    actor = await actors.get_initiative(ctx_of(request), _initiative_ref(request))
    return JSONResponse(initiative_json(actor))


@endpoint
async def update_initiative(request: Request) -> Response:
    caller = await authenticate(request)
    patch = parse_initiative_patch(await json_body(request))
    actor = await actors.update_initiative(ctx_of(request), _initiative_ref(request), patch, caller)
    return JSONResponse(initiative_json(actor))


@endpoint
async def delete_initiative(request: Request) -> Response:
    caller = await authenticate(request)
    await actors.delete_initiative(ctx_of(request), _initiative_ref(request), caller)
    return Response(status_code=204)


# --- items ---------------------------------------------------------------------------------------


async def list_items(request: Request) -> Response:
    query = item_query(request)
    page = await items.list_items(ctx_of(request), query)
    urls = ctx_of(request).urls
    return JSONResponse({
        "items": [item_json(item, urls) for item in page.items],
        "next": next_url(request, "/api/items", cursor=page.next_cursor) if page.next_cursor
        else None,
    })


@endpoint
async def create_item(request: Request) -> Response:
    caller = await authenticate(request)
    data = parse_item(await json_body(request))
    ctx = ctx_of(request)
    try:
        item = await items.create_item(ctx, data, caller)
    except NotFoundError as exc:
        # The body names an initiative this node does not have: a bad field, not a missing page.
        raise ValidationError("unknown_initiative", f"initiative: {exc.detail}",
                              field="initiative") from exc
    return _created(item_json(item, ctx.urls), f"/api/items/{ctx.urls.local_item_id(item.ap_id)}")


async def get_item(request: Request) -> Response:
    ctx = ctx_of(request)
    ref = _item_ref(request)

    async def render() -> Response:
        item = await items.get_item(ctx, ref)
        if item.deleted:
            raise GoneError("gone", f"{item.ap_id} was deleted")
        return JSONResponse(item_json(item, ctx.urls))

    local_id = request.path_params.get("local_id")
    if local_id is None or not held.holding(request):
        return await render()
    # The same for everyone who asks: held, checked against the row's stamp (node.web.held).
    ap_id = ctx.urls.item(local_id)
    stamp = await collections.item_stamp(ctx, ap_id)
    return await held.respond(request, ("api", ap_id), stamp and stamp.key, render)


@endpoint
async def update_item(request: Request) -> Response:
    caller = await authenticate(request)
    raw = await json_body(request)
    ctx, ref = ctx_of(request), _item_ref(request)
    current = await items.get_item(ctx, ref)  # the patch's rules depend on the stored kind
    if current.deleted:
        raise GoneError("gone", f"{current.ap_id} was deleted")
    item = await items.update_item(ctx, ref, parse_item_patch(raw, current.kind), caller)
    return JSONResponse(item_json(item, ctx.urls))


@endpoint
async def delete_item(request: Request) -> Response:
    caller = await authenticate(request)
    await items.delete_item(ctx_of(request), _item_ref(request), caller)
    return Response(status_code=204)


@endpoint
async def upload_attachment(request: Request) -> Response:
    """Keep an uploaded file (multipart field ``file``); an item then names its ``url``."""
    await authenticate(request)
    ctx = ctx_of(request)
    data, name = await read_upload(request)
    stored = attachments.store(ctx.settings.dir, data, ctx.settings.uploads.max_bytes)
    url = ctx.urls.file(stored.sha256)
    return _created({"url": url, "mediaType": stored.media_type, "name": name,
                     "digestMultibase": stored.digest_multibase, "size": stored.size}, url)


class Resource(Route):
    """One API path with a handler per method; any other method gets a JSON 405 with ``Allow``."""

    def __init__(self, path: str, **handlers: Handler) -> None:
        self.handlers = {method.upper(): handler for method, handler in handlers.items()}
        super().__init__(path, self._dispatch, methods=list(self.handlers), name=path)

    async def _dispatch(self, request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await self.handlers[method](request)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            allowed = ", ".join(sorted(self.methods))
            response = error_response(405, "method_not_allowed", f"allowed: {allowed}")
            response.headers["Allow"] = allowed
            await response(scope, receive, send)
            return
        await super().handle(scope, receive, send)


# The IRI forms come before the {handle}/{local_id} forms so that "by-id" is never taken for a
# name (local ids are hex; an initiative called "by-id" is still reachable by its IRI).
routes: list[BaseRoute] = [
    Resource("/api/openapi.json", get=openapi_document),
    Resource("/api/me", get=me),
    Resource("/api/themes", get=theme_list),
    Resource("/api/attachments", post=upload_attachment),
    Resource("/api/initiatives", get=list_initiatives, post=create_initiative),
    Resource("/api/initiatives/by-id", get=get_initiative, patch=update_initiative,
             delete=delete_initiative),
    Resource("/api/initiatives/{handle}", get=get_initiative, patch=update_initiative,
             delete=delete_initiative),
    Resource("/api/search", get=search_api),
    Resource("/api/questions", get=list_questions_api),
    Resource("/api/questions/similar", get=similar_api),
    Resource("/api/items", get=list_items, post=create_item),
    Resource("/api/items/by-id", get=get_item, patch=update_item, delete=delete_item),
    Resource("/api/items/{local_id}", get=get_item, patch=update_item, delete=delete_item),
]
