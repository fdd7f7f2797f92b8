"""search index: search_docs and search_themes; FTS5 (SQLite) or a tsvector GIN index (PostgreSQL)

The index is filled by node.services.search_index as items and initiatives are written; rows
stored before this revision are indexed by ``kennisknoop migrate`` and ``serve`` right after
migrating, when the index is empty (node.services.search_index.fill_if_empty; docs/search.md).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TSVECTOR

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.create_table(
        "search_docs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ap_id", sa.String(2048), nullable=False),
        sa.Column("doc_type", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16)),
        sa.Column("is_local", sa.Boolean(), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("province", sa.String(8)),
        sa.Column("legal_form", sa.String(32)),
        sa.Column("phase", sa.String(32)),
        sa.Column("status", sa.String(32)),
        sa.Column("latitude", sa.Float()),
        sa.Column("longitude", sa.Float()),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("themes", sa.JSON(), nullable=False),
        sa.Column("published", sa.DateTime(timezone=True), nullable=False),
        sa.Column("terms_title", sa.Text(), nullable=False),
        sa.Column("terms_summary", sa.Text(), nullable=False),
        sa.Column("terms_body", sa.Text(), nullable=False),
        sa.Column("terms_parts", sa.Text(), nullable=False),
        sa.Column("tsv", sa.Text() if sqlite else TSVECTOR()),
        sa.PrimaryKeyConstraint("id", name="pk_search_docs"),
        sa.UniqueConstraint("ap_id", name="uq_search_docs_ap_id"),
    )
    op.create_index("ix_search_docs_kind", "search_docs", ["kind"])
    op.create_index("ix_search_docs_host", "search_docs", ["host"])
    op.create_index("ix_search_docs_province", "search_docs", ["province"])
    op.create_index("ix_search_docs_published_id", "search_docs", ["published", "id"])
    op.create_table(
        "search_themes",
        sa.Column("doc_id", sa.Integer(), nullable=False),
        sa.Column("theme", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["doc_id"], ["search_docs.id"], ondelete="CASCADE",
                                name="fk_search_themes_doc_id_search_docs"),
        sa.PrimaryKeyConstraint("doc_id", "theme", name="pk_search_themes"),
    )
    op.create_index("ix_search_themes_theme_doc_id", "search_themes", ["theme", "doc_id"])
    if sqlite:
        # External content: the terms live once, in search_docs; the application keeps the
        # FTS index in step (node.store.search). Diacritics are already folded.
        op.execute("CREATE VIRTUAL TABLE search_fts USING fts5(terms_title, terms_summary, "
                   "terms_body, terms_parts, content='search_docs', content_rowid='id', "
                   "tokenize='unicode61 remove_diacritics 0', prefix='4')")
    else:
        op.execute("CREATE INDEX ix_search_docs_tsv ON search_docs USING gin (tsv)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE search_fts")
    op.drop_table("search_themes")
    op.drop_table("search_docs")
