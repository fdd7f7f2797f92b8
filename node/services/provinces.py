"""The province of an item (issue 8): its own place's, else its author's, else its node's.

The effective province is computed when an item is written and stored in the indexed
``objects.province_code``, so ``province=`` also finds items without a place. A local item's
document carries it as ``kk:provinceCode`` beside its ``location``; a received item takes its
place's province, else the ``provinceCode`` its origin published, else its author's (the cached
actor document's ``location`` or ``provinceCode``). Codes are CBS province codes (``PV20``..).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from protocol import themes as vocab_themes


def valid(code: object) -> str | None:
    """A CBS province code as stored (upper case), or None for anything else."""
    if isinstance(code, str) and code.strip().upper() in vocab_themes.PROVINCES:
        return code.strip().upper()
    return None


def effective(*candidates: object) -> str | None:
    """The first valid province code of ``candidates`` (most specific first)."""
    return next((code for code in map(valid, candidates) if code is not None), None)


def of_document(document: Mapping[str, Any] | None) -> str | None:
    """The province an actor or object document names: its location's, else its own."""
    if not isinstance(document, Mapping):
        return None
    location = document.get("location")
    if isinstance(location, list):
        location = location[0] if location else None
    place_code = location.get("provinceCode") if isinstance(location, Mapping) else None
    return effective(place_code, document.get("provinceCode"))
