"""Questions and their answers, read together: how far each question is answered, and lists.

A question's *answer state* is computed from the rows, never stored apart (so it cannot drift):

- ``0`` open: no live answer;
- ``1`` has answers: live answers (``in_reply_to`` = the question), none accepted;
- ``2`` answered: its ``accepted_answer`` names a live answer to it ("Beantwoord").

Answers of hosts the federation policy refuses, and answers an admin hid, do not count, as they
are not shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, and_, case, cast, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.store._rows import to_dataclass
from node.store.blocks import HostRule, visible
from node.store.objects import StoredObject
from node.store.schema import objects

OPEN, HAS_ANSWERS, ANSWERED = 0, 1, 2


@dataclass(frozen=True)
class QuestionFilter:
    themes_any: tuple[str, ...] = ()
    province: str | None = None
    category: str | None = None  # content | organisational | ethical
    state: int | None = None  # OPEN | HAS_ANSWERS | ANSWERED
    hosts: HostRule | None = None


def _live_answers(question: Any, hosts: HostRule | None) -> list[Any]:
    answers = objects.alias("answers")
    conds = [answers.c.in_reply_to == question.c.ap_id, answers.c.deleted_at.is_(None),
             answers.c.hidden_at.is_(None)]
    if hosts is not None:
        conds.append(visible(answers.c.host, answers.c.is_local, hosts))
    return [answers, conds]


def state_column(question: Any, hosts: HostRule | None) -> Any:
    """The answer state (OPEN, HAS_ANSWERS, ANSWERED) of the rows of ``question`` as SQL."""
    answers, conds = _live_answers(question, hosts)
    accepted = question.c.fields["accepted_answer"].as_string()
    is_accepted = exists().where(*conds, answers.c.ap_id == accepted)
    return case((and_(accepted.is_not(None), is_accepted), ANSWERED),
                (exists().where(*conds), HAS_ANSWERS), else_=OPEN)


def count_column(question: Any, hosts: HostRule | None) -> Any:
    answers, conds = _live_answers(question, hosts)
    return select(func.count()).select_from(answers).where(*conds).scalar_subquery()


def _conditions(f: QuestionFilter, state: Any) -> list[Any]:
    c = objects.c
    conds: list[Any] = [c.kind == "question", c.deleted_at.is_(None), c.hidden_at.is_(None)]
    if f.province:
        conds.append(c.province_code == f.province)
    if f.category:
        conds.append(func.coalesce(c.fields["question_category"].as_string(), "content")
                     == f.category)
    if f.hosts is not None:
        conds.append(visible(c.host, c.is_local, f.hosts))
    if f.themes_any:
        # themes is a JSON list; a LIKE on its text form with the quoted id is exact and portable.
        conds.append(or_(*[cast(c.themes, Text).like(f'%"{t}"%') for t in f.themes_any]))
    if f.state is not None:
        conds.append(state == f.state)
    return conds


@dataclass(frozen=True)
class QuestionRow:
    question: StoredObject
    state: int
    answer_count: int


async def page(session: AsyncSession, f: QuestionFilter, *, limit: int, offset: int = 0
               ) -> list[QuestionRow]:
    """Questions least answered first, then oldest first (the ones waiting longest on top)."""
    c = objects.c
    state = state_column(objects, f.hosts).label("answer_state")
    counted = count_column(objects, f.hosts).label("answer_count")
    query = (select(objects, state, counted).where(*_conditions(f, state_column(objects, f.hosts)))
             .order_by(state, c.published, c.id).limit(limit).offset(offset))
    rows = (await session.execute(query)).mappings().all()
    return [QuestionRow(to_dataclass(StoredObject, r), int(r["answer_state"]),
                        int(r["answer_count"])) for r in rows]


async def count(session: AsyncSession, f: QuestionFilter) -> int:
    query = select(func.count()).select_from(objects).where(
        *_conditions(f, state_column(objects, f.hosts)))
    return int((await session.execute(query)).scalar_one())


async def states(session: AsyncSession, ap_ids: Sequence[str], hosts: HostRule | None
                 ) -> dict[str, tuple[int, int]]:
    """``{question IRI: (answer state, live answers)}`` of those of ``ap_ids`` that are live
    questions."""
    if not ap_ids:
        return {}
    c = objects.c
    query = select(c.ap_id, state_column(objects, hosts), count_column(objects, hosts)).where(
        c.ap_id.in_(list(ap_ids)), c.kind == "question", c.deleted_at.is_(None))
    return {str(ap_id): (int(state), int(n))
            for ap_id, state, n in (await session.execute(query)).all()}


async def answers(session: AsyncSession, question: str, hosts: HostRule | None, *,
                  limit: int) -> list[StoredObject]:
    """The live answers to ``question``, oldest first."""
    c = objects.c
    conds = [c.in_reply_to == question, c.deleted_at.is_(None), c.hidden_at.is_(None)]
    if hosts is not None:
        conds.append(visible(c.host, c.is_local, hosts))
    query = select(objects).where(*conds).order_by(c.published, c.id).limit(limit)
    return [to_dataclass(StoredObject, r) for r in (await session.execute(query)).mappings()]
