"""``kennisknoop backup`` / ``restore`` on SQLite and PostgreSQL.

One round trip runs the commands as users do (subprocesses); the refusals call ``main`` in
process (the same code, seconds faster on a busy machine).
"""

from __future__ import annotations

import asyncio
import io
import sqlite3
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select

from node.cli import init_node, load, main, open_context
from node.store import workers as worker_store
from node.store.schema import actors
from tests import dbs
from tests.node.test_cli import URL, environ, kennisknoop

KEY_COLUMNS = (actors.c.ap_id, actors.c.rsa_key_id, actors.c.rsa_private_pem,
               actors.c.ed_key_id, actors.c.ed_private_pem)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def kind(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.param


@pytest.fixture
def databases(kind: str) -> Iterator[list[str]]:
    """Two PostgreSQL databases (the node's and a new server's), or none for SQLite."""
    if kind == "sqlite":
        yield []
        return
    dbs.require_postgres()
    urls = [dbs.create_pg_database("kk_backup") for _ in range(2)]
    yield urls
    for url in urls:
        dbs.drop_pg_database(url)


@pytest.fixture
def node(tmp_path: Path, databases: list[str]) -> Path:
    directory = tmp_path / "node"
    init_node(directory, url=URL, name="Doarpswurk", handle="fryslan", province="PV21",
              database=databases[0] if databases else None, environ={})
    (directory / "attachments").mkdir()
    (directory / "attachments" / "logo.png").write_bytes(b"\x89PNG fake")
    return directory


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str]:
    """Run one command in process: its exit status and what it printed on stderr."""
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def key_rows(directory: Path) -> list[tuple[object, ...]]:
    async def read() -> list[tuple[object, ...]]:
        async with open_context(load(directory)) as ctx, ctx.db.sessions() as session:
            rows = await session.execute(select(*KEY_COLUMNS).order_by(actors.c.ap_id))
            return [tuple(r) for r in rows]
    return asyncio.run(read())


def test_a_restored_node_has_the_same_actors_keys_and_attachments(
        node: Path, tmp_path: Path, databases: list[str], monkeypatch: pytest.MonkeyPatch
        ) -> None:
    archive = tmp_path / "backup.tar.gz"
    # Given a backup of a node
    made = kennisknoop("backup", node, archive)
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600  # it holds private keys
    with tarfile.open(archive) as tar:
        manifest = orjson.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert manifest["node_url"] == URL and manifest["revision"]
    assert set(manifest["files"]) >= {"config/kennisknoop.toml", "attachments/logo.png"}
    # When it is restored into an empty directory (on PostgreSQL: onto a new database server)
    target = tmp_path / "new-server"
    env = environ(KENNISKNOOP_DATABASE_URL=databases[1]) if databases else environ()
    restored = kennisknoop("restore", target, archive, env=env)
    assert restored.returncode == 0, restored.stderr
    # Then the restored node has every actor with the same keys, and the attachments
    if databases:
        monkeypatch.setenv("KENNISKNOOP_DATABASE_URL", databases[1])
    restored_keys = key_rows(target)
    monkeypatch.delenv("KENNISKNOOP_DATABASE_URL", raising=False)
    assert restored_keys == key_rows(node) and len(restored_keys) > 1
    assert (target / "attachments" / "logo.png").read_bytes() == b"\x89PNG fake"
    assert (target / "kennisknoop.toml").read_text() == (node / "kennisknoop.toml").read_text()


def test_restore_refuses_a_node_that_holds_data_unless_forced(
        node: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "backup.tar.gz"
    assert cli(capsys, "backup", node, archive)[0] == 0
    code, err = cli(capsys, "restore", node, archive)
    assert code == 1
    assert "already holds data" in err and len(err.splitlines()) == 1
    code, err = cli(capsys, "restore", node, archive, "--force")
    assert code == 0, err
    assert len(key_rows(node)) > 1


def test_restore_refuses_a_running_node(node: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "backup.tar.gz"
    assert cli(capsys, "backup", node, archive)[0] == 0

    async def worker_beats() -> None:
        async with open_context(load(node)) as ctx, ctx.db.transaction() as session:
            await worker_store.beat(session, "busy-worker", ctx.now())
    asyncio.run(worker_beats())
    code, err = cli(capsys, "restore", node, archive)
    assert code == 1 and "the node is running" in err


def _tamper(archive: Path, target: Path) -> None:
    """The same archive with one byte of the configuration changed (manifest untouched)."""
    with tarfile.open(archive) as src, tarfile.open(target, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "config/kennisknoop.toml":
                data = data.replace(b"Doarpswurk", b"Doarpswurx", 1)
            dst.addfile(member, io.BytesIO(data))


@pytest.mark.parametrize("kind", ["sqlite"], indirect=True)
def test_restore_refuses_a_damaged_archive_and_leaves_the_directory_empty(
        node: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive, damaged = tmp_path / "backup.tar.gz", tmp_path / "damaged.tar.gz"
    assert cli(capsys, "backup", node, archive)[0] == 0
    _tamper(archive, damaged)
    target = tmp_path / "target"
    code, err = cli(capsys, "restore", target, damaged)
    assert code == 1
    assert "config/kennisknoop.toml does not match its checksum" in err
    assert not (target / "kennisknoop.toml").exists()
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"not an archive")
    assert "not a readable backup archive" in cli(capsys, "restore", target, garbage)[1]


@pytest.mark.parametrize("kind", ["sqlite"], indirect=True)
def test_a_backup_taken_while_the_node_writes_is_consistent(
        node: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a write transaction open on the live database (a worker in the middle of a step)
    live = sqlite3.connect(node / "kennisknoop.db")
    live.execute("BEGIN IMMEDIATE")
    live.execute("UPDATE actors SET name = 'halfway' WHERE kind = 'node'")
    try:
        # When a backup is taken meanwhile
        archive = tmp_path / "backup.tar.gz"
        code, err = cli(capsys, "backup", node, archive)
        assert code == 0, err
    finally:
        live.rollback()
        live.close()
    # Then it holds the last committed state, not the uncommitted write
    target = tmp_path / "target"
    assert cli(capsys, "restore", target, archive)[0] == 0
    restored = sqlite3.connect(target / "kennisknoop.db")
    try:
        names = restored.execute("SELECT name FROM actors WHERE kind = 'node'").fetchall()
    finally:
        restored.close()
    assert names == [("Doarpswurk",)]


def test_restore_into_another_kind_of_database_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
        ) -> None:
    dbs.require_postgres()
    node = tmp_path / "node"
    init_node(node, url=URL, name="Doarpswurk", handle="fryslan", environ={})
    archive = tmp_path / "backup.tar.gz"
    assert cli(capsys, "backup", node, archive)[0] == 0
    url = dbs.create_pg_database("kk_backup")
    monkeypatch.setenv("KENNISKNOOP_DATABASE_URL", url)
    try:
        code, err = cli(capsys, "restore", tmp_path / "pg", archive)
    finally:
        dbs.drop_pg_database(url)
    assert code == 1 and "holds a sqlite database" in err
