"""The JSON API representation of stored items and initiatives (rows -> snake_case dicts).

The fields mirror the input bodies of ``POST /api/items`` and ``POST /api/initiatives`` (see
``node/services/validation.py``) plus what the server owns: ``id`` (the IRI), ``version``,
``published``, ``updated``, ``origin`` (the host the record comes from), ``local`` and
``deleted``. The shapes are described by the ``Item`` and ``Initiative`` schemas in
``node/web/openapi.py``; a test keeps both in step.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from node.services.directory import Entry
from node.services.documents import tally_document
from node.services.inputs import KIND_MODELS, InitiativeInput, kind_fields
from node.services.permissions import Caller
from node.services.records import Peer, StoredActor, StoredFlag, StoredObject
from node.services.urls import Urls

# Kind-specific item fields: (name, default when not stored). Only the item's own kind's
# fields appear in its representation, as only those are accepted on input.
KIND_FIELDS: dict[str, tuple[tuple[str, Any], ...]] = {kind: kind_fields(kind)
                                                       for kind in KIND_MODELS}



def _profile_fields() -> tuple[tuple[str, Any], ...]:
    """Initiative profile fields with the value shown when the profile does not hold them."""
    out: list[tuple[str, Any]] = []
    for name, info in InitiativeInput.model_fields.items():
        if name not in ("handle", "name", "summary"):
            out.append((name, info.get_default()))
        if name == "description":
            out.append(("description_html", None))
    return tuple(out)


_PROFILE_FIELDS = _profile_fields()


def iso(value: datetime | None) -> str | None:
    """A timestamp as the API writes it: UTC, second precision, ``Z``."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def _copy(value: Any) -> Any:
    # Stored JSON values are shared with the row dataclass; hand out copies, lists not tuples.
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_copy(v) for v in value]
    return value


def _item_place(item: StoredObject) -> dict[str, Any] | None:
    place = item.fields.get("place")
    if place:
        return dict(place)
    # Received items may carry only the place columns. The province column is the effective
    # province (also an initiative's or the node's), so it is not a place of its own.
    columns = {"latitude": item.latitude, "longitude": item.longitude,
               "municipality_code": item.municipality_code}
    present = {k: v for k, v in columns.items() if v is not None}
    return present or None


def _item_content(item: StoredObject) -> tuple[str | None, str | None]:
    """(Markdown source, HTML) of an item; received items hold sanitised HTML in ``content``."""
    if item.is_local:
        return item.content, item.content_html
    source = item.document.get("source")
    markdown = None
    if isinstance(source, dict) and source.get("mediaType") == "text/markdown":
        text = source.get("content")
        markdown = text if isinstance(text, str) else None
    html = item.content_html if item.content_html is not None else item.content
    return markdown, html


def item_json(item: StoredObject, urls: Urls) -> dict[str, Any]:
    """The API representation of a knowledge item, local or received."""
    content, content_html = _item_content(item)
    out: dict[str, Any] = {
        "id": item.ap_id,
        "local_id": urls.local_item_id(item.ap_id) if item.is_local else None,
        "kind": item.kind,
        "title": item.title,
        "content": content,
        "content_html": content_html,
        "summary": item.summary,
        "themes": list(item.themes or []),
        "initiative": item.attributed_to,
        "initiative_handle": urls.local_handle(item.attributed_to) if item.is_local else None,
        "language": item.language,
        "license": item.license,
        "place": _item_place(item),
        "province": item.province_code,
    }
    for name, default in KIND_FIELDS.get(item.kind, ()):
        if name == "in_reply_to":
            out[name] = item.in_reply_to
        else:
            out[name] = _copy(item.fields.get(name, default))
    if item.kind == "bottleneck":
        # The tally its origin published (docs/bottlenecks.md): initiatives, provinces, support.
        out["endorsements"] = tally_document(item.fields.get("endorsements"))
    out.update({
        "version": item.version,
        "published": iso(item.published),
        "updated": iso(item.updated),
        "origin": item.host,
        "local": item.is_local,
        "deleted": item.deleted,
    })
    return out


def initiative_json(actor: StoredActor) -> dict[str, Any]:
    """The API representation of an initiative actor."""
    out: dict[str, Any] = {
        "id": actor.ap_id,
        "handle": actor.handle if actor.is_local else None,
        "acct": f"{actor.preferred_username or actor.handle}@{actor.host}",
        "name": actor.name,
        "summary": actor.summary,
    }
    profile = actor.profile or {}
    for name, default in _PROFILE_FIELDS:
        out[name] = _copy(profile.get(name, default))
    out.update({
        "version": actor.version,
        "published": iso(actor.published),
        "updated": iso(actor.updated),
        "origin": actor.host,
        "local": actor.is_local,
        "deleted": actor.deleted,
    })
    return out


def directory_json(entry: Entry) -> dict[str, Any]:
    """An initiative as the directory lists it: its representation, its effective province,
    when its profile was last confirmed and whether that is over a year ago."""
    out = initiative_json(entry.actor)
    out.update({"province": entry.province, "last_confirmed": entry.last_confirmed.isoformat(),
                "stale": entry.stale})
    return out


def caller_json(caller: Caller) -> dict[str, Any]:
    """Who a bearer token belongs to."""
    return {"username": caller.username, "role": caller.role, "admin": caller.is_admin}


def _isoformat(value: datetime | None) -> str | None:
    # The admin views keep the form they always had: ``datetime.isoformat``, not ``iso``.
    return value.isoformat() if value is not None else None


def flag_json(flag: StoredFlag) -> dict[str, Any]:
    """A received report, for admins (``GET /api/flags``)."""
    return {"id": flag.id, "activity_ap_id": flag.activity_ap_id, "actor": flag.actor,
            "objects": flag.objects, "content": flag.content,
            "received_at": _isoformat(flag.received_at), "state": flag.state}


def peer_json(peer: Peer) -> dict[str, Any]:
    """A peer's delivery health, for admins (``GET /api/federation``)."""
    return {"host": peer.host, "software": peer.software,
            "accepts_rfc9421": peer.accepts_rfc9421, "failure_days": peer.failure_days,
            "unavailable_since": _isoformat(peer.unavailable_since),
            "last_success_at": _isoformat(peer.last_success_at),
            "last_failure_at": _isoformat(peer.last_failure_at)}
