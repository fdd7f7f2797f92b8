"""search: how far a question is answered, so answered questions rank above open ones

``search_docs.answered``: 0 open, 1 with answers, 2 with an accepted answer (only questions;
``node.store.questions``). Filled in here for the questions already indexed; the covering
index of the pass over the matches takes the column too (docs/questions.md, "Search").

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_FACETS = ["id", "doc_type", "kind", "province", "legal_form", "phase", "status", "is_local",
           "host", "published", "latitude", "longitude"]


def _accepted(dialect: str) -> str:
    if dialect == "postgresql":
        return "(q.fields ->> 'accepted_answer')"
    return "json_extract(q.fields, '$.accepted_answer')"


def upgrade() -> None:
    op.add_column("search_docs", sa.Column("answered", sa.Integer(), nullable=False,
                                           server_default="0"))
    op.drop_index("ix_search_docs_facets", table_name="search_docs")
    op.create_index("ix_search_docs_facets", "search_docs", [*_FACETS, "answered"])
    accepted = _accepted(op.get_bind().dialect.name)
    op.execute(f"""
        UPDATE search_docs SET answered = CASE
          WHEN EXISTS (SELECT 1 FROM objects q JOIN objects a ON a.ap_id = {accepted}
                       WHERE q.ap_id = search_docs.ap_id AND a.in_reply_to = q.ap_id
                       AND a.deleted_at IS NULL) THEN 2
          WHEN EXISTS (SELECT 1 FROM objects a WHERE a.in_reply_to = search_docs.ap_id
                       AND a.deleted_at IS NULL) THEN 1
          ELSE 0 END
        WHERE kind = 'question'""")


def downgrade() -> None:
    op.drop_index("ix_search_docs_facets", table_name="search_docs")
    op.create_index("ix_search_docs_facets", "search_docs", _FACETS)
    op.drop_column("search_docs", "answered")
