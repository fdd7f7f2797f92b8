"""iCalendar (RFC 5545) of events: the node's agenda and one event, for calendar apps.

The agenda holds the upcoming events the node knows, its own and received (the federation
policy applied, as in every list): an event is upcoming until its end, or its start when it has
no end, has passed. One ``VEVENT`` per event, its ``UID`` the event's IRI (stable across
updates, so a calendar that subscribed replaces the event rather than doubling it) and its
``SEQUENCE`` the item's version. Times are written in UTC (``…Z``, RFC 5545 §3.3.5 form #2):
exact, and no ``VTIMEZONE`` is needed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar, Event

from node.services import browse, policy
from node.services.browse import Filters
from node.services.context import NodeContext
from node.services.errors import GoneError, NotFoundError
from node.store import objects as object_store
from node.store.objects import StoredObject
from protocol import themes as vocab_themes

CALENDAR_MEDIA_TYPE = "text/calendar"
MAX_EVENTS = 1000  # events one agenda holds
PRODID = "-//Kennisknoop//Agenda//NL"


def event_time(item: StoredObject, name: str) -> datetime | None:
    """``start_time`` or ``end_time`` as an aware moment, None when absent or unreadable."""
    value = item.fields.get(name)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def is_upcoming(item: StoredObject, now: datetime) -> bool:
    start = event_time(item, "start_time")
    last = event_time(item, "end_time") or start
    return start is not None and last is not None and last >= now


async def upcoming_events(ctx: NodeContext, filters: Filters) -> list[StoredObject]:
    """Events not yet over, soonest first (theme and province filters as in browsing)."""
    now = ctx.now()
    async with ctx.db.sessions() as session:
        f = browse.item_filter(Filters(kind="event", theme=filters.theme,
                                       province=filters.province),
                               hosts=await policy.rule(ctx, session))
        rows = await object_store.list_page(session, f, limit=MAX_EVENTS)
    upcoming = [item for item in rows if is_upcoming(item, now)]
    return sorted(upcoming, key=lambda item: event_time(item, "start_time") or now)


async def local_event(ctx: NodeContext, local_id: str) -> StoredObject:
    """One of this node's events; NotFoundError for anything else, GoneError once deleted."""
    async with ctx.db.sessions() as session:
        item = await object_store.get(session, ctx.urls.item(local_id))
    if item is None or item.kind != "event":
        raise NotFoundError("not_found", f"no event {local_id!r}")
    if item.deleted:
        raise GoneError("gone", f"event {local_id!r} was deleted")
    return item


def _description(item: StoredObject) -> str:
    parts = [item.summary or "", item.content or "", item.ap_id]
    return "\n\n".join(part.strip() for part in parts if part and part.strip())


def _vevent(item: StoredObject) -> Event:
    event = Event()
    event.add("uid", item.ap_id)
    event.add("dtstamp", item.updated.astimezone(UTC))
    event.add("created", item.published.astimezone(UTC))
    event.add("last-modified", item.updated.astimezone(UTC))
    event.add("sequence", item.version)
    event.add("summary", item.title or item.summary or vocab_themes.ITEM_KINDS["event"].nl)
    start, end = event_time(item, "start_time"), event_time(item, "end_time")
    if start is not None:
        event.add("dtstart", start.astimezone(UTC))
    if end is not None:
        event.add("dtend", end.astimezone(UTC))
    event.add("description", _description(item))
    event.add("url", item.ap_id)
    place = item.fields.get("place")
    if isinstance(place, dict) and place.get("name"):
        event.add("location", str(place["name"]))
    if item.latitude is not None and item.longitude is not None:
        event.add("geo", (item.latitude, item.longitude))
    if item.themes:
        event.add("categories", [vocab_themes.get(t).label.nl if vocab_themes.is_theme(t) else t
                                 for t in item.themes])
    return event


def build_calendar(events: list[StoredObject], *, name: str) -> bytes:
    """A ``VCALENDAR`` (``METHOD:PUBLISH``) with one ``VEVENT`` per event."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    for item in events:
        calendar.add_component(_vevent(item))
    return bytes(calendar.to_ical())
