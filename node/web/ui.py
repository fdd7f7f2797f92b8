"""The server-rendered HTML pages (DESIGN.md, People-facing side): Dutch first, no JavaScript.

Pages: home (``/``), and the HTML side of every negotiated ActivityPub URL (actor, collection,
item, activity; ``node.web.activitypub`` routes the browser here). Templates are Jinja2 with
autoescaping on; the only markup let through unescaped is item and profile HTML that
``node.services.content`` produced, and it is sanitised once more on the way out
(``sanitised`` filter) so a row written by a bug still cannot inject markup.

Every page carries a strict ``Content-Security-Policy`` (no script at all, nothing framed) and,
where the page shows an ActivityPub object, ``Link: <iri>; rel="alternate"``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from node.config import Settings
from node.services import collections
from node.services.collections import CollectionName, PageRequest
from node.services.content import sanitise_html
from node.services.errors import GoneError, NotFoundError
from node.web.common import ACTIVITY_JSON, ctx_of
from protocol import themes

PACKAGE_DIR = Path(__file__).resolve().parent.parent
CSP = ("default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

_MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
           "september", "oktober", "november", "december")
BOTTLENECK_STATUSES = {"open": "Open", "raised": "Aangekaart", "resolved": "Opgelost"}
ACTIVITY_TYPES = {"Create": "Nieuw", "Update": "Bijgewerkt", "Delete": "Verwijderd",
                  "Announce": "Gedeeld", "Follow": "Volgverzoek", "Accept": "Geaccepteerd",
                  "Reject": "Afgewezen", "Undo": "Ingetrokken", "Flag": "Melding"}
COLLECTION_TITLES = {"outbox": "Activiteiten", "followers": "Volgers", "following": "Volgt"}


# --- template environment ----------------------------------------------------------------------


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
    """``27 november 2026`` (in the value's own offset: editors enter Dutch local time)."""
    moment = _as_datetime(value)
    if moment is None:
        return str(value or "")
    return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


def datetime_nl(value: Any) -> str:
    moment = _as_datetime(value)
    if not isinstance(moment, datetime):
        return date_nl(value)
    return f"{date_nl(moment)}, {moment:%H:%M}"


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


def _label(table: Any, value: Any) -> str:
    label = table.get(value) if isinstance(value, str) else None
    return label.nl if label is not None else str(value or "")


def theme_label(theme_id: str) -> str:
    return themes.get(theme_id).label.nl if themes.is_theme(theme_id) else theme_id


def build_environment(settings: Settings) -> Environment:
    """The Jinja2 environment of one app (created on first use, never at import time)."""
    env = Environment(loader=FileSystemLoader(PACKAGE_DIR / "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(date_nl=date_nl, datetime_nl=datetime_nl, iso=iso, safe_url=safe_url,
                       sanitised=sanitised, theme=theme_label)
    env.globals.update(
        site={"name": settings.name, "handle": settings.handle.lower(),
              "host": settings.host, "url": settings.url},
        kind_label=lambda v: _label(themes.ITEM_KINDS, v),
        legal_form_label=lambda v: _label(themes.LEGAL_FORMS, v),
        phase_label=lambda v: _label(themes.PHASES, v),
        status_label=lambda v: _label(themes.STATUSES, v),
        category_label=lambda v: _label(themes.QUESTION_CATEGORIES, v),
        province_label=lambda v: _label(themes.PROVINCES, v),
        bottleneck_label=lambda v: BOTTLENECK_STATUSES.get(v, v),
        activity_label=lambda v: ACTIVITY_TYPES.get(v, v),
        collection_titles=COLLECTION_TITLES,
    )
    return env


def _environment(request: Request) -> Environment:
    state = request.app.state
    env: Environment | None = getattr(state, "jinja", None)
    if env is None:
        env = build_environment(ctx_of(request).settings)
        state.jinja = env
    return env


def render(request: Request, template: str, *, status: int = 200, alternate: str | None = None,
           **context: Any) -> Response:
    """An HTML page with the security headers; ``alternate`` is the IRI of its AS2 document."""
    html = _environment(request).get_template(template).render(alternate=alternate, **context)
    headers = dict(SECURITY_HEADERS)
    headers["Vary"] = "Accept"
    if alternate:
        headers["Link"] = f'<{alternate}>; rel="alternate"; type="{ACTIVITY_JSON}"'
    return HTMLResponse(html, status_code=status, headers=headers)


_Page = Callable[..., Awaitable[Response]]


def html_errors(page: _Page) -> _Page:
    """Answer a browser with an HTML 404/410 page instead of the JSON API's error body."""
    @functools.wraps(page)
    async def wrapper(request: Request, *args: Any) -> Response:
        try:
            return await page(request, *args)
        except NotFoundError:
            return render(request, "error.html", status=404, title="Niet gevonden",
                          message="Deze pagina bestaat niet (meer).")
        except GoneError:
            return render(request, "error.html", status=410, title="Verwijderd",
                          message="Dit is verwijderd door de eigenaar.")
    return wrapper


# --- pages -------------------------------------------------------------------------------------


@html_errors
async def home(request: Request) -> Response:
    view = await collections.home_view(ctx_of(request))
    return render(request, "home.html", view=view, alternate=view.actor.ap_id)


@html_errors
async def actor_page(request: Request, handle: str) -> Response:
    view = await collections.actor_view(ctx_of(request), handle)
    return render(request, "actor.html", view=view, alternate=view.actor.ap_id)


@html_errors
async def collection_page(request: Request, handle: str, name: CollectionName,
                          page: PageRequest) -> Response:
    view = await collections.read_collection(ctx_of(request), handle, name, page)
    return render(request, "collection.html", view=view, alternate=view.document["id"])


@html_errors
async def item_page(request: Request, local_id: str) -> Response:
    view = await collections.item_view(ctx_of(request), local_id)
    return render(request, "item.html", view=view, item=view.item, alternate=view.item.ap_id)


@html_errors
async def activity_page(request: Request, local_id: str) -> Response:
    view = await collections.activity_view(ctx_of(request), local_id)
    return render(request, "activity.html", view=view, alternate=view.activity.ap_id)


routes: list[BaseRoute] = [
    Route("/", home, methods=["GET"]),
    # check_dir=False: no file-system access at import time; StaticFiles checks on first use.
    Mount("/static", app=StaticFiles(directory=PACKAGE_DIR / "static", check_dir=False),
          name="static"),
]
