"""Bottlenecks: endorsing them (API and forms) and the agenda that ranks them (docs/bottlenecks.md).

JSON API: ``POST /api/endorsements`` ``{"item": IRI, "as": handle, "note": …}`` — 201 with the
endorsement when it is new, 200 when the initiative already endorsed the bottleneck (it counts
once; a new note replaces the old one); ``DELETE /api/endorsements`` ``{"item", "as"}`` (body or
query) — 204, or 404 ``not_endorsed``; ``GET /api/bottlenecks?sort=endorsements`` — the ranking.

Pages: ``/knelpunten`` (every node; on the aggregator it is headed as the national agenda), with
filters ``theme``, ``regulation_area``, ``bottleneck_status`` and ``pagina``;
``/knelpunten/onderschrijven?id=IRI`` — a bottleneck with the endorse form ("Wij lopen hier ook
tegenaan") and withdraw buttons for a signed-in editor; its forms POST to
``/knelpunten/onderschrijven`` and ``/knelpunten/intrekken``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from node.services import agenda, bottlenecks
from node.services.agenda import AgendaQuery, tally_of
from node.services.browse import PAGE_SIZE, Paging
from node.services.errors import ValidationError
from node.services.records import StoredEndorsement
from node.services.validation import parse_endorsement, parse_withdrawal
from node.web import forms, session, strings
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
from node.web.browse import page_number
from node.web.common import JSONResponse, ctx_of
from node.web.pages import page, render
from node.web.representations import item_json
from protocol import themes

AGENDA_PARAMETERS = ("theme", "regulation_area", "bottleneck_status", "province")
API_PARAMETERS = (*AGENDA_PARAMETERS, "sort", "limit", "offset")
_CHOICES: dict[str, Any] = {
    "theme": {t.id for t in themes.all_themes()}, "regulation_area": themes.REGULATION_AREAS,
    "bottleneck_status": themes.BOTTLENECK_STATUSES, "province": themes.PROVINCES,
    "sort": agenda.SORTS}


def _agenda_query(values: dict[str, str], *, strict: bool) -> AgendaQuery:
    """The filters; an unknown value is a 422 (``strict``, the API) or ignored (the page)."""
    chosen: dict[str, str] = {}
    for name, allowed in _CHOICES.items():
        raw = (values.get(name) or "").strip()
        value = raw.upper() if name == "province" else raw
        if value and value in allowed:
            chosen[name] = value
        elif value and strict:
            raise ValidationError("bad_value", f"{name}: must be one of "
                                  f"{', '.join(sorted(allowed))}", field=name)
    return AgendaQuery(**chosen)


def endorsement_json(row: StoredEndorsement) -> dict[str, Any]:
    return {"item": row.object_ap_id, "initiative": row.actor, "note": row.note,
            "province": row.province_code,
            "created_at": row.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")}


# --- the JSON API ------------------------------------------------------------------------------


@endpoint
async def create_endorsement(request: Request) -> Response:
    caller = await authenticate(request)
    data = parse_endorsement(await json_body(request))
    done = await bottlenecks.endorse(ctx_of(request), data, caller)
    return JSONResponse(endorsement_json(done.endorsement),
                        status_code=201 if done.created else 200)


@endpoint
async def delete_endorsement(request: Request) -> Response:
    caller = await authenticate(request)
    if request.query_params:
        check_parameters(request, ("item", "as"))
        raw: dict[str, object] = dict(request.query_params)
    else:
        raw = await json_body(request)
    await bottlenecks.withdraw(ctx_of(request), parse_withdrawal(raw), caller)
    return Response(status_code=204)


async def list_bottlenecks(request: Request) -> Response:
    check_parameters(request, API_PARAMETERS)
    ctx = ctx_of(request)
    limit = limit_param(request)
    offset = integer_param(request, "offset", 0, 0, 1_000_000)
    query = _agenda_query(dict(request.query_params), strict=True)
    found = await agenda.ranking(ctx, query, limit=limit, offset=offset)
    more = offset + limit < found.total
    return JSONResponse({
        "bottlenecks": [item_json(item, ctx.urls) for item in found.bottlenecks],
        "total": found.total,
        "next": next_url(request, "/api/bottlenecks", offset=offset + limit) if more else None,
    })


# --- pages -------------------------------------------------------------------------------------


def _links(query: AgendaQuery, paging: Paging) -> dict[str, str | None]:
    chosen = {k: v for k, v in vars(query).items() if v and k != "sort"}

    def url(number: int) -> str:
        params = {**chosen, **({"pagina": str(number)} if number > 1 else {})}
        return f"/knelpunten?{urlencode(params)}" if params else "/knelpunten"
    return {"prev": url(paging.page - 1) if paging.has_prev else None,
            "next": url(paging.page + 1) if paging.has_next else None}


@page
async def agenda_page(request: Request) -> Response:
    ctx = ctx_of(request)
    query = _agenda_query(dict(request.query_params), strict=False)
    number = page_number(request)
    found = await agenda.ranking(ctx, query, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    paging = Paging.of(number, found.total)
    return render(request, "knelpunten.html", agenda=found, query=query, paging=paging,
                  links=_links(query, paging), tally_of=tally_of,
                  national=ctx.settings.node.role == "aggregator",
                  first_rank=(number - 1) * PAGE_SIZE + 1,
                  regulation_areas=themes.REGULATION_AREAS)


def _endorse_path(iri: str, notice: str | None = None) -> str:
    return f"/knelpunten/onderschrijven?{urlencode({'id': iri, **({notice: '1'} if notice else {})})}"


async def _endorse_page(request: Request, iri: str, *, status: int = 200,
                        errors: dict[str, str] | None = None,
                        values: dict[str, str] | None = None) -> Response:
    web_session = await session.current(request)
    view = await agenda.endorse_view(ctx_of(request), iri,
                                     web_session.caller if web_session else None)
    notice = next((strings.text(f"endorse_{key}") for key in ("onderschreven", "ingetrokken")
                   if key in request.query_params), None)
    return render(request, "knelpunt_onderschrijven.html", status=status, endorse=view,
                  item=view.item, tally=tally_of(view.item), errors=errors or {},
                  values=values or {}, notice=notice, no_store=True,
                  regulation_areas=themes.REGULATION_AREAS)


@page
async def endorse_form(request: Request) -> Response:
    iri = (request.query_params.get("id") or "").strip()
    return await _endorse_page(request, iri)


@page
async def endorse_submit(request: Request) -> Response:
    caller, form = await session.signed_in_form(request)
    iri = form.get("id")
    values = {"as": form.get("as"), "note": form.get("note")}
    try:
        data = parse_endorsement({"item": iri, **values})
        await bottlenecks.endorse(ctx_of(request), data, caller)
    except ValidationError as exc:
        return await _endorse_page(request, iri, status=422, errors=forms.field_errors(exc),
                                   values=values)
    return RedirectResponse(_endorse_path(iri, "onderschreven"), status_code=303)


@page
async def withdraw_submit(request: Request) -> Response:
    caller, form = await session.signed_in_form(request)
    iri = form.get("id")
    data = parse_withdrawal({"item": iri, "as": form.get("as")})
    await bottlenecks.withdraw(ctx_of(request), data, caller)
    return RedirectResponse(_endorse_path(iri, "ingetrokken"), status_code=303)


routes: list[BaseRoute] = [
    Resource("/api/endorsements", post=create_endorsement, delete=delete_endorsement),
    Resource("/api/bottlenecks", get=list_bottlenecks),
    Route("/knelpunten", agenda_page, methods=["GET"]),
    Route("/knelpunten/onderschrijven", endorse_form, methods=["GET"]),
    Route("/knelpunten/onderschrijven", endorse_submit, methods=["POST"]),
    Route("/knelpunten/intrekken", withdraw_submit, methods=["POST"]),
]
