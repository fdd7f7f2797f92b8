"""The suite leaves nothing behind: the untracked-file check of tests/conftest.py."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, untracked_files


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_untracked_files_lists_new_files_but_not_ignored_ones(tmp_path: Path) -> None:
    # Given a git checkout with an ignore rule
    _git(tmp_path, "init", "-q")
    (tmp_path / ".gitignore").write_text("*.sqlite\n")
    (tmp_path / "sub").mkdir()
    # When a test leaves an ignored file and an untracked one
    (tmp_path / "bovine_jsonld_cache.sqlite").write_bytes(b"")
    (tmp_path / "sub" / "left.txt").write_text("x")
    # Then only the untracked one counts
    assert untracked_files(tmp_path) == {".gitignore", "sub/left.txt"}


def test_untracked_files_is_none_outside_a_git_checkout(tmp_path: Path) -> None:
    assert untracked_files(tmp_path) is None


def test_the_suite_runs_outside_the_checkout() -> None:
    assert not Path.cwd().resolve().is_relative_to(REPO_ROOT)
