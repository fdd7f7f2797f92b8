"""Notification mail (issue 11): each editor's choice — none, immediate, or a daily digest — sent
by the worker through the ``[mail]`` SMTP server with ``aiosmtplib``. Plain text, in Dutch.

- Without ``mail.host`` and ``mail.sender`` nothing is ever sent (``MailSettings.configured``).
- Each notification is mailed to a user once: after the SMTP server accepted the message, its
  key is marked ``mailed_at`` (``node.store.notifications.mark``). A crash between the two sends
  it again on the next run, never loses it; the ``Message-ID`` is derived from the key, so the
  copy is the same message to a mail client that dedupes.
- Turning mail on starts from that moment: older notifications are not mailed.
- The digest collects everything not yet mailed and goes out at most once per 24 hours.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib

from node.services.collections import authors_of
from node.services.context import NodeContext
from node.services.errors import ValidationError
from node.services.notifications import events
from node.services.permissions import Caller
from node.store import notifications as store
from node.store.actors import StoredActor
from node.store.notifications import Event, MailChoice

log = logging.getLogger("kennisknoop.mail")

MODES = ("none", "immediate", "daily")
JOB_KIND = "mail"
INTERVAL = timedelta(minutes=1)
DIGEST_EVERY = timedelta(hours=24)
_ADDRESS = re.compile(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+")

_SENTENCES = {
    "answer": "{actor} gaf een antwoord op de vraag van {recipient}: {title}",
    "endorsement": "{actor} loopt ook tegen het knelpunt van {recipient} aan: {title}",
    "follower": "{actor} volgt nu {recipient}.",
    "accepted": "Het antwoord van {recipient} is gekozen als beste antwoord op: {title}",
}
_SUBJECTS = {
    "answer": "Nieuw antwoord op een vraag van {recipient}",
    "endorsement": "{recipient}: iemand loopt ook tegen uw knelpunt aan",
    "follower": "{recipient} heeft een nieuwe volger",
    "accepted": "Het antwoord van {recipient} is gekozen",
}


class MailError(Exception):
    """The SMTP server did not take a message; it is sent again on the next run."""


@dataclass(frozen=True)
class MailSettingsView:
    configured: bool
    choice: MailChoice | None


def _name(actor: StoredActor | None, iri: str) -> str:
    return (actor.name or actor.preferred_username or iri) if actor is not None else iri


def sentence(event: Event, names: dict[str, StoredActor]) -> str:
    """One notification as a Dutch sentence, with the link to look at it."""
    text = _SENTENCES[event.kind].format(
        actor=_name(names.get(event.actor), event.actor),
        recipient=_name(names.get(event.recipient), event.recipient),
        title=event.title or "(zonder titel)")
    return f"{text}\n{event.subject}"


def _footer(ctx: NodeContext) -> str:
    base = ctx.settings.node.url.rstrip("/")
    return (f"\n\n-- \nU krijgt deze e-mail van {ctx.settings.node.name} omdat u dat zo hebt "
            f"ingesteld.\nAlle meldingen: {base}/meldingen\nE-mail wijzigen of uitzetten: "
            f"{base}/meldingen/email\n")


def _message(ctx: NodeContext, to: str, subject: str, body: str, message_key: str
             ) -> EmailMessage:
    message = EmailMessage()
    message["From"] = ctx.settings.mail.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(ctx.now())
    digest = hashlib.sha256(message_key.encode()).hexdigest()[:40]
    message["Message-ID"] = f"<{digest}@{ctx.urls.host.split(':')[0]}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    message.set_content(body + _footer(ctx))  # text/plain; charset=utf-8
    return message


async def _send(ctx: NodeContext, message: EmailMessage) -> None:
    mail = ctx.settings.mail
    try:
        await aiosmtplib.send(
            message, hostname=mail.host, port=mail.port, start_tls=mail.starttls,
            username=mail.username or None, password=mail.password or None, timeout=30)
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise MailError(f"{mail.host}:{mail.port}: {exc}") from exc


def _caller(choice: MailChoice) -> Caller:
    return Caller(user_id=choice.user_id, username=choice.username, role=choice.role)


async def _unmailed(ctx: NodeContext, choice: MailChoice
                    ) -> tuple[list[Event], dict[str, StoredActor]]:
    """The notifications of ``choice``'s user since mail was turned on, not yet mailed, oldest
    first, with the names of the actors in them."""
    async with ctx.db.sessions() as session:
        found = await events(session, _caller(choice), since=choice.since)
        mailed = await store.marked(session, choice.user_id, [e.key_hash for e in found],
                                    column="mailed_at")
        due = [e for e in reversed(found) if e.key_hash not in mailed]
        names = await authors_of(session, [i for e in due for i in (e.recipient, e.actor)])
    return due, names


async def _mailed(ctx: NodeContext, user_id: int, due: list[Event], *, digest: bool) -> None:
    async with ctx.db.transaction() as session:
        await store.mark(session, user_id, [e.key_hash for e in due], column="mailed_at",
                         now=ctx.now())
        if digest:
            await store.digest_sent(session, user_id, ctx.now())


async def _send_immediate(ctx: NodeContext, choice: MailChoice) -> int:
    due, names = await _unmailed(ctx, choice)
    for event in due:  # one message each, marked as soon as the server took it
        recipient = _name(names.get(event.recipient), event.recipient)
        subject = _SUBJECTS[event.kind].format(recipient=recipient)
        await _send(ctx, _message(ctx, choice.address, subject, sentence(event, names),
                                  f"{choice.user_id}:{event.key}"))
        await _mailed(ctx, choice.user_id, [event], digest=False)
    return len(due)


async def _send_digest(ctx: NodeContext, choice: MailChoice) -> int:
    if choice.last_digest_at is not None and ctx.now() - choice.last_digest_at < DIGEST_EVERY:
        return 0
    due, names = await _unmailed(ctx, choice)
    if not due:
        return 0
    count = "is er 1 nieuwe melding" if len(due) == 1 else f"zijn er {len(due)} nieuwe meldingen"
    intro = f"Sinds het vorige overzicht {count} op {ctx.settings.node.name}:\n\n"
    body = intro + "\n\n".join(f"- {sentence(e, names)}" for e in reversed(due))
    key = f"{choice.user_id}:digest:" + ",".join(e.key for e in due)
    await _send(ctx, _message(ctx, choice.address, f"Meldingen van {ctx.settings.node.name}",
                              body, key))
    await _mailed(ctx, choice.user_id, due, digest=True)
    return len(due)


async def send_due(ctx: NodeContext) -> int:
    """Mail what is due to every user who chose mail; the number of notifications mailed.
    Nothing at all without ``[mail]`` configured."""
    if not ctx.settings.mail.configured:
        return 0
    sent = 0
    async with ctx.db.sessions() as session:
        immediate = await store.mail_choices(session, "immediate")
        daily = await store.mail_choices(session, "daily")
    for choice, step in [*((c, _send_immediate) for c in immediate),
                         *((c, _send_digest) for c in daily)]:
        try:
            sent += await step(ctx, choice)
        except MailError as exc:  # this user's mail waits for the next run; the others go on
            log.warning("mail to user %s not sent: %s", choice.user_id, exc)
    return sent


# --- the settings page -------------------------------------------------------------------------


async def settings_of(ctx: NodeContext, caller: Caller) -> MailSettingsView:
    async with ctx.db.sessions() as session:
        choice = await store.mail_choice(session, caller.user_id)
    return MailSettingsView(ctx.settings.mail.configured, choice)


async def choose(ctx: NodeContext, caller: Caller, *, address: str, mode: str) -> None:
    """Save ``caller``'s mail choice; ValidationError for a bad mode or address."""
    address = address.strip()
    if mode not in MODES:
        raise ValidationError("bad_value", f"mode must be one of {', '.join(MODES)}",
                              field="mode")
    if mode != "none" and not address:
        raise ValidationError("missing_field", "an address is needed to receive mail",
                              field="address")
    if address and (len(address) > 320 or not _ADDRESS.fullmatch(address)):
        raise ValidationError("bad_value", "not an e-mail address", field="address")
    async with ctx.db.transaction() as session:
        await store.set_mail_choice(session, caller.user_id, address=address, mode=mode,
                                    now=ctx.now())
