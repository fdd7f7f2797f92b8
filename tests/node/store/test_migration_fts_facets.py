"""Migration 0014: what is indexed already gets its packed facet codes (SQLite), meaning what
the index writes for a new document (the triggers of migration 0017) — the codes themselves
may differ: a value's code is given in the order values are first indexed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import create_engine

from node.store.migrate import sync_url, upgrade


def test_upgrade_fills_the_codes_of_what_is_indexed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0013")
    docs = sa.table("search_docs", *(sa.column(c) for c in (
        "id", "ap_id", "doc_type", "kind", "is_local", "host", "province", "legal_form", "phase",
        "status", "url", "title", "text", "published", "terms_title", "terms_summary",
        "terms_body", "terms_parts", "answered")), sa.column("themes", sa.JSON))
    themes = sa.table("search_themes", sa.column("doc_id"), sa.column("theme"))
    rows = [(1, "item", "story", True, "PV22", None, None, None, 0, ["meals", "dementia"]),
            (2, "item", "question", False, "PV21", None, None, None, 2, []),
            (3, "initiative", None, False, None, "cooperative", "active", "on-hold", 0,
             ["energy-generation"]),
            (4, "item", "guide", True, "PV22", None, None, None, 0, ["meals"])]
    engine = create_engine(sync_url(url))
    try:
        with engine.begin() as conn:
            for n, doc_type, kind, local, province, form, phase, status, answered, th in rows:
                ap_id = f"https://x.test/{n}"
                conn.execute(docs.insert().values(
                    id=n, ap_id=ap_id, doc_type=doc_type, kind=kind, is_local=local,
                    host="x.test", province=province, legal_form=form, phase=phase,
                    status=status, url=ap_id, title="t", text="", published=datetime.now(UTC),
                    terms_title="t", terms_summary="", terms_body="", terms_parts="",
                    answered=answered, themes=th))
                for theme in th:
                    conn.execute(themes.insert().values(doc_id=n, theme=theme))
        # When it is upgraded
        upgrade(url)
        read = ("SELECT d.ap_id, f.facets, f.themes FROM search_fts_facets AS f "
                "JOIN search_docs AS d ON d.id = f.id ORDER BY d.ap_id",
                "SELECT facet, value, code FROM search_fts_codes ORDER BY facet, value")
        with engine.begin() as conn:
            migrated = [conn.execute(sa.text(sql)).all() for sql in read]
            conn.execute(sa.text("DELETE FROM search_fts_facets"))
            conn.execute(sa.text("DELETE FROM search_fts_codes"))
            stored = conn.execute(sa.select(docs)).mappings().all()
            for row in reversed(stored):  # indexed again, in another order: other codes
                conn.execute(docs.insert().values(
                    {k: v for k, v in row.items() if k != "id"} | {"ap_id": row["ap_id"] + "/"}))
            written = [conn.execute(sa.text(sql)).all() for sql in read]
    finally:
        engine.dispose()
    # Then every document has its row, as the index would have written it
    assert _decoded(*migrated) == _decoded(*written)
    facets, codes = migrated
    code = {(f, v): c for f, v, c in codes}
    assert code["kind", "guide"] == 1 and code["theme", "dementia"] == 0
    assert facets[2] == ("https://x.test/3", code["legal_form", "cooperative"] << 16
                         | code["phase", "active"] << 24 | code["status", "on-hold"] << 32
                         | code["doc_type", "initiative"] << 40,
                         1 << code["theme", "energy-generation"])
    assert facets[1][1] >> 48 == 0b100 and facets[0][1] >> 48 == 1  # answered 2; local


def _decoded(facets: list[Any], codes: list[Any]) -> list[tuple[Any, ...]]:
    """Each document's packed facets as values (kind, …, type, local, answered, themes)."""
    value = {(f, c): v for f, v, c in codes}
    shifts = {"kind": 0, "province": 8, "legal_form": 16, "phase": 24, "status": 32,
              "doc_type": 40}
    return [(ap_id.rstrip("/"), *(value.get((name, packed >> shift & 255)) for name, shift in shifts.items()),
             packed >> 48 & 1, packed >> 49 & 3,
             sorted(v for (f, c), v in value.items() if f == "theme" and themes >> c & 1))
            for ap_id, packed, themes in facets]
