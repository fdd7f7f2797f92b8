"""The federation part of the JSON API: follows, each local actor's feed, reports, queue health.

``POST /api/follows`` {"target": handle-or-URL, "as": initiative handle (optional)} follows a
node, initiative or theme anywhere; ``DELETE /api/follows?target=…&as=…`` stops. Admins may act
for the node and every initiative, editors for the initiatives granted to them. Feeds are public
reads, like the items themselves.

``GET/POST/DELETE /api/admin/blocks`` (admins only) list, add (``{"host", "purge", "reason"}``)
and lift (``?host=…``) the hosts blocked at run time, as ``kennisknoop block``/``unblock`` do.
``GET/POST/DELETE /api/admin/hidden`` (admins only) list, hide (``{"item": IRI}``) and show
again (``?item=IRI``) the received items hidden on this node (node.services.hiding).
``GET /api/follow-requests`` lists the follow requests waiting for the actors the caller answers
for (admins: every local actor; editors: their initiatives), and ``POST
/api/follow-requests/{id}`` ``{"answer": "accept" | "reject"}`` answers one
(node.services.approvals), as ``/beheer/volgverzoeken`` does.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from node.services import aggregator, approvals, feeds, follow, hiding, policy
from node.services.actors import resolve_local
from node.services.errors import NotFoundError, ValidationError
from node.services.inputs import FollowInput
from node.services.permissions import Caller, require_actor_edit, require_admin
from node.services.records import StoredFollow, StoredObject
from node.services.validation import parse_follow
from node.web.api import (
    Resource,
    authenticate,
    check_parameters,
    endpoint,
    integer_param,
    json_body,
    limit_param,
    next_url,
)
from node.web.common import JSONResponse, ctx_of
from node.web.representations import flag_json, item_json, peer_json

FOLLOW_FIELDS = tuple(f.alias or name for name, f in FollowInput.model_fields.items())


def _follow_json(row: StoredFollow) -> dict[str, object]:
    return {"follower": row.follower, "followee": row.followee, "state": row.state}


async def _may_act_as(request: Request, caller: Caller, handle: str | None) -> None:
    ctx = ctx_of(request)
    if handle is None:
        require_admin(caller)
        return
    async with ctx.db.sessions() as session:
        actor = await resolve_local(session, ctx, handle)
        await require_actor_edit(session, caller, actor)


def _target_and_as(values: dict[str, object]) -> tuple[str, str | None]:
    data = parse_follow(values)
    return data.target, data.as_


@endpoint
async def create_follow(request: Request) -> Response:
    caller = await authenticate(request)
    target, as_handle = _target_and_as(await json_body(request))
    await _may_act_as(request, caller, as_handle)
    row = await follow.follow(ctx_of(request), target, as_handle=as_handle)
    return JSONResponse(_follow_json(row), status_code=201 if row.state == "accepted" else 202)


@endpoint
async def delete_follow(request: Request) -> Response:
    caller = await authenticate(request)
    check_parameters(request, FOLLOW_FIELDS)
    target, as_handle = _target_and_as(dict(request.query_params))
    await _may_act_as(request, caller, as_handle)
    await follow.unfollow(ctx_of(request), target, as_handle=as_handle)
    return Response(status_code=204)


async def list_follows(request: Request) -> Response:
    check_parameters(request, ())
    handle = request.path_params["handle"]
    following = request.url.path.endswith("/following")
    rows = await feeds.follows_of(ctx_of(request), handle, following=following)
    return JSONResponse({"follows": [_follow_json(r) for r in rows]})


async def actor_feed(request: Request) -> Response:
    check_parameters(request, ("limit", "max_id"))
    ctx = ctx_of(request)
    max_id = integer_param(request, "max_id", 0, 1, 2**62) or None
    page = await feeds.feed_page(ctx, request.path_params["handle"],
                                 limit=limit_param(request), max_id=max_id)
    next_link = (next_url(request, request.url.path, max_id=page.next_max_id)
                 if page.next_max_id else None)
    return JSONResponse({"items": [item_json(i, ctx.urls) for i in page.items],
                         "next": next_link})


@endpoint
async def flag_list(request: Request) -> Response:
    rows = await feeds.list_flags(ctx_of(request), await authenticate(request))
    return JSONResponse({"flags": [flag_json(r) for r in rows]})


@endpoint
async def federation_status(request: Request) -> Response:
    status = await feeds.federation_status(ctx_of(request), await authenticate(request))
    return JSONResponse({"deliveries": status.deliveries, "inbox": status.inbox,
                         "peers": [peer_json(p) for p in status.peers]})


BLOCK_FIELDS = ("host", "purge", "reason")


def _block_values(values: dict[str, object]) -> tuple[str, bool, str | None]:
    for key in values:
        if key not in BLOCK_FIELDS:
            raise ValidationError("unknown_field", f"{key}: not a field of a block", field=key)
    host, purge, reason = values.get("host"), values.get("purge", False), values.get("reason")
    if not isinstance(host, str) or not host.strip():
        raise ValidationError("missing_field", "host: a host name", field="host")
    if not isinstance(purge, bool):
        raise ValidationError("bad_type", "purge: true or false", field="purge")
    if reason is not None and not isinstance(reason, str):
        raise ValidationError("bad_type", "reason: text", field="reason")
    return host.strip()[:255], purge, reason[:1000] if reason else None


@endpoint
async def block_list(request: Request) -> Response:
    require_admin(await authenticate(request))
    check_parameters(request, ())
    ctx = ctx_of(request)
    rows = await policy.list_blocks(ctx)
    return JSONResponse({
        "mode": policy.configured_mode(ctx.settings),
        "configured_block": sorted(ctx.settings.federation.block),
        "allow": sorted(ctx.settings.federation.allow),
        "blocks": [{"host": r.host, "created_at": r.created_at.isoformat(), "reason": r.reason}
                   for r in rows]})


@endpoint
async def create_block(request: Request) -> Response:
    require_admin(await authenticate(request))
    host, purge, reason = _block_values(await json_body(request))
    host, added, purged = await policy.block(ctx_of(request), host, reason=reason, purge=purge)
    return JSONResponse({"host": host, "purged": purged}, status_code=201 if added else 200)


@endpoint
async def delete_block(request: Request) -> Response:
    require_admin(await authenticate(request))
    check_parameters(request, ("host",))
    host, _, _ = _block_values(dict(request.query_params))
    _, removed = await policy.unblock(ctx_of(request), host)
    if not removed:
        raise NotFoundError("not_found", f"{host} is not blocked at run time")
    return Response(status_code=204)


def _hidden_json(item: StoredObject, request: Request) -> dict[str, object]:
    return {**item_json(item, ctx_of(request).urls),
            "hidden_at": item.hidden_at.isoformat() if item.hidden_at else None,
            "hidden_by": item.hidden_by}


def _item_field(values: dict[str, object]) -> str:
    for key in values:
        if key != "item":
            raise ValidationError("unknown_field", f"{key}: not a field here", field=key)
    item = values.get("item")
    if not isinstance(item, str) or not item.strip():
        raise ValidationError("missing_field", "item: the IRI of a received item", field="item")
    return item


@endpoint
async def hidden_list(request: Request) -> Response:
    caller = await authenticate(request)
    check_parameters(request, ())
    rows = await hiding.hidden_items(ctx_of(request), caller)
    return JSONResponse({"items": [_hidden_json(r, request) for r in rows]})


@endpoint
async def hide_item(request: Request) -> Response:
    caller = await authenticate(request)
    require_admin(caller)
    item, added = await hiding.hide_item(ctx_of(request), caller,
                                         _item_field(await json_body(request)))
    return JSONResponse(_hidden_json(item, request), status_code=201 if added else 200)


@endpoint
async def show_item(request: Request) -> Response:
    caller = await authenticate(request)
    check_parameters(request, ("item",))
    await hiding.show_item(ctx_of(request), caller, _item_field(dict(request.query_params)))
    return Response(status_code=204)


def _request_json(row: approvals.FollowRequest, state: str = "pending") -> dict[str, object]:
    return {"id": row.id, "follower": row.follower, "followee": row.followee.ap_id,
            "state": state, "created_at": row.asked_at.isoformat()}


@endpoint
async def follow_requests(request: Request) -> Response:
    caller = await authenticate(request)
    check_parameters(request, ())
    rows = await approvals.pending_requests(ctx_of(request), caller)
    return JSONResponse({"requests": [_request_json(r) for r in rows]})


@endpoint
async def answer_follow_request(request: Request) -> Response:
    caller = await authenticate(request)
    values = await json_body(request)
    for key in values:
        if key != "answer":
            raise ValidationError("unknown_field", f"{key}: not a field here", field=key)
    answer = values.get("answer")
    if answer not in ("accept", "reject"):
        raise ValidationError("bad_value", "answer: accept or reject", field="answer")
    raw_id = request.path_params["id"]
    if not raw_id.isdigit() or len(raw_id) > 18:
        raise NotFoundError("not_found", f"no follow request {raw_id[:30]!r}")
    row = await approvals.answer_request(ctx_of(request), caller, int(raw_id),
                                         accept=answer == "accept")
    return JSONResponse(_request_json(row, "accepted" if answer == "accept" else "rejected"))


@endpoint
async def aggregator_suggestions(request: Request) -> Response:
    require_admin(await authenticate(request))
    check_parameters(request, ())
    found = await aggregator.suggestions(ctx_of(request))
    return JSONResponse({"suggestions": [
        {"actor": s.actor, "name": s.name, "host": s.host, "followed_by": s.followed_by}
        for s in found]})


routes: list[BaseRoute] = [
    Resource("/api/follows", post=create_follow, delete=delete_follow),
    Resource("/api/actors/{handle}/feed", get=actor_feed),
    Resource("/api/actors/{handle}/following", get=list_follows),
    Resource("/api/actors/{handle}/followers", get=list_follows),
    Resource("/api/flags", get=flag_list),
    Resource("/api/federation", get=federation_status),
    Resource("/api/admin/blocks", get=block_list, post=create_block, delete=delete_block),
    Resource("/api/admin/hidden", get=hidden_list, post=hide_item, delete=show_item),
    Resource("/api/follow-requests", get=follow_requests),
    Resource("/api/follow-requests/{id}", post=answer_follow_request),
    Resource("/api/aggregator/suggestions", get=aggregator_suggestions),
]
