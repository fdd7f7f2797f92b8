"""The bottleneck agenda: bottlenecks ranked by endorsing initiatives, then by their provinces.

What ``/knelpunten`` shows on every node (on the aggregator: the national agenda) and
``GET /api/bottlenecks?sort=endorsements`` answers. Local and received bottlenecks alike rank
by the tally their origin published (``kk:endorsements``, docs/bottlenecks.md); received ones of
hosts the federation policy refuses are left out, as everywhere. Also the views behind the
endorse form: which of a signed-in editor's initiatives endorse a bottleneck, and (at its
origin) who endorse it, with their notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from node.services import editing, policy
from node.services.collections import authors_of
from node.services.context import NodeContext
from node.services.documents import tally_document
from node.services.errors import GoneError, NotFoundError, ValidationError
from node.services.items import theme_and_narrower
from node.services.permissions import Caller
from node.store import endorsements as endorsement_store
from node.store import objects as object_store
from node.store.actors import StoredActor
from node.store.endorsements import SUPPORT, StoredEndorsement
from node.store.objects import ItemFilter, StoredObject

SORTS = ("endorsements", "newest")


@dataclass(frozen=True)
class AgendaQuery:
    theme: str | None = None
    regulation_area: str | None = None
    bottleneck_status: str | None = None
    province: str | None = None
    sort: str = "endorsements"


@dataclass(frozen=True)
class Agenda:
    bottlenecks: list[StoredObject]
    total: int
    authors: dict[str, StoredActor] = field(default_factory=dict)


def tally_of(item: StoredObject) -> dict[str, object]:
    """``{"count", "provinces", "support"}`` of a bottleneck, as its origin published it."""
    return tally_document(item.fields.get("endorsements"))


async def ranking(ctx: NodeContext, query: AgendaQuery, *, limit: int, offset: int = 0
                  ) -> Agenda:
    """One page of bottlenecks, ranked (or newest first with ``sort="newest"``)."""
    if query.sort not in SORTS:
        raise ValidationError("bad_value", f"sort: must be one of {', '.join(SORTS)}",
                              field="sort")
    async with ctx.db.sessions() as session:
        f = ItemFilter(kind="bottleneck", province=query.province,
                       themes_any=theme_and_narrower(query.theme) if query.theme else (),
                       bottleneck_status=query.bottleneck_status,
                       regulation_area=query.regulation_area,
                       hosts=await policy.rule(ctx, session))
        total = await object_store.count(session, f)
        if query.sort == "newest":
            rows = await object_store.list_page(session, f, limit=limit, offset=offset)
        else:
            rows = await object_store.rank_bottlenecks(session, f, limit=limit, offset=offset)
        authors = await authors_of(session, (row.attributed_to for row in rows))
    return Agenda(rows, total, authors)


@dataclass(frozen=True)
class Choice:
    """One of the caller's initiatives, and its endorsement of the bottleneck if it has one."""

    initiative: StoredActor
    endorsement: StoredEndorsement | None


@dataclass(frozen=True)
class EndorseView:
    item: StoredObject
    author: StoredActor | None
    choices: list[Choice]  # empty when nobody is signed in
    endorsers: list[tuple[StoredEndorsement, StoredActor | None]]  # known at the origin only
    support: int


async def endorse_view(ctx: NodeContext, iri: str, caller: Caller | None) -> EndorseView:
    """A bottleneck with what a signed-in editor may do about it (endorse, withdraw)."""
    initiatives = await editing.editable_initiatives(ctx, caller) if caller else []
    async with ctx.db.sessions() as session:
        item = await object_store.get(session, iri)
        if item is None or item.kind != "bottleneck" or (
                not item.is_local and not (await policy.rule(ctx, session)).allows(item.host)):
            raise NotFoundError("not_found", f"no bottleneck {iri!r}")
        if item.deleted:
            raise GoneError("gone", f"{iri} was deleted")
        mine = await endorsement_store.of_actors(session, iri, [i.ap_id for i in initiatives])
        rows = await endorsement_store.active(session, iri) if item.is_local else []
        support = len(await endorsement_store.active(session, iri, kind=SUPPORT)) \
            if item.is_local else 0
        actors = await authors_of(session, [item.attributed_to, *(r.actor for r in rows)])
    return EndorseView(
        item=item, author=actors.get(item.attributed_to),
        choices=[Choice(i, mine.get(i.ap_id)) for i in initiatives],
        endorsers=[(r, actors.get(r.actor)) for r in rows], support=support)
