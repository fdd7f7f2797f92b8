"""The notifications pages of a signed-in editor (issue 11, "Notifications"):

- ``GET /meldingen``: answers to their initiatives' questions, endorsements of their bottlenecks,
  new followers, their accepted answers — newest first, the unread ones marked;
  ``POST /meldingen/gelezen`` marks them all read. The header links here with the unread count.
- ``GET/POST /meldingen/email``: whether to have them mailed (none, immediate, a daily digest).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from node.services import mail, notifications
from node.services.errors import ValidationError
from node.web import session, strings
from node.web.common import ctx_of
from node.web.pages import page, render


@page
async def notifications_page(request: Request) -> Response:
    web_session = await session.require_user(request)
    found = await notifications.list_for(ctx_of(request), web_session.caller)
    notice = strings.text("notifications_marked") if "gelezen" in request.query_params else None
    return render(request, "notifications.html", notifications=found, notice=notice)


@page
async def mark_read(request: Request) -> Response:
    caller, _ = await session.signed_in_form(request)
    await notifications.mark_all_read(ctx_of(request), caller)
    return RedirectResponse("/meldingen?gelezen=1", status_code=303)


async def _mail_page(request: Request, *, values: dict[str, str], errors: dict[str, str],
                     status: int = 200, notice: str | None = None) -> Response:
    web_session = await session.require_user(request)
    view = await mail.settings_of(ctx_of(request), web_session.caller)
    return render(request, "mail_settings.html", status=status, view=view, values=values,
                  errors=errors, modes=mail.MODES, notice=notice)


@page
async def mail_settings_page(request: Request) -> Response:
    web_session = await session.require_user(request)
    view = await mail.settings_of(ctx_of(request), web_session.caller)
    values = ({"address": view.choice.address, "mode": view.choice.mode} if view.choice
              else {"address": "", "mode": "none"})
    notice = strings.text("mail_saved") if "opgeslagen" in request.query_params else None
    return await _mail_page(request, values=values, errors={}, notice=notice)


@page
async def save_mail_settings(request: Request) -> Response:
    caller, form = await session.signed_in_form(request)
    values = {"address": form.get("address").strip()[:400], "mode": form.get("mode")}
    try:
        await mail.choose(ctx_of(request), caller, **values)
    except ValidationError as exc:
        key = "mail_address_missing" if exc.reason == "missing_field" else "mail_address_bad"
        return await _mail_page(request, values=values, status=422,
                                errors={exc.field or "address": strings.text(key)})
    return RedirectResponse("/meldingen/email?opgeslagen=1", status_code=303)


routes: list[BaseRoute] = [
    Route("/meldingen", notifications_page, methods=["GET"]),
    Route("/meldingen/gelezen", mark_read, methods=["POST"]),
    Route("/meldingen/email", mail_settings_page, methods=["GET"]),
    Route("/meldingen/email", save_mail_settings, methods=["POST"]),
]
