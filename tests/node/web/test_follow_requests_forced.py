"""``federation.follow_approval = "manual"``: every local actor approves followers by hand, says
so in its document, and the pages do not let it be turned off."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from node.config import Settings
from node.services.context import NodeContext
from tests.node.conftest import make_settings
from tests.node.web import AS_JSON, BROWSER, make_initiative
from tests.node.web.test_follow_requests import PATH, _follow, _remote_actor, _rows
from tests.node.web.test_ui_auth import csrf_of


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url, federation__follow_approval="manual")


async def test_every_actor_is_locked_and_a_follow_waits(client: httpx.AsyncClient,
                                                        ctx: NodeContext) -> None:
    initiative = await make_initiative(ctx)
    for actor in (ctx.urls.actor("drenthe"), initiative.ap_id):
        assert (await client.get(actor, headers=AS_JSON)).json()[
            "manuallyApprovesFollowers"] is True
    await _remote_actor(ctx)
    await _follow(ctx, initiative.ap_id)
    assert await _rows(ctx, initiative.ap_id) == ["pending"]


async def test_the_pages_do_not_turn_it_off(admin_client: httpx.AsyncClient,
                                            ctx: NodeContext) -> None:
    await make_initiative(ctx)
    page = (await admin_client.get("/actors/dorpsmolen/bewerken", headers=BROWSER)).text
    assert 'name="approve" value="1" checked disabled' in page
    response = await admin_client.post(f"{PATH}/instelling", data={
        "csrf_token": csrf_of(page), "initiative": "dorpsmolen"})
    assert response.status_code == 422
    doc = (await admin_client.get(ctx.urls.actor("dorpsmolen"), headers=AS_JSON)).json()
    assert doc["manuallyApprovesFollowers"] is True
