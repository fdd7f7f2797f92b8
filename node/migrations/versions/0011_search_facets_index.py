"""search: a covering index for the pass over the matches (filters, facets, order)

Counting facets reads every matching document; without this index each one costs a lookup
in the wide rows of ``search_docs`` (title, text, terms), with it a lookup in a narrow index
(docs/search.md, "Cost").

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_COLUMNS = ["id", "doc_type", "kind", "province", "legal_form", "phase", "status", "is_local",
            "host", "published", "latitude", "longitude"]


def upgrade() -> None:
    op.create_index("ix_search_docs_facets", "search_docs", _COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_search_docs_facets", table_name="search_docs")
