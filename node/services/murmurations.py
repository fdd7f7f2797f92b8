"""An initiative as a Murmurations profile (``organizations_schema-v1.0.0``), for the maps of
that network (https://murmurations.network; docs/bridges.md).

A Murmurations index reads a profile from the URL it is given and validates it against every
schema the profile lists in ``linked_schemas``; this one lists the organizations schema only.
That schema requires ``linked_schemas``, ``name`` and ``primary_url``; the rest is filled when
the profile has it. ``primary_url`` is the initiative's own website when it has one (its
"well-known" address), else its page on this node. Serving the profile sends nothing anywhere.

**Registering** a profile with an index (``POST {murmurations.index_url}/nodes`` with its
``profile_url``, Index API v2) is the admin's choice, per initiative, on ``/beheer/murmurations``:
a durable job (``kind="murmurations"``, one per initiative) that the worker runs through the
guarded client, then again every day so the index re-reads a changed profile. Without
``murmurations.index_url`` nothing can be chosen and the worker sends nothing, even for a job
chosen before the setting was emptied.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from node.services.actors import get_initiative
from node.services.context import NodeContext
from node.services.errors import ConflictError
from node.services.permissions import Caller, require_admin
from node.services.structured_data import plain_text
from node.store import actors as actor_store
from node.store import jobs as job_store
from node.store.actors import StoredActor
from node.store.jobs import Job
from protocol import themes as vocab_themes

ORGANIZATIONS_SCHEMA = "organizations_schema-v1.0.0"
COUNTRY_NAME = "Netherlands"
MAX_TEXT = 5000
JOB_KIND = "murmurations"
REFRESH = timedelta(days=1)  # the index is told again daily, so it re-reads a changed profile


def _label(table: Any, value: Any) -> str | None:
    label = table.get(value) if isinstance(value, str) else None
    return label.nl if label is not None else None


def build_profile(actor: StoredActor, *, feed_url: str) -> dict[str, Any]:
    """The Murmurations profile of an initiative (``feed_url``: its Atom feed, for ``rss``)."""
    profile = actor.profile or {}
    website = profile.get("website") if isinstance(profile.get("website"), str) else None
    out: dict[str, Any] = {
        "linked_schemas": [ORGANIZATIONS_SCHEMA],
        "name": actor.name or actor.preferred_username or actor.ap_id,
        "primary_url": website or actor.ap_id,
        "urls": [{"name": "Kennisknoop", "url": actor.ap_id}],
        "rss": feed_url,
        "country_name": COUNTRY_NAME,
    }
    if website:
        out["urls"].append({"name": "Website", "url": website})
    description = plain_text(profile.get("description_html"), MAX_TEXT) or actor.summary
    if description:
        out["description"] = description
    if profile.get("goals"):
        out["mission"] = str(profile["goals"])[:MAX_TEXT]
    found = profile.get("place")
    place: dict[str, Any] = found if isinstance(found, dict) else {}
    if place.get("name"):
        out["locality"] = place["name"]
    region = _label(vocab_themes.PROVINCES,
                    place.get("province_code") or profile.get("province_code"))
    if region:
        out["region"] = region
    lat, lon = place.get("latitude"), place.get("longitude")
    if isinstance(lat, int | float) and isinstance(lon, int | float):
        out["geolocation"] = {"lat": lat, "lon": lon}
    contact = profile.get("contact")
    if isinstance(contact, str) and "@" in contact and " " not in contact.strip():
        out["email"] = contact.strip()
    tags = [vocab_themes.get(t).label.nl for t in profile.get("themes") or []
            if vocab_themes.is_theme(t)]
    legal_form = _label(vocab_themes.LEGAL_FORMS, profile.get("legal_form"))
    if legal_form:
        tags.append(legal_form)
    if tags:
        out["tags"] = list(dict.fromkeys(tags))
    return out


async def initiative_profile(ctx: NodeContext, handle: str, *, feed_url: str) -> dict[str, Any]:
    """The profile of one of this node's live initiatives (404 for others, 410 once deleted)."""
    return build_profile(await get_initiative(ctx, handle), feed_url=feed_url)


# --- registering with an index (the admin's choice) ----------------------------------------------


class NotConfiguredError(Exception):
    """``murmurations.index_url`` is empty: nothing may be sent to any index."""


@dataclass(frozen=True)
class Registration:
    """A local initiative and whether the admin registers it with the index."""

    handle: str
    name: str
    profile_url: str
    chosen: bool  # the admin registers it
    last_posted: str | None  # when the index last took it (ISO 8601)
    node_id: str | None  # the index's id of the profile (a hash of its URL)
    failures: int
    last_error: str | None


def profile_url(ctx: NodeContext, handle: str) -> str:
    return f"{ctx.urls.base}/api/initiatives/{handle}/murmurations"


def _key(handle: str) -> str:
    return f"{JOB_KIND}:{handle}"


async def registrations(ctx: NodeContext, caller: Caller) -> list[Registration]:
    """Every live local initiative with its registration, by name (for the admin page)."""
    require_admin(caller)
    async with ctx.db.sessions() as session:
        jobs = {job.payload.get("handle"): job for job in await job_store.list_kind(
            session, JOB_KIND, limit=10_000)}
        out, offset = [], 0
        while batch := await actor_store.list_local(session, kind="initiative", limit=500,
                                                    offset=offset):
            offset += len(batch)
            for actor in batch:
                handle = actor.handle or actor.preferred_username or ""
                job = jobs.get(handle)
                payload = job.payload if job is not None else {}
                out.append(Registration(
                    handle=handle, name=actor.name or handle,
                    profile_url=profile_url(ctx, handle), chosen=job is not None,
                    last_posted=payload.get("last_posted"), node_id=payload.get("node_id"),
                    failures=job.attempts if job is not None else 0,
                    last_error=job.last_error if job is not None else None))
    return out


async def set_registered(ctx: NodeContext, caller: Caller, handle: str, chosen: bool) -> str:
    """Register an initiative with the index (the worker posts it at once, then daily), or
    stop doing so. Refused (409 ``not_configured``) while ``murmurations.index_url`` is empty."""
    require_admin(caller)
    if chosen and not ctx.settings.murmurations.configured:
        raise ConflictError("not_configured", "murmurations.index_url is not set: this node "
                            "registers nothing with an index")
    actor = await get_initiative(ctx, handle)  # 404 for others, 410 once deleted
    handle = actor.handle or handle
    async with ctx.db.transaction() as session:
        if not chosen:
            await job_store.delete(session, _key(handle))
        elif await job_store.get(session, _key(handle)) is None:
            await job_store.schedule(session, kind=JOB_KIND, key=_key(handle), now=ctx.now(),
                                     payload={"handle": handle})
    return handle


async def register(ctx: NodeContext, job: Job) -> dict[str, Any] | None:
    """Tell the index about one initiative's profile; the job's new payload, or None when the
    initiative is gone (the job ends). Raises ``NotConfiguredError`` without sending anything
    when no index is configured, ``RemoteError`` when the index cannot be reached or refuses."""
    if not ctx.settings.murmurations.configured:
        raise NotConfiguredError("murmurations.index_url is not set")
    handle = str(job.payload["handle"])
    async with ctx.db.sessions() as session:
        actor = await actor_store.get_local(session, handle)
    if actor is None or actor.deleted:
        return None  # its profile answers 410 now: the index drops it when it reads it again
    url = profile_url(ctx, handle)
    answer = await ctx.remote.post_json(f"{ctx.settings.murmurations.index_url}/nodes",
                                        {"profile_url": url})
    raw = answer.get("data")
    data: dict[str, Any] = raw if isinstance(raw, dict) else {}
    node_id = data.get("node_id") if isinstance(data.get("node_id"), str) else None
    return {**job.payload, "profile_url": url, "last_posted": ctx.now().isoformat(),
            "node_id": node_id or job.payload.get("node_id")}

