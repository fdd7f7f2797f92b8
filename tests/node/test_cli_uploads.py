"""``kennisknoop sweep-uploads DIR [--dry-run]``: the orphan sweep from the command line, run as
a real process on an initialised node (the worker runs the same sweep every hour)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from node.services import attachments
from tests.node.test_cli import initialised, kennisknoop, node_dir

__all__ = ["initialised", "node_dir"]  # the fixtures, used by name


def _upload(directory: Path, data: bytes, *, hours_old: float) -> str:
    stored = attachments.store(directory, data, 1_000_000)
    when = time.time() - hours_old * 3600
    os.utime(attachments.folder(directory) / stored.sha256, (when, when))
    return stored.sha256


def test_dry_run_lists_then_the_sweep_removes_only_old_unnamed_files(node_dir: Path) -> None:
    # Given an unnamed upload two days old and one an hour old
    old = _upload(node_dir, b"%PDF-1.7\nvergeten", hours_old=48)
    young = _upload(node_dir, b"%PDF-1.7\nnog bezig", hours_old=1)
    assert old == hashlib.sha256(b"%PDF-1.7\nvergeten").hexdigest()
    # When an admin asks what would go
    dry = kennisknoop("sweep-uploads", node_dir, "--dry-run")
    # Then only the old one is listed, and nothing is removed
    assert dry.returncode == 0, dry.stderr
    assert f"would remove {old}  17 bytes" in dry.stdout
    assert young not in dry.stdout
    assert "1 uploaded files (0.0 MB) named by nothing and older than 24 h would be removed " \
           "(dry run: nothing removed)" in dry.stdout
    assert sorted(p.name for p in attachments.folder(node_dir).iterdir()) == sorted([old, young])
    # When the sweep runs for real, the old one goes
    swept = kennisknoop("sweep-uploads", node_dir)
    assert swept.returncode == 0, swept.stderr
    assert f"removed {old}" in swept.stdout
    assert [p.name for p in attachments.folder(node_dir).iterdir()] == [young]
