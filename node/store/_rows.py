"""Row-to-dataclass conversion shared by the store modules."""

from __future__ import annotations

from dataclasses import fields
from typing import TypeVar

from sqlalchemy import RowMapping

T = TypeVar("T")


def to_dataclass(cls: type[T], row: RowMapping) -> T:
    """Build ``cls`` from a row, taking the dataclass's fields by name."""
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    return cls(**{name: row[name] for name in names})
