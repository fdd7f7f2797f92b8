"""The rows of an import file, read but not validated: the JSON shape, and what rows carry.

A JSON import file is ``{"initiatives": [...], "items": [...], "accept": [...]}`` (each list
optional), every entry an API-shaped body; items may carry ``"ref": "name"`` and answers
``"in_reply_to": "ref:name"``; an accept entry is ``{"question": "ref:…", "answer": "ref:…"}``.
CSV files (``csvrows.py``) give the same rows. Validation is ``importing.py``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from node.services.errors import ServiceError


class FileFormatError(ServiceError):
    """The import file cannot be read as a whole: unknown type, not JSON/CSV, wrong shape."""

    status = 400
    default_reason = "bad_file"


@dataclass(frozen=True)
class Row:
    label: str  # "row 3" (CSV, spreadsheet numbering: the header is row 1) or "item 2 (ref)"
    data: Any  # the raw entry: a dict when the file is well formed
    problem: str | None = None  # set when the row could not even be read as fields


@dataclass(frozen=True)
class ImportBatch:
    """The rows of an import file, not yet validated."""

    initiatives: list[Row] = field(default_factory=list)
    items: list[Row] = field(default_factory=list)
    accepts: list[Row] = field(default_factory=list)


def load_json_document(raw: object, source: str = "file") -> ImportBatch:
    """Rows from the JSON import shape ``{"initiatives", "items", "accept"}`` (each optional)."""
    if not isinstance(raw, dict):
        raise FileFormatError("bad_file", f"{source}: the top level must be a JSON object")
    unknown = sorted(set(raw) - {"initiatives", "items", "accept"})
    if unknown:
        raise FileFormatError("bad_file", f"{source}: unknown top-level key {unknown[0]!r} "
                              "(expected initiatives, items, accept)")
    lists: dict[str, list[Row]] = {}
    for key, noun in (("initiatives", "initiative"), ("items", "item"), ("accept", "accept")):
        entries = raw.get(key) or []
        if not isinstance(entries, list):
            raise FileFormatError("bad_file", f"{source}: {key} must be a list")
        rows = []
        for index, entry in enumerate(entries, start=1):
            name = (entry.get("handle") or entry.get("ref")) if isinstance(entry, dict) else None
            label = f"{noun} {index}" + (f" ({name})" if isinstance(name, str) else "")
            problem = None if isinstance(entry, dict) else "must be a JSON object"
            rows.append(Row(label, entry, problem))
        lists[key] = rows
    return ImportBatch(lists["initiatives"], lists["items"], lists["accept"])
