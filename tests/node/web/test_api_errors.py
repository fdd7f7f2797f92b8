"""JSON API, bad input: each case answers its status and reason and stores nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from node.services.context import NodeContext
from tests.node.web.api_helpers import HANDLE, create_initiative, create_item, row_counts

STORY: dict[str, Any] = {"kind": "story", "title": "Een verhaal", "content": "Tekst.",
                         "initiative": HANDLE}
EVENT: dict[str, Any] = {**STORY, "kind": "event", "start_time": "2026-12-03T19:30:00+01:00"}
INITIATIVE: dict[str, Any] = {"handle": "nieuw-dorp", "name": "Nieuw Dorp"}


@dataclass(frozen=True)
class Case:
    id: str
    status: int
    error: str
    body: Any = None  # a value sent as JSON, or bytes sent as they are
    method: str = "POST"
    path: str = "/api/items"
    headers: dict[str, str] = field(default_factory=dict)


def story(**changes: Any) -> dict[str, Any]:
    return {k: v for k, v in {**STORY, **changes}.items() if v is not ...}


def initiative(**changes: Any) -> dict[str, Any]:
    return {k: v for k, v in {**INITIATIVE, **changes}.items() if v is not ...}


CASES = [
    # request body syntax and framing
    Case("not-json", 400, "bad_json", b'{"kind": "story",'),
    Case("json-array", 400, "bad_json", b'[{"kind": "story"}]'),
    Case("json-null", 400, "bad_json", b"null"),
    Case("empty-body", 400, "bad_json", b""),
    Case("duplicate-key", 400, "bad_json", b'{"kind": "story", "kind": "event"}'),
    Case("nan", 400, "bad_json", b'{"kind": "story", "place": {"latitude": NaN}}'),
    Case("not-utf8", 400, "bad_json", b'{"kind": "st\xffory"}'),
    Case("too-deep", 400, "bad_json", b'{"a": ' * 40 + b"1" + b"}" * 40),
    Case("too-large", 413, "too_large", b'{"content": "' + b"x" * 1_000_001 + b'"}'),
    Case("text-plain", 415, "unsupported_media_type", json.dumps(STORY).encode(),
         headers={"Content-Type": "text/plain"}),
    Case("form", 415, "unsupported_media_type", b"kind=story",
         headers={"Content-Type": "application/x-www-form-urlencoded"}),
    Case("no-content-type", 415, "unsupported_media_type", json.dumps(STORY).encode(),
         headers={"Content-Type": ""}),
    # item fields
    Case("missing-kind", 422, "missing_field", story(kind=...)),
    Case("unknown-kind", 422, "bad_value", story(kind="poem")),
    Case("missing-title", 422, "missing_field", story(title=...)),
    Case("missing-content", 422, "missing_field", story(content=...)),
    Case("title-not-string", 422, "bad_type", story(title=42)),
    Case("themes-not-list", 422, "bad_type", story(themes="meals")),
    Case("unknown-theme", 422, "unknown_theme", story(themes=["meals", "weather"])),
    Case("html-in-title", 422, "html_not_allowed", story(title="<b>Vet</b> verhaal")),
    Case("script-in-summary", 422, "html_not_allowed",
         story(summary="<script>alert(1)</script>")),
    Case("encoded-tag-in-title", 422, "html_not_allowed", story(title="&lt;img src=x&gt;")),
    Case("title-too-long", 422, "too_long", story(title="x" * 301)),
    Case("latitude-out-of-range", 422, "bad_coordinates",
         story(place={"latitude": 91, "longitude": 5.0})),
    Case("latitude-without-longitude", 422, "bad_coordinates", story(place={"latitude": 53.0})),
    Case("latitude-as-string", 422, "bad_coordinates",
         story(place={"latitude": "53", "longitude": 5.0})),
    Case("unknown-province", 422, "bad_value", story(place={"province_code": "PV99"})),
    Case("unknown-field", 422, "unknown_field", story(colour="blue")),
    Case("field-of-other-kind", 422, "field_not_for_kind",
         story(start_time="2026-12-03T19:30:00+01:00")),
    Case("event-without-start", 422, "missing_field", {**EVENT, "start_time": None}),
    Case("event-ends-before-start", 422, "bad_value",
         {**EVENT, "end_time": "2026-12-03T18:00:00+01:00"}),
    Case("event-time-without-offset", 422, "bad_date",
         {**EVENT, "start_time": "2026-12-03T19:30:00"}),
    Case("answer-without-question", 422, "missing_field",
         {"kind": "answer", "content": "Zo.", "initiative": HANDLE}),
    Case("attachment-not-http", 422, "bad_value",
         {**STORY, "kind": "template", "attachments": [{"url": "javascript:alert(1)"}]}),
    Case("unknown-initiative", 422, "unknown_initiative", story(initiative="nergens")),
    Case("remote-initiative", 422, "unknown_initiative",
         story(initiative="https://fryslan.test/actors/doarpswurk")),
    # initiative fields
    Case("bad-handle", 422, "bad_value", initiative(handle="Niet Goed!"), path="/api/initiatives"),
    Case("reserved-handle", 422, "bad_value", initiative(handle="api"), path="/api/initiatives"),
    Case("handle-is-api-path", 422, "bad_value", initiative(handle="by-id"),
         path="/api/initiatives"),
    Case("missing-name", 422, "missing_field", initiative(name=...), path="/api/initiatives"),
    Case("unknown-legal-form", 422, "bad_value", initiative(legal_form="bv"),
         path="/api/initiatives"),
    Case("founded-in-future", 422, "bad_date", initiative(founded="2999-01-01"),
         path="/api/initiatives"),
    Case("bad-website", 422, "bad_value", initiative(website="dorpsmolen"),
         path="/api/initiatives"),
    Case("members-count-float", 422, "bad_type", initiative(members_count=3.5),
         path="/api/initiatives"),
    Case("handle-taken", 409, "handle_taken", initiative(handle=HANDLE), path="/api/initiatives"),
    # patches
    Case("patch-kind", 422, "immutable_field", {"kind": "event"}, "PATCH", "/api/items/{item}"),
    Case("patch-unknown-theme", 422, "unknown_theme", {"themes": ["weather"]}, "PATCH",
         "/api/items/{item}"),
    Case("patch-clear-title", 422, "missing_field", {"title": None}, "PATCH", "/api/items/{item}"),
    Case("patch-not-json", 400, "bad_json", b"title=x", "PATCH", "/api/items/{item}"),
    Case("patch-handle", 422, "immutable_field", {"handle": "ander"}, "PATCH",
         f"/api/initiatives/{HANDLE}"),
    Case("patch-html-name", 422, "html_not_allowed", {"name": "<i>x</i>"}, "PATCH",
         f"/api/initiatives/{HANDLE}"),
    Case("patch-by-id-without-id", 422, "missing_parameter", {"title": "x"}, "PATCH",
         "/api/items/by-id"),
    Case("patch-by-id-relative", 422, "bad_value", {"title": "x"}, "PATCH",
         "/api/items/by-id?id=abc"),
    Case("patch-unknown-item", 404, "not_found", {"title": "x"}, "PATCH",
         "/api/items/0123456789abcdef"),
    Case("delete-unknown-initiative", 404, "not_found", None, "DELETE", "/api/initiatives/nergens"),
    Case("put-is-not-allowed", 405, "method_not_allowed", STORY, "PUT", "/api/items/{item}"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_bad_input_is_refused_and_stores_nothing(
        client: httpx.AsyncClient, auth: dict[str, str], ctx: NodeContext, case: Case) -> None:
    # Given an initiative with one item, and the row counts after that
    await create_initiative(client, auth)
    item = await create_item(client, auth, initiative=HANDLE)
    before = await row_counts(ctx)
    # When the bad request is sent by an admin
    headers = {**auth, "Content-Type": "application/json", **case.headers}
    headers = {k: v for k, v in headers.items() if v}
    content = case.body if isinstance(case.body, bytes) else (
        None if case.body is None else json.dumps(case.body).encode())
    response = await client.request(case.method, case.path.format(item=item["local_id"]),
                                    content=content, headers=headers)
    # Then it gets its status and reason, and nothing was written
    assert response.status_code == case.status, response.text
    body = response.json()
    assert body["error"] == case.error
    assert isinstance(body["detail"], str) and body["detail"]
    assert await row_counts(ctx) == before
    assert (await client.get(f"/api/items/{item['local_id']}")).json() == item


def test_the_table_covers_every_kind_of_bad_input() -> None:
    assert len(CASES) >= 20
    assert {c.status for c in CASES} >= {400, 404, 405, 409, 413, 415, 422}


async def test_field_errors_name_the_field(client: httpx.AsyncClient,
                                           auth: dict[str, str]) -> None:
    response = await client.post("/api/items", headers=auth,
                                 json=story(place={"latitude": 95, "longitude": 5.0}))
    assert response.json()["field"] == "place.latitude"


async def test_405_names_the_allowed_methods(client: httpx.AsyncClient) -> None:
    response = await client.put("/api/items", json=STORY)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"
