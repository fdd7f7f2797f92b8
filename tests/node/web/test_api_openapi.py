"""The OpenAPI document: it lists exactly the API's routes, its references resolve, its schemas
agree with the validated inputs, the vocabularies and the representations actually served.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.routing import Route

from node.services import fieldtypes
from node.services.inputs import (
    KIND_MODELS,
    AttachmentInput,
    FollowInput,
    InitiativeInput,
    InputModel,
    PlaceInput,
)
from node.services.schemas import INPUT_MODELS
from node.web import api, federation_api
from node.web.openapi import build_openapi
from node.web.questions_api import QUESTION_LIST_PARAMETERS
from node.web.search import SEARCH_PARAMETERS
from protocol import themes
from tests.node.conftest import BASE_URL
from tests.node.web.api_helpers import HANDLE, create_initiative, create_item

METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return build_openapi(BASE_URL)


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _operations(doc: dict[str, Any]) -> Any:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def _schema(doc: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = doc["components"]["schemas"][name]
    return schema


def test_every_api_route_of_the_app_is_documented_and_nothing_else(
        app: Starlette, doc: dict[str, Any]) -> None:
    api_routes = [route for route in app.routes if getattr(route, "path", "").startswith("/api/")]
    served = {(route.path, method.lower()) for route in api_routes if isinstance(route, Route)
              for method in (route.methods or ()) if method != "HEAD"}
    documented = {(path, method) for path, method, _ in _operations(doc)}
    assert served == documented
    assert all(isinstance(route, Route) for route in api_routes)
    assert all(route in api_routes for route in [*api.routes, *federation_api.routes])


def test_document_is_openapi_3_1_with_bearer_security(doc: dict[str, Any]) -> None:
    assert doc["openapi"].startswith("3.1.")
    assert doc["servers"] == [{"url": BASE_URL}]
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["bearerAuth"]["description"]}


def test_every_reference_resolves(doc: dict[str, Any]) -> None:
    refs = [node["$ref"] for node in _walk(doc) if "$ref" in node]
    assert refs
    for ref in refs:
        assert _resolve(doc, ref) is not None


def test_operation_ids_are_unique(doc: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in _operations(doc)]
    assert len(ids) == len(set(ids))


def test_path_templates_are_declared_parameters(doc: dict[str, Any]) -> None:
    for path, item in doc["paths"].items():
        declared = {_resolve(doc, p["$ref"])["name"] if "$ref" in p else p["name"]
                    for p in item.get("parameters", [])}
        for name in re.findall(r"{(\w+)}", path):
            assert name in declared, path


def test_writes_need_the_bearer_token_and_reads_do_not(doc: dict[str, Any]) -> None:
    for path, method, operation in _operations(doc):
        if method == "get" and path not in ("/api/me", "/api/flags", "/api/federation",
                                            "/api/admin/blocks", "/api/admin/hidden",
                                            "/api/follow-requests",
                                            "/api/aggregator/suggestions"):
            assert operation["security"] == [], path
        else:
            assert operation["security"] == [{"bearerAuth": []}], (method, path)
            assert "401" in operation["responses"], (method, path)


def test_every_error_response_has_the_error_schema(doc: dict[str, Any]) -> None:
    for path, method, operation in _operations(doc):
        for status, response in operation["responses"].items():
            if status.startswith("4"):
                resolved = _resolve(doc, response["$ref"])
                assert resolved["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"}, (method, path, status)


def test_list_parameters_are_the_ones_the_handler_accepts(doc: dict[str, Any]) -> None:
    for path, accepted in (("/api/items", api.ITEM_LIST_PARAMETERS),
                           ("/api/initiatives", api.INITIATIVE_LIST_PARAMETERS),
                           ("/api/search", SEARCH_PARAMETERS),
                           ("/api/questions", QUESTION_LIST_PARAMETERS)):
        names = {_resolve(doc, p["$ref"])["name"] for p in doc["paths"][path]["get"]["parameters"]}
        assert names == set(accepted), path


def test_document_is_valid_openapi_3_1(doc: dict[str, Any]) -> None:
    validate(doc)  # the OpenAPI 3.1 schema, and every JSON Schema in it against its dialect


def _subclasses(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    for sub in model.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_input_model_is_in_the_document(doc: dict[str, Any]) -> None:
    models = {m.__name__ for m in _subclasses(InputModel)} - {"PatchModel"}
    public = {name for name in models if not name.startswith("_")}
    assert public >= {m.__name__ for m in (*INPUT_MODELS, PlaceInput, AttachmentInput)}
    assert public | {"ItemInput"} <= set(doc["components"]["schemas"])


@pytest.mark.parametrize(("schema", "model", "removed", "added"), [
    *((model.__name__, model, set(), set()) for model in KIND_MODELS.values()),
    ("ItemPatch", None, {"kind", "initiative", "in_reply_to"}, {"accepted_answer"}),
    ("InitiativeInput", InitiativeInput, set(), set()),
    ("InitiativePatch", InitiativeInput, {"handle"}, set()),
    ("PlaceInput", PlaceInput, set(), set()),
    ("AttachmentInput", AttachmentInput, set(), set()),
    ("FollowInput", FollowInput, {"as_"}, {"as"}),
])
def test_input_schemas_have_exactly_the_validated_fields(
        doc: dict[str, Any], schema: str, model: type[BaseModel] | None, removed: set[str],
        added: set[str]) -> None:
    models = [model] if model is not None else list(KIND_MODELS.values())
    expected = {name for m in models for name in m.model_fields} - removed | added
    assert set(_schema(doc, schema)["properties"]) == expected
    assert _schema(doc, schema)["additionalProperties"] is False


def test_item_input_is_one_of_the_kinds_by_kind(doc: dict[str, Any]) -> None:
    item = _schema(doc, "ItemInput")
    assert item["discriminator"]["propertyName"] == "kind"
    assert list(item["discriminator"]["mapping"]) == sorted(themes.ITEM_KINDS)
    for kind, model in KIND_MODELS.items():
        kind_schema = _schema(doc, model.__name__)
        assert kind_schema["properties"]["kind"]["const"] == kind
        assert "kind" in kind_schema["required"]
    assert "in_reply_to" in _schema(doc, "AnswerInput")["required"]
    assert "title" not in _schema(doc, "AnswerInput")["required"]
    assert "start_time" in _schema(doc, "EventInput")["required"]


def test_enumerations_come_from_the_vocabularies(doc: dict[str, Any]) -> None:
    story, initiative = _schema(doc, "StoryInput"), _schema(doc, "InitiativeInput")
    assert story["properties"]["themes"]["items"]["enum"] == [t.id for t in themes.all_themes()]
    assert initiative["properties"]["legal_form"]["anyOf"][0]["enum"] == list(themes.LEGAL_FORMS)
    assert initiative["properties"]["phase"]["anyOf"][0]["enum"] == list(themes.PHASES)
    assert initiative["properties"]["status"]["enum"] == list(themes.STATUSES)
    assert _schema(doc, "PlaceInput")["properties"]["province_code"]["anyOf"][0]["enum"] == list(
        themes.PROVINCES)


def test_patterns_checked_by_validation_are_documented(doc: dict[str, Any]) -> None:
    # These once existed only in validation (issue 9).
    assert _schema(doc, "StoryInput")["properties"]["language"]["pattern"] == "^" + \
        fieldtypes.LANGUAGE_PATTERN + "$"
    media_type = _schema(doc, "AttachmentInput")["properties"]["media_type"]["anyOf"][0]
    assert media_type["pattern"] == "^" + fieldtypes.MEDIA_TYPE_PATTERN + "$"


async def test_served_document_is_the_built_one(client: httpx.AsyncClient,
                                               doc: dict[str, Any]) -> None:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == doc


def _check_against(schema: dict[str, Any], body: dict[str, Any]) -> None:
    assert set(body) <= set(schema["properties"]), set(body) - set(schema["properties"])
    assert set(schema["required"]) <= set(body), set(schema["required"]) - set(body)


async def test_served_items_match_the_item_schema(client: httpx.AsyncClient,
                                                  auth: dict[str, str],
                                                  doc: dict[str, Any]) -> None:
    question = await create_item(client, auth, kind="question", title="Wie?", content="Vraag.")
    served = [
        question,
        await create_item(client, auth, kind="answer", title=None, content="Zo.",
                          in_reply_to=question["id"]),
        await create_item(client, auth, kind="event", start_time="2026-12-03T19:30:00+01:00"),
        await create_item(client, auth, kind="template",
                          attachments=[{"url": "https://example.org/a.pdf"}]),
        await create_item(client, auth, kind="bottleneck", regulation="Omgevingswet"),
    ]
    for body in served:
        _check_against(_schema(doc, "Item"), body)


async def test_served_initiatives_and_pages_match_their_schemas(
        client: httpx.AsyncClient, auth: dict[str, str], doc: dict[str, Any]) -> None:
    _check_against(_schema(doc, "Initiative"), await create_initiative(client, auth))
    _check_against(_schema(doc, "InitiativePage"), (await client.get("/api/initiatives")).json())
    await create_item(client, auth, initiative=HANDLE)
    _check_against(_schema(doc, "ItemPage"), (await client.get("/api/items")).json())
    _check_against(_schema(doc, "Me"), (await client.get("/api/me", headers=auth)).json())
    _check_against(_schema(doc, "SearchAnswer"), (await client.get(
        "/api/search", params={"q": "molen", "near": "52.9,6.5", "within_km": "400"})).json())


async def test_themes_list_has_labels_and_narrower_themes(client: httpx.AsyncClient,
                                                          doc: dict[str, Any]) -> None:
    body = (await client.get("/api/themes")).json()
    _check_against(_schema(doc, "ThemeList"), body)
    by_id = {t["id"]: t for t in body["themes"]}
    assert [t["id"] for t in body["themes"]] == [t.id for t in themes.all_themes()]
    assert by_id["sustainability"]["labels"] == {"nl": "Duurzaamheid", "en": "Sustainability"}
    assert "energy-generation" in by_id["sustainability"]["narrower"]
    assert by_id["energy-generation"]["broader"] == "sustainability"
    assert by_id["energy-generation"]["iri"] == themes.concept_iri("energy-generation")
