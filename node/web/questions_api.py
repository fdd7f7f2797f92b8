"""``GET /api/questions/similar?q=…`` (answered questions like a text being typed) and
``GET /api/questions`` (every question, least answered first, as ``/vragen`` lists them).

The question form's script (``/static/similar.js``) reads it while typing; without the script
the form shows the same list on the first submit (docs/questions.md). The answer is described
by the pydantic model :class:`SimilarQuestions`, which also gives its schema to the OpenAPI
document. Nothing here imports ``node.web.api`` at import time (it imports this module).
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from node.services import questions
from node.services.errors import ValidationError
from node.services.questions import SimilarQuestion
from node.services.records import StoredObject
from node.web.common import JSONResponse, ctx_of
from node.web.pages import local_path
from node.web.representations import item_json
from protocol import themes

SIMILAR_PARAMETERS = ("q", "limit")
MAX_SIMILAR_QUERY = questions.MAX_SIMILAR_TEXT
MAX_SIMILAR_LIMIT = 20


class SimilarAnswer(BaseModel):
    id: str = Field(description="The answer's IRI.")
    initiative: str = Field(description="Its author (actor IRI).")
    content_html: str = Field(description="Sanitised HTML.")
    published: str = Field(description="When it was given (UTC).")
    accepted: bool = Field(description="Whether the question's author accepted it.")


class SimilarHit(BaseModel):
    id: str = Field(description="The question's IRI.")
    title: str
    url: str = Field(description="Its page on this node.")
    origin: str = Field(description="The node it comes from.")
    province: str | None
    category: str = Field(description="Kind of question: content, organisational or ethical.")
    state: Literal["has_answers", "answered"] = Field(
        description="`answered`: it has an accepted answer.")
    answer_count: int
    answers: list[SimilarAnswer] = Field(
        description="The accepted answer first (else the first one given), then the others.")


class SimilarQuestions(BaseModel):
    questions: list[SimilarHit] = Field(
        description="Answered questions first, then by relevance; only questions with answers.")


def page_url(question: StoredObject) -> str:
    """Where this node shows a question: its own page, or the page of its received copy."""
    if question.is_local:
        return local_path(question.ap_id)
    return "/kennis/item?" + urlencode({"id": question.ap_id})


def _iso(value: Any) -> str:
    return str(value.strftime("%Y-%m-%dT%H:%M:%SZ"))


def similar_json(found: list[SimilarQuestion]) -> SimilarQuestions:
    return SimilarQuestions(questions=[SimilarHit(
        id=s.question.ap_id, title=s.question.title or "", url=page_url(s.question),
        origin=s.question.host, province=s.question.province_code,
        category=s.question.fields.get("question_category") or "content",
        state="answered" if s.state == "answered" else "has_answers",
        answer_count=s.answer_count,
        answers=[SimilarAnswer(
            id=a.ap_id, initiative=a.attributed_to, content_html=a.content_html or "",
            published=_iso(a.published),
            accepted=a.ap_id == s.question.fields.get("accepted_answer"))
            for a in s.answers]) for s in found])


async def similar_api(request: Request) -> Response:
    from node.web.api import check_parameters, integer_param

    check_parameters(request, SIMILAR_PARAMETERS)
    q = request.query_params.get("q") or ""
    if len(q) > MAX_SIMILAR_QUERY:
        raise ValidationError("too_long", f"q: at most {MAX_SIMILAR_QUERY} characters", field="q")
    limit = integer_param(request, "limit", questions.SIMILAR_LIMIT, 1, MAX_SIMILAR_LIMIT)
    found = await questions.similar_questions(ctx_of(request), q, limit=limit)
    return JSONResponse(similar_json(found).model_dump(mode="json"))


# --- GET /api/questions ------------------------------------------------------------------------

QUESTION_LIST_PARAMETERS = ("theme", "province", "category", "state", "limit", "offset")


def _choice(request: Request, name: str, allowed: set[str]) -> str | None:
    raw = (request.query_params.get(name) or "").strip()
    value = raw.upper() if name == "province" else raw
    if value and value not in allowed:
        raise ValidationError("bad_value", f"{name}: must be one of "
                              f"{', '.join(sorted(allowed))}", field=name)
    return value or None


async def list_questions_api(request: Request) -> Response:
    from node.web.api import check_parameters, integer_param, limit_param, next_url

    check_parameters(request, QUESTION_LIST_PARAMETERS)
    query = questions.QuestionQuery(
        theme=_choice(request, "theme", {t.id for t in themes.all_themes()}),
        province=_choice(request, "province", set(themes.PROVINCES)),
        category=_choice(request, "category", set(themes.QUESTION_CATEGORIES)),
        state=_choice(request, "state", set(questions.STATES)))
    limit = limit_param(request)
    offset = integer_param(request, "offset", 0, 0, 1_000_000)
    ctx = ctx_of(request)
    entries, total = await questions.question_slice(ctx, query, offset=offset, limit=limit)
    more = offset + limit < total
    return JSONResponse({
        "questions": [{"question": item_json(e.question, ctx.urls), "state": e.state,
                       "answer_count": e.answer_count,
                       "answers": [item_json(a, ctx.urls) for a in e.answers]}
                      for e in entries],
        "total": total,
        "next": next_url(request, "/api/questions", offset=offset + limit) if more else None})
