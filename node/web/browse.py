"""Browsing pages (HTML, Dutch first, no JavaScript needed): ``/kennis`` (every item, paged to
its end), ``/initiatieven`` (the directory, with counts per filter value), ``/thema/{id}``, and
``/kaart`` (a map, and the same places as a list), with its data ``/api/initiatives.geojson`` and
``/api/events.geojson``.

Filters are query parameters shared with the API: ``kind``, ``theme``, ``province`` (and, in the
directory, ``legal_form`` and ``phase``); ``pagina`` numbers the pages from 1. A value that is not
one of the known ones is ignored rather than answered with an error page: these are links people
share and edit by hand, and the page shows which filters are in force.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from node.services import browse, geo, statistics
from node.services.context import NodeContext
from node.services.errors import ValidationError
from node.services.listing import Filters, Paging
from node.web import charts, feedlinks, strings
from node.web.api import Resource, check_parameters
from node.web.common import JSONResponse, ctx_of
from node.web.following import follow_box, follow_notice
from node.web.pages import in_language, page, render, theme_label
from protocol import themes

MAX_PAGE = 100_000


def _choices(name: str) -> Collection[str]:
    if name == "theme":
        return {t.id for t in themes.all_themes()}
    tables: dict[str, Collection[str]] = {
        "kind": themes.ITEM_KINDS, "province": themes.PROVINCES,
        "legal_form": themes.LEGAL_FORMS, "phase": themes.PHASES}
    return tables[name]


def parse_filters(request: Request, names: tuple[str, ...], *, strict: bool = False) -> Filters:
    """The filters of a request; an unknown value is ignored, or (``strict``, the API) a 422."""
    values: dict[str, str] = {}
    for name in names:
        raw = (request.query_params.get(name) or "").strip()
        value = raw.upper() if name == "province" else raw
        if value and value in _choices(name):
            values[name] = value
        elif value and strict:
            raise ValidationError("bad_value", f"{name}: must be one of "
                                  f"{', '.join(sorted(_choices(name)))}", field=name)
    return Filters(**values)


def page_number(request: Request, name: str = "pagina") -> int:
    raw = request.query_params.get(name, "1")
    if raw.isascii() and raw.isdigit() and 1 <= len(raw) <= 6:
        return max(1, min(int(raw), MAX_PAGE))
    return 1


def page_links(path: str, filters: Filters, paging: Paging) -> dict[str, str | None]:
    """The previous and next page's URL, keeping the filters."""
    def url(number: int) -> str:
        params = {**filters.chosen(), **({"pagina": str(number)} if number > 1 else {})}
        return f"{path}?{urlencode(params)}" if params else path
    return {"prev": url(paging.page - 1) if paging.has_prev else None,
            "next": url(paging.page + 1) if paging.has_next else None}


@page
async def item_list_page(request: Request) -> Response:
    filters = parse_filters(request, ("kind", "theme", "province"))
    ctx = ctx_of(request)
    listing = await browse.items_page(ctx, filters, page_number(request))
    return render(request, "items.html", listing=listing, filters=filters,
                  links=page_links("/kennis", filters, listing.paging),
                  feeds=[feedlinks.items_feed_link(ctx.settings.node.name, **filters.chosen())])


@page
async def directory_page(request: Request) -> Response:
    filters = parse_filters(request, ("theme", "province", "legal_form", "phase"))
    found = await browse.directory(ctx_of(request), filters, page_number(request))
    deleted = "verwijderd" in request.query_params  # after /actors/{handle}/verwijderen
    return render(request, "initiatives.html", directory=found, filters=filters,
                  links=page_links("/initiatieven", filters, found.paging),
                  notice=strings.text("initiative_deleted") if deleted else None)


@page
async def theme_page(request: Request) -> Response:
    theme_id = str(request.path_params["theme"])
    filters = parse_filters(request, ("kind", "province"))
    view = await browse.theme_view(ctx_of(request), theme_id, page_number(request),
                                   page_number(request, "volgers"), filters=filters)
    path = f"/thema/{theme_id}"
    paging = view.follower_paging
    follower_links = {
        "prev": f"{path}?volgers={paging.page - 1}#volgers" if paging.has_prev else None,
        "next": f"{path}?volgers={paging.page + 1}#volgers" if paging.has_next else None}
    follow = await follow_box(request, view.feed.ap_id) if view.feed else None
    name = ctx_of(request).settings.node.name
    feed = (strings.text("feed_theme", theme=theme_label(theme_id), name=name),
            feedlinks.items_feed(theme=theme_id))
    return render(request, "theme.html", view=view, listing=view.listing, filters=filters,
                  path=path, links=page_links(path, filters, view.listing.paging),
                  follower_links=follower_links, follow=follow,
                  notice=follow_notice(request), feeds=[feed])


# --- the map -----------------------------------------------------------------------------------

INITIATIVE_GEO_PARAMETERS = ("theme", "province", "legal_form", "phase")
EVENT_GEO_PARAMETERS = ("theme", "province")
GEOJSON = "application/geo+json"


def map_csp(tile_url: str) -> str:
    """The map page's policy: our own scripts and styles only, images also from the tile
    server's origin (and ``data:``, which Leaflet uses for its icons)."""
    parts = urlsplit(tile_url)
    tiles = f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else ""
    return (f"default-src 'self'; script-src 'self'; style-src 'self'; "
            f"img-src 'self' data: {tiles}".rstrip() + "; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'")


def _geojson_endpoint(names: tuple[str, ...],
                     markers: Callable[[NodeContext, Filters], Awaitable[list[geo.Marker]]]
                     ) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        check_parameters(request, names)
        found = await markers(ctx_of(request), parse_filters(request, names, strict=True))
        return JSONResponse(geo.feature_collection(found), media_type=GEOJSON)
    return endpoint


initiatives_geojson = _geojson_endpoint(INITIATIVE_GEO_PARAMETERS, geo.initiative_markers)
events_geojson = _geojson_endpoint(EVENT_GEO_PARAMETERS, geo.event_markers)


@page
async def map_page(request: Request) -> Response:
    filters = parse_filters(request, INITIATIVE_GEO_PARAMETERS)
    ctx = ctx_of(request)
    initiatives = await geo.initiative_markers(ctx, filters)
    events = await geo.event_markers(ctx, Filters(theme=filters.theme, province=filters.province))
    query = urlencode(filters.chosen())
    response = render(request, "map.html", filters=filters, initiatives=initiatives,
                      events=events, query=query, tiles=ctx.settings.map,
                      agenda=feedlinks.agenda(theme=filters.theme, province=filters.province))
    response.headers["Content-Security-Policy"] = map_csp(ctx.settings.map.tile_url)
    return response


# --- statistics ----------------------------------------------------------------------------------

_FACET_LABELS = {"province": themes.PROVINCES, "legal_form": themes.LEGAL_FORMS,
                 "phase": themes.PHASES}


def facet_label(facet: str, value: str) -> str:
    if facet == "theme":
        return theme_label(value)
    label = _FACET_LABELS[facet].get(value)
    return in_language(label) if label is not None else value


@page
async def statistics_page(request: Request) -> Response:
    found = await statistics.network_statistics(ctx_of(request))
    facets = []
    for facet in browse.DIRECTORY_FACETS:
        rows = [(facet_label(facet, value), count) for value, count in found.per[facet].items()]
        title = strings.text(f"stats_per_{facet}")
        facets.append({"id": f"per-{facet}", "title": title, "rows": rows,
                       "chart": charts.bar_chart(f"per-{facet}", title, rows)})
    growth = {
        "item_chart": charts.column_chart("groei-items", strings.text("stats_growth_items"),
                                     [(g.month, g.items_total) for g in found.growth]),
        "initiative_chart": charts.column_chart(
            "groei-initiatieven", strings.text("stats_growth_initiatives"),
            [(g.month, g.initiatives_total) for g in found.growth]),
    }
    return render(request, "statistics.html", stats=found, facets=facets, growth=growth)


routes: list[BaseRoute] = [
    Route("/kennis", item_list_page, methods=["GET"]),
    Route("/initiatieven", directory_page, methods=["GET"]),
    Route("/thema/{theme}", theme_page, methods=["GET"]),
    Route("/kaart", map_page, methods=["GET"]),
    Route("/statistiek", statistics_page, methods=["GET"]),
    Resource("/api/initiatives.geojson", get=initiatives_geojson),
    Resource("/api/events.geojson", get=events_geojson),
]
