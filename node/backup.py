"""``kennisknoop backup`` and ``restore``: a node's data in one checked archive (docs/operations.md).

The archive is a ``.tar.gz`` holding:

- ``manifest.json``: format, creation time, the node's URL and handle, the database kind and
  its migration revision, and the SHA-256 and size of every other member;
- ``database.sqlite3`` (SQLite's online backup API: a consistent copy while the node writes) or
  ``database.pgdump`` (``pg_dump --format=custom``: one snapshot, taken while the node runs);
  the database holds every actor's private keys, so the archive is a secret (mode 0600);
- ``config/kennisknoop.toml``: the configuration file (environment overrides are not in it);
- ``attachments/…``: the node directory's ``attachments`` folder, when there is one.

``restore`` checks every checksum before it touches anything, refuses a node that is running
(a worker heartbeat within the last minute) or holds data unless ``force``, and restores into
the same kind of database only (moving from SQLite to PostgreSQL is an export/import).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import orjson
import psycopg
from sqlalchemy.engine import URL, make_url

from node import __version__
from node.config import CONFIG_FILE, Settings, load_settings
from node.services.health import HEARTBEAT_FRESH
from node.store import workers as worker_store
from node.store.db import Database

FORMAT = "kennisknoop-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ATTACHMENTS = "attachments"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
CONFIG_MEMBER = f"config/{CONFIG_FILE}"


class BackupError(Exception):
    """A backup or restore cannot go on; ``str(exc)`` is one line for the user."""


@dataclass(frozen=True)
class Manifest:
    node_url: str
    handle: str
    database: str  # sqlite | postgresql
    revision: str | None
    files: dict[str, dict[str, Any]]
    created_at: str


# --- PostgreSQL through its own tools -------------------------------------------------------------


def _pg_target(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and the environment carrying it (not on argv)."""
    user = quote(url.username or "", safe="")
    host = url.host or "localhost"
    port = f":{url.port}" if url.port else ""
    query = f"?{urlencode(dict(url.query))}" if url.query else ""
    uri = f"postgresql://{user + '@' if user else ''}{host}{port}/{quote(url.database or '')}" \
          f"{query}"
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return uri, env


def _run_tool(args: list[str], env: dict[str, str]) -> None:
    if shutil.which(args[0]) is None:
        raise BackupError(f"{args[0]} is not installed (PostgreSQL client tools are needed)")
    result = subprocess.run(args, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or [f"exit status {result.returncode}"]
        raise BackupError(f"{args[0]} failed: {lines[0]}")


def _pg_conninfo(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_revision(url: URL) -> str | None:
    with psycopg.connect(_pg_conninfo(url)) as conn:
        exists = conn.execute("SELECT to_regclass('alembic_version')").fetchone()
        if exists is None or exists[0] is None:
            return None
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(row[0]) if row else None


# --- backup ---------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(url.database)


def _copy_sqlite(source: Path, target: Path) -> str | None:
    """A consistent copy of a live SQLite database (online backup API); its revision."""
    if not source.is_file():
        raise BackupError(f"the database file {source} does not exist")
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # copies page by page, restarting if another connection writes
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        try:
            row = dst.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            row = None
    finally:
        dst.close()
        src.close()
    return str(row[0]) if row else None


def create_backup(settings: Settings, target: Path) -> Manifest:
    """Write the archive of the node ``settings`` describe to ``target``."""
    url = make_url(settings.database_url)
    kind = url.get_backend_name()
    target = target.resolve()
    with tempfile.TemporaryDirectory(prefix=".kk-backup-", dir=target.parent) as tmp:
        work = Path(tmp)
        if kind == "sqlite":
            member = SQLITE_MEMBER
            revision = _copy_sqlite(_sqlite_path(url), work / member)
        else:
            member = PG_MEMBER
            revision = _pg_revision(url)
            uri, env = _pg_target(url)
            _run_tool(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                       f"--file={work / member}", f"--dbname={uri}"], env)
        members = [(member, work / member)]
        config = settings.dir / CONFIG_FILE
        if config.is_file():
            members.append((CONFIG_MEMBER, config))
        attachments = settings.dir / ATTACHMENTS
        if attachments.is_dir():
            members += [(f"{ATTACHMENTS}/{p.relative_to(attachments).as_posix()}", p)
                        for p in sorted(attachments.rglob("*")) if p.is_file()]
        files = {name: {"sha256": _sha256(path), "size": path.stat().st_size}
                 for name, path in members}
        manifest = Manifest(node_url=settings.node.url, handle=settings.node.handle,
                            database=kind, revision=revision, files=files,
                            created_at=datetime.now(UTC).isoformat(timespec="seconds"))
        (work / MANIFEST).write_bytes(orjson.dumps({
            "format": FORMAT, "format_version": FORMAT_VERSION, "kennisknoop": __version__,
            **manifest.__dict__}, option=orjson.OPT_INDENT_2))
        partial = target.with_name(target.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds private keys
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            tar.add(work / MANIFEST, arcname=MANIFEST)
            for name, path in members:
                tar.add(path, arcname=name)
        partial.replace(target)  # never half an archive under the real name
    return manifest


# --- restore --------------------------------------------------------------------------------------


@contextmanager
def _unpacked(archive: Path) -> Iterator[tuple[Path, Manifest]]:
    """The archive extracted into a temporary directory, every checksum verified."""
    if not archive.is_file():
        raise BackupError(f"{archive} is not a file")
    with tempfile.TemporaryDirectory(prefix=".kk-restore-") as tmp:
        work = Path(tmp)
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(work, filter="data")  # no absolute paths, links or devices
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BackupError(f"{archive} is not a readable backup archive: {exc}") from exc
        try:
            data = orjson.loads((work / MANIFEST).read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise BackupError(f"{archive} has no readable {MANIFEST}") from exc
        if data.get("format") != FORMAT or data.get("format_version") != FORMAT_VERSION:
            raise BackupError(f"{archive} is not a {FORMAT} archive of version {FORMAT_VERSION}")
        manifest = Manifest(**{k: data[k] for k in Manifest.__dataclass_fields__})
        present = {p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file()}
        if present - {MANIFEST} != set(manifest.files):
            raise BackupError(f"{archive}: its files differ from those its manifest lists")
        for name, expected in manifest.files.items():
            if _sha256(work / name) != expected["sha256"]:
                raise BackupError(f"{archive}: {name} does not match its checksum (damaged?)")
        yield work, manifest


async def _node_state(settings: Settings) -> tuple[bool, datetime | None]:
    """Whether the target database holds a node, and its freshest worker heartbeat."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    db = Database.connect(settings.database_url)
    try:
        async with db.sessions() as session:
            try:
                count = (await session.execute(text("SELECT count(*) FROM actors"))).scalar()
            except SQLAlchemyError:
                return False, None  # no schema: an empty database
            try:
                beat = await worker_store.last_beat(session)
            except SQLAlchemyError:
                beat = None  # a schema from before heartbeats
            return bool(count), beat
    finally:
        await db.dispose()


def _check_target(settings: Settings, *, force: bool) -> None:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and not _sqlite_path(url).exists():
        return
    holds_data, beat = asyncio.run(_node_state(settings))
    if beat is not None and datetime.now(UTC) - beat <= HEARTBEAT_FRESH and not force:
        raise BackupError("the node is running (a worker wrote a heartbeat within the last "
                          "minute): stop `serve` and `worker` first, or pass --force")
    if holds_data and not force:
        raise BackupError("the node's database already holds data: restore into an empty "
                          "database, or pass --force to replace it")


def _restore_sqlite(source: Path, url: URL) -> None:
    target = _sqlite_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".restoring")
    shutil.copyfile(source, partial)
    for suffix in ("-wal", "-shm"):  # the old database's log must not be replayed onto the new
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    partial.replace(target)


def _restore_postgres(source: Path, url: URL) -> None:
    with psycopg.connect(_pg_conninfo(url), autocommit=True) as conn:
        # Only reached when the database is empty or --force was given (``_check_target``).
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    uri, env = _pg_target(url)
    _run_tool(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
               "--single-transaction", f"--dbname={uri}", str(source)], env)


def restore_backup(directory: Path, archive: Path, *, force: bool = False,
                   environ: dict[str, str] | None = None) -> tuple[Settings, Manifest]:
    """Restore ``archive`` into the node directory ``directory``; the restored node's settings.

    Without ``DIR/kennisknoop.toml`` the archived one is written there; an existing one is kept
    (it may name a new database server). The schema is then migrated to this release.
    """
    with _unpacked(archive) as (work, manifest):
        directory.mkdir(parents=True, exist_ok=True)
        config = directory / CONFIG_FILE
        wrote_config = False
        if not config.exists():
            if CONFIG_MEMBER not in manifest.files:
                raise BackupError(f"the archive has no configuration and {config} does not exist")
            shutil.copyfile(work / CONFIG_MEMBER, config)
            config.chmod(0o600)
            wrote_config = True
        try:
            settings = load_settings(directory, environ=environ)
            if settings.node.url != manifest.node_url:
                raise BackupError(f"the archive is of the node {manifest.node_url}, but "
                                  f"{config} is for {settings.node.url}")
            url = make_url(settings.database_url)
            if url.get_backend_name() != manifest.database:
                raise BackupError(f"the archive holds a {manifest.database} database and this "
                                  f"node uses {url.get_backend_name()}: restore into the same "
                                  "kind (move between kinds with export and import)")
            _check_target(settings, force=force)
        except BaseException:
            if wrote_config:
                config.unlink()  # leave the directory as it was
            raise
        if manifest.database == "sqlite":
            _restore_sqlite(work / SQLITE_MEMBER, url)
        else:
            _restore_postgres(work / PG_MEMBER, url)
        attachments = work / ATTACHMENTS
        if attachments.is_dir():
            shutil.rmtree(directory / ATTACHMENTS, ignore_errors=True)
            shutil.copytree(attachments, directory / ATTACHMENTS)
    from node.store.migrate import upgrade  # Alembic: imported only when needed

    upgrade(settings.database_url)  # a backup of an older release comes up to this one
    return settings, manifest
