"""Follow requests waiting for approval, in the browser (the issue "Administration, in the
browser"): ``GET /beheer/volgverzoeken`` lists the requests the signed-in user may answer (an
admin: every local actor's; an editor: their initiatives'), ``POST …/{id}/accepteren`` accepts
one, ``GET/POST …/{id}/weigeren`` asks for confirmation and then rejects it, and
``POST /beheer/volgverzoeken/instelling`` turns approving by hand on or off for the node actor
(admins, on this page) or an initiative (``initiative``: its handle; its edit page has the
form).
Every POST is origin- and CSRF-checked; the service (node.services.approvals) logs each action.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from node.services import approvals
from node.services.errors import BadRequestError, NotFoundError
from node.web import session
from node.web.admin import notice_from
from node.web.common import ctx_of
from node.web.pages import page, render

_NOTICES = {"geaccepteerd": "requests_accepted", "geweigerd": "requests_rejected",
            "aan": "requests_setting_on", "uit": "requests_setting_off"}
PATH = "/beheer/volgverzoeken"


def _notice(request: Request) -> str | None:
    return notice_from(request, _NOTICES)


def _request_id(request: Request) -> int:
    value = request.path_params["id"]
    if not value.isdigit() or len(value) > 18:
        raise NotFoundError("not_found", f"no follow request {value[:30]!r}")
    return int(value)


@page
async def requests_page(request: Request) -> Response:
    caller = (await session.require_user(request)).caller
    ctx = ctx_of(request)
    waiting = await approvals.pending_requests(ctx, caller)
    node_choice = await approvals.approval_of(ctx, caller, None) if caller.is_admin else None
    return render(request, "follow_requests.html", no_store=True, requests=waiting,
                  node_choice=node_choice, notice=_notice(request))


def _done(param: str, value: str) -> Response:
    return RedirectResponse(f"{PATH}?{param}={value}", status_code=303)


@page
async def accept(request: Request) -> Response:
    caller, _ = await session.signed_in_form(request)
    answered = await approvals.answer_request(ctx_of(request), caller, _request_id(request),
                                              accept=True)
    return _done("geaccepteerd", str(answered.id))


@page
async def reject_form(request: Request) -> Response:
    caller = (await session.require_user(request)).caller
    wanted = _request_id(request)
    waiting = await approvals.pending_requests(ctx_of(request), caller)
    found = next((r for r in waiting if r.id == wanted), None)
    if found is None:
        raise NotFoundError("not_found", f"no waiting follow request {wanted}")
    return render(request, "follow_request_reject.html", no_store=True, req=found)


@page
async def reject(request: Request) -> Response:
    caller, _ = await session.signed_in_form(request)
    answered = await approvals.answer_request(ctx_of(request), caller, _request_id(request),
                                              accept=False)
    return _done("geweigerd", str(answered.id))


@page
async def setting(request: Request) -> Response:
    caller, form = await session.signed_in_form(request)
    handle = form.get("initiative").strip() or None
    choice = form.get("approve")
    if choice not in ("", "1"):
        raise BadRequestError("bad_form", "approve is 1 or absent")
    await approvals.set_approval(ctx_of(request), caller, handle, choice == "1")
    return _done("aan" if choice == "1" else "uit", handle or ctx_of(request).settings.node.handle)


routes: list[BaseRoute] = [
    Route(PATH, requests_page, methods=["GET"]),
    Route(f"{PATH}/instelling", setting, methods=["POST"]),
    Route(PATH + "/{id}/accepteren", accept, methods=["POST"]),
    Route(PATH + "/{id}/weigeren", reject_form, methods=["GET"]),
    Route(PATH + "/{id}/weigeren", reject, methods=["POST"]),
]
