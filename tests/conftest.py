"""Shared fixtures, and a suite that leaves no file behind in the checkout.

Some libraries write into the current directory (bovine creates ``bovine_jsonld_cache.sqlite``
when it is imported), so the whole run, collection included, happens in a temporary working
directory; at the end the checkout must hold no untracked file it did not hold before the run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

VECTORS = Path(__file__).parent / "vectors"
REPO_ROOT = Path(__file__).resolve().parent.parent

_state: dict[str, Any] = {}


def load_vector(name: str) -> Any:
    """Load one of the JSON vector files shipped in tests/vectors/."""
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


@pytest.fixture
def vectors_dir() -> Path:
    return VECTORS


def untracked_files(repo: Path) -> set[str] | None:
    """Untracked, not ignored files of the git checkout ``repo`` (None: not a git checkout)."""
    if not (repo / ".git").exists() or shutil.which("git") is None:
        return None
    result = subprocess.run(["git", "-C", str(repo), "status", "--porcelain",
                             "--untracked-files=all"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return None
    return {line[3:] for line in result.stdout.splitlines() if line.startswith("?? ")}


def pytest_configure(config: pytest.Config) -> None:
    # Before collection: test modules import libraries that write into the working directory.
    _state["before"] = untracked_files(REPO_ROOT)
    _state["cwd"] = os.getcwd()
    _state["workdir"] = tempfile.mkdtemp(prefix="kennisknoop-tests-")
    os.chdir(_state["workdir"])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Files that hold a test marked ``slow`` run first, each file's tests kept together and in order.

    ``make test`` hands whole files to its workers in this order (pytest-xdist ``--dist loadfile``):
    the long files (real processes, browsers, whole federations) start at once, and the short ones
    fill in around them instead of leaving one worker alone with a long file at the end.
    """
    slow_files = {item.nodeid.split("::", 1)[0] for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.nodeid.split("::", 1)[0] not in slow_files)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = _state.get("before")
    after = untracked_files(REPO_ROOT)
    if before is None or after is None:
        return
    left = sorted(after - before)
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"\ntests left untracked files in the checkout: {left}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    if "cwd" in _state:
        os.chdir(_state.pop("cwd"))
        shutil.rmtree(_state.pop("workdir"), ignore_errors=True)
