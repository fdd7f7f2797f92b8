"""Server-rendered SVG charts (no JavaScript): horizontal bars for categories, columns for months.

Every chart is an ``<svg role="img">`` with ``<title>`` and ``<desc>`` named by
``aria-labelledby``; the page puts the same numbers in a table beside it. All text is escaped;
colours are presentation attributes, not ``style`` (the pages' CSP allows no inline style).
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

BAR = "#2e6b4f"
_ROW = 22
_LABEL_WIDTH = 190
_BAR_WIDTH = 300


def _frame(chart_id: str, title: str, desc: str, width: int, height: int, body: list[str]
           ) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>{"".join(body)}</svg>')


def bar_chart(chart_id: str, title: str, rows: Sequence[tuple[str, int]]) -> Markup:
    """Horizontal bars, one row per (label, count), longest bar the largest count."""
    largest = max((n for _, n in rows), default=0) or 1
    body: list[str] = []
    for index, (label, count) in enumerate(rows):
        y = index * _ROW
        width = round(_BAR_WIDTH * count / largest)
        body.append(
            f'<text x="{_LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
            f'{escape(label)}</text>'
            f'<rect x="{_LABEL_WIDTH}" y="{y + 3}" width="{width}" height="{_ROW - 6}" '
            f'fill="{BAR}"/>'
            f'<text x="{_LABEL_WIDTH + width + 4}" y="{y + 15}" font-size="12">{count}</text>')
    desc = "; ".join(f"{label}: {count}" for label, count in rows)
    return _frame(chart_id, title, desc, _LABEL_WIDTH + _BAR_WIDTH + 40,
                  max(len(rows), 1) * _ROW, body)


def column_chart(chart_id: str, title: str, rows: Sequence[tuple[str, int]]) -> Markup:
    """Columns over time, one per (month, value), labelled every few months."""
    height, base, step = 180, 160, max(8, min(40, 600 // max(len(rows), 1)))
    largest = max((n for _, n in rows), default=0) or 1
    every = max(1, len(rows) // 8)
    body: list[str] = [f'<line x1="0" y1="{base}" x2="{step * len(rows)}" y2="{base}" '
                       f'stroke="#555"/>']
    for index, (label, count) in enumerate(rows):
        x = index * step
        bar = round((base - 10) * count / largest)
        body.append(f'<rect x="{x + 1}" y="{base - bar}" width="{step - 2}" height="{bar}" '
                    f'fill="{BAR}"><title>{escape(label)}: {count}</title></rect>')
        if index % every == 0:
            body.append(f'<text x="{x}" y="{height - 4}" font-size="10">{escape(label)}</text>')
    desc = "; ".join(f"{label}: {count}" for label, count in rows)
    return _frame(chart_id, title, desc, max(step * len(rows), 80) + 40, height, body)
