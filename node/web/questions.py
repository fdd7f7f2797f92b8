"""The helpdesk pages (issue 11, "Asking" and "Answering"; docs/questions.md).

The JSON side, ``GET /api/questions/similar``, is ``node.web.questions_api``.

- ``GET /vragen``: every question the node knows, least answered and oldest first, filtered by
  theme, province and kind of question (``categorie``) and answer state (``stand``);
- ``GET /kennis/item?id=<IRI>``: the page of any item this node holds, its own or received (a
  question received from another node is answered here);
- ``POST /vragen/antwoord``: answer a question as one of one's initiatives;
- ``POST /vragen/accepteren``: the question's editors mark an answer accepted.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from node.services import agenda, collections, editing, questions
from node.services.errors import NotFoundError, PermissionDeniedError, ValidationError
from node.services.questions import QuestionQuery
from node.services.records import StoredObject
from node.web import forms, session, strings
from node.web.browse import page_number
from node.web.common import ctx_of
from node.web.pages import error_page, in_language, local_path, notice_of, page, render
from node.web.questions_api import page_url
from protocol import themes

# --- /vragen -------------------------------------------------------------------------------------

_QUERY_PARAMETERS = {"theme": "theme", "province": "province", "categorie": "category",
                     "stand": "state"}


def _choices(name: str) -> set[str]:
    if name == "theme":
        return {t.id for t in themes.all_themes()}
    return {"province": set(themes.PROVINCES), "category": set(themes.QUESTION_CATEGORIES),
            "state": set(questions.STATES)}[name]


def question_query(request: Request) -> QuestionQuery:
    """The filters of ``/vragen``; an unknown value is ignored (links are shared and edited)."""
    values: dict[str, str] = {}
    for param, name in _QUERY_PARAMETERS.items():
        raw = (request.query_params.get(param) or "").strip()
        value = raw.upper() if name == "province" else raw
        if value in _choices(name):
            values[name] = value
    return QuestionQuery(**values)


def _list_url(query: QuestionQuery, number: int) -> str:
    params = {param: getattr(query, name) for param, name in _QUERY_PARAMETERS.items()
              if getattr(query, name)}
    if number > 1:
        params["pagina"] = str(number)
    return "/vragen?" + urlencode(params) if params else "/vragen"


@page
async def questions_page(request: Request) -> Response:
    query = question_query(request)
    listing = await questions.list_questions(ctx_of(request), query, page_number(request))
    paging = listing.paging
    links = {"prev": _list_url(query, paging.page - 1) if paging.has_prev else None,
             "next": _list_url(query, paging.page + 1) if paging.has_next else None}
    options = {
        "category": [(v, in_language(label)) for v, label in themes.QUESTION_CATEGORIES.items()],
        "state": [(v, strings.text(f"question_state_{v}")) for v in questions.STATES]}
    return render(request, "questions.html", listing=listing, query=query, links=links,
                  options=options, page_url=page_url)


# --- item pages, answering, accepting ---------------------------------------------------------------


async def may_accept(request: Request, question: StoredObject) -> bool:
    """Whether the signed-in person may mark an answer of ``question`` accepted."""
    web_session = getattr(request.state, "web_session", None)
    if web_session is None or not question.is_local or question.kind != "question":
        return False
    local_id = ctx_of(request).urls.local_item_id(question.ap_id)
    if local_id is None:
        return False
    try:
        await editing.item_for_edit(ctx_of(request), local_id, web_session.caller)
    except PermissionDeniedError:
        return False
    return True


async def render_item(request: Request, view: collections.ItemView, *, status: int = 200,
                      answer_values: dict[str, str] | None = None,
                      answer_errors: dict[str, str] | None = None,
                      notice: str | None = None, **extra: Any) -> Response:
    """The page of an item (``item.html``); a question's with its answer form."""
    item = view.item
    web_session = getattr(request.state, "web_session", None)
    answer_as: list[Any] = []
    if web_session is not None and item.kind == "question":
        answer_as = await editing.editable_initiatives(ctx_of(request), web_session.caller)
    endorse = None
    if item.kind == "bottleneck":  # the endorse section (node.web.bottlenecks)
        endorse = await agenda.endorse_view(ctx_of(request), item.ap_id,
                                            web_session.caller if web_session else None)
    extra = {"canonical": item.ap_id, "endorse": endorse, "errors": {}, "values": {},
             "tally": agenda.tally_of(item), **extra}
    return render(request, "item.html", status=status, view=view, item=item,
                  alternate=item.ap_id, notice=notice, answer_as=answer_as,
                  may_use_node=web_session is not None and web_session.caller.is_admin,
                  may_accept=await may_accept(request, item),
                  answer_values=answer_values or {"content": "", "initiative": ""},
                  answer_errors=answer_errors or {}, no_store=web_session is not None,
                  **extra)


@page
async def item_copy_page(request: Request) -> Response:
    ctx = ctx_of(request)
    iri = (request.query_params.get("id") or "").strip()
    if ctx.urls.is_local(iri):
        return RedirectResponse(local_path(iri), status_code=303)
    web_session = getattr(request.state, "web_session", None)
    view = await collections.item_view_of(ctx, iri,
                                          web_session.caller if web_session else None)
    return await render_item(request, view, notice=notice_of(request))


def _back(question: StoredObject, notice: str) -> Response:
    url = page_url(question)
    return RedirectResponse(f"{url}{'&' if '?' in url else '?'}{notice}=1", status_code=303)


@page
async def answer(request: Request) -> Response:
    caller, form = await session.signed_in_form(request)
    ctx = ctx_of(request)
    try:
        question = await questions.question_for_answer(ctx, form.get("question"))
    except ValidationError as exc:
        if exc.reason != "question_deleted":
            raise
        return error_page(request, 422, "question_deleted")
    initiative = form.get("initiative") or None
    try:
        await questions.answer_question(ctx, question.ap_id, content=form.get("content"),
                                        initiative=initiative, caller=caller)
    except (ValidationError, NotFoundError) as exc:
        errors = (_answer_errors(exc) if isinstance(exc, ValidationError)
                  else {"initiative": strings.text("reason_initiative_bad_value")})
        view = await collections.item_view_of(ctx, question.ap_id)
        return await render_item(request, view, status=422, answer_errors=errors,
                                 answer_values={"content": form.get("content"),
                                                "initiative": initiative or ""})
    return _back(question, "beantwoord")


def _answer_errors(exc: ValidationError) -> dict[str, str]:
    errors = forms.field_errors(exc)
    # The form has one text field; a problem with anything else is about the answer as a whole.
    return {(name if name in ("content", "initiative") else "form"): message
            for name, message in errors.items()}


@page
async def accept(request: Request) -> Response:
    caller, form = await session.signed_in_form(request)
    ctx = ctx_of(request)
    question = await questions.accept_answer(ctx, form.get("question"),
                                             form.get("answer") or None, caller)
    return _back(question, "geaccepteerd")


routes: list[BaseRoute] = [
    Route("/vragen", questions_page, methods=["GET"]),
    Route("/vragen/antwoord", answer, methods=["POST"]),
    Route("/vragen/accepteren", accept, methods=["POST"]),
    Route("/kennis/item", item_copy_page, methods=["GET"]),
]
