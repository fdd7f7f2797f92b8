"""protocol/ is pure: importing any of its modules pulls in neither node, starlette nor sqlalchemy.

Each module is imported in a fresh interpreter, because this test process has long since imported
everything; modules are found on disk with pkgutil (without importing them here), so a new
module is checked the day it is added.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import protocol

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("node", "starlette", "sqlalchemy")

_CHECK = """
import sys
import {modules}
forbidden = {forbidden!r}
loaded = sorted(
    name for name in sys.modules
    if any(name == top or name.startswith(top + ".") for top in forbidden)
)
if loaded:
    raise SystemExit("imported: " + ", ".join(loaded))
"""


def _modules(paths: list[str], prefix: str) -> list[str]:
    found: list[str] = []
    for info in pkgutil.iter_modules(paths, prefix):
        found.append(info.name)
        if info.ispkg:
            short = info.name.rsplit(".", 1)[-1]
            found += _modules([str(Path(p) / short) for p in paths], info.name + ".")
    return found


MODULES = _modules(list(protocol.__path__), "protocol.")


def test_module_discovery_finds_the_protocol_modules() -> None:
    assert {"protocol.keys", "protocol.proofs", "protocol.actors"} <= set(MODULES)


def _import_in_fresh_interpreter(modules: str) -> subprocess.CompletedProcess[str]:
    code = _CHECK.format(modules=modules, forbidden=FORBIDDEN)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_the_check_catches_a_forbidden_import() -> None:
    result = _import_in_fresh_interpreter("protocol, sqlalchemy")
    assert result.returncode != 0
    assert "imported: sqlalchemy" in result.stderr


@pytest.mark.parametrize("module", MODULES)
def test_importing_module_pulls_in_no_server_code(module: str) -> None:
    result = _import_in_fresh_interpreter(f"protocol, {module}")
    assert result.returncode == 0, result.stderr or result.stdout
