"""The import graph keeps its layers: ``web → services → store``, ``services → protocol``/``remote``.

Every module of ``protocol/`` and ``node/`` is read with ``ast`` (nothing is imported), and each
``import`` of a ``node``/``protocol`` module, ``TYPE_CHECKING`` blocks included, is checked against
``MAY_IMPORT``. A new module is checked the day it is added. ``protocol`` is the pure library
every layer may use; ``app``, ``cli``, ``worker`` and ``demo`` wire the layers together.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Which layers the modules of a layer may import (besides their own layer).
MAY_IMPORT: dict[str, frozenset[str]] = {
    "protocol": frozenset(),
    "config": frozenset({"protocol"}),
    "remote": frozenset({"protocol"}),
    "store": frozenset({"protocol"}),
    "services": frozenset({"protocol", "config", "remote", "store"}),
    "web": frozenset({"protocol", "config", "services", "package"}),
    "entry": frozenset({"protocol", "config", "remote", "store", "services", "web", "entry",
                        "package"}),
}

# Handlers that still take store dataclasses directly instead of through services (issue 9:
# none left; they come through node.services.records). test_no_stale_exceptions keeps it honest.
WEB_STORE_EXCEPTIONS: frozenset[tuple[str, str]] = frozenset()


def layer_of(module: str) -> str | None:
    """The layer of a dotted module name, or None for a module outside ``node`` and ``protocol``."""
    parts = module.split(".")
    if parts[0] == "protocol":
        return "protocol"
    if parts[0] != "node":
        return None
    if len(parts) == 1:
        return "package"  # node/__init__.py: the version only
    if parts[1] in ("web", "services", "store", "config", "remote"):
        return parts[1]
    return "entry"  # app, cli, worker, demo, migrations


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(module: str, source: str, *, is_package: bool = False) -> set[str]:
    """Every module ``source`` imports, relative imports resolved against ``module``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = module.split(".")
                if not is_package:
                    package.pop()
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.add(name)
            # `from node.store import follows` imports the module node.store.follows
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


def crossings(module: str, imports: set[str]) -> list[tuple[str, str]]:
    """The imports of ``module`` that cross a layer boundary, as ``(module, imported)`` pairs."""
    own = layer_of(module)
    assert own is not None, module
    bad = []
    for imported in sorted(imports):
        other = layer_of(imported)
        if other is None or other == own or other in MAY_IMPORT[own]:
            continue
        bad.append((module, imported))
    return bad


def _source_files() -> list[Path]:
    return sorted([*ROOT.glob("protocol/**/*.py"), *ROOT.glob("node/**/*.py")])


def _all_crossings() -> list[tuple[str, str]]:
    found = []
    for path in _source_files():
        module = module_name(path)
        imports = imported_modules(module, path.read_text(encoding="utf-8"),
                                   is_package=path.name == "__init__.py")
        found += crossings(module, imports)
    return found


def _is_module(name: str) -> bool:
    """Whether ``name`` is a module or package on disk (not a class imported from a module)."""
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def test_no_module_crosses_a_layer() -> None:
    crossing = [pair for pair in _all_crossings()
                if _is_module(pair[1]) and pair not in WEB_STORE_EXCEPTIONS]
    assert crossing == [], "these imports cross the layers web → services → store: " + ", ".join(
        f"{module} imports {imported}" for module, imported in crossing)


def test_no_stale_exceptions() -> None:
    actual = set(_all_crossings())
    stale = sorted(WEB_STORE_EXCEPTIONS - actual)
    assert stale == [], f"remove these fixed imports from WEB_STORE_EXCEPTIONS: {stale}"


def test_every_source_file_has_a_layer() -> None:
    files = _source_files()
    assert len(files) > 50
    assert all(layer_of(module_name(path)) is not None for path in files)


def test_the_check_catches_store_importing_services() -> None:
    imports = imported_modules("node.store.follows", "from node.services.errors import X\n")
    assert crossings("node.store.follows", imports) == [
        ("node.store.follows", "node.services.errors"), ("node.store.follows", "node.services.errors.X")]


def test_the_check_catches_services_importing_web_relatively() -> None:
    imports = imported_modules("node.services.items", "from ..web import common\n")
    assert ("node.services.items", "node.web.common") in crossings("node.services.items", imports)


def test_the_check_catches_protocol_importing_node_under_type_checking() -> None:
    source = ("from typing import TYPE_CHECKING\n"
              "if TYPE_CHECKING:\n    import node.config\n")
    imports = imported_modules("protocol.keys", source)
    assert crossings("protocol.keys", imports) == [("protocol.keys", "node.config")]


def test_the_check_allows_the_arrows_of_the_design() -> None:
    for module, imported in [("node.web.api", "node.services.items"),
                             ("node.services.follow", "node.store.follows"),
                             ("node.services.follow", "protocol.parse"),
                             ("node.remote", "protocol.keys"),
                             ("node.worker", "node.store.deliveries")]:
        assert crossings(module, {imported}) == [], (module, imported)
