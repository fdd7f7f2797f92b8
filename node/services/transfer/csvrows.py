"""CSV import files: a spreadsheet of initiatives or of items, read into import rows.

Columns are API field names. Lists (themes, …) are separated by ``;`` inside a cell; the place is
given by the columns ``place_name``, ``latitude``, ``longitude``, ``province_code``,
``municipality_code`` and ``place_exact``. The delimiter is ``,`` or, as Dutch spreadsheets
write it, ``;`` (RFC 4180 otherwise); a decimal comma is read as a point.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from node.services.transfer.rows import FileFormatError, ImportBatch, Row

_LIST_FIELDS = frozenset({"themes", "open_questions", "networks", "partners"})
PLACE_COLUMNS = {"place_name": "name", "latitude": "latitude", "longitude": "longitude",
                  "province_code": "province_code", "municipality_code": "municipality_code",
                  "place_exact": "exact"}
_NUMBER = re.compile(r"-?\d+([.,]\d+)?")


def cell_value(column: str, value: str) -> Any:
    if column in _LIST_FIELDS:
        return [part.strip() for part in value.split(";") if part.strip()]
    if column == "attachments":
        return [{"url": part.strip()} for part in value.split(";") if part.strip()]
    if column in ("latitude", "longitude", "members_count") and _NUMBER.fullmatch(value):
        number = value.replace(",", ".")  # a Dutch spreadsheet writes 53,07
        return int(number) if column == "members_count" and "." not in number else float(number)
    if column == "place_exact":
        return value.lower() in ("1", "true", "yes", "ja", "x")
    return value


def _row(label: str, columns: list[str], cells: list[str]) -> Row:
    if len(cells) > len(columns):
        return Row(label, {}, "more cells than there are columns")
    return Row(label, with_place({column: cell_value(column, value.strip())
                                  for column, value in zip(columns, cells, strict=False)
                                  if value.strip()}))


def with_place(flat: dict[str, Any]) -> dict[str, Any]:
    """A row's fields with the place's columns (``place_name``, …) gathered into ``place``."""
    data = {k: v for k, v in flat.items() if k not in PLACE_COLUMNS}
    place = {PLACE_COLUMNS[k]: v for k, v in flat.items() if k in PLACE_COLUMNS}
    if place:
        data["place"] = place
    return data


def detect_delimiter(text: str) -> str:
    """``;`` when the header has more of them than commas (a Dutch spreadsheet), else ``,``."""
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def load_csv(text: str, source: str = "file") -> ImportBatch:
    """Rows from a CSV of initiatives (a ``handle`` column) or of items (a ``kind`` column)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=detect_delimiter(text))
    try:
        columns = [c.strip() for c in next(reader)]
    except StopIteration:
        raise FileFormatError("bad_file", f"{source}: the CSV file is empty") from None
    if "kind" in columns:
        target = "items"
    elif "handle" in columns:
        target = "initiatives"
    else:
        raise FileFormatError("bad_file", f"{source}: the CSV header needs a handle column "
                              "(initiatives) or a kind column (items)")
    try:
        rows = [_row(f"row {reader.line_num}", columns, cells) for cells in reader
                if any(c.strip() for c in cells)]
    except csv.Error as exc:
        raise FileFormatError("bad_file", f"{source}: line {reader.line_num}: {exc}") from exc
    return ImportBatch(**{target: rows})
