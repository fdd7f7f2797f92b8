"""Notification mail through a real SMTP server on loopback (aiosmtpd), sent by the worker:
immediate and daily digest, each notification once, retried after a refusal, and no mail at all
without ``[mail]`` configured. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from node.config import Settings
from node.services import mail
from node.services.context import NodeContext
from node.services.follow import follow
from node.services.permissions import Caller
from node.worker import run_once
from tests.clock import Clock
from tests.node.conftest import BASE_URL, make_settings
from tests.node.services.test_notifications import editor_of
from tests.node.web import make_initiative, make_item
from tests.servers import free_port

MOLEN = f"{BASE_URL}/actors/dorpsmolen"
SENDER = "kennisknoop@drenthe.test"


@dataclass
class Inbox:
    """What the SMTP server accepted; ``refuse`` answers the next DATA with 451."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 Probeer het later nog eens"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp: tuple[Inbox, int]) -> Settings:
    return make_settings(tmp_path, database_url, mail__host="127.0.0.1", mail__port=smtp[1],
                         mail__starttls=False, mail__sender=SENDER)


@pytest.fixture
async def molenaar(ctx: NodeContext) -> Caller:
    await make_initiative(ctx, "dorpsmolen")
    for n in range(3):
        await make_initiative(ctx, f"volger{n}", name=f"Volger {n}")
    return await editor_of(ctx, "molenaar", "dorpsmolen")


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


async def worker_round(ctx: NodeContext, clock: Clock) -> None:
    clock.advance(mail.INTERVAL.total_seconds())
    await run_once(ctx)


async def test_immediate_mail_sends_each_notification_once(
        ctx: NodeContext, clock: Clock, smtp: tuple[Inbox, int], molenaar: Caller) -> None:
    inbox, _ = smtp
    await follow(ctx, MOLEN, as_handle="volger0")  # before mail was chosen: never mailed
    clock.advance(1)
    await mail.choose(ctx, molenaar, address="molenaar@example.org", mode="immediate")
    clock.advance(1)
    await follow(ctx, MOLEN, as_handle="volger1")
    await worker_round(ctx, clock)
    await worker_round(ctx, clock)  # nothing new: nothing sent again
    [message] = inbox.messages
    assert message["From"] == SENDER and message["To"] == "molenaar@example.org"
    assert message["Subject"] == "Dorpsmolen Reduzum heeft een nieuwe volger"
    assert message.get_content_type() == "text/plain"
    assert "Volger 1 volgt nu Dorpsmolen Reduzum." in body(message)
    assert f"{BASE_URL}/meldingen/email" in body(message)
    await follow(ctx, MOLEN, as_handle="volger2")
    await worker_round(ctx, clock)
    assert [m["Subject"] for m in inbox.messages][1:] == [
        "Dorpsmolen Reduzum heeft een nieuwe volger"]
    assert "Volger 2" in body(inbox.messages[1])


async def test_daily_digest_collects_and_waits_a_day(
        ctx: NodeContext, clock: Clock, smtp: tuple[Inbox, int], molenaar: Caller) -> None:
    inbox, _ = smtp
    await mail.choose(ctx, molenaar, address="molenaar@example.org", mode="daily")
    clock.advance(1)
    question = await make_item(ctx, "dorpsmolen", kind="question", title="Hoe begin je?")
    await make_item(ctx, "volger0", kind="answer", title=None, content="Zo.",
                    in_reply_to=question.ap_id)
    await follow(ctx, MOLEN, as_handle="volger1")
    await worker_round(ctx, clock)
    [digest] = inbox.messages
    assert digest["Subject"] == "Meldingen van BOKD Drenthe"
    text = body(digest)
    assert "zijn er 2 nieuwe meldingen" in text
    assert "Volger 0 gaf een antwoord op de vraag van Dorpsmolen Reduzum: Hoe begin je?" in text
    assert "Volger 1 volgt nu Dorpsmolen Reduzum." in text
    await follow(ctx, MOLEN, as_handle="volger2")
    await worker_round(ctx, clock)
    assert len(inbox.messages) == 1  # the next digest waits for its day
    clock.advance(mail.DIGEST_EVERY.total_seconds())
    await worker_round(ctx, clock)
    assert len(inbox.messages) == 2
    assert "is er 1 nieuwe melding" in body(inbox.messages[1])
    assert "Volger 2 volgt nu" in body(inbox.messages[1])
    assert "Volger 1" not in body(inbox.messages[1])


async def test_a_refused_mail_is_sent_on_the_next_round(
        ctx: NodeContext, clock: Clock, smtp: tuple[Inbox, int], molenaar: Caller) -> None:
    inbox, _ = smtp
    await mail.choose(ctx, molenaar, address="molenaar@example.org", mode="immediate")
    clock.advance(1)
    await follow(ctx, MOLEN, as_handle="volger1")
    inbox.refuse = 1
    await worker_round(ctx, clock)
    assert inbox.messages == []
    await worker_round(ctx, clock)
    assert len(inbox.messages) == 1
    await worker_round(ctx, clock)
    assert len(inbox.messages) == 1


@pytest.mark.parametrize("missing", ["mail__host", "mail__sender"])
async def test_no_mail_leaves_without_mail_configured(
        tmp_path: Path, database_url: str, smtp: tuple[Inbox, int], missing: str) -> None:
    from node.app import create_app
    from node.services.actors import ensure_node_actor
    from tests.clock import FAST_HASHER
    from tests.keys import pool_keygen

    values: dict[str, object] = {"mail__host": "127.0.0.1", "mail__port": smtp[1],
                                 "mail__starttls": False, "mail__sender": SENDER}
    values[missing] = ""
    clock = Clock()
    app = create_app(make_settings(tmp_path, database_url, **values), clock=clock,
                     keygen=pool_keygen(), password_hasher=FAST_HASHER)
    async with app.router.lifespan_context(app):
        ctx: NodeContext = app.state.ctx
        await ensure_node_actor(ctx)
        await make_initiative(ctx, "dorpsmolen")
        await make_initiative(ctx, "volger1")
        editor = await editor_of(ctx, "molenaar", "dorpsmolen")
        await mail.choose(ctx, editor, address="molenaar@example.org", mode="immediate")
        clock.advance(1)
        await follow(ctx, MOLEN, as_handle="volger1")
        await worker_round(ctx, clock)
        assert await mail.send_due(ctx) == 0
    assert smtp[0].messages == []
