"""The server-rendered HTML pages (DESIGN.md, People-facing side): Dutch first, no JavaScript.

Reading: home (``/``), and the HTML side of every negotiated ActivityPub URL (actor,
collection, item, activity; ``node.web.activitypub`` routes the browser here).

Signing in (the issue "The people side"): ``GET/POST /aanmelden`` (``/login`` redirects there),
``POST /afmelden``. Editing, for editors and admins: ``GET/POST /bewerken/item/nieuw``,
``GET/POST /items/{id}/bewerken``, ``GET/POST /items/{id}/verwijderen`` (a confirmation page,
then the delete). Every POST form is checked for origin and CSRF token (``node.web.session``)
before anything is read or stored; a GET without a session goes to the sign-in page, a POST
without one gets a 401 page. Rendering and error pages: ``node.web.pages``.
"""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from node.services import attachments, collections, editing, geo, items, sessions
from node.services import questions as question_service
from node.services import structured_data as structured
from node.services.collections import CollectionName, PageRequest
from node.services.errors import AuthenticationError, TooLargeError, ValidationError
from node.services.permissions import Caller
from node.services.records import StoredObject
from node.services.sessions import TooManyAttemptsError
from node.services.validation import parse_item, parse_item_patch
from node.web import feedlinks, forms, held, i18n, questions, session, strings
from node.web.browse import map_csp, page_links, page_number, parse_filters
from node.web.common import ctx_of
from node.web.following import follow_box, follow_notice
from node.web.forms import read_form
from node.web.pages import (  # noqa: F401 - re-exported: the names other modules know ui by
    CSP,
    PACKAGE_DIR,
    SECURITY_HEADERS,
    build_environment,
    date_nl,
    datetime_nl,
    iso,
    local_path,
    notice_of,
    page,
    render,
    safe_url,
    sanitised,
    theme_label,
)
from node.web.questions_api import page_url
from node.web.search import search_page
from protocol import themes

html_errors = page  # the former name of the page decorator
ACTOR_FILTERS = ("kind", "theme", "province")
_notice = notice_of  # the one-line confirmation a redirect after a POST asked for


# --- reading -----------------------------------------------------------------------------------


@page
async def home(request: Request) -> Response:
    ctx = ctx_of(request)
    view = await collections.home_view(ctx)
    return render(request, "home.html", view=view, alternate=view.actor.ap_id,
                  notice=_notice(request),
                  feeds=[feedlinks.items_feed_link(ctx.settings.node.name)])


@page
async def actor_page(request: Request, handle: str) -> Response:
    filters = parse_filters(request, ACTOR_FILTERS)
    view = await collections.actor_view(ctx_of(request), handle, filters, page_number(request))
    assert view.paging is not None  # an actor's page is always numbered
    actor = view.actor
    path = request.url.path
    follow = await follow_box(request, actor.ap_id)
    links = page_links(path, filters, view.paging)
    if actor.kind != "initiative":
        return render(request, "actor.html", view=view, alternate=actor.ap_id,
                      canonical=actor.ap_id, follow=follow, notice=follow_notice(request),
                      filters=filters, path=path, links=links)
    name = ctx_of(request).settings.node.name
    feed = (strings.text("feed_initiative", initiative=actor.name or handle, name=name),
            feedlinks.items_feed(initiative=handle))
    viewer = await session.current(request)
    may_edit = await editing.may_edit_actor(ctx_of(request), actor,
                                            viewer.caller if viewer else None)
    notice = follow_notice(request) or (
        strings.text("initiative_saved") if "opgeslagen" in request.query_params else None)
    return render(request, "actor.html", view=view, alternate=actor.ap_id, canonical=actor.ap_id,
                  follow=follow, notice=notice, may_edit=may_edit,
                  structured_data=[structured.initiative_organization(actor)], feeds=[feed],
                  filters=filters, path=path, links=links)


@page
async def collection_page(request: Request, handle: str, name: CollectionName,
                          page_request: PageRequest) -> Response:
    view = await collections.read_collection(ctx_of(request), handle, name, page_request)
    return render(request, "collection.html", view=view, alternate=view.document["id"])


@page
async def item_page(request: Request, local_id: str) -> Response:
    ctx = ctx_of(request)

    async def render() -> Response:
        view = await collections.item_view(ctx, local_id)
        described = structured.item_description(view.item, view.authors, ctx.settings.node.url,
                                                view.answers)
        return await questions.render_item(request, view, notice=notice_of(request),
                                           canonical=view.item.ap_id,
                                           structured_data=[described])

    # Held only as nobody in particular sees it: no session, no query (a notice, ?lang=), in
    # the language chosen by cookie or Accept-Language; and only for an item whose page shows
    # nothing but the item and its author (a question shows its answers, an answer its
    # question, a bottleneck its endorsements: rows the stamp does not cover).
    if request.state.web_session is not None or request.scope.get("query_string") \
            or not held.holding(request):
        return await render()
    ap_id = ctx.urls.item(local_id)
    stamp = await collections.item_stamp(ctx, ap_id)
    if stamp is not None and (stamp.kind in ("question", "bottleneck") or stamp.in_reply_to):
        return await render()
    locale, _ = i18n.choose_locale(request)
    return await held.respond(request, ("page", ap_id, locale), stamp and stamp.key, render)


@page
async def activity_page(request: Request, local_id: str) -> Response:
    view = await collections.activity_view(ctx_of(request), local_id)
    return render(request, "activity.html", view=view, alternate=view.activity.ap_id)


# --- signing in and out ------------------------------------------------------------------------


def next_path(value: str) -> str:
    """Where to go after signing in: a path on this node, never another site (``//evil``)."""
    if (value.startswith("/") and not value.startswith("//") and "\\" not in value
            and len(value) <= 500 and value.isprintable()):
        return value
    return "/"


def _sign_in_page(request: Request, *, status: int = 200, username: str = "",
                  errors: dict[str, str] | None = None, next_to: str = "/") -> Response:
    web_session = getattr(request.state, "web_session", None)
    if web_session is not None:
        token, fresh = web_session.csrf_token, False
    else:
        token, fresh = session.login_form_token(request)
    response = render(request, "sign_in.html", status=status, no_store=True, csrf=token,
                      username=username, errors=errors or {}, next_to=next_to)
    if fresh:
        session.set_login_token(request, response, token)
    return response


@page
async def sign_in_form(request: Request) -> Response:
    return _sign_in_page(request, next_to=next_path(request.query_params.get("volgende", "")))


@page
async def sign_in(request: Request) -> Response:
    form = await session.anonymous_form(request)
    username, next_to = form.get("username"), next_path(form.get("volgende"))
    errors = {name: strings.text(f"{name}_missing") for name in ("username", "password")
              if not form.get(name).strip()}
    if errors:
        return _sign_in_page(request, status=422, username=username, errors=errors,
                             next_to=next_to)
    try:
        new = await sessions.sign_in(ctx_of(request), username, form.get("password"),
                                     session.client_address(request),
                                     session.session_token(request))
    except TooManyAttemptsError as exc:
        message = strings.text("too_many_attempts", minutes=math.ceil(exc.retry_after / 60))
        response = _sign_in_page(request, status=429, username=username,
                                 errors={"form": message}, next_to=next_to)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except AuthenticationError:
        return _sign_in_page(request, status=401, username=username,
                             errors={"username": strings.text("bad_credentials")},
                             next_to=next_to)
    response = RedirectResponse(next_to, status_code=303)
    session.set_session(request, response, new)
    return response


async def login_redirect(request: Request) -> Response:
    query = request.url.query
    return RedirectResponse("/aanmelden" + (f"?{query}" if query else ""), status_code=301)


@page
async def sign_out(request: Request) -> Response:
    session.check_origin(request)
    web_session = await session.current(request)
    if web_session is not None:  # without a session there is nothing to protect or revoke
        session.check_token(web_session.csrf_token, await read_form(request))
        await sessions.sign_out(ctx_of(request), session.session_token(request) or "")
    response = RedirectResponse("/?afgemeld=1", status_code=303)
    session.clear_session(request, response)
    return response


# --- editing items -----------------------------------------------------------------------------


async def _item_form(request: Request, caller: Caller, *, values: dict[str, object],
                     errors: dict[str, str], item: StoredObject | None = None,
                     status: int = 200,
                     similar: list[question_service.SimilarQuestion] | None = None,
                     preview: object = None) -> Response:
    ctx = ctx_of(request)
    initiatives = [] if item else await editing.editable_initiatives(ctx, caller)
    response = render(request, "item_form.html", status=status, no_store=True, values=values,
                      errors=errors, item=item, initiatives=initiatives,
                      may_use_node=caller.is_admin, form_kinds=forms.FORM_KINDS,
                      kind_fields=forms.KIND_FIELDS, required=forms.REQUIRED,
                      similar=similar or [], page_url=page_url, preview=preview,
                      upload_kinds=forms.UPLOAD_KINDS, tiles=ctx.settings.map,
                      known_places=await geo.known_places(ctx), provinces=themes.PROVINCES)
    # Our own scripts only (similar.js, preview.js, the place picker), map tiles as images.
    response.headers["Content-Security-Policy"] = map_csp(ctx.settings.map.tile_url)
    return response


def _saved(item: StoredObject) -> Response:
    return RedirectResponse(f"{local_path(item.ap_id)}?opgeslagen=1", status_code=303)


@page
async def new_item_form(request: Request) -> Response:
    web_session = await session.require_user(request)
    return await _item_form(request, web_session.caller, values=dict(forms.DEFAULTS), errors={})


@page
async def new_item(request: Request) -> Response:
    caller, form = await session.signed_in_form(request)
    if (preview := forms.preview_of(form, "content")) is not None:  # shown, nothing stored
        return await _item_form(request, caller, values=forms.submitted_values(form), errors={},
                                preview=preview)
    try:
        raw = await forms.with_known_place(ctx_of(request), forms.item_raw(form))
        data = parse_item(raw)
        upload = form.files.get(forms.UPLOAD_FIELD)
        if upload is not None:  # stored only once the rest of the item is valid
            _check_upload_kind(data.kind)
            data = parse_item({**raw, "attachments": [_store_upload(request, *upload)]})
        if data.kind == "question" and not form.get(forms.POST_ANYWAY):
            # The first submit of a question shows the similar answered ones, if any: the
            # asker may find the answer already given ("Toch plaatsen" posts it after all).
            similar = await question_service.similar_to_new(ctx_of(request), data.title, data.content)
            if similar:
                return await _item_form(request, caller, values=forms.submitted_values(form),
                                        errors={}, similar=similar)
        item = await items.create_item(ctx_of(request), data, caller)
    except ValidationError as exc:
        return await _item_form(request, caller, values=forms.submitted_values(form),
                                errors=forms.field_errors(exc), status=422)
    except TooLargeError:
        return await _item_form(request, caller, values=forms.submitted_values(form),
                                errors=_too_large(request), status=413)
    return _saved(item)


def _too_large(request: Request) -> dict[str, str]:
    return {forms.UPLOAD_FIELD: strings.text(
        "reason_bijlage_too_large", max=ctx_of(request).settings.uploads.max_bytes // 1_048_576)}


def _check_upload_kind(kind: str) -> None:
    if kind not in forms.UPLOAD_KINDS:
        raise ValidationError("not_for_kind", "only guides and templates carry attachments",
                              field=forms.UPLOAD_FIELD)


def _store_upload(request: Request, data: bytes, name: str | None) -> dict[str, str]:
    """Keep an uploaded file (422 ``unsupported_type``, 413 ``too_large``: nothing kept)."""
    settings = ctx_of(request).settings
    try:
        stored = attachments.store(settings.dir, data, settings.uploads.max_bytes)
    except ValidationError as exc:
        raise ValidationError(exc.reason, exc.detail, field=forms.UPLOAD_FIELD) from exc
    return {"url": ctx_of(request).urls.file(stored.sha256), "name": (name or "bijlage")[:200]}


@page
async def edit_item_form(request: Request) -> Response:
    web_session = await session.require_user(request)
    editable = await editing.item_for_edit(ctx_of(request), request.path_params["id"],
                                           web_session.caller)
    return await _item_form(request, web_session.caller, item=editable.item,
                            values=forms.item_values(editable.item), errors={})


@page
async def edit_item(request: Request) -> Response:
    caller, form = await session.signed_in_form(request)
    ctx = ctx_of(request)
    item = (await editing.item_for_edit(ctx, request.path_params["id"], caller)).item
    values = {**forms.submitted_values(form), "kind": item.kind}
    if (preview := forms.preview_of(form, "content")) is not None:  # shown, nothing stored
        return await _item_form(request, caller, item=item, values=values, errors={},
                                preview=preview)
    try:
        raw = await forms.with_known_place(ctx, forms.item_raw(form, item.kind))
        patch = parse_item_patch(raw, item.kind)
        upload = form.files.get(forms.UPLOAD_FIELD)
        if upload is not None:  # added to the item's attachments once the rest is valid
            _check_upload_kind(item.kind)
            kept = [{k: v for k, v in attachment.items() if v is not None}
                    for attachment in item.fields.get("attachments") or ()]
            raw["attachments"] = [*kept, _store_upload(request, *upload)]
            patch = parse_item_patch(raw, item.kind)
        updated = await items.update_item(ctx, item.ap_id, patch, caller)
    except ValidationError as exc:
        return await _item_form(request, caller, item=item, values=values,
                                errors=forms.field_errors(exc), status=422)
    except TooLargeError:
        return await _item_form(request, caller, item=item, values=values,
                                errors=_too_large(request), status=413)
    return _saved(updated)


@page
async def delete_item_form(request: Request) -> Response:
    web_session = await session.require_user(request)
    editable = await editing.item_for_edit(ctx_of(request), request.path_params["id"],
                                           web_session.caller)
    return render(request, "item_delete.html", no_store=True, item=editable.item,
                  author=editable.author)


@page
async def delete_item(request: Request) -> Response:
    caller, _ = await session.signed_in_form(request)
    ctx = ctx_of(request)
    item = (await editing.item_for_edit(ctx, request.path_params["id"], caller)).item
    await items.delete_item(ctx, item.ap_id, caller)
    return RedirectResponse("/?verwijderd=1", status_code=303)


routes: list[BaseRoute] = [
    Route("/", home, methods=["GET"]),
    Route("/zoeken", search_page, methods=["GET"]),
    Route("/aanmelden", sign_in_form, methods=["GET"]),
    Route("/aanmelden", sign_in, methods=["POST"]),
    Route("/login", login_redirect, methods=["GET"]),
    Route("/afmelden", sign_out, methods=["POST"]),
    Route("/bewerken/item/nieuw", new_item_form, methods=["GET"]),
    Route("/bewerken/item/nieuw", new_item, methods=["POST"]),
    Route("/items/{id}/bewerken", edit_item_form, methods=["GET"]),
    Route("/items/{id}/bewerken", edit_item, methods=["POST"]),
    Route("/items/{id}/verwijderen", delete_item_form, methods=["GET"]),
    Route("/items/{id}/verwijderen", delete_item, methods=["POST"]),
    # check_dir=False: no file-system access at import time; StaticFiles checks on first use.
    Mount("/static", app=StaticFiles(directory=PACKAGE_DIR / "static", check_dir=False),
          name="static"),
]
