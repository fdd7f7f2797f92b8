"""A restored node is the same node to its peers: same actors, same keys (docs/operations.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path

import httpx

from node import backup
from node.app import create_app
from node.config import CONFIG_FILE, render_toml
from node.services.context import NodeContext
from node.services.follow import follow
from node.services.inputs import item_input
from node.services.items import create_item
from node.services.permissions import SYSTEM
from tests.federation.harness import Node, federation, stored
from tests.keys import pool_keygen


async def test_a_restored_node_signs_and_its_peer_verifies_with_the_key_it_cached(
        tmp_path: Path, database: Callable[[Path, str], str] | None) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"], database=database) as fed, \
            AsyncExitStack() as stack:
        drenthe, fryslan = fed["drenthe"], fed["fryslan"]
        # Given Fryslân follows Drenthe, so it has fetched and cached Drenthe's keys
        await follow(fryslan.ctx, "drenthe@drenthe.test")
        await fed.settle()
        # And Drenthe is backed up, then restored onto a new database
        settings = drenthe.ctx.settings
        (settings.dir / CONFIG_FILE).write_text(render_toml(settings), encoding="utf-8")
        archive = tmp_path / "drenthe.tar.gz"
        await asyncio.to_thread(backup.create_backup, settings, archive)
        target = tmp_path / "restored"
        target.mkdir()
        new_url = (database(target, "restored") if database is not None
                   else f"sqlite+aiosqlite:///{target / 'node.db'}")
        restored_settings, _ = await asyncio.to_thread(
            backup.restore_backup, target, archive,
            environ={"KENNISKNOOP_DATABASE_URL": new_url})
        assert restored_settings.database_url == new_url
        # When the restored node takes over drenthe.test and publishes a new item
        http = await stack.enter_async_context(httpx.AsyncClient(
            transport=fed.network.client_for("drenthe.test")))
        app = create_app(restored_settings, http=http, clock=fed.clock, keygen=pool_keygen())
        await stack.enter_async_context(app.router.lifespan_context(app))
        ctx: NodeContext = app.state.ctx
        fed.network.add("drenthe.test", app)
        fed.nodes["drenthe"] = Node("drenthe", app, ctx)
        seen = len(fed.network.history)
        item = await create_item(ctx, item_input(kind="story", title="Na de verhuizing",
                                                 content="Zelfde sleutels."), SYSTEM)
        await fed.settle()
        # Then Fryslân accepted the signed delivery with the key it had cached: no refetch
        got = await stored(fryslan, item.ap_id)
        assert got is not None and got.title == "Na de verhuizing"
        refetches = [(source, method, url) for source, method, url in fed.network.history[seen:]
                     if source == "fryslan.test" and method == "GET" and "drenthe.test" in url]
        assert refetches == []
