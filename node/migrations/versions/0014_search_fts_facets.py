"""search: the facets of every document as small integers beside the FTS rowid (SQLite only)

``search_fts_facets`` holds, per row of ``search_fts`` (same rowid), one integer packing the
document's kind, province, legal form, phase, status and type (8 bits each, a code from
``search_fts_codes``), whether it is local and how far it is answered, and one integer with a
bit per theme. A search then filters and counts facets over its matches from this narrow table
instead of the covering index of ``search_docs`` and the join to ``search_themes``
(docs/search.md, "How a search runs"). ``search_fts_codes`` gives each value its code, once.

Filled in here for what is already indexed. PostgreSQL does not use them.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_SHIFTS = {"kind": 0, "province": 8, "legal_form": 16, "phase": 24, "status": 32, "doc_type": 40}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE TABLE search_fts_codes (facet TEXT NOT NULL, value TEXT NOT NULL, "
               "code INTEGER NOT NULL, PRIMARY KEY (facet, value)) WITHOUT ROWID")
    op.execute("CREATE UNIQUE INDEX search_fts_codes_by_code ON search_fts_codes (facet, code)")
    op.execute("CREATE TABLE search_fts_facets (id INTEGER PRIMARY KEY, "
               "facets INTEGER NOT NULL, themes INTEGER NOT NULL)")
    # What is indexed already: codes in the order of the values (the tables are empty), then
    # each document's row, one facet at a time.
    values = {name: f"SELECT DISTINCT {name} AS value FROM search_docs WHERE {name} IS NOT NULL"
              for name in _SHIFTS} | {"theme": "SELECT DISTINCT theme AS value FROM search_themes"}
    for facet, distinct in values.items():
        first = 0 if facet == "theme" else 1
        op.execute(f"INSERT INTO search_fts_codes (facet, value, code) SELECT '{facet}', v.value, "
                   f"row_number() OVER (ORDER BY v.value) - 1 + {first} "
                   f"FROM ({distinct}) AS v")
    op.execute("INSERT INTO search_fts_facets (id, facets, themes) "
               "SELECT id, ((is_local & 1) << 48) | ((answered & 3) << 49), 0 FROM search_docs")
    for name, shift in _SHIFTS.items():
        op.execute(f"UPDATE search_fts_facets SET facets = facets | (coalesce((SELECT c.code & 255 "
                   f"FROM search_docs AS d JOIN search_fts_codes AS c ON c.facet = '{name}' "
                   f"AND c.value = d.{name} WHERE d.id = search_fts_facets.id), 0) << {shift})")
    op.execute("UPDATE search_fts_facets SET themes = coalesce((SELECT sum(1 << c.code) "
               "FROM search_themes AS t JOIN search_fts_codes AS c ON c.facet = 'theme' "
               "AND c.value = t.theme WHERE t.doc_id = search_fts_facets.id AND c.code < 62), 0)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TABLE search_fts_facets")
    op.execute("DROP TABLE search_fts_codes")
