"""Rendering HTML pages: the Jinja2 environment, security headers, and Dutch error pages.

Templates are Jinja2 with autoescaping on; the only markup let through unescaped is item and
profile HTML that ``node.services.content`` produced, and it is sanitised once more on the way
out (``sanitised`` filter) so a row written by a bug still cannot inject markup.

Every page carries a strict ``Content-Security-Policy`` (no script at all, nothing framed, the
same as ``X-Frame-Options: DENY``, which is sent too for older browsers), ``nosniff`` and a
same-origin ``Referrer-Policy``; a page for a signed-in person, or with a form, is
``Cache-Control: no-store`` (it holds a name and a CSRF token). Where the page shows an
ActivityPub object it has ``Link: <iri>; rel="alternate"``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from babel.dates import format_date, format_time
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from node.config import Settings
from node.services import attachments, notifications
from node.services import structured_data as structured
from node.services.content import sanitise_html
from node.services.errors import (
    AuthenticationError,
    BadRequestError,
    GoneError,
    NotFoundError,
    PermissionDeniedError,
    ServiceError,
    TooLargeError,
)
from node.web import i18n, session, strings
from node.web.common import ACTIVITY_JSON, ctx_of, log
from protocol import themes

PACKAGE_DIR = Path(__file__).resolve().parent.parent
CSP = ("default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


# --- filters -----------------------------------------------------------------------------------


def _as_datetime(value: Any) -> datetime | date | None:
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def date_nl(value: Any) -> str:
    """``27 november 2026`` / ``November 27, 2026`` in the page's language (Babel), in the
    value's own offset: editors enter Dutch local time."""
    moment = _as_datetime(value)
    if moment is None:
        return str(value or "")
    return format_date(moment, format="long", locale=i18n.current_locale())


def datetime_nl(value: Any) -> str:
    """``27 november 2026, 19:30`` / ``November 27, 2026, 7:30 PM``."""
    moment = _as_datetime(value)
    if not isinstance(moment, datetime):
        return date_nl(value)
    return f"{date_nl(moment)}, {format_time(moment, format='short', locale=i18n.current_locale())}"


def number(value: Any) -> str:
    """``1.234,5`` / ``1,234.5``: a number in the page's language (Babel's format_decimal)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value if value is not None else "")
    return format_decimal(value, locale=i18n.current_locale())


def iso(value: Any) -> str:
    moment = _as_datetime(value)
    return moment.isoformat() if moment is not None else ""


def safe_url(value: Any) -> str:
    """A link target only if it is http(s) or mailto; anything else becomes ``#``."""
    if isinstance(value, str) and urlsplit(value).scheme.lower() in ("http", "https", "mailto"):
        return value
    return "#"


def sanitised(value: Any) -> Markup:
    """Stored HTML (already sanitised by ``node.services.content``), sanitised again, as markup."""
    return Markup(sanitise_html(value or ""))


def local_path(value: Any) -> str:
    """The path of one of this node's URLs (``https://host/items/x`` → ``/items/x``)."""
    return urlsplit(str(value or "")).path or "/"


def in_language(label: themes.Label) -> str:
    """A label of ``protocol.themes`` in the current language (the ``label`` filter)."""
    return label.en if i18n.current_locale() == "en" else label.nl


def _label(table: Any, value: Any) -> str:
    label = table.get(value) if isinstance(value, str) else None
    return in_language(label) if label is not None else str(value or "")


def theme_label(theme_id: str) -> str:
    return in_language(themes.get(theme_id).label) if themes.is_theme(theme_id) else theme_id


def _options(table: Any) -> list[tuple[str, str]]:
    return [(value, in_language(label)) for value, label in table.items()]


def _filter_options() -> dict[str, list[tuple[str, str]]]:
    """The choices of the filter forms, labelled in the current language."""
    return {
        "kind": _options(themes.ITEM_KINDS),
        "theme": [(t.id, ("— " if t.broader else "") + in_language(t.label))
                  for t in themes.all_themes()],
        "province": _options(themes.PROVINCES),
        "legal_form": _options(themes.LEGAL_FORMS),
        "phase": _options(themes.PHASES),
    }


def avatar_path(files_base: str, actor: Any) -> str | None:
    """The path of an actor's avatar, only when it is an image stored on this node: a received
    actor's ``icon`` elsewhere is never hotlinked (the page CSP allows only our own images)."""
    profile = getattr(actor, "profile", None) or {}
    url = profile.get("avatar")
    sha256 = attachments.local_sha256(files_base, url) if isinstance(url, str) else None
    if sha256 is None or profile.get("avatar_media_type") not in attachments.IMAGES:
        return None
    return f"/bestanden/{sha256}"


def build_environment(settings: Settings) -> Environment:
    """The Jinja2 environment of one app (created on first use, never at import time)."""
    env = Environment(loader=FileSystemLoader(PACKAGE_DIR / "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      extensions=["jinja2.ext.i18n"])
    # _(), gettext, ngettext, {% trans %}: the gettext catalogs, in the request's language.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext_, i18n.ngettext_, newstyle=True, pgettext=i18n.pgettext_,
        npgettext=i18n.npgettext_)
    # date_nl/datetime_nl: the old names of date/datetime, kept for the templates that use them.
    env.filters.update(date=date_nl, datetime=datetime_nl, date_nl=date_nl,
                       datetime_nl=datetime_nl, number=number, label=in_language, iso=iso, safe_url=safe_url,
                       sanitised=sanitised, theme=theme_label, local_path=local_path)
    env.globals.update(
        site={"name": settings.node.name, "handle": settings.node.handle.lower(),
              "host": settings.node.host, "url": settings.node.url},
        t=strings.Texts(),
        csrf_field=session.CSRF_FIELD,
        avatar_path=lambda actor: avatar_path(f"{settings.node.url}/bestanden/", actor),
        kind_label=lambda v: _label(themes.ITEM_KINDS, v),
        legal_form_label=lambda v: _label(themes.LEGAL_FORMS, v),
        phase_label=lambda v: _label(themes.PHASES, v),
        status_label=lambda v: _label(themes.STATUSES, v),
        category_label=lambda v: _label(themes.QUESTION_CATEGORIES, v),
        province_label=lambda v: _label(themes.PROVINCES, v),
        bottleneck_label=lambda v: strings.BOTTLENECK_STATUSES.get(v, v),
        activity_label=lambda v: strings.ACTIVITY_TYPES.get(v, v),
        collection_titles=strings.COLLECTION_TITLES,
        bottleneck_statuses=strings.BOTTLENECK_STATUSES,
        regulation_areas=themes.REGULATION_AREAS,
        all_themes=themes.all_themes(),
        item_kinds=themes.ITEM_KINDS,
        question_categories=themes.QUESTION_CATEGORIES,
    )
    return env


def _environment(request: Request) -> Environment:
    state = request.app.state
    env: Environment | None = getattr(state, "jinja", None)
    if env is None:
        env = build_environment(ctx_of(request).settings)
        state.jinja = env
    return env


def canonical_url(request: Request) -> str:
    """The page's own URL on this node's public origin (the path and query it was asked with)."""
    base = ctx_of(request).settings.node.url
    query = request.url.query
    return f"{base}{request.url.path}" + (f"?{query}" if query else "")


def render(request: Request, template: str, *, status: int = 200, alternate: str | None = None,
           no_store: bool = False, canonical: str | None = None,
           structured_data: list[dict[str, Any]] | None = None,
           feeds: Sequence[tuple[str, str]] = (), **context: Any) -> Response:
    """An HTML page with the security headers; ``alternate`` is the IRI of its AS2 document.

    ``canonical``: the page's canonical URL (a received copy's is at its origin; default: this
    page); ``structured_data``: schema.org descriptions of its subject, after the node's own;
    ``feeds``: (title, URL) of the Atom feeds with the same list (docs/bridges.md).
    """
    web_session = getattr(request.state, "web_session", None)
    settings = ctx_of(request).settings
    locale = i18n.activate(request)
    described = [structured.node_organization(settings.node.name, settings.node.url),
                 *(structured_data or [])]
    html = _environment(request).get_template(template).render(
        alternate=alternate, session=web_session, canonical=canonical or canonical_url(request),
        structured_data=Markup(structured.script_json(described)),
        feeds=[{"title": title, "url": url} for title, url in feeds],
        lang=locale, languages=i18n.switch_links(request.url.path, request.url.query),
        filter_options=_filter_options(),
        unread_notifications=getattr(request.state, "unread_notifications", 0), **context)
    headers = dict(SECURITY_HEADERS)
    headers["Vary"] = "Accept, Accept-Language, Cookie"  # the language (node.web.i18n)
    if web_session is not None or no_store:
        headers["Cache-Control"] = "no-store"
    if alternate:
        headers["Link"] = f'<{alternate}>; rel="alternate"; type="{ACTIVITY_JSON}"'
    return HTMLResponse(html, status_code=status, headers=headers)


_NOTICES = {"opgeslagen": "saved", "verwijderd": "deleted", "afgemeld": "signed_out",
            "beantwoord": "answer_saved", "geaccepteerd": "accepted_saved"}


def notice_of(request: Request) -> str | None:
    """The one-line confirmation a redirect after a POST asked for (``?opgeslagen=1``)."""
    for param, key in _NOTICES.items():
        if param in request.query_params:
            return strings.text(key)
    return None


def error_page(request: Request, status: int, key: str, message_key: str | None = None
               ) -> Response:
    """An error page in the request's language: title ``t[key_title]``, message
    ``t[message_key or key]`` (the language is chosen here too: a 500 is answered outside the
    middleware that chooses it)."""
    i18n.activate(request)
    return render(request, "error.html", status=status, no_store=True, code=status,
                  title=strings.text(f"{key}_title"), message=strings.text(message_key or key))


def _error_response(request: Request, exc: ServiceError) -> Response:
    if isinstance(exc, AuthenticationError):
        if request.method in ("GET", "HEAD"):
            target = quote(request.url.path, safe="/")
            return RedirectResponse(f"/aanmelden?volgende={target}", status_code=303)
        return error_page(request, 401, "unauthenticated")
    if isinstance(exc, session.CsrfError):
        return error_page(request, 403, "csrf")
    if isinstance(exc, PermissionDeniedError):
        return error_page(request, 403, "forbidden",
                          "not_local" if exc.reason == "not_local" else None)
    if isinstance(exc, NotFoundError):
        return error_page(request, 404, "not_found")
    if isinstance(exc, GoneError):
        return error_page(request, 410, "gone")
    if isinstance(exc, TooLargeError):
        return error_page(request, 413, "too_large")
    if isinstance(exc, BadRequestError):
        return error_page(request, 400, "bad_request")
    return error_page(request, exc.status, "error")


_Page = Callable[..., Awaitable[Response]]


def page(handler: _Page) -> _Page:
    """Wrap a page handler: look up the session first, answer service errors with Dutch pages."""
    @functools.wraps(handler)
    async def wrapper(request: Request, *args: Any) -> Response:
        try:
            web_session = await session.current(request)
            # The header's "Meldingen (2 nieuw)"; a POST answers with a redirect, no header.
            if web_session is not None and request.method == "GET":
                request.state.unread_notifications = await notifications.unread_count(
                    ctx_of(request), web_session.caller)
            return await handler(request, *args)
        except ServiceError as exc:
            log.info("%s %s -> %s %s: %s", request.method, request.url.path, exc.status,
                     exc.reason, exc.detail)
            return _error_response(request, exc)
    return wrapper
