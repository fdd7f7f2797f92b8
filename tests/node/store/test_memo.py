"""Rows held in memory (node.store._memo): read once, forgotten by every write that changes them.

Held rows answer without a statement; a write forgets them at once and again on commit, on every
engine of the process on the same database; a rolled-back write leaves nothing behind; another
process's write is seen once ``HOLD_SECONDS`` have passed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from node.store import _memo
from node.store import actors as actor_store
from node.store import blocks as block_store
from node.store import follows as follow_store
from node.store import peers as peer_store
from node.store.db import Database
from node.store.schema import peers
from tests.statements import Statements

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
async def dbs(database_url: str) -> AsyncIterator[tuple[Database, Database]]:
    """Two engines on one database: the server's and, say, the CLI's in the same process."""
    first, second = Database.connect(database_url), Database.connect(database_url)
    yield first, second
    await first.dispose()
    await second.dispose()


def _count(db: Database) -> Statements:
    from sqlalchemy import event

    sent = Statements()
    event.listen(db.engine.sync_engine, "before_cursor_execute",
                 lambda *args: sent.append(str(args[2]).split("\n")[0]))
    return sent


async def test_a_block_by_another_engine_counts_at_once(dbs: tuple[Database, Database]
                                                        ) -> None:
    server, cli = dbs
    sent = _count(server)
    async with server.sessions() as session:
        assert await block_store.hosts(session) == frozenset()
        assert await block_store.hosts(session) == frozenset()
    assert len(sent) == 1  # the second read was held
    async with cli.transaction() as session:
        await block_store.add(session, "evil.test", now=NOW)
    async with server.sessions() as session:
        assert await block_store.hosts(session) == {"evil.test"}
    async with cli.transaction() as session:
        await block_store.remove(session, "evil.test")
    async with server.sessions() as session:
        assert await block_store.hosts(session) == frozenset()


async def test_a_rolled_back_write_leaves_nothing_held(dbs: tuple[Database, Database]) -> None:
    db, _ = dbs
    async with db.transaction() as session:
        await peer_store.ensure(session, "peer.test")
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            peer = await peer_store.get(session, "peer.test")
            await peer_store.set_values(session, "peer.test", known=peer,
                                        failure_days=["2026-12-04"])
            assert (await peer_store.get(session, "peer.test")).failure_days == ["2026-12-04"]
            raise RuntimeError("the transaction fails after the write")
    async with db.sessions() as session:
        again = await peer_store.get(session, "peer.test")
    assert again is not None and again.failure_days == []


async def test_what_a_transaction_wrote_is_held_once_it_commits(
        dbs: tuple[Database, Database]) -> None:
    db, other = dbs
    async with db.transaction() as session:
        peer = await peer_store.ensure(session, "peer.test")
        await peer_store.set_values(session, "peer.test", known=peer, last_success_at=NOW)
    sent = _count(db)
    async with db.sessions() as session:
        held = await peer_store.get(session, "peer.test")
    assert sent == [] and held is not None and held.last_success_at == NOW
    async with other.sessions() as session:  # and the row says the same
        read = await peer_store.get(session, "peer.test")
    assert read is not None and read.last_success_at is not None


async def test_a_node_actor_written_is_read_anew(dbs: tuple[Database, Database]) -> None:
    db, cli = dbs
    async with db.transaction() as session:
        await actor_store.insert(session, ap_id="https://n.test/actors/n", is_local=True,
                                 kind="node", handle="n", host="n.test", type="Service",
                                 rsa_key_id="https://n.test/actors/n#main-key", profile={},
                                 version=1, published=NOW, updated=NOW)
    async with db.sessions() as session:
        node = await actor_store.get_node(session)
        assert node is not None and await actor_store.get_by_key_id(
            session, "https://n.test/actors/n#main-key") == node
    async with cli.transaction() as session:  # a key rotation
        await actor_store.update_values(session, "https://n.test/actors/n",
                                        rsa_key_id="https://n.test/actors/n#key-2")
    async with db.sessions() as session:
        node = await actor_store.get_node(session)
        assert node is not None and node.rsa_key_id == "https://n.test/actors/n#key-2"
        assert await actor_store.get_by_key_id(session, "https://n.test/actors/n#main-key") is None


async def test_a_held_actor_is_answered_without_building_its_query(
        dbs: tuple[Database, Database], monkeypatch: pytest.MonkeyPatch) -> None:
    # Building the select costs more than the held lookup (the inbox asks for its signer's key
    # on every request): once held, no query is built at all.
    db, _ = dbs
    key_id = "https://n.test/actors/n#main-key"
    async with db.transaction() as session:
        await actor_store.insert(session, ap_id="https://n.test/actors/n", is_local=True,
                                 kind="node", handle="n", host="n.test", type="Service",
                                 rsa_key_id=key_id, profile={}, version=1, published=NOW,
                                 updated=NOW)
    async with db.sessions() as session:
        found = (await actor_store.get_by_key_id(session, key_id),
                 await actor_store.get(session, "https://n.test/actors/n"),
                 await actor_store.get_local(session, "N"), await actor_store.get_node(session))

    def no_query(*args: object) -> None:
        raise AssertionError("a query was built for a held actor")

    monkeypatch.setattr(actor_store, "select", no_query)
    async with db.sessions() as session:
        assert (await actor_store.get_by_key_id(session, key_id),
                await actor_store.get(session, "https://n.test/actors/n"),
                await actor_store.get_local(session, "N"),
                await actor_store.get_node(session)) == found
    assert found[0] is not None


async def test_held_lists_are_answered_without_building_their_query(
        dbs: tuple[Database, Database], monkeypatch: pytest.MonkeyPatch) -> None:
    # A create asks for the followers of each of its activities' actors and for the theme
    # feeds: once held, neither list builds its select.
    db, _ = dbs
    async with db.transaction() as session:
        await actor_store.insert(session, ap_id="https://n.test/actors/n", is_local=True,
                                 kind="node", handle="n", host="n.test", type="Service",
                                 profile={}, version=1, published=NOW, updated=NOW)
    async with db.sessions() as session:
        found = (await follow_store.follower_actors(session, "https://n.test/actors/n"),
                 await actor_store.list_local(session, kind="node"))

    def no_query(*args: object) -> None:
        raise AssertionError("a query was built for a held list")

    monkeypatch.setattr(actor_store, "select", no_query)
    monkeypatch.setattr(follow_store, "select", no_query)
    async with db.sessions() as session:
        assert (await follow_store.follower_actors(session, "https://n.test/actors/n"),
                await actor_store.list_local(session, kind="node")) == found
    assert [a.ap_id for a in found[1]] == ["https://n.test/actors/n"]


async def test_another_process_write_is_seen_once_the_hold_time_passed(
        dbs: tuple[Database, Database], monkeypatch: pytest.MonkeyPatch) -> None:
    db, _ = dbs
    async with db.transaction() as session:
        await peer_store.ensure(session, "peer.test")
    async with db.sessions() as session:
        await peer_store.get(session, "peer.test")  # now held
    # Written behind the store's back, as another process would: held rows do not know.
    async with db.transaction() as session:
        await session.execute(update(peers).values(accepts_rfc9421=True))
    async with db.sessions() as session:
        assert (await peer_store.get(session, "peer.test")).accepts_rfc9421 is False
    monkeypatch.setattr(_memo, "HOLD_SECONDS", -1.0)  # as if the hold time had passed
    async with db.sessions() as session:
        assert (await peer_store.get(session, "peer.test")).accepts_rfc9421 is True
