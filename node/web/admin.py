"""The admin's pages (the issue "Administration, in the browser"), Dutch, no JavaScript.

``GET /beheer`` (home), ``GET /beheer/knooppunten`` (peers, their health and queues, the
allow/block settings read-only), ``GET/POST /beheer/knooppunten/blokkeren`` (a confirmation page
with a reason, then the block), ``POST /beheer/knooppunten/deblokkeren``, ``GET /beheer/wachtrij``
(failed deliveries) and ``POST /beheer/wachtrij/opnieuw`` (retry one, or all of a host);
``GET/POST /beheer/gebruikers`` (users, roles, grants; add a user, whose generated password the
answer shows once), ``POST /beheer/gebruikers/{name}/rol``, ``…/toekennen``, ``…/intrekken`` and
``GET/POST /beheer/gebruikers/{name}/verwijderen`` (a confirmation page, then the delete);
``GET /beheer/meldingen`` (reports received) and ``POST /beheer/meldingen/afhandelen``;
``GET /beheer/verborgen`` (the received items hidden here, a form to hide one by address),
``POST /beheer/verborgen/verbergen`` and ``…/tonen`` (hide, show again: the item page of a
received item has the same buttons for an admin);
``GET/POST /beheer/murmurations`` (which initiatives the node registers with the Murmurations
index, when one is configured).
A GET without a session goes to the sign-in page; a signed-in non-admin gets the 403 page.
Every POST is origin- and CSRF-checked (``node.web.session``); the services log each action.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from node.services import admin, feeds, hiding, murmurations, uploads, users
from node.services.errors import BadRequestError, ConflictError, ValidationError
from node.services.permissions import Caller, require_admin
from node.web import forms, session, strings
from node.web.common import ctx_of
from node.web.pages import page, render

_NOTICES = {"geblokkeerd": "admin_blocked", "gedeblokkeerd": "admin_unblocked",
            "opnieuw": "admin_retried", "gewijzigd": "admin_user_changed",
            "verwijderd": "admin_user_deleted", "afgehandeld": "admin_report_resolved",
            "verborgen": "admin_item_hidden", "getoond": "admin_item_shown",
            "gekozen": "admin_murmurations_changed"}


async def _admin(request: Request) -> Caller:
    """The signed-in admin (sign-in page without a session, 403 page for anyone else)."""
    caller = (await session.require_user(request)).caller
    require_admin(caller)
    return caller


def notice_from(request: Request, notices: dict[str, str]) -> str | None:
    """The sentence a redirect after an action asks for (``?<param>=<value>``), if any."""
    for param, key in notices.items():
        value = request.query_params.get(param)
        if value:
            return strings.text(key, value=value[:255])
    return None


def _notice(request: Request) -> str | None:
    return notice_from(request, _NOTICES)


def _done(path: str, param: str, value: str) -> Response:
    return RedirectResponse(f"{path}?{param}={value}", status_code=303)


@page
async def home(request: Request) -> Response:
    caller = await _admin(request)
    status = await feeds.federation_status(ctx_of(request), caller)
    return render(request, "admin_home.html", no_store=True, status_counts=status.deliveries,
                  peer_count=len(status.peers),
                  files=await uploads.usage(ctx_of(request), caller))


@page
async def peers_page(request: Request) -> Response:
    view = await admin.peers_view(ctx_of(request), await _admin(request))
    return render(request, "admin_peers.html", no_store=True, view=view,
                  notice=_notice(request))


def _block_form(request: Request, host: str, reason: str = "",
                errors: dict[str, str] | None = None, status: int = 200) -> Response:
    return render(request, "admin_block.html", status=status, no_store=True, host=host,
                  reason=reason, errors=errors or {})


@page
async def block_form(request: Request) -> Response:
    await _admin(request)
    return _block_form(request, request.query_params.get("host", "").strip()[:255])


@page
async def block(request: Request) -> Response:
    caller, form = await session.signed_in_form(request)
    host, reason = form.get("host").strip()[:255], form.get("reason").strip()[:1000]
    if not host:
        return _block_form(request, host, reason, {"host": strings.text("host_missing")}, 422)
    try:
        blocked = await admin.block_host(ctx_of(request), caller, host, reason or None)
    except ValidationError as exc:
        return _block_form(request, host, reason, forms.field_errors(exc), 422)
    return _done("/beheer/knooppunten", "geblokkeerd", blocked)


@page
async def unblock(request: Request) -> Response:
    caller, form = await session.signed_in_form(request)
    host = await admin.unblock_host(ctx_of(request), caller, form.get("host").strip()[:255])
    return _done("/beheer/knooppunten", "gedeblokkeerd", host)


@page
async def queue_page(request: Request) -> Response:
    failed = await admin.failed_deliveries(ctx_of(request), await _admin(request))
    return render(request, "admin_queue.html", no_store=True, failed=failed,
                  hosts=sorted({d.host for d in failed}), notice=_notice(request))


@page
async def retry(request: Request) -> Response:
    caller, form = await session.signed_in_form(request)
    delivery, host = form.get("delivery"), form.get("host").strip()
    if not delivery.isdigit() and not host:
        raise BadRequestError("bad_form", "name a delivery or a host")
    count = await admin.retry_deliveries(ctx_of(request), caller,
                                         delivery_id=int(delivery) if delivery.isdigit() else None,
                                         host=host or None)
    return _done("/beheer/wachtrij", "opnieuw", str(count))


# --- users -------------------------------------------------------------------------------------


async def _users_page(request: Request, caller: Caller, *, status: int = 200,
                      values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                      created: str | None = None, password: str | None = None) -> Response:
    view = await admin.users_view(ctx_of(request), caller)
    return render(request, "admin_users.html", status=status, no_store=True, view=view,
                  values=values or {"username": "", "role": "editor"}, errors=errors or {},
                  created=created, password=password, roles=users.ROLES,
                  role_options=[(r, strings.text(f"role_{r}")) for r in users.ROLES],
                  notice=_notice(request))


@page
async def users_page(request: Request) -> Response:
    return await _users_page(request, await _admin(request))


@page
async def add_user(request: Request) -> Response:
    caller, form = await session.signed_in_form(request)
    values = {"username": form.get("username").strip(), "role": form.get("role")}
    try:
        created, generated = await admin.create_user(ctx_of(request), caller, values["username"],
                                                     values["role"], form.get("password") or None)
    except ValidationError as exc:
        return await _users_page(request, caller, status=422, values=values,
                                 errors=forms.field_errors(exc))
    except ConflictError as exc:  # the name is taken
        message = strings.validation_message("username", exc.reason, exc.detail)
        return await _users_page(request, caller, status=422, values=values,
                                 errors={"username": message})
    # Shown once, on this answer only (no-store); the admin passes it on.
    return await _users_page(request, caller, created=created.username, password=generated)


def _changed(username: str) -> Response:
    return _done("/beheer/gebruikers", "gewijzigd", username)


@page
async def change_role(request: Request) -> Response:
    caller, form = await session.signed_in_form(request)
    username = request.path_params["username"]
    await admin.set_role(ctx_of(request), caller, username, form.get("role"))
    return _changed(username)


async def _set_grant(request: Request, *, granted: bool) -> Response:
    caller, form = await session.signed_in_form(request)
    username = request.path_params["username"]
    await admin.set_grant(ctx_of(request), caller, username, form.get("handle"), granted=granted)
    return _changed(username)


@page
async def grant(request: Request) -> Response:
    return await _set_grant(request, granted=True)


@page
async def revoke(request: Request) -> Response:
    return await _set_grant(request, granted=False)


@page
async def delete_user_form(request: Request) -> Response:
    await _admin(request)
    return render(request, "admin_user_delete.html", no_store=True,
                  username=request.path_params["username"])


@page
async def delete_user(request: Request) -> Response:
    caller, _ = await session.signed_in_form(request)
    username = request.path_params["username"]
    await admin.delete_user(ctx_of(request), caller, username)
    return _done("/beheer/gebruikers", "verwijderd", username)


# --- reports -----------------------------------------------------------------------------------


@page
async def reports_page(request: Request) -> Response:
    reports = await feeds.list_flags(ctx_of(request), await _admin(request))
    return render(request, "admin_reports.html", no_store=True, reports=reports,
                  notice=_notice(request))


@page
async def resolve_report(request: Request) -> Response:
    caller, form = await session.signed_in_form(request)
    report = form.get("report")
    if not report.isdigit():
        raise BadRequestError("bad_form", "name a report")
    await admin.resolve_report(ctx_of(request), caller, int(report))
    return _done("/beheer/meldingen", "afgehandeld", report)


# --- hidden items ------------------------------------------------------------------------------


async def _hidden_page(request: Request, caller: Caller, *, status: int = 200, value: str = "",
                       errors: dict[str, str] | None = None) -> Response:
    items = await hiding.hidden_items(ctx_of(request), caller)
    return render(request, "admin_hidden.html", status=status, no_store=True, items=items,
                  value=value, errors=errors or {}, notice=_notice(request))


@page
async def hidden_page(request: Request) -> Response:
    return await _hidden_page(request, await _admin(request))


@page
async def hide(request: Request) -> Response:
    caller, form = await session.signed_in_form(request)
    ref = form.get("item").strip()
    try:
        item, _ = await hiding.hide_item(ctx_of(request), caller, ref)
    except ValidationError as exc:
        return await _hidden_page(request, caller, status=422, value=ref[:2048],
                                  errors={"item": strings.text(f"reason_item_{exc.reason}")})
    return _done("/beheer/verborgen", "verborgen", quote(item.title or item.ap_id, safe=""))


@page
async def show(request: Request) -> Response:
    caller, form = await session.signed_in_form(request)
    item = await hiding.show_item(ctx_of(request), caller, form.get("item"))
    return _done("/beheer/verborgen", "getoond", quote(item.title or item.ap_id, safe=""))
# --- Murmurations --------------------------------------------------------------------------------


@page
async def murmurations_page(request: Request) -> Response:
    ctx = ctx_of(request)
    registrations = await murmurations.registrations(ctx, await _admin(request))
    return render(request, "admin_murmurations.html", no_store=True,
                  registrations=registrations, index_url=ctx.settings.murmurations.index_url,
                  notice=_notice(request))


@page
async def choose_murmurations(request: Request) -> Response:
    caller, form = await session.signed_in_form(request)
    handle, chosen = form.get("handle").strip(), form.get("chosen")
    if not handle or chosen not in ("0", "1"):
        raise BadRequestError("bad_form", "name an initiative and chosen=0 or 1")
    handle = await murmurations.set_registered(ctx_of(request), caller, handle, chosen == "1")
    return _done("/beheer/murmurations", "gekozen", handle)


routes: list[BaseRoute] = [
    Route("/beheer", home, methods=["GET"]),
    Route("/beheer/knooppunten", peers_page, methods=["GET"]),
    Route("/beheer/knooppunten/blokkeren", block_form, methods=["GET"]),
    Route("/beheer/knooppunten/blokkeren", block, methods=["POST"]),
    Route("/beheer/knooppunten/deblokkeren", unblock, methods=["POST"]),
    Route("/beheer/wachtrij", queue_page, methods=["GET"]),
    Route("/beheer/wachtrij/opnieuw", retry, methods=["POST"]),
    Route("/beheer/meldingen", reports_page, methods=["GET"]),
    Route("/beheer/meldingen/afhandelen", resolve_report, methods=["POST"]),
    Route("/beheer/verborgen", hidden_page, methods=["GET"]),
    Route("/beheer/verborgen/verbergen", hide, methods=["POST"]),
    Route("/beheer/verborgen/tonen", show, methods=["POST"]),
    Route("/beheer/murmurations", murmurations_page, methods=["GET"]),
    Route("/beheer/murmurations", choose_murmurations, methods=["POST"]),
    Route("/beheer/gebruikers", users_page, methods=["GET"]),
    Route("/beheer/gebruikers", add_user, methods=["POST"]),
    Route("/beheer/gebruikers/{username}/rol", change_role, methods=["POST"]),
    Route("/beheer/gebruikers/{username}/toekennen", grant, methods=["POST"]),
    Route("/beheer/gebruikers/{username}/intrekken", revoke, methods=["POST"]),
    Route("/beheer/gebruikers/{username}/verwijderen", delete_user_form, methods=["GET"]),
    Route("/beheer/gebruikers/{username}/verwijderen", delete_user, methods=["POST"]),
]
