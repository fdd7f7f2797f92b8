"""Discovery endpoints: WebFinger (RFC 7033 §4), host-meta (RFC 6415 §3) and NodeInfo 2.1.

``/.well-known/webfinger`` answers for ``acct:handle@host`` of this node's host and for a local
actor's IRI, with a remote-follow template (``/volgen?uri={uri}``, node.web.following);
``/.well-known/nodeinfo`` points at ``/nodeinfo/2.1``. Every answer allows any origin
(RFC 7033 §5: WebFinger resources are public and read by browser clients too).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

import node
from node.services import collections
from node.services.errors import BadRequestError, GoneError, NotFoundError
from node.web.common import JSONResponse, ctx_of
from protocol.errors import DocumentError
from protocol.nodeinfo import NODEINFO_PATH, NODEINFO_PROFILE, build_discovery, build_nodeinfo
from protocol.webfinger import JRD_MEDIA_TYPE, build_host_meta, build_host_meta_jrd, build_jrd, parse_handle

_CORS = {"Access-Control-Allow-Origin": "*"}


def _resource_handle(request: Request) -> str:
    """The local handle a WebFinger ``resource`` names; 400 if malformed, 404 if not ours."""
    resource = request.query_params.get("resource", "").strip()
    if not resource:
        raise BadRequestError("bad_request", "the resource parameter is required")
    urls = ctx_of(request).urls
    if resource.startswith(("https://", "http://")):
        handle = urls.local_handle(resource)
        if handle is None:
            raise NotFoundError("not_found", f"{resource!r} is not an actor on this node")
        return handle
    try:
        user, host = parse_handle(resource)
    except DocumentError as exc:
        raise BadRequestError("bad_request", f"malformed resource {resource!r}") from exc
    if host != urls.host:
        raise NotFoundError("not_found", f"{host!r} is not this node's host")
    return user


async def webfinger(request: Request) -> Response:
    ctx = ctx_of(request)
    actor = await collections.find_local_actor(ctx, _resource_handle(request))
    if actor.deleted:
        raise GoneError("gone", f"{actor.handle!r} was deleted")
    jrd = build_jrd(f"acct:{actor.handle}@{ctx.urls.host}", actor.ap_id, profile_url=actor.ap_id,
                    subscribe_template=ctx.urls.subscribe_template())
    return JSONResponse(jrd, media_type=f"{JRD_MEDIA_TYPE}; charset=utf-8", headers=_CORS)


async def host_meta(request: Request) -> Response:
    xrd = build_host_meta(ctx_of(request).settings.node.url)
    return Response(xrd, media_type="application/xrd+xml; charset=utf-8", headers=_CORS)


async def host_meta_json(request: Request) -> Response:
    return JSONResponse(build_host_meta_jrd(ctx_of(request).settings.node.url), headers=_CORS)


async def nodeinfo_discovery(request: Request) -> Response:
    return JSONResponse(build_discovery(ctx_of(request).settings.node.url), headers=_CORS)


async def nodeinfo(request: Request) -> Response:
    ctx = ctx_of(request)
    usage = await collections.nodeinfo_usage(ctx)
    settings = ctx.settings
    document = build_nodeinfo(
        version=node.__version__,
        users_total=usage.users,
        # Initiatives have no logins to count; every one that exists publishes, so all count.
        users_active_month=usage.users,
        users_active_halfyear=usage.users,
        local_posts=usage.local_posts,
        # No Atom feeds yet: announce them once they exist.
        outbound_services=(),
        metadata={"nodeName": settings.node.name, "role": settings.node.role,
                  "provinceCode": settings.node.province_code or None},
    )
    return JSONResponse(document, media_type=NODEINFO_PROFILE, headers=_CORS)


routes: list[BaseRoute] = [
    Route("/.well-known/webfinger", webfinger, methods=["GET"]),
    Route("/.well-known/host-meta", host_meta, methods=["GET"]),
    Route("/.well-known/host-meta.json", host_meta_json, methods=["GET"]),
    Route("/.well-known/nodeinfo", nodeinfo_discovery, methods=["GET"]),
    Route(NODEINFO_PATH, nodeinfo, methods=["GET"]),
]
