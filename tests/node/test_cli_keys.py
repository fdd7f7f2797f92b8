"""``kennisknoop keys rotate`` on a node directory (the two-node behaviour: tests/federation/test_keys.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from node.cli import init_node, load, main, open_context
from node.store import actors as actor_store
from node.store.actors import StoredActor
from tests.node.test_cli import URL


def node_actor(directory: Path) -> StoredActor:
    async def read() -> StoredActor:
        async with open_context(load(directory)) as ctx, ctx.db.sessions() as session:
            actor = await actor_store.get_local(session, "fryslan")
            assert actor is not None
            return actor
    return asyncio.run(read())


def test_keys_rotate_replaces_the_key_pairs_and_queues_the_update(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = tmp_path / "node"
    init_node(directory, url=URL, name="Doarpswurk", handle="fryslan", environ={})
    before = node_actor(directory)
    assert main(["keys", "rotate", str(directory), "fryslan"]) == 0
    out = capsys.readouterr().out
    after = node_actor(directory)
    assert "new key pairs for" in out and after.ap_id in out
    assert after.rsa_private_pem != before.rsa_private_pem
    assert after.ed_private_pem != before.ed_private_pem
    assert after.rsa_key_id == before.rsa_key_id and after.version == before.version + 1


def test_keys_rotate_of_an_unknown_handle_fails_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = tmp_path / "node"
    init_node(directory, url=URL, name="Doarpswurk", handle="fryslan", environ={})
    assert main(["keys", "rotate", str(directory), "nobody"]) == 1
    err = capsys.readouterr().err
    assert "nobody" in err and len(err.splitlines()) == 1
