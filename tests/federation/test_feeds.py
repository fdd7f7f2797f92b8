"""Feeds across nodes: a new follower of a theme feed gets everything its outbox holds.

Issue 8: an initiative that followed ``zorg@fryslan`` saw 2 of the 17 items that feed had
announced, because Drenthe already held the other 15 (through its node's follow of Fryslân) and an
item it already held was never put in the new follower's feed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from node.services.actors import create_initiative
from node.services.feeds import feed_page
from node.services.follow import follow
from node.services.inputs import InitiativeInput, item_input
from node.services.items import ItemQuery, create_item, list_items
from node.services.permissions import SYSTEM
from tests.federation.harness import Federation, federation, stored

INITIATIVE = "zorgcooperatie-sleen"


async def _item(fed: Federation, title: str, theme: str) -> str:
    item = await create_item(fed["fryslan"].ctx, item_input(
        kind="story", title=title, content="Tekst.", themes=(theme,)), SYSTEM)
    return item.ap_id


async def _feed(fed: Federation, handle: str) -> set[str]:
    page = await feed_page(fed["drenthe"].ctx, handle, limit=200)
    return {item.ap_id for item in page.items}


async def _care_history(fed: Federation) -> set[str]:
    """Fryslân publishes care items (one of a narrower theme) and an unrelated one; Drenthe's
    node follows Fryslân in between, so it holds some of them and not others."""
    care = {await _item(fed, f"Zorg {n}", "care-wellbeing") for n in range(3)}
    await _item(fed, "Zonnepanelen", "energy-generation")
    await follow(fed["drenthe"].ctx, fed["fryslan"].ctx.urls.actor("fryslan"))
    await fed.settle()
    care.add(await _item(fed, "Maaltijden aan huis", "meals"))
    await fed.settle()
    # Items Drenthe's node has not received: deliveries to it fail for now (retried later).
    fed.faults.partitioned.add("drenthe.test")
    later = {await _item(fed, f"Later {n}", "care-wellbeing") for n in range(2)}
    await fed.settle()
    fed.faults.clear()
    assert [await stored(fed["drenthe"], ap_id) for ap_id in later] == [None, None]
    return care | later


@pytest.fixture
async def fed(tmp_path: Path) -> AsyncIterator[Federation]:
    """Drenthe, with an initiative, and Fryslân."""
    async with federation(tmp_path, ["drenthe", "fryslan"]) as f:
        await create_initiative(f["drenthe"].ctx, InitiativeInput(
            handle=INITIATIVE, name="Zorgcoöperatie Sleen"), SYSTEM)
        yield f


async def test_initiative_following_a_theme_feed_gets_every_item_of_its_outbox(
        fed: Federation) -> None:
    # Given care items Fryslân's theme feed announced, most of them already held by Drenthe
    care = await _care_history(fed)
    # When an initiative of Drenthe follows that theme feed
    await follow(fed["drenthe"].ctx, "zorg@fryslan.test", as_handle=INITIATIVE)
    await fed.settle()
    # Then the initiative's feed holds every care item, and nothing else
    assert await _feed(fed, INITIATIVE) == care


async def test_second_local_follower_of_a_theme_feed_gets_its_backfill_too(
        fed: Federation) -> None:
    care = await _care_history(fed)
    # Given Drenthe's node already follows the theme feed (its announces all received)
    await follow(fed["drenthe"].ctx, "zorg@fryslan.test")
    await fed.settle()
    assert care <= await _feed(fed, "drenthe")
    # When an initiative follows it too
    await follow(fed["drenthe"].ctx, "zorg@fryslan.test", as_handle=INITIATIVE)
    await fed.settle()
    # Then the initiative's feed has the whole history as well
    assert await _feed(fed, INITIATIVE) == care


async def test_initiative_following_its_own_nodes_theme_feed_gets_its_items(
        fed: Federation) -> None:
    drenthe = fed["drenthe"].ctx
    # Given Drenthe holds its own care items and one received from Fryslân
    await follow(drenthe, fed["fryslan"].ctx.urls.actor("fryslan"))
    await fed.settle()
    received = await _item(fed, "Maaltijden aan huis", "meals")
    await fed.settle()
    own = {(await create_item(drenthe, item_input(
        kind="guide", title=f"Zorg {n}", content="Tekst.", themes=("dementia",)),
        SYSTEM)).ap_id for n in range(2)}
    await create_item(drenthe, item_input(kind="story", title="Zon", content="Tekst.",
                                         themes=("energy-generation",)), SYSTEM)
    await fed.settle()
    # When an initiative of Drenthe follows Drenthe's own care feed
    await follow(drenthe, "zorg@drenthe.test", as_handle=INITIATIVE)
    # Then its feed holds what that feed announced: the own items and the relayed one
    assert await _feed(fed, INITIATIVE) == own | {received}


async def test_theme_page_lists_received_items_of_its_theme(fed: Federation) -> None:
    # Given Drenthe follows Fryslân and received a care item from it
    await follow(fed["drenthe"].ctx, fed["fryslan"].ctx.urls.actor("fryslan"))
    await fed.settle()
    await _item(fed, "Maaltijden aan huis", "meals")
    await fed.settle()
    # When Drenthe's care feed page is read in a browser
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fed["drenthe"].app)) as web:
        response = await web.get("https://drenthe.test/actors/zorg",
                                 headers={"Accept": "text/html"})
    # Then the received item is listed
    assert response.status_code == 200
    assert "Maaltijden aan huis" in response.text


async def test_received_item_keeps_the_province_its_origin_gave_it(fed: Federation) -> None:
    # Given Drenthe follows Fryslân
    await follow(fed["drenthe"].ctx, fed["fryslan"].ctx.urls.actor("fryslan"))
    await fed.settle()
    # When Fryslân's node publishes an item without a place
    ap_id = await _item(fed, "Dorpshuis", "meeting")
    await fed.settle()
    # Then Drenthe holds it in Fryslân, and its province filter finds it
    received = await stored(fed["drenthe"], ap_id)
    assert received is not None and received.province_code == "PV21"
    found = await list_items(fed["drenthe"].ctx, ItemQuery(province="PV21"))
    assert [item.ap_id for item in found.items] == [ap_id]
