"""Notifications, derived: the rows events already left, read for the actors a user acts for.

Nothing is written when an event is applied: an answer is an ``objects`` row replying to a
local question, a new follower a ``follows`` row, an endorsement an ``endorsements`` row, an
accepted answer a question's ``fields.accepted_answer``. Each of those is unique already (the
inbox dedupes activities by id, and the rows by their keys), so a notification exists once
however often its activity arrives. Stored per user are only the marks (read, mailed) by the
notification's key, and the user's mail choice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from node.store import endorsements as endorsement_store
from node.store._rows import to_dataclass
from node.store._upsert import dialect_insert
from node.store.schema import (
    actors,
    follows,
    grants,
    mail_settings,
    notification_marks,
    objects,
    users,
)


@dataclass(frozen=True)
class Event:
    """One notification: ``kind`` answer | endorsement | follower | accepted."""

    key: str  # stable and unique: the read and mailed marks refer to it
    kind: str
    at: datetime  # when it happened here
    recipient: str  # the local actor it concerns
    actor: str  # who did it (the answerer, endorser, follower, the question's author)
    subject: str  # what to link to (the answer, bottleneck, follower, question)
    title: str | None  # the question's or bottleneck's title

    @property
    def key_hash(self) -> str:
        return hashlib.sha256(self.key.encode()).hexdigest()


@dataclass(frozen=True)
class MailChoice:
    user_id: int
    address: str
    mode: str  # none | immediate | daily
    since: datetime
    last_digest_at: datetime | None
    username: str
    role: str


async def answers(session: AsyncSession, recipients: Sequence[str], *, limit: int
                  ) -> list[Event]:
    """Replies by others to the local questions of ``recipients``, newest first."""
    answer, question = aliased(objects), aliased(objects)
    query = (select(answer.c.ap_id, answer.c.attributed_to, answer.c.received_at,
                    question.c.attributed_to.label("recipient"), question.c.title)
             .select_from(answer.join(question, question.c.ap_id == answer.c.in_reply_to))
             .where(question.c.attributed_to.in_(recipients), question.c.is_local.is_(True),
                    question.c.kind == "question", question.c.deleted_at.is_(None),
                    answer.c.deleted_at.is_(None), answer.c.hidden_at.is_(None),
                    answer.c.attributed_to.not_in(recipients))
             .order_by(answer.c.received_at.desc()).limit(limit))
    return [Event(f"answer:{r.ap_id}", "answer", r.received_at, r.recipient, r.attributed_to,
                  r.ap_id, r.title) for r in (await session.execute(query)).all()]


async def followers(session: AsyncSession, recipients: Sequence[str], *, limit: int
                    ) -> list[Event]:
    """Accepted follows of ``recipients`` by others, newest first (a follow again after an
    Undo is a new row, so a new notification)."""
    c = follows.c
    query = (select(c.id, c.follower, c.followee, c.created_at)
             .where(c.followee.in_(recipients), c.state == "accepted",
                    c.follower.not_in(recipients))
             .order_by(c.id.desc()).limit(limit))
    # The time too: SQLite may give a follow again after an Undo the id of the one it replaced.
    return [Event(f"follower:{r.id}:{r.created_at.isoformat()}", "follower", r.created_at,
                  r.followee, r.follower, r.follower, None)
            for r in (await session.execute(query)).all()]


async def endorsements(session: AsyncSession, recipients: Sequence[str], *, limit: int
                       ) -> list[Event]:
    """Active endorsements of the local bottlenecks of ``recipients``, newest first."""
    found = await endorsement_store.received(session, authors=recipients, limit=limit)
    return [Event(f"endorsement:{e.endorsement.id}:{e.endorsement.created_at.isoformat()}",
                  "endorsement", e.endorsement.created_at, e.bottleneck_author,
                  e.endorsement.actor, e.endorsement.object_ap_id, e.bottleneck_title)
            for e in found if e.endorsement.actor not in recipients]


async def accepted(session: AsyncSession, recipients: Sequence[str], *, limit: int
                   ) -> list[Event]:
    """Answers of ``recipients`` that a question (local or a copy) names as its accepted one."""
    answer, question = aliased(objects), aliased(objects)
    accepted_id = question.c.fields["accepted_answer"].as_string()
    query = (select(answer.c.ap_id, answer.c.attributed_to, question.c.ap_id.label("question"),
                    question.c.attributed_to.label("asker"), question.c.title,
                    question.c.updated)
             .select_from(answer.join(question, and_(accepted_id == answer.c.ap_id,
                                                     question.c.kind == "question")))
             .where(answer.c.attributed_to.in_(recipients), answer.c.deleted_at.is_(None),
                    question.c.deleted_at.is_(None), question.c.hidden_at.is_(None),
                    question.c.attributed_to.not_in(recipients))
             .order_by(question.c.updated.desc()).limit(limit))
    return [Event(f"accepted:{r.ap_id}", "accepted", r.updated, r.attributed_to, r.asker,
                  r.question, r.title) for r in (await session.execute(query)).all()]


async def granted_actors(session: AsyncSession, user_id: int) -> list[str]:
    """The live local initiatives granted to the user (the recipients of their notifications)."""
    query = (select(actors.c.ap_id).join(grants, grants.c.actor_id == actors.c.id)
             .where(grants.c.user_id == user_id, actors.c.is_local.is_(True),
                    actors.c.kind == "initiative", actors.c.deleted_at.is_(None))
             .order_by(actors.c.id))
    return [row[0] for row in (await session.execute(query)).all()]


# --- marks -------------------------------------------------------------------------------------


async def marked(session: AsyncSession, user_id: int, key_hashes: Sequence[str], *,
                 column: str) -> set[str]:
    """Which of ``key_hashes`` the user has a ``read_at`` / ``mailed_at`` mark for."""
    if not key_hashes:
        return set()
    c = notification_marks.c
    query = select(c.key_hash).where(c.user_id == user_id, c.key_hash.in_(list(key_hashes)),
                                     c[column].is_not(None))
    return {row[0] for row in (await session.execute(query)).all()}


async def mark(session: AsyncSession, user_id: int, key_hashes: Sequence[str], *, column: str,
               now: datetime) -> None:
    """Set the ``column`` mark (``read_at`` / ``mailed_at``) of each key, once."""
    c = notification_marks.c
    for key_hash in dict.fromkeys(key_hashes):
        stmt = dialect_insert(session, notification_marks).values(
            user_id=user_id, key_hash=key_hash, **{column: now})
        await session.execute(stmt.on_conflict_do_update(
            index_elements=["user_id", "key_hash"], set_={column: now},
            where=c[column].is_(None)))


# --- mail choices ------------------------------------------------------------------------------


def _choices() -> Select[Any]:
    return (select(mail_settings, users.c.username, users.c.role)
            .join(users, users.c.id == mail_settings.c.user_id)
            .where(users.c.disabled.is_(False)))


async def mail_choice(session: AsyncSession, user_id: int) -> MailChoice | None:
    row = (await session.execute(_choices().where(
        mail_settings.c.user_id == user_id))).mappings().first()
    return to_dataclass(MailChoice, row) if row else None


async def set_mail_choice(session: AsyncSession, user_id: int, *, address: str, mode: str,
                          now: datetime) -> None:
    """Save a user's choice; turning mail on (again) starts from ``now``: older notifications
    are never mailed."""
    before = await mail_choice(session, user_id)
    since = before.since if before is not None and before.mode == mode else now
    stmt = dialect_insert(session, mail_settings).values(
        user_id=user_id, address=address, mode=mode, since=since, last_digest_at=None)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=["user_id"], set_={"address": address, "mode": mode, "since": since}))


async def mail_choices(session: AsyncSession, mode: str) -> list[MailChoice]:
    query = _choices().where(mail_settings.c.mode == mode).order_by(mail_settings.c.user_id)
    return [to_dataclass(MailChoice, r) for r in (await session.execute(query)).mappings()]


async def digest_sent(session: AsyncSession, user_id: int, now: datetime) -> None:
    await session.execute(update(mail_settings).where(mail_settings.c.user_id == user_id)
                          .values(last_digest_at=now))
