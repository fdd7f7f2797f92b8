"""Fixtures shared by the federation suites."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.federation.harness import postgres


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Iterator[Callable[[Path, str], str] | None]:
    """The ``database=`` of ``federation()``: SQLite files, then one PostgreSQL database a node."""
    if request.param == "sqlite":
        yield None
        return
    with postgres() as make:
        yield make
