"""JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of every API input, from the input models.

``input_schemas()`` is what ``node/web/openapi.py`` puts under ``components/schemas``: one
schema per model of ``inputs.py`` (named after the class), references as
``#/components/schemas/<Name>``, and ``ItemInput`` as the ``oneOf`` of the item kinds told apart
by ``kind`` (OpenAPI 3.1 §4.8.25, Discriminator Object).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from node.services.inputs import (
    ITEM_ADAPTER,
    AcceptInput,
    EndorsementInput,
    EndorsementWithdrawal,
    FeedInput,
    FollowInput,
    InitiativeInput,
    InitiativePatch,
    ItemPatch,
)

REF_TEMPLATE = "#/components/schemas/{model}"
# AcceptInput is no request body: the accept rows of import files (docs/cli.md).
INPUT_MODELS: tuple[type[BaseModel], ...] = (InitiativeInput, InitiativePatch, ItemPatch,
                                             FollowInput, AcceptInput, EndorsementInput,
                                             EndorsementWithdrawal, FeedInput)
_ITEM_EXAMPLE = {"kind": "story", "title": "Een molen vol energie",
                 "content": "Hoe **Reduzum** zijn molen terugkocht.",
                 "themes": ["energy-generation"], "initiative": "dorpsmolen-reduzum"}


def _tidy(node: Any) -> Any:
    """Drop the ``title`` pydantic derives from each field name: it only repeats the name."""
    if isinstance(node, dict):
        return {k: _tidy(v) for k, v in node.items()
                if not (k == "title" and isinstance(v, str) and "properties" not in node)}
    if isinstance(node, list):
        return [_tidy(v) for v in node]
    return node


@cache
def input_schemas() -> dict[str, Any]:
    """``{model name: JSON Schema}`` of every input model, nested ones (places, …) included."""
    _, top = models_json_schema([(m, "validation") for m in INPUT_MODELS],
                                ref_template=REF_TEMPLATE)
    schemas: dict[str, Any] = top["$defs"]
    item = ITEM_ADAPTER.json_schema(ref_template=REF_TEMPLATE)
    schemas.update(item.pop("$defs"))
    schemas["ItemInput"] = {**item, "description": "A knowledge item; `kind` says which fields "
                            "it has.", "examples": [_ITEM_EXAMPLE]}
    return {name: _tidy(schemas[name]) for name in sorted(schemas)}
