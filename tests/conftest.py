"""Shared fixtures: paths to the standard test vectors (copied from shared/vectors/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

VECTORS = Path(__file__).parent / "vectors"


def load_vector(name: str) -> Any:
    """Load one of the JSON vector files shipped in tests/vectors/."""
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


@pytest.fixture
def vectors_dir() -> Path:
    return VECTORS
