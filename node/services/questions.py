"""The helpdesk: similar answered questions, the list of questions, answering and accepting.

Issue 11, "Asking" and "Answering" (docs/questions.md):

- :func:`similar_questions`: the questions this node knows (its own and received) that already
  have answers and resemble a text being typed, found with the Dutch search index (stemming,
  compounds); answered ones (an accepted answer) first, each with its accepted answer — else its
  first — before the others.
- :func:`list_questions`: every question, least answered first, then the ones waiting longest;
  filtered by theme, province and kind of question (``question_category``).
- :func:`answer_question`: an answer by a local initiative to any question this node holds; it
  is published to the answerer's followers and to the question's author, whose origin relays it.
- :func:`accept_answer`: the question's editors mark one answer accepted (or another one later).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from node.services import items, policy
from node.services.browse import Paging
from node.services.collections import authors_of, ordered_answers
from node.services.context import NodeContext
from node.services.errors import NotFoundError, ValidationError
from node.services.inputs import Patch
from node.services.items import theme_and_narrower
from node.services.permissions import Caller
from node.services.search_text import PART_MIN, stems
from node.services.validation import parse_item
from node.store import objects as object_store
from node.store import questions as question_store
from node.store import search as search_store
from node.store.actors import StoredActor
from node.store.blocks import HostRule
from node.store.objects import StoredObject
from node.store.questions import QuestionFilter
from node.store.search import SearchDoc, SearchFilter
from node.store.search_engines import TextMatch

STATES = ("open", "has_answers", "answered")  # by answer state (node.store.questions)
PAGE_SIZE = 20
MAX_ANSWERS = 200
SIMILAR_LIMIT = 5
SIMILAR_CANDIDATES = 50  # best-matching questions looked at, answered or not
SIMILAR_MAX_WORDS = 16  # distinct stems of the typed text searched for (title's first)
SIMILAR_MIN_SHARE = 0.25  # a suggestion scores at least this share of the best match
SIMILAR_WORD_SHARE = 0.25  # and shares at least this share of the asked words (see below)
MAX_SIMILAR_TEXT = 2000  # characters of typed text read


def state_name(state: int) -> str:
    return STATES[state]


# --- the list of questions ---------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionQuery:
    theme: str | None = None
    province: str | None = None
    category: str | None = None
    state: str | None = None  # one of STATES

    def chosen(self) -> dict[str, str]:
        return {name: value for name, value in vars(self).items() if value}


@dataclass(frozen=True)
class QuestionEntry:
    question: StoredObject
    state: str
    answer_count: int


@dataclass(frozen=True)
class QuestionListing:
    entries: list[QuestionEntry]
    authors: dict[str, StoredActor]
    paging: Paging


def _filter(query: QuestionQuery, hosts: HostRule) -> QuestionFilter:
    return QuestionFilter(
        themes_any=theme_and_narrower(query.theme) if query.theme else (),
        province=query.province, category=query.category,
        state=STATES.index(query.state) if query.state else None, hosts=hosts)


async def list_questions(ctx: NodeContext, query: QuestionQuery, page: int = 1,
                         size: int = PAGE_SIZE) -> QuestionListing:
    """One numbered page of questions, own and received: unanswered first, oldest first."""
    async with ctx.db.sessions() as session:
        f = _filter(query, await policy.rule(ctx, session))
        paging = Paging.of(page, await question_store.count(session, f), size)
        rows = await question_store.page(session, f, limit=size, offset=(page - 1) * size)
        authors = await authors_of(session, (r.question.attributed_to for r in rows))
    entries = [QuestionEntry(r.question, state_name(r.state), r.answer_count) for r in rows]
    return QuestionListing(entries, authors, paging)


@dataclass(frozen=True)
class AnsweredEntry:
    """A question with its answers (the accepted one first), for the API."""

    question: StoredObject
    state: str
    answer_count: int
    answers: list[StoredObject]


async def question_slice(ctx: NodeContext, query: QuestionQuery, *, offset: int, limit: int
                         ) -> tuple[list[AnsweredEntry], int]:
    """``limit`` questions from ``offset`` in the order of :func:`list_questions`, each with its
    answers, and how many there are in all."""
    async with ctx.db.sessions() as session:
        hosts = await policy.rule(ctx, session)
        f = _filter(query, hosts)
        total = await question_store.count(session, f)
        rows = await question_store.page(session, f, limit=limit, offset=offset)
        entries = [AnsweredEntry(r.question, state_name(r.state), r.answer_count,
                                 await answers_of(session, r.question, hosts)) for r in rows]
    return entries, total


# --- answers in order ----------------------------------------------------------------------------


async def answers_of(session: AsyncSession, question: StoredObject, hosts: HostRule
                     ) -> list[StoredObject]:
    return ordered_answers(question, await question_store.answers(
        session, question.ap_id, hosts, limit=MAX_ANSWERS))


# --- similar questions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SimilarQuestion:
    question: StoredObject
    state: str
    answer_count: int
    answers: list[StoredObject]  # the accepted (else the first) answer first
    score: float


def similar_units(text: str) -> tuple[tuple[str, ...], ...]:
    """The distinct stems of ``text`` to look for (stopwords dropped), at most
    SIMILAR_MAX_WORDS, in the order typed (a title is given first)."""
    unique = list(dict.fromkeys(stems(text[:MAX_SIMILAR_TEXT])))
    return tuple((s,) for s in unique[:SIMILAR_MAX_WORDS])


def _words_needed(asked: int) -> int:
    """How many of the asked words a similar question must share: all of one or two, else a
    quarter of them and at least two (one shared word, "molen", does not make two questions
    alike)."""
    return asked if asked <= 2 else max(2, round(asked * SIMILAR_WORD_SHARE))


def _shared_words(units: tuple[tuple[str, ...], ...], doc: SearchDoc) -> int:
    """How many of ``units`` (single stems) ``doc`` holds, as a word or a compound's part."""
    words = set(f"{doc.terms_title} {doc.terms_summary} {doc.terms_body}".split())
    parts = doc.terms_parts.split()
    return sum(1 for (stem, *_) in units if stem in words or (
        len(stem) >= PART_MIN and any(p.startswith(stem) for p in parts)))


async def similar_questions(ctx: NodeContext, text: str, *, limit: int = SIMILAR_LIMIT,
                            exclude: str | None = None) -> list[SimilarQuestion]:
    """Questions with answers that resemble ``text``: answered ones first, then by relevance.

    Any of the text's words may match (a question as typed is long; BM25 ranks the ones
    sharing more and rarer words higher); a candidate must share enough of the words
    (:func:`_words_needed`) and score at least SIMILAR_MIN_SHARE of the best one.
    """
    units = similar_units(text)
    if not units:
        return []
    async with ctx.db.sessions() as session:
        hosts = await policy.rule(ctx, session)
        found = await search_store.search(
            session, TextMatch(units, "any"), (),
            SearchFilter(doc_type="item", kind="question", hosts=hosts),
            limit=SIMILAR_CANDIDATES, offset=0)
        hits = [h for h in found.hits if h.doc.ap_id != exclude]
        if not hits:
            return []
        needed = _words_needed(len(units))
        hits = [h for h in hits if _shared_words(units, h.doc) >= needed]
        if not hits:
            return []
        best = max(h.score for h in hits)
        scores = {h.doc.ap_id: h.score for h in hits if h.score >= best * SIMILAR_MIN_SHARE}
        known = await question_store.states(session, list(scores), hosts)
        chosen = sorted((ap_id for ap_id, (state, _) in known.items() if state > 0),
                        key=lambda ap_id: (-known[ap_id][0], -scores[ap_id], ap_id))[:limit]
        out: list[SimilarQuestion] = []
        for ap_id in chosen:
            question = await object_store.get(session, ap_id)
            if question is None:
                continue
            state, count = known[ap_id]
            out.append(SimilarQuestion(question, state_name(state), count,
                                       await answers_of(session, question, hosts),
                                       scores[ap_id]))
    return out


async def similar_to_new(ctx: NodeContext, title: str, content: str) -> list[SimilarQuestion]:
    """:func:`similar_questions` of a question being asked: its title, then its text."""
    return await similar_questions(ctx, f"{title}\n{content}")


# --- answering and accepting -----------------------------------------------------------------------


async def question_for_answer(ctx: NodeContext, ref: str) -> StoredObject:
    """The live question ``ref`` (local id or IRI) names; raises NotFoundError or
    ValidationError ``question_deleted`` (nothing may answer a deleted question)."""
    async with ctx.db.sessions() as session:
        question = await items.resolve_item(session, ctx, ref)
        if not question.is_local and not (await policy.rule(ctx, session)).allows(question.host):
            raise NotFoundError("not_found", f"no item {ref!r}")
    if question.kind != "question":
        raise ValidationError("bad_value", "in_reply_to must name a question",
                              field="in_reply_to")
    if question.deleted:
        raise ValidationError("question_deleted", f"{question.ap_id} was deleted: it takes no "
                              "more answers", field="in_reply_to")
    return question


async def answer_question(ctx: NodeContext, question_ref: str, *, content: str,
                          initiative: str | None, caller: Caller) -> StoredObject:
    """Publish an answer by ``initiative`` (a local one ``caller`` may act for; None: the node,
    for admins) to a question this node holds, local or received."""
    question = await question_for_answer(ctx, question_ref)
    raw: dict[str, object] = {"kind": "answer", "content": content or None,
                              "in_reply_to": question.ap_id}
    if initiative:
        raw["initiative"] = initiative
    data = parse_item(raw)
    return await items.create_item(ctx, data, caller)


async def accept_answer(ctx: NodeContext, question_ref: str, answer: str | None,
                        caller: Caller) -> StoredObject:
    """Mark ``answer`` accepted on a local question (None: none is); the same one again
    changes nothing and publishes nothing."""
    return await items.update_item(ctx, question_ref, Patch({"accepted_answer": answer}), caller)

