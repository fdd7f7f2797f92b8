"""Migration 0012: questions already indexed get how far they are answered (issue 11)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import create_engine

from node.store.migrate import sync_url, upgrade
from tests import dbs


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def at_0011(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database migrated up to 0011, the revision before."""
    yield from dbs.migrated_to(request.param, "0011", tmp_path, "kk_answered")


def test_upgrade_marks_indexed_questions_open_with_answers_or_answered(at_0011: str) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    objects = sa.table("objects", *(sa.column(c) for c in (
        "ap_id", "is_local", "host", "kind", "type", "attributed_to", "in_reply_to", "version",
        "published", "updated", "received_at", "deleted_at")), *(sa.column(c, sa.JSON) for c in (
            "themes", "fields", "document")))
    docs = sa.table("search_docs", *(sa.column(c) for c in (
        "ap_id", "doc_type", "kind", "is_local", "host", "url", "title", "text", "published",
        "terms_title", "terms_summary", "terms_body", "terms_parts")),
        sa.column("themes", sa.JSON))
    base = "https://drenthe.test/items/"
    rows = [("answered", "question", None, {"accepted_answer": base + "a1"}, None),
            ("a1", "answer", "answered", {}, None),
            ("with-answers", "question", None, {}, None),
            ("a2", "answer", "with-answers", {}, None),
            ("only-deleted", "question", None, {"accepted_answer": base + "a3"}, None),
            ("a3", "answer", "only-deleted", {}, now),
            ("open", "question", None, {}, None)]
    engine = create_engine(sync_url(at_0011))
    try:
        with engine.begin() as conn:
            for name, kind, reply_to, fields, deleted in rows:
                conn.execute(objects.insert().values(
                    ap_id=base + name, is_local=True, host="drenthe.test", kind=kind,
                    type="Question" if kind == "question" else "Note",
                    attributed_to="https://drenthe.test/actors/drenthe",
                    in_reply_to=base + reply_to if reply_to else None, version=1, published=now,
                    updated=now, received_at=now, deleted_at=deleted, themes=[], fields=fields,
                    document={"id": base + name}))
                if kind == "question":
                    conn.execute(docs.insert().values(
                        ap_id=base + name, doc_type="item", kind=kind, is_local=True,
                        host="drenthe.test", url=base + name, title=name, text="", published=now,
                        terms_title=name, terms_summary="", terms_body="", terms_parts="",
                        themes=[]))
        # When it is upgraded
        upgrade(at_0011)
        with engine.connect() as conn:
            found = dict(conn.execute(sa.text("SELECT ap_id, answered FROM search_docs")).all())
    finally:
        engine.dispose()
    # Then each question's answer state is filled in (a deleted answer counts for nothing)
    assert found == {base + "answered": 2, base + "with-answers": 1, base + "only-deleted": 0,
                     base + "open": 0}
