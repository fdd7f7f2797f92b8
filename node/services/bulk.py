"""Batched writes: many items with their activities, deliveries, feed entries and search entries
in one transaction, with a few statements per batch instead of a few dozen per item.

Used by ``kennisknoop import`` (``create_items``) and by backfill (``node.services.sync``,
through ``Publisher``). Each item is still made exactly as ``items.create_item`` makes it — the
same columns, the same signed document, the same Create, the same relaying Announces (the node
actor for an initiative's item, the theme feeds for their themes, a local question's initiative
for an answer from another initiative), delivered to the same inboxes and feeds — only written
together: the documents are signed before the transaction, which then holds the write lock only
for the inserts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from node.services import policy
from node.services.context import NodeContext
from node.services.delivery import inbox_of
from node.services.documents import KIND_TYPES, activity_document, item_document, sign
from node.services.errors import ValidationError
from node.services.inputs import ItemInput
from node.services.items import author_of, new_item_values
from node.services.outbox import announcers
from node.services.permissions import Caller, require_actor_edit
from node.services.search_index import index_items
from node.services.texts import Source, Texts, texts_many
from node.services.urls import new_local_id
from node.store import activities as activity_store
from node.store import actors as actor_store
from node.store import deliveries as delivery_store
from node.store import feed as feed_store
from node.store import follows as follow_store
from node.store import objects as object_store
from node.store.actors import StoredActor
from node.store.blocks import HostRule
from node.store.objects import StoredObject
from protocol.origin import authority_of


@dataclass
class _Pending:
    actor: StoredActor
    ap_id: str
    object_id: str | None  # the item the feeds get
    recipients: list[StoredActor]
    followers: bool


@dataclass
class Publisher:
    """Activities signed now and written later, together, by :meth:`write`.

    ``publish`` is ``outbox.publish_activity`` for a batch: the same document, signed at once;
    the followers it goes to are read by ``write``, inside the transaction that stores it.
    """

    ctx: NodeContext
    node: StoredActor | None = None
    feeds: list[StoredActor] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    pending: list[_Pending] = field(default_factory=list)

    @classmethod
    async def load(cls, ctx: NodeContext, session: AsyncSession) -> Publisher:
        """A publisher knowing this node's relays (its actor and theme feeds)."""
        return cls(ctx, await actor_store.get_node(session),
                   await actor_store.list_local(session, kind="theme"))

    def publish(self, *, actor: StoredActor, type: str, obj: dict[str, Any] | str,
                cc: list[str] | None = None, recipients: list[StoredActor] | None = None,
                followers: bool = True, now: datetime | None = None,
                stored: bool = False) -> dict[str, Any]:
        """Sign one activity by ``actor`` and queue it (and its deliveries) for ``write``;
        ``stored``: ``obj`` is the document its object is stored with (in this batch), so the
        activity refers to it instead of holding a copy (``activity_store.insert_many``)."""
        now = now or self.ctx.now()
        ap_id = self.ctx.urls.activity(new_local_id())
        document = sign(activity_document(ap_id=ap_id, type=type, actor=actor, obj=obj,
                                          published=now, cc=cc), actor, now, share=True)
        object_id = obj if isinstance(obj, str) else obj.get("id")
        self.rows.append({"ap_id": ap_id, "actor": actor.ap_id, "type": type,
                          "object_ap_id": object_id, "published": now, "document": document,
                          "embedded": obj if stored else None})
        self.pending.append(_Pending(actor, ap_id, object_id if isinstance(object_id, str)
                                     else None, list(recipients or []), followers))
        return document

    def relay(self, author_kind: str, themes: list[str], relayed: dict[str, Any],
              now: datetime | None = None, stored: bool = False) -> None:
        """Announce ``relayed`` as ``outbox.announcers`` decides (a Create's object)."""
        for announcer in announcers(author_kind, themes, node=self.node if author_kind ==
                                    "initiative" else None, feeds=self.feeds if themes else []):
            self.publish(actor=announcer, type="Announce", obj=relayed, now=now, stored=stored)

    async def write(self, session: AsyncSession) -> None:
        """Store every queued activity, its deliveries and its feed entries: three statements
        and one query per distinct actor's followers."""
        if not self.rows:
            return
        now = self.ctx.now()
        hosts = await policy.rule(self.ctx, session)
        audiences: dict[str, list[StoredActor]] = {}
        delivery_rows: list[dict[str, Any]] = []
        feed_rows: list[dict[str, Any]] = []
        for item in self.pending:
            audience: list[StoredActor] = []
            if item.followers:
                if item.actor.ap_id not in audiences:
                    audiences[item.actor.ap_id] = await follow_store.follower_actors(
                        session, item.actor.ap_id, hosts=hosts)
                audience = audiences[item.actor.ap_id]
            delivery_rows += _deliveries(item, [*audience, *item.recipients], hosts, now)
            owners = [a.ap_id for a in [*audience, *item.recipients]
                      if a.is_local and a.ap_id != item.actor.ap_id]
            if item.object_id and owners:
                feed_rows += [{"owner": o, "object_ap_id": item.object_id,
                               "via": item.actor.ap_id, "created_at": now}
                              for o in dict.fromkeys(owners)]
        await activity_store.insert_many(session, self.rows)
        await delivery_store.enqueue_rows(session, delivery_rows)
        await feed_store.add_rows(session, feed_rows)
        self.rows, self.pending = [], []


def _deliveries(item: _Pending, recipients: list[StoredActor], hosts: HostRule,
                now: datetime) -> list[dict[str, Any]]:
    """``delivery.fan_out``'s rows for one activity: one per remote inbox the policy allows."""
    inboxes: dict[str, str] = {}
    for recipient in recipients:
        if recipient.is_local:
            continue
        inbox = inbox_of(recipient)
        if inbox and hosts.allows(authority_of(inbox)):
            inboxes.setdefault(inbox, authority_of(inbox))
    return [{"activity_ap_id": item.ap_id, "inbox_url": url, "host": host,
             "signer": item.actor.ap_id, "state": "pending", "attempts": 0, "created_at": now,
             "next_attempt_at": now} for url, host in inboxes.items()]


# --- creating many items -------------------------------------------------------------------------


@dataclass(frozen=True)
class NewItem:
    """An item to create under an IRI chosen beforehand (so later rows can point at it)."""

    ap_id: str
    data: ItemInput


@dataclass(frozen=True)
class _Question:
    ap_id: str
    kind: str
    is_local: bool
    deleted: bool
    attributed_to: str


def new_item_iri(ctx: NodeContext) -> str:
    return ctx.urls.item(new_local_id())


def sources(batch: Sequence[NewItem]) -> list[Source]:
    """What ``node.services.texts`` prepares each item of ``batch`` from."""
    return [(new.data.title, new.data.summary, new.data.content or "") for new in batch]


async def create_items(ctx: NodeContext, batch: list[NewItem], caller: Caller, *,
                       texts: Sequence[Texts] | None = None) -> None:
    """Create ``batch`` (in order) as ``items.create_item`` creates each, in one transaction.

    An answer may reply to a question earlier in the same batch. Nothing is stored if any item
    fails (its author gone, its question deleted). ``texts``: the items' texts prepared
    beforehand (``texts_many(sources(batch))``, in a worker process); else prepared here.
    """
    if not batch:
        return
    prepared = list(texts) if texts is not None else texts_many(sources(batch))
    if len(prepared) != len(batch):
        raise ValueError(f"{len(prepared)} texts for {len(batch)} items")
    async with ctx.db.sessions() as session:
        publisher = await Publisher.load(ctx, session)
        authors: dict[str | None, StoredActor] = {}
        for new in batch:
            ref = new.data.initiative
            if ref not in authors:
                authors[ref] = await author_of(session, ctx, ref)
                await require_actor_edit(session, caller, authors[ref])
        targets = {q for new in batch if (q := getattr(new.data, "in_reply_to", None))}
        questions = {o.ap_id: _Question(o.ap_id, o.kind, o.is_local, o.deleted, o.attributed_to)
                     for o in (await object_store.get_many(session, sorted(targets))).values()}
        askers = {q.attributed_to: await actor_store.get(session, q.attributed_to)
                  for q in questions.values()}
    objects, docs = _build(ctx, batch, prepared, authors, questions, askers, publisher)
    answered = sorted(targets | {o.ap_id for o in docs if o.kind == "question"})
    terms = {new.ap_id: text.terms for new, text in zip(batch, prepared, strict=True)}
    async with ctx.db.transaction() as session:
        await object_store.insert_many(session, objects)
        await index_items(session, docs, answered, terms)
        await publisher.write(session)


def _build(ctx: NodeContext, batch: list[NewItem], texts: list[Texts],
           authors: dict[str | None, StoredActor], questions: dict[str, _Question],
           askers: dict[str, StoredActor | None], publisher: Publisher
           ) -> tuple[list[dict[str, Any]], list[StoredObject]]:
    """The object rows and their stored form; the activities queued on ``publisher``."""
    rows: list[dict[str, Any]] = []
    stored: list[StoredObject] = []
    by_iri = {a.ap_id: a for a in authors.values()}
    for new, text in zip(batch, texts, strict=True):
        data, now = new.data, ctx.now()
        author = authors[data.initiative]
        in_reply_to = getattr(data, "in_reply_to", None)
        question = questions.get(in_reply_to) if in_reply_to else None
        if question is not None and question.deleted:
            raise ValidationError("question_deleted", f"{in_reply_to} was deleted: it takes no "
                                  "more answers", field="in_reply_to")
        if question is not None and question.kind != "question":
            raise ValidationError("bad_value", "in_reply_to must name a question",
                                  field="in_reply_to")
        values = new_item_values(ctx, data, author, in_reply_to, text)
        document = sign(item_document(
            ap_id=new.ap_id, kind=data.kind, author=author, values=values, version=1,
            published=now, updated=now,
            replying_to=question.attributed_to if question else None), author, now, share=True)
        row = {"ap_id": new.ap_id, "is_local": True, "host": ctx.urls.host, "kind": data.kind,
               "type": KIND_TYPES[data.kind], "attributed_to": author.ap_id, "version": 1,
               "published": now, "updated": now, "received_at": now, "document": document,
               **values}
        rows.append(row)
        stored.append(StoredObject(id=0, deleted_at=None, **{
            k: v for k, v in row.items() if k in StoredObject.__dataclass_fields__}))
        if data.kind == "question":  # a later answer in this batch replies to it
            questions[new.ap_id] = _Question(new.ap_id, "question", True, False, author.ap_id)
        asker = askers.get(question.attributed_to) if question else None
        remote_asker = [asker] if question is not None and not question.is_local and \
            asker is not None and not asker.deleted else []
        publisher.publish(actor=author, type="Create", obj=document, cc=document["cc"],
                          recipients=remote_asker, now=now, stored=True)
        publisher.relay(author.kind, list(data.themes), document, now=now, stored=True)
        if question is not None and question.is_local and \
                question.attributed_to != author.ap_id:
            # items._relay_local_answer: the question's initiative relays the answer too
            local_asker = askers.get(question.attributed_to) or by_iri.get(
                question.attributed_to)
            if local_asker is not None and local_asker.kind == "initiative" and \
                    not local_asker.deleted:
                publisher.publish(actor=local_asker, type="Announce", obj=document, now=now,
                                  stored=True)
    return rows, stored
