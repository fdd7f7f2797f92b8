"""The initiative's profile in the browser: create, edit and delete, as the JSON API does.

``GET/POST /initiatieven/nieuw`` (any signed-in user, as ``POST /api/initiatives``: an editor who
creates one is granted it), ``GET/POST /actors/{handle}/bewerken`` and
``GET/POST /actors/{handle}/verwijderen`` (a confirmation page, then the delete; the actor answers
410 afterwards) for admins and the editors granted the initiative. The form becomes the JSON
API's body (``initiative_raw``) and goes through the same input models and service calls, so
both refuse the same things; every failed field is shown at once.

The avatar (logo) is a file field beside a hidden ``avatar`` holding the URL of the image the
initiative has or will have: a chosen image is checked and stored as soon as the form is
posted (``attachments.store_image``: PNG, JPEG, GIF or WebP by content, at most
``uploads.avatar_max_bytes``), so it is kept, and shown as a preview, when the form comes back
with an error or as a Markdown preview; it becomes the initiative's only when the form is saved.
"Afbeelding weghalen" clears it (a newly chosen image wins over that box). An image stored for
a form that is never saved is removed by the orphan sweep after its grace period.

The place is typed as a village name, as coordinates, or both; a name without coordinates is
looked up among the places the node knows (``node.services.geo.known_places``); the fieldset
(``_place.html``) and its parsing (``node.web.forms.place_raw``) are shared with the item form.
The small map (``/static/place_picker.js``) only fills the coordinate fields: without
JavaScript the form is the same.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from node.services import actors, attachments, editing, geo
from node.services.errors import ConflictError, TooLargeError, ValidationError
from node.services.permissions import Caller
from node.services.records import StoredActor
from node.services.validation import parse_initiative, parse_initiative_patch
from node.web import forms, session, strings
from node.web.browse import map_csp
from node.web.common import ctx_of
from node.web.forms import Form, preview_of
from node.web.pages import local_path, page, render
from protocol import themes

NEW = "/initiatieven/nieuw"
AVATAR_FILE = "avatar_bestand"
AVATAR_REMOVE = "avatar_weghalen"
_TEXT = ("name", "summary", "description", "legal_form", "phase", "status", "founded", "website",
         "contact", "goals", "reason_for_starting", "last_confirmed")
_LINES = ("open_questions", "networks", "partners")  # one entry per line
DEFAULTS: dict[str, Any] = {
    "handle": "", **{name: "" for name in _TEXT}, "status": "active", "themes": [],
    **{name: "" for name in _LINES}, "members_count": "", **forms.PLACE_DEFAULTS,
    "avatar": "", AVATAR_REMOVE: False,
}


# --- the form ↔ the API body -------------------------------------------------------------------


def initiative_raw(form: Form, *, creating: bool) -> dict[str, Any]:
    """The form as a JSON API body: for a create, without the blank fields; for an edit, with
    every field (a blank one is null, which clears it)."""
    raw: dict[str, Any] = {name: form.get(name).strip() or None for name in _TEXT}
    raw["themes"] = form.getlist("themes")
    for name in _LINES:
        raw[name] = [line.strip() for line in form.get(name).splitlines() if line.strip()]
    members = form.get("members_count").strip()
    raw["members_count"] = (int(members) if members.isascii() and members.isdigit()
                            and len(members) <= 9 else members or None)
    raw["place"] = forms.place_raw(form)
    raw["avatar"] = None if form.get(AVATAR_REMOVE) else form.get("avatar").strip() or None
    if not creating:
        return raw
    return {"handle": form.get("handle").strip(),
            **{k: v for k, v in raw.items() if v not in (None, [])}}


def submitted_values(form: Form) -> dict[str, Any]:
    """What the form showed, as sent (to show it again after an error)."""
    values: dict[str, Any] = {name: form.get(name) for name in DEFAULTS}
    values["themes"] = form.getlist("themes")
    values["exact"] = bool(form.get("exact"))
    values[AVATAR_REMOVE] = bool(form.get(AVATAR_REMOVE))
    return values


def initiative_values(actor: StoredActor) -> dict[str, Any]:
    """The form values of a stored initiative (its Markdown source, lists one per line)."""
    profile = actor.profile or {}
    values = {**DEFAULTS, "handle": actor.handle or "", "name": actor.name or "",
              "summary": actor.summary or ""}
    for name in _TEXT[2:]:
        values[name] = str(profile.get(name) or DEFAULTS[name])
    values["themes"] = list(profile.get("themes") or [])
    for name in _LINES:
        values[name] = "\n".join(str(v) for v in profile.get(name) or [])
    members = profile.get("members_count")
    values["members_count"] = "" if members is None else str(members)
    values.update(forms.place_values(profile.get("place")))
    values["avatar"] = str(profile.get("avatar") or "")
    return values


def take_avatar(request: Request, form: Form) -> tuple[Form, dict[str, str], int]:
    """Store the image chosen in the form now; the form with its URL as the hidden ``avatar``.

    A refused file leaves the form as it was (its earlier avatar kept) and gives the error of
    the ``avatar`` field with its status (422 not an image, 413 too large): nothing stored.
    """
    upload = form.files.get(AVATAR_FILE)
    if upload is None:
        return form, {}, 200
    ctx = ctx_of(request)
    limit = ctx.settings.uploads.avatar_max_bytes
    try:
        stored = attachments.store_image(ctx.settings.dir, upload[0], limit)
    except TooLargeError:
        return form, {"avatar": strings.text("reason_avatar_too_large", max=_megabytes(limit))}, 413
    except ValidationError as exc:
        return form, {"avatar": strings.validation_message("avatar", exc.reason, exc.detail)}, 422
    fields = {**form.fields, "avatar": [ctx.urls.file(stored.sha256)], AVATAR_REMOVE: []}
    return Form(fields), {}, 200


def _megabytes(limit: int) -> str:
    return f"{limit / 1_048_576:g}"


def edit_errors(form: Form, exc: ValidationError) -> dict[str, str]:
    """The errors of an edit, a blanked required field included: a patch checks that only
    after its fields are valid, and a form shows every error at once."""
    errors = forms.field_errors(exc)
    for name in ("name",):  # the handle is not in the edit form
        if not form.get(name).strip():
            errors.setdefault(name, strings.validation_message(name, "missing_field", ""))
    return errors


# --- the pages ---------------------------------------------------------------------------------


async def _form(request: Request, *, values: dict[str, Any], errors: dict[str, str],
                actor: StoredActor | None = None, status: int = 200,
                preview: object = None) -> Response:
    ctx = ctx_of(request)
    sha256 = attachments.local_sha256(ctx.urls.files_base, values.get("avatar") or "")
    response = render(request, "initiative_form.html", status=status, no_store=True,
                      values=values, errors=errors, actor=actor, tiles=ctx.settings.map,
                      avatar_preview=f"/bestanden/{sha256}" if sha256 else None,
                      stored_avatar=(actor.profile or {}).get("avatar", "") if actor else "",
                      avatar_max_mb=_megabytes(ctx.settings.uploads.avatar_max_bytes),
                      known_places=await geo.known_places(ctx), legal_forms=themes.LEGAL_FORMS,
                      phases=themes.PHASES, statuses=themes.STATUSES,
                      provinces=themes.PROVINCES, preview=preview,
                      approval_forced=ctx.settings.federation.follow_approval == "manual")
    # The map picker: /static/place_picker.js and Leaflet, tiles from the tile server.
    response.headers["Content-Security-Policy"] = map_csp(ctx.settings.map.tile_url)
    return response


def _saved(actor: StoredActor) -> Response:
    return RedirectResponse(f"{local_path(actor.ap_id)}?opgeslagen=1", status_code=303)


async def _editable(request: Request, caller: Caller) -> StoredActor:
    return await editing.initiative_for_edit(ctx_of(request), request.path_params["handle"],
                                             caller)


@page
async def new_initiative_form(request: Request) -> Response:
    await session.require_user(request)
    return await _form(request, values=dict(DEFAULTS), errors={})


@page
async def new_initiative(request: Request) -> Response:
    caller, form = await session.signed_in_form(request)
    ctx = ctx_of(request)
    form, avatar_error, status = take_avatar(request, form)
    if (preview := preview_of(form, "description")) is not None:  # shown, nothing stored
        return await _form(request, values=submitted_values(form), errors=avatar_error,
                           preview=preview, status=status)
    try:
        data = parse_initiative(await forms.with_known_place(ctx, initiative_raw(form, creating=True)))
        if avatar_error:  # every other field was checked: show the file's error alone
            return await _form(request, values=submitted_values(form), errors=avatar_error,
                               status=status)
        actor = await actors.create_initiative(ctx, data, caller)
    except ValidationError as exc:
        return await _form(request, values=submitted_values(form),
                           errors={**forms.field_errors(exc), **avatar_error}, status=422)
    except ConflictError:
        return await _form(request, values=submitted_values(form), status=409,
                           errors={"handle": strings.text("reason_handle_taken")})
    return _saved(actor)


@page
async def edit_initiative_form(request: Request) -> Response:
    web_session = await session.require_user(request)
    actor = await _editable(request, web_session.caller)
    return await _form(request, actor=actor, values=initiative_values(actor), errors={})


@page
async def edit_initiative(request: Request) -> Response:
    caller, form = await session.signed_in_form(request)
    ctx = ctx_of(request)
    actor = await _editable(request, caller)
    form, avatar_error, status = take_avatar(request, form)
    values = {**submitted_values(form), "handle": actor.handle}
    if (preview := preview_of(form, "description")) is not None:  # shown, nothing stored
        return await _form(request, actor=actor, errors=avatar_error, preview=preview,
                           values=values, status=status)
    try:
        patch = parse_initiative_patch(
            await forms.with_known_place(ctx, initiative_raw(form, creating=False)))
        if avatar_error:  # every other field was checked: show the file's error alone
            return await _form(request, actor=actor, values=values, errors=avatar_error,
                               status=status)
        updated = await actors.update_initiative(ctx, actor.ap_id, patch, caller)
    except ValidationError as exc:
        return await _form(request, actor=actor, values=values,
                           errors={**edit_errors(form, exc), **avatar_error}, status=422)
    return _saved(updated)


@page
async def delete_initiative_form(request: Request) -> Response:
    web_session = await session.require_user(request)
    actor = await _editable(request, web_session.caller)
    return render(request, "initiative_delete.html", no_store=True, actor=actor)


@page
async def delete_initiative(request: Request) -> Response:
    caller, _ = await session.signed_in_form(request)
    actor = await _editable(request, caller)
    await actors.delete_initiative(ctx_of(request), actor.ap_id, caller)
    return RedirectResponse("/initiatieven?verwijderd=1", status_code=303)


routes: list[BaseRoute] = [
    Route(NEW, new_initiative_form, methods=["GET"]),
    Route(NEW, new_initiative, methods=["POST"]),
    Route("/actors/{handle}/bewerken", edit_initiative_form, methods=["GET"]),
    Route("/actors/{handle}/bewerken", edit_initiative, methods=["POST"]),
    Route("/actors/{handle}/verwijderen", delete_initiative_form, methods=["GET"]),
    Route("/actors/{handle}/verwijderen", delete_initiative, methods=["POST"]),
]
