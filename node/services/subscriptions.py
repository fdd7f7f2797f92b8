"""Inbound feeds: an initiative subscribed to an RSS or Atom feed (docs/bridges.md).

A subscription is a durable job (``kind="feed"``, one per initiative and URL) whose payload holds
the feed's URL, the kind and themes its entries get, the validators of the last answer (``ETag``,
``Last-Modified``) and every entry seen so far: its id, the item it became, a hash of what it
said, and the item version the feed last wrote. The worker fetches a subscription at once, then
every ``feeds.poll_seconds``, through the guarded client with a conditional GET; a fetch that
fails is retried with back-off (the job's ``attempts`` and ``last_error`` are what the admin
sees in ``GET /api/feeds``).

Each new entry becomes an item by the initiative, published and federated like any other,
linking to the original. An entry whose text changed updates its item — unless someone edited
the item here since (its version is no longer the one the feed wrote): a local edit is never
overwritten. An entry that leaves the feed is left alone, and an item deleted here is never
re-created, because the entry stays in the list of seen entries. The entry's HTML is reduced to
text (paragraphs kept) and becomes the item's Markdown source, so it is sanitised as every item
is.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import feedparser  # type: ignore[import-untyped]
import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from node.remote import RemoteError
from node.services import items as item_service
from node.services.actors import resolve_local
from node.services.content import escape_markdown, plain_text_from_html
from node.services.context import NodeContext
from node.services.errors import ConflictError, GoneError, NotFoundError, ValidationError
from node.services.inputs import FeedInput, item_input
from node.services.permissions import SYSTEM, Caller, require_actor_edit
from node.services.validation import parse_item_patch
from node.store import jobs as job_store
from node.store import objects as object_store
from node.store.jobs import Job
from node.store.objects import StoredObject

log = logging.getLogger("kennisknoop.feeds")

JOB_KIND = "feed"
MAX_FEED_BYTES = 2_000_000
MAX_ENTRIES = 100  # entries read from one answer (feeds hold their newest few dozen)
TIMEOUT_SECONDS = 20.0
_WITH_ATTACHMENTS = ("guide", "template")  # a story or bottleneck has none
ACCEPT = ("application/atom+xml, application/rss+xml;q=0.9, application/xml;q=0.8, "
          "text/xml;q=0.8, */*;q=0.1")
_BLOCK_END = re.compile(r"(?i)</p\s*>|<br\s*/?>|</li\s*>|</h[1-6]\s*>|</div\s*>|</blockquote\s*>")


class FeedError(Exception):
    """A fetch that did not give a feed: retried later with back-off."""


@dataclass(frozen=True)
class Subscription:
    id: str
    url: str
    actor: str
    handle: str
    kind: str
    themes: list[str]
    state: str
    failures: int
    last_error: str | None
    next_fetch: datetime
    last_fetched: str | None
    entries: int


def subscription_id(actor_ap_id: str, url: str) -> str:
    return hashlib.sha256(f"{actor_ap_id} {url}".encode()).hexdigest()[:32]


def entry_item_id(job_key: str, entry_id: str) -> str:
    """The local id of the item an entry becomes: fixed by the subscription and the entry's id,
    so two fetches of one feed running at once cannot both store it (the second one's insert
    is refused by the unique IRI). Same shape as a random id (16 hex digits)."""
    return hashlib.sha256(f"{job_key} {entry_id}".encode()).hexdigest()[:16]


def _key(sub_id: str) -> str:
    return f"{JOB_KIND}:{sub_id}"


def _subscription(job: Job) -> Subscription:
    p = job.payload
    return Subscription(
        id=job.key.removeprefix(f"{JOB_KIND}:"), url=p["url"], actor=p["actor"],
        handle=p["handle"], kind=p["kind"], themes=list(p.get("themes") or []), state=job.state,
        failures=job.attempts, last_error=job.last_error, next_fetch=job.next_attempt_at,
        last_fetched=p.get("last_fetched"), entries=len(p.get("entries") or {}))


async def subscribe(ctx: NodeContext, data: FeedInput, caller: Caller) -> Subscription:
    """Subscribe a local initiative (one its editor may edit); fetched by the worker at once."""
    async with ctx.db.transaction() as session:
        actor = await resolve_local(session, ctx, data.as_)
        if actor.kind not in ("initiative", "node"):
            raise ValidationError("bad_value", "as: name an initiative of this node", field="as")
        if actor.deleted:
            raise GoneError("gone", f"{data.as_!r} was deleted")
        await require_actor_edit(session, caller, actor)
        sub_id = subscription_id(actor.ap_id, data.url)
        if await job_store.get(session, _key(sub_id)) is None:
            await job_store.schedule(session, kind=JOB_KIND, key=_key(sub_id), now=ctx.now(),
                                     payload={"url": data.url, "actor": actor.ap_id,
                                              "handle": actor.handle or data.as_,
                                              "kind": data.kind, "themes": list(data.themes),
                                              "entries": {}})
        job = await job_store.get(session, _key(sub_id))
    assert job is not None
    return _subscription(job)


async def list_subscriptions(ctx: NodeContext) -> list[Subscription]:
    async with ctx.db.sessions() as session:
        return [_subscription(j) for j in await job_store.list_kind(session, JOB_KIND)]


async def unsubscribe(ctx: NodeContext, sub_id: str, caller: Caller) -> None:
    """Stop fetching a feed; the items it gave stay."""
    async with ctx.db.transaction() as session:
        job = await job_store.get(session, _key(sub_id))
        if job is None:
            raise NotFoundError("not_found", f"no feed subscription {sub_id!r}")
        actor = await resolve_local(session, ctx, job.payload["handle"])
        await require_actor_edit(session, caller, actor)
        await job_store.delete(session, _key(sub_id))


# --- fetching ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Answer:
    body: bytes
    etag: str | None
    last_modified: str | None


async def _get(ctx: NodeContext, payload: dict[str, Any]) -> _Answer | None:
    """The feed's bytes and validators, or None when it has not changed (304)."""
    headers = {"Accept": ACCEPT}
    if payload.get("etag"):
        headers["If-None-Match"] = payload["etag"]
    if payload.get("last_modified"):
        headers["If-Modified-Since"] = payload["last_modified"]
    try:
        # The scheme, credentials and federation policy first; private addresses are refused
        # by the guarded transport itself, for a redirect's target too.
        await ctx.remote.check_url(payload["url"])
        async with ctx.remote.http.stream("GET", payload["url"], headers=headers,
                                   timeout=TIMEOUT_SECONDS, follow_redirects=True) as response:
            if response.status_code == 304:
                return None
            if response.status_code != 200:
                raise FeedError(f"HTTP {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_FEED_BYTES:
                    raise FeedError(f"larger than {MAX_FEED_BYTES} bytes")
            return _Answer(bytes(body), response.headers.get("etag"),
                           response.headers.get("last-modified"))
    except (httpx.HTTPError, RemoteError) as exc:
        raise FeedError(f"{type(exc).__name__}: {exc}") from exc


def _markdown(html: str, link: str | None) -> str:
    paragraphs = [plain_text_from_html(part) for part in _BLOCK_END.split(html)]
    text = "\n\n".join(p for p in paragraphs if p)
    # Text, not markup: Markdown's own characters are escaped so the entry reads as written.
    text = escape_markdown(text)
    if link:
        text += f"\n\n[Lees het origineel]({link})"
    return text[:50_000]


def _entry_values(entry: Any) -> tuple[str, dict[str, Any]] | None:
    """(entry id, item fields) of a feed entry; None for an entry without id or text."""
    link = entry.get("link") if str(entry.get("link") or "").startswith(("http://", "https://")) \
        else None
    entry_id = str(entry.get("id") or link or "")
    title = plain_text_from_html(str(entry.get("title") or ""))[:300]
    contents = entry.get("content") or []
    html = str(contents[0].get("value") if contents else entry.get("summary") or "")
    if not entry_id or not (title or html):
        return None
    values: dict[str, Any] = {"title": title or None, "content": _markdown(html, link)}
    summary = plain_text_from_html(str(entry.get("summary") or ""))[:500] if contents else ""
    if summary:
        values["summary"] = summary
    if link:
        values["attachments"] = [{"url": link[:2000], "name": "Origineel"}]
    return entry_id, values


async def _stored_entries(session: AsyncSession, key: str, *, for_update: bool = False
                          ) -> dict[str, list[Any]]:
    job = await job_store.get(session, key, for_update=for_update)
    return dict(job.payload.get("entries") or {}) if job is not None else {}


def _digest(values: dict[str, Any]) -> str:
    return hashlib.sha256(repr(sorted(values.items())).encode()).hexdigest()


async def fetch(ctx: NodeContext, job: Job) -> dict[str, Any]:
    """Fetch a subscription's feed once and apply its entries; the job's new payload.

    Raises FeedError when the feed cannot be read (the worker retries with back-off).
    """
    payload = dict(job.payload)
    answer = await _get(ctx, payload)
    payload["last_fetched"] = ctx.now().isoformat()
    if answer is None:
        return payload
    parsed = feedparser.parse(answer.body)
    if parsed.bozo and not parsed.entries:
        raise FeedError(f"not a feed: {parsed.get('bozo_exception')}")
    entries: dict[str, list[Any]] = dict(payload.get("entries") or {})

    def marking(entry_id: str, digest: str) -> item_service.WithinTransaction:
        # An entry's "seen" mark commits in the transaction of the item it writes: a crash
        # between two entries (or a retry of the fetch) neither doubles nor loses an item.
        # The marks stored meanwhile (by a fetch of the same feed running at once) are kept:
        # the row is read locked and merged, never overwritten with this fetch's older view.
        async def mark(session: AsyncSession, item: StoredObject) -> None:
            entries.update(await _stored_entries(session, job.key, for_update=True))
            entries[entry_id] = [item.ap_id, digest, item.version]
            await job_store.set_payload(session, job.key, {**payload, "entries": entries})
        return mark

    for entry in reversed(parsed.entries[:MAX_ENTRIES]):  # oldest first: items in feed order
        found = _entry_values(entry)
        if found is None:
            continue
        entry_id, values = found
        digest = _digest(values)
        seen = entries.get(entry_id)
        if seen is None:
            if payload["kind"] not in _WITH_ATTACHMENTS:  # the link stays in the text
                values = {k: v for k, v in values.items() if k != "attachments"}
            data = item_input(kind=payload["kind"], initiative=payload["handle"],
                              themes=payload.get("themes") or [], **values)
            try:
                await item_service.create_item(ctx, data, SYSTEM, within=marking(entry_id, digest),
                                               local_id=entry_item_id(job.key, entry_id))
            except ConflictError as exc:
                if exc.reason != "item_exists":
                    raise
                # Another fetch of this feed stored the entry's item (and its mark) first.
                async with ctx.db.sessions() as session:
                    entries.update(await _stored_entries(session, job.key))
        elif seen[1] != digest:
            await _update(ctx, seen, values, marking(entry_id, digest))
    async with ctx.db.sessions() as session:  # what a concurrent fetch marked stays marked
        stored = await _stored_entries(session, job.key)
    payload["entries"] = {**entries, **stored}  # every mark of this fetch is in ``stored``
    payload["etag"] = answer.etag
    payload["last_modified"] = answer.last_modified
    return payload


async def _update(ctx: NodeContext, seen: list[Any], values: dict[str, Any],
                  mark: item_service.WithinTransaction) -> None:
    ap_id, _, version = seen
    async with ctx.db.sessions() as session:
        item = await object_store.get(session, ap_id)
    if item is None or item.deleted or item.version != version:
        return  # deleted here, or edited here since: the feed never overrides that
    changes = {"title": values.get("title"), "summary": values.get("summary"),
               "content": values["content"]}
    await item_service.update_item(ctx, ap_id, parse_item_patch(changes, item.kind), SYSTEM,
                                   within=mark)
