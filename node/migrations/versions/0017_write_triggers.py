"""search index and kept versions maintained by triggers (issue 13's statement budgets)

Indexing a document was six statements on SQLite (read the old row, insert it, its FTS5 row,
its themes, its facet codes and packed facets) and four on PostgreSQL. Now the application
sends one: ``INSERT INTO search_docs`` (or ``DELETE``), and triggers do the rest in the same
statement:

- before an insert, the row the index held for the same ``ap_id`` is deleted (a re-index);
- after an insert, ``search_themes`` gets the row's distinct ``themes`` (its JSON array);
  on SQLite the FTS5 row (external content: the terms are those of ``search_docs``), the facet
  codes of new values and the packed ``search_fts_facets`` row (migration 0014); on PostgreSQL
  the ``tsv`` column is computed before the insert, title to parts weighted A to D;
- after a delete, the FTS5 row, the packed facets and the themes go (SQLite; PostgreSQL's
  themes go by their foreign key's ``ON DELETE CASCADE``).

``search_docs`` is never updated in place (a change re-inserts the row), so there is no update
trigger.

``objects``: before an update of ``document``, the document replaced is kept in
``object_versions`` when an activity embeds it by reference, and those activities point there
(migration 0015's store-once; what ``node.store.versions.pin`` did as a statement of its own
before every such write).

Nothing to convert: the rows already there stay as they are. The downgrade drops the triggers
(the application of that version does their work itself).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_SHIFTS = {"kind": 0, "province": 8, "legal_form": 16, "phase": 24, "status": 32, "doc_type": 40}
_TERMS = ("terms_title", "terms_summary", "terms_body", "terms_parts")

# SQLite, after an insert: the codes of the new document's values that have none yet (one more
# than the facet's highest; themes count from 0), then its packed row (as migration 0014 and
# the application's FACET_CODES_SQL / FACET_FILL_SQL did for a range of ids).
_NEW_VALUES = " UNION ".join(
    [f"SELECT '{name}' AS facet, NEW.{name} AS value WHERE NEW.{name} IS NOT NULL"
     for name in _SHIFTS]
    + ["SELECT 'theme', theme FROM search_themes WHERE doc_id = NEW.id"])
_CODES = f"""INSERT INTO search_fts_codes (facet, value, code)
    SELECT facet, value, (SELECT coalesce(max(c.code), CASE WHEN n.facet = 'theme' THEN -1 ELSE 0 END)
                          FROM search_fts_codes AS c WHERE c.facet = n.facet)
                         + row_number() OVER (PARTITION BY facet ORDER BY value)
    FROM ({_NEW_VALUES}) AS n
    WHERE NOT EXISTS (SELECT 1 FROM search_fts_codes AS c
                      WHERE c.facet = n.facet AND c.value = n.value)"""
_PACKED = " | ".join(
    f"(coalesce((SELECT code & 255 FROM search_fts_codes WHERE facet = '{name}' "
    f"AND value = NEW.{name}), 0) << {shift})" for name, shift in _SHIFTS.items())
_FACETS = f"""INSERT OR REPLACE INTO search_fts_facets (id, facets, themes)
    SELECT NEW.id, {_PACKED} | ((NEW.is_local & 1) << 48) | ((NEW.answered & 3) << 49),
           coalesce((SELECT sum(1 << c.code) FROM search_themes AS t JOIN search_fts_codes AS c
                     ON c.facet = 'theme' AND c.value = t.theme
                     WHERE t.doc_id = NEW.id AND c.code <= 61), 0)"""

_SQLITE = [
    """CREATE TRIGGER search_docs_replace BEFORE INSERT ON search_docs BEGIN
    DELETE FROM search_docs WHERE ap_id = NEW.ap_id;
END""",
    f"""CREATE TRIGGER search_docs_indexed AFTER INSERT ON search_docs BEGIN
    INSERT INTO search_fts(rowid, {', '.join(_TERMS)})
    VALUES (NEW.id, {', '.join(f'NEW.{t}' for t in _TERMS)});
    INSERT INTO search_themes (doc_id, theme)
    SELECT DISTINCT NEW.id, value FROM json_each(NEW.themes) WHERE type = 'text';
    {_CODES};
    {_FACETS};
END""",
    f"""CREATE TRIGGER search_docs_removed AFTER DELETE ON search_docs BEGIN
    INSERT INTO search_fts(search_fts, rowid, {', '.join(_TERMS)})
    VALUES ('delete', OLD.id, {', '.join(f'OLD.{t}' for t in _TERMS)});
    DELETE FROM search_fts_facets WHERE id = OLD.id;
    DELETE FROM search_themes WHERE doc_id = OLD.id;
END""",
]
_SQLITE_DROP = ["DROP TRIGGER search_docs_removed", "DROP TRIGGER search_docs_indexed",
                "DROP TRIGGER search_docs_replace"]

_TSV = " || ".join(f"setweight(to_tsvector('simple'::regconfig, NEW.{t}), '{w}')"
                   for t, w in zip(_TERMS, "ABCD", strict=True))
_POSTGRES = [
    f"""CREATE FUNCTION search_docs_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM search_docs WHERE ap_id = NEW.ap_id;
    NEW.tsv := {_TSV};
    RETURN NEW;
END $$""",
    """CREATE FUNCTION search_docs_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_themes (doc_id, theme)
    SELECT DISTINCT NEW.id, theme FROM json_array_elements_text(NEW.themes::json) AS theme;
    RETURN NULL;
END $$""",
    "CREATE TRIGGER search_docs_replace BEFORE INSERT ON search_docs "
    "FOR EACH ROW EXECUTE FUNCTION search_docs_before_insert()",
    "CREATE TRIGGER search_docs_indexed AFTER INSERT ON search_docs "
    "FOR EACH ROW EXECUTE FUNCTION search_docs_after_insert()",
]
_POSTGRES_DROP = ["DROP TRIGGER search_docs_indexed ON search_docs",
                  "DROP TRIGGER search_docs_replace ON search_docs",
                  "DROP FUNCTION search_docs_after_insert()",
                  "DROP FUNCTION search_docs_before_insert()"]

# Before an object's current document changes (a newer copy received, a deletion, an edit, a
# re-signing): if an activity embeds it by reference, keep it as a version and point those
# activities there (what ``node.store.versions.pin`` did before each such write, as a statement
# of its own) — in the write itself, so a concurrent writer cannot slip in between.
_PIN_SQLITE = ["""CREATE TRIGGER objects_pin BEFORE UPDATE OF document ON objects
WHEN EXISTS (SELECT 1 FROM activities WHERE embeds = 'object' AND object_ap_id = OLD.ap_id)
BEGIN
    INSERT INTO object_versions (ap_id, version, document)
    VALUES (OLD.ap_id, OLD.version, OLD.document);
    UPDATE activities SET embeds = 'version', version_id = last_insert_rowid()
    WHERE embeds = 'object' AND object_ap_id = OLD.ap_id;
END"""]
_PIN_POSTGRES = ["""CREATE FUNCTION objects_pin() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE kept integer;
BEGIN
    IF EXISTS (SELECT 1 FROM activities WHERE embeds = 'object' AND object_ap_id = OLD.ap_id) THEN
        INSERT INTO object_versions (ap_id, version, document)
        VALUES (OLD.ap_id, OLD.version, OLD.document) RETURNING id INTO kept;
        UPDATE activities SET embeds = 'version', version_id = kept
        WHERE embeds = 'object' AND object_ap_id = OLD.ap_id;
    END IF;
    RETURN NEW;
END $$""", "CREATE TRIGGER objects_pin BEFORE UPDATE OF document ON objects "
           "FOR EACH ROW EXECUTE FUNCTION objects_pin()"]
_PIN_SQLITE_DROP = ["DROP TRIGGER objects_pin"]
_PIN_POSTGRES_DROP = ["DROP TRIGGER objects_pin ON objects", "DROP FUNCTION objects_pin()"]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in [*_SQLITE, *_PIN_SQLITE] if sqlite else [*_POSTGRES, *_PIN_POSTGRES]:
        op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in ([*_PIN_SQLITE_DROP, *_SQLITE_DROP] if sqlite
                      else [*_PIN_POSTGRES_DROP, *_POSTGRES_DROP]):
        op.execute(statement)
