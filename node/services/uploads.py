"""The orphan sweep: uploaded files that nothing names are removed after a grace period.

A file in ``<node dir>/attachments/`` (``node.services.attachments``) is *named* when an item
(any of its versions in the outbox), an actor's profile or document, or a Markdown text
mentions its URL ``…/bestanden/<sha256>`` (``node.store.uploads``). The node keeps no drafts:
a file uploaded for a form still being filled is named by nothing yet, so a file is removed
only once it is also older than ``uploads.orphan_grace_hours`` (its modification time, which
``attachments.touch`` renews whenever the file is uploaded again or named by a save).

Crash- and race-safe, per file: it is first renamed out of the way (``.orphan-<sha256>``: no
longer served, and a save that names it now is refused as ``unknown_attachment``), then, once
every orphan is aside, the database is read again and each file's age looked at again, and
only then is it deleted; otherwise it is renamed back. A save that named it before the
rename has touched it (``attachments.describe_local``, ``describe_avatar``), so the second look
sees it young and keeps it. A crash between the steps leaves a ``.orphan-`` file, which the
next sweep finishes (deleted or put back by the same checks). Leftover ``.upload-`` temporary
files of an interrupted upload past the grace period go too.

Run hourly by the worker (job ``uploads``) and by ``kennisknoop sweep-uploads [--dry-run]``.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from node.services import attachments
from node.services.context import NodeContext
from node.services.permissions import Caller, require_admin
from node.store import uploads as upload_store

log = logging.getLogger("kennisknoop.uploads")

JOB_KIND = "uploads"
#: How often the worker sweeps; the grace period is hours, so an hour late is never noticed.
INTERVAL = timedelta(hours=1)
QUARANTINE = ".orphan-"
_STORED = re.compile(r"[0-9a-f]{64}")
_TEMP = ".upload-"


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    modified: datetime


@dataclass
class Sweep:
    """What a sweep found and did (``removed`` is empty for a dry run)."""

    orphans: list[StoredFile] = field(default_factory=list)  # unnamed and past the grace period
    removed: list[StoredFile] = field(default_factory=list)
    kept: list[StoredFile] = field(default_factory=list)  # named or touched since the listing

    @property
    def removed_bytes(self) -> int:
        return sum(f.size for f in self.removed)


@dataclass(frozen=True)
class Usage:
    """The admin page's figures: every stored file, and those nothing names (any age)."""

    files: int
    bytes: int
    orphans: int
    orphan_bytes: int
    grace_hours: int


def _listed(path: Path) -> StoredFile | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return StoredFile(path.name.removeprefix(QUARANTINE), stat.st_size,
                      datetime.fromtimestamp(stat.st_mtime, UTC))


def stored_files(directory: Path) -> list[StoredFile]:
    """Every stored upload (a quarantined one of an interrupted sweep too), by name."""
    folder = attachments.folder(directory)
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        if _STORED.fullmatch(path.name.removeprefix(QUARANTINE)) and path.is_file():
            listed = _listed(path)
            if listed is not None:
                found.append(listed)
    return found


async def usage(ctx: NodeContext, caller: Caller) -> Usage:
    """Admins only (the admin page)."""
    require_admin(caller)
    files = stored_files(ctx.settings.dir)
    async with ctx.db.sessions() as session:
        named = await upload_store.named_files(session)
    orphans = [f for f in files if f.sha256 not in named]
    return Usage(len(files), sum(f.size for f in files), len(orphans),
                 sum(f.size for f in orphans), ctx.settings.uploads.orphan_grace_hours)


async def sweep(ctx: NodeContext, *, dry_run: bool = False) -> Sweep:
    """Remove the files nothing names that are older than the grace period; ``dry_run``: only
    list them.

    Two reads of the database whatever the number of orphans: one to find them, and one after
    every one of them has been moved aside, which decides.
    """
    cutoff = ctx.now() - timedelta(hours=ctx.settings.uploads.orphan_grace_hours)
    folder = attachments.folder(ctx.settings.dir)
    result = Sweep()
    if not dry_run:
        _remove_stale_temporaries(ctx.settings.dir, cutoff)
    files = stored_files(ctx.settings.dir)
    interrupted = [f.sha256 for f in files if (folder / f"{QUARANTINE}{f.sha256}").exists()]
    old = [f for f in files if f.modified < cutoff]
    if not old and not interrupted:
        return result
    async with ctx.db.sessions() as session:
        named = await upload_store.named_files(session)
    result.orphans = list({f.sha256: f for f in old if f.sha256 not in named}.values())
    if dry_run:
        return result
    for orphan in result.orphans:  # from here on not served, and a save naming it fails
        path = folder / orphan.sha256
        if path.exists():
            os.replace(path, folder / f"{QUARANTINE}{orphan.sha256}")
    async with ctx.db.sessions() as session:
        named = await upload_store.named_files(session)  # the second look decides
    removed = {sha256: found for sha256 in dict.fromkeys(
        [*interrupted, *(o.sha256 for o in result.orphans)])
        if (found := _settle(folder, sha256, named, cutoff)) is not None}
    result.removed = list(removed.values())
    result.kept = [o for o in result.orphans if o.sha256 not in removed]
    if result.removed:
        log.info("uploads: %d unnamed files removed (%d bytes)", len(result.removed),
                 result.removed_bytes)
    return result


def _settle(folder: Path, sha256: str, named: set[str], cutoff: datetime) -> StoredFile | None:
    """Delete a file set aside (returned) unless it is named or young now: then put it back."""
    path, aside = folder / sha256, folder / f"{QUARANTINE}{sha256}"
    listed = _listed(aside)
    if listed is None:
        return None  # gone meanwhile (another sweep)
    if sha256 in named or listed.modified >= cutoff:
        if path.exists():
            aside.unlink(missing_ok=True)  # uploaded again meanwhile: the same content is there
        else:
            os.replace(aside, path)  # back where it was
        return None
    aside.unlink(missing_ok=True)
    return listed


def _remove_stale_temporaries(directory: Path, cutoff: datetime) -> None:
    folder = attachments.folder(directory)
    for path in folder.glob(f"{_TEMP}*") if folder.is_dir() else ():
        listed = _listed(path)
        if listed is not None and listed.modified < cutoff:
            path.unlink(missing_ok=True)
