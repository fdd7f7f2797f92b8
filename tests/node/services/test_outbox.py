"""The relay policy: who announces a Create, Update or Delete (node.services.outbox.announcers)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from node.services.outbox import announcers
from node.store.actors import StoredActor

BASE = "https://drenthe.test"
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def _local(kind: str, handle: str, theme: str | None = None) -> StoredActor:
    return StoredActor(
        id=0, ap_id=f"{BASE}/actors/{handle}", is_local=True, kind=kind, handle=handle,
        host="drenthe.test", type="Group" if kind == "theme" else "Organization",
        preferred_username=handle, name=handle, summary=None, inbox=None, outbox=None,
        followers=None, following=None, shared_inbox=None, rsa_key_id=None, rsa_public_pem=None,
        rsa_private_pem=None, ed_key_id=None, ed_public_multibase=None, ed_private_pem=None,
        profile={"theme": theme} if theme else {}, document=None, version=1, published=NOW,
        updated=NOW, fetched_at=None, deleted_at=None)


NODE = _local("node", "drenthe")
CARE = _local("theme", "zorg", "care-wellbeing")
MEALS = _local("theme", "maaltijden", "meals")
ENERGY = _local("theme", "energie", "energy-generation")
FEEDS = [CARE, MEALS, ENERGY]


def _handles(author_kind: str, themes: list[str]) -> list[str | None]:
    return [a.handle for a in announcers(author_kind, themes, node=NODE, feeds=FEEDS)]


def test_the_node_announces_an_initiatives_item_before_its_theme_feeds() -> None:
    assert _handles("initiative", ["meals"]) == ["drenthe", "zorg", "maaltijden"]


def test_the_node_announces_an_initiatives_profile_and_no_feed_does() -> None:
    assert _handles("initiative", []) == ["drenthe"]


def test_a_theme_feed_announces_items_of_narrower_themes_not_of_broader_ones() -> None:
    assert _handles("node", ["care-wellbeing"]) == ["zorg"]
    assert _handles("node", ["meals", "energy-generation"]) == ["zorg", "maaltijden", "energie"]


def test_the_node_does_not_announce_its_own_items() -> None:
    assert "drenthe" not in _handles("node", ["meals"])


def test_received_items_are_announced_by_the_theme_feeds_only() -> None:
    assert _handles("remote", ["energy-generation"]) == ["energie"]


@pytest.mark.parametrize("author_kind", ["theme", "user"])
def test_nobody_relays_what_a_theme_feed_or_another_actor_publishes(author_kind: str) -> None:
    assert _handles(author_kind, ["meals"]) == []


def test_without_a_node_actor_only_the_feeds_announce() -> None:
    assert [a.handle for a in announcers("initiative", ["meals"], node=None, feeds=FEEDS)] == [
        "zorg", "maaltijden"]
