"""``GET /api/search``: one search over items and initiatives (docs/search.md).

The answer is described by the pydantic model :class:`SearchAnswer`, which also gives its
schema to the OpenAPI document (``node/web/openapi.py``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from node.services.errors import ValidationError
from node.services.search import FACETS, ORIGINS, TYPES, SearchPage, SearchRequest, search
from node.web import feedlinks, strings
from node.web.common import JSONResponse, ctx_of
from node.web.pages import in_language, page, render, theme_label
from protocol import themes

SEARCH_PARAMETERS = ("q", "type", "kind", "theme", "province", "legal_form", "phase", "status",
                     "origin", "near", "within_km", "limit", "offset")


class SearchHit(BaseModel):
    id: str = Field(description="The IRI of the item or initiative.")
    type: Literal["item", "initiative"]
    kind: str | None = Field(description="The item's kind; null for an initiative.")
    title: str
    snippet: str = Field(description="Safe HTML: escaped text, the hits in `<mark>`.")
    url: str = Field(description="Where a person reads it.")
    origin: Literal["local", "remote"]
    host: str = Field(description="The node it comes from.")
    province: str | None
    themes: list[str]
    score: float = Field(description="Relevance, higher first (0 without words).")
    distance_km: float | None = Field(description="From `near`, when given.")


class SearchAnswer(BaseModel):
    total: int = Field(description="Every result, on all pages.")
    match: Literal["all", "any"] | None = Field(
        description="`all`: every word was found; `any`: none had all of them, so these have "
                    "some; null: no words were asked.")
    results: list[SearchHit]
    facets: dict[str, dict[str, int]] = Field(
        description="For kind, theme, province, legal_form, phase, status and origin: "
                    "{value: count} over the whole result set.")
    next: str | None = Field(description="URL of the next page, null on the last one.")


def _choice(request: Request, name: str, allowed: Collection[str]) -> str | None:
    raw = (request.query_params.get(name) or "").strip()
    if not raw:
        return None
    value = raw.upper() if name == "province" else raw
    if value not in allowed:
        raise ValidationError("bad_value", f"{name}: must be one of "
                              f"{', '.join(sorted(allowed))}", field=name)
    return value


def _within(request: Request) -> float | None:
    raw = (request.query_params.get("within_km") or "").strip()
    if not raw:
        return None
    try:
        if len(raw) > 12:
            raise ValueError(raw)
        return float(raw)
    except ValueError as exc:
        raise ValidationError("bad_value", "within_km: a number of kilometres",
                              field="within_km") from exc


def search_request(request: Request, *, strict: bool = True) -> SearchRequest:
    """The query parameters as a search; raises ValidationError (422) for a bad one.

    ``strict``: an unknown parameter is an error (the API); the HTML page ignores it.
    """
    from node.web.api import check_parameters, integer_param, limit_param

    if strict:
        check_parameters(request, SEARCH_PARAMETERS)
    params = request.query_params
    return SearchRequest(
        q=params.get("q") or None,
        type=_choice(request, "type", TYPES),
        kind=_choice(request, "kind", themes.ITEM_KINDS),
        theme=_choice(request, "theme", {t.id for t in themes.all_themes()}),
        province=_choice(request, "province", themes.PROVINCES),
        legal_form=_choice(request, "legal_form", themes.LEGAL_FORMS),
        phase=_choice(request, "phase", themes.PHASES),
        status=_choice(request, "status", themes.STATUSES),
        origin=_choice(request, "origin", ORIGINS) or "all",
        near=params.get("near") or None, within_km=_within(request),
        limit=limit_param(request), offset=integer_param(request, "offset", 0, 0, 1_000_000))


def answer(request: Request, page: SearchPage) -> SearchAnswer:
    from node.web.api import next_url

    return SearchAnswer(
        total=page.total, match=page.match, facets=page.facets,
        results=[SearchHit.model_validate(r, from_attributes=True) for r in page.results],
        next=next_url(request, "/api/search", offset=page.next_offset)
        if page.next_offset is not None else None)


async def search_api(request: Request) -> Response:
    page = await search(ctx_of(request), search_request(request))
    return JSONResponse(answer(request, page).model_dump(mode="json"))


# --- the HTML page /zoeken -------------------------------------------------------------------------

_FILTERS = ("type", "kind", "theme", "province", "legal_form", "phase", "status", "origin")


def _label(name: str, value: str) -> str:
    tables: dict[str, Mapping[str, themes.Label]] = {
        "kind": themes.ITEM_KINDS, "province": themes.PROVINCES,
        "legal_form": themes.LEGAL_FORMS, "phase": themes.PHASES, "status": themes.STATUSES}
    if name in tables:
        found = tables[name].get(value)
        return in_language(found) if found is not None else value
    if name == "theme":
        return theme_label(value)
    if name in ("origin", "type"):
        return strings.text(f"origin_{value}") if name == "origin" else (
            strings.text("search_initiative") if value == "initiative" else "Kennis")
    return value


def _url(params: dict[str, str], **changes: str | None) -> str:
    merged = {**params, **changes}
    return "/zoeken?" + urlencode({k: v for k, v in merged.items() if v})


@page
async def search_page(request: Request) -> Response:
    params = {k: v for k, v in request.query_params.items() if k in SEARCH_PARAMETERS}
    params.pop("offset", None)
    kept = [(k, v) for k, v in params.items() if k != "q"]
    context: dict[str, Any] = {"q": params.get("q", ""), "kept": kept, "page": None,
                               "error": None, "facets": [], "active": [], "next_url": None,
                               "prev_url": None}
    try:
        asked = search_request(request, strict=False)
        found = await search(ctx_of(request), asked)
    except ValidationError as exc:
        context["error"] = exc.detail
        return render(request, "search.html", status=422, **context)
    context["page"] = found
    name = ctx_of(request).settings.node.name
    title = (strings.text("feed_search_for", q=params["q"], name=name) if params.get("q")
             else strings.text("feed_search", name=name))
    context["feeds"] = [(title, feedlinks.search_feed(params))]
    context["active"] = [(f"{strings.text('facet_' + name)}: {_label(name, params[name])}",
                          _url(params, **{name: None})) for name in _FILTERS if params.get(name)]
    context["facets"] = [
        {"title": strings.text(f"facet_{name}"),
         "options": [(_label(name, value), count, _url(params, **{name: value}))
                    for value, count in found.facets[name].items()]}
        for name in FACETS if not params.get(name)]
    if found.next_offset is not None:
        context["next_url"] = _url(params, offset=str(found.next_offset))
    if asked.offset > 0:
        back = max(0, asked.offset - asked.limit)
        context["prev_url"] = _url(params, offset=str(back) if back else None)
    return render(request, "search.html", **context)
