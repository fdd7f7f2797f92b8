"""Fixtures of the HTML page tests: browsers signed in as an editor or an admin."""

from __future__ import annotations

import httpx
import pytest

from node.services.context import NodeContext
from node.services.users import add_user, grant
from tests.node.web import make_initiative
from tests.node.web.test_ui_auth import PASSWORD, sign_in


@pytest.fixture
async def editor_client(client: httpx.AsyncClient, ctx: NodeContext) -> httpx.AsyncClient:
    """Signed in as an editor granted ``dorpsmolen`` only; ``zorgcoop`` exists too."""
    await add_user(ctx, "redacteur", PASSWORD, "editor")
    await make_initiative(ctx, "dorpsmolen", name="Dorpsmolen Reduzum")
    await make_initiative(ctx, "zorgcoop", name="Zorgcoöperatie Hollandscheveld")
    await grant(ctx, "redacteur", "dorpsmolen")
    assert (await sign_in(client, "redacteur")).status_code == 303
    return client


@pytest.fixture
async def admin_client(client: httpx.AsyncClient, ctx: NodeContext) -> httpx.AsyncClient:
    """Signed in as the admin ``beheerder``."""
    await add_user(ctx, "beheerder", PASSWORD, "admin")
    assert (await sign_in(client, "beheerder")).status_code == 303
    return client
