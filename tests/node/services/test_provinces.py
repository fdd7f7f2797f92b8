"""The province of an item: most specific first, only CBS codes (node.services.provinces)."""

from __future__ import annotations

from typing import Any

import pytest

from node.services import provinces, remote_objects
from node.services.context import NodeContext
from node.store import actors as actor_store
from protocol.parse import ASObject, parse_object

AUTHOR = "https://overijssel.test/actors/ommen"


@pytest.mark.parametrize(("document", "expected"), [
    ({"location": {"type": "Place", "provinceCode": "PV23"}, "provinceCode": "PV21"}, "PV23"),
    ({"location": [{"type": "Place", "provinceCode": "pv23"}]}, "PV23"),
    ({"location": {"type": "Place", "name": "Ommen"}, "provinceCode": "PV21"}, "PV21"),
    ({"location": {"provinceCode": "PV99"}, "provinceCode": 22}, None),
    (None, None),
])
def test_of_document_prefers_the_location_and_takes_only_province_codes(
        document: dict[str, Any] | None, expected: str | None) -> None:
    assert provinces.of_document(document) == expected


def test_effective_takes_the_first_valid_code() -> None:
    assert provinces.effective(None, "", "GM0080", "pv22", "PV21") == "PV22"
    assert provinces.effective(None, "") is None


async def test_received_item_without_a_province_takes_its_authors(ctx: NodeContext) -> None:
    # Given a cached remote author whose actor document names its place
    now = ctx.now()
    obj = parse_object({"id": "https://overijssel.test/items/1", "type": "Article",
                        "attributedTo": AUTHOR, "content": "Een verhaal."})
    assert isinstance(obj, ASObject)
    async with ctx.db.transaction() as session:
        await actor_store.upsert_remote(
            session, AUTHOR, host="overijssel.test", type="Organization", profile={},
            document={"id": AUTHOR, "location": {"type": "Place", "provinceCode": "PV23"}},
            version=1, published=now, updated=now)
        # When an item of it arrives without a place or provinceCode
        stored = await remote_objects.upsert(ctx, session, obj)
    # Then it is stored in its author's province
    assert stored is not None and stored.province_code == "PV23"
