"""pyproject.toml names only what exists: package data patterns match files in the checkout."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PACKAGE_DATA: dict[str, list[str]] = PYPROJECT["tool"]["setuptools"]["package-data"]


@pytest.mark.parametrize(("package", "pattern"), [
    (package, pattern) for package, patterns in PACKAGE_DATA.items() for pattern in patterns])
def test_every_package_data_pattern_names_a_file(package: str, pattern: str) -> None:
    matches = [p for p in (ROOT / package).glob(pattern) if p.is_file()]
    assert matches, f"package-data {package}: {pattern!r} matches no file"


def test_the_migrations_and_templates_are_package_data() -> None:
    """What the installed node reads from its package directory at run time."""
    patterns = set(PACKAGE_DATA["node"])
    assert {"templates/*.html", "migrations/env.py", "migrations/versions/*.py"} <= patterns
