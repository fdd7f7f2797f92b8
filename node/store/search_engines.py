"""The text of a search match for each engine: an FTS5 ``MATCH`` expression or a ``tsquery``.

Terms arrive pre-analysed (letters and digits only: ``node.services.search_text``), so they are
quoted without escaping. Whole words are looked for in the title, summary and body; a word of
:data:`PART_MIN` letters or more also matches the start of a compound part (``energi`` finds
the part ``energieproject`` of ``dorpsenergieproject``).
"""

from __future__ import annotations

from dataclasses import dataclass

PART_MIN = 4
_WHOLE = "{terms_title terms_summary terms_body}"


@dataclass(frozen=True)
class TextMatch:
    """``units``: each one stem, or several for a phrase; ``mode``: all of them, or any."""

    units: tuple[tuple[str, ...], ...]
    mode: str = "all"  # all | any
    compounds: bool = True


def _fts5_unit(unit: tuple[str, ...], compounds: bool) -> str:
    words = " ".join(unit)
    whole = f'{_WHOLE} : "{words}"'
    if len(unit) == 1 and compounds and len(unit[0]) >= PART_MIN:
        return f'({whole} OR terms_parts : "{words}"*)'
    return whole


def fts5_match(match: TextMatch) -> str:
    joiner = " AND " if match.mode == "all" else " OR "
    return joiner.join(_fts5_unit(unit, match.compounds) for unit in match.units)


def _ts_unit(unit: tuple[str, ...], compounds: bool) -> str:
    whole = " <-> ".join(f"'{word}':ABC" for word in unit)
    if len(unit) == 1 and compounds and len(unit[0]) >= PART_MIN:
        return f"({whole} | '{unit[0]}':*D)"
    return f"({whole})"


def tsquery(match: TextMatch) -> str:
    joiner = " & " if match.mode == "all" else " | "
    return joiner.join(_ts_unit(unit, match.compounds) for unit in match.units)
