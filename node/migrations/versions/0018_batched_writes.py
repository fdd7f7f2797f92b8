"""batched_writes: one statement writing rows of several tables (issue 13's apply budget)

Applying a received item wrote its search entry, its theme feeds' Announces, the feed entries
and the Announces' deliveries with a statement each: four tables, four statements. The view
``batched_writes`` holds no rows; an ``INSERT`` into it hands each row to the table its
``target`` names (``search_docs``, ``activities``, ``feed`` or ``deliveries``), in the order of
the rows, by ``INSTEAD OF`` triggers — so one multi-row ``INSERT`` writes them all, and every
trigger of those tables runs as for a direct insert (the search index's of migration 0017).
Each target takes its own columns, written as a direct insert of the same values writes them:
a feed entry or a delivery already there is kept (``ON CONFLICT DO NOTHING``, as
``node.store.feed.add_rows`` and ``node.store.deliveries.enqueue_rows`` do); a row with
another ``target`` fails the statement.

The columns a view passes on have no type on SQLite (none: the target table's affinity applies,
as when inserting there directly) and the target columns' types on PostgreSQL (``json`` kept as
``json``: its text is stored as given).

Nothing to convert. The downgrade drops the triggers and the view (the application of that
version writes the tables one statement each).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# (column, PostgreSQL type) of the view; a name shared by several targets means the same there.
COLUMNS = (
    ("target", "varchar(16)"),
    # search_docs (``tsv`` and ``id`` are the table's own)
    ("ap_id", "varchar(2048)"), ("doc_type", "varchar(16)"), ("kind", "varchar(16)"),
    ("is_local", "boolean"), ("host", "varchar(255)"), ("province", "varchar(8)"),
    ("legal_form", "varchar(32)"), ("phase", "varchar(32)"), ("status", "varchar(32)"),
    ("latitude", "double precision"), ("longitude", "double precision"),
    ("url", "varchar(2048)"), ("title", "text"), ("text", "text"), ("themes", "json"),
    ("published", "timestamp with time zone"), ("terms_title", "text"),
    ("terms_summary", "text"), ("terms_body", "text"), ("terms_parts", "text"),
    ("answered", "integer"),
    # activities (also ap_id, published)
    ("actor", "varchar(2048)"), ("type", "varchar(32)"), ("object_ap_id", "varchar(2048)"),
    ("document", "json"), ("embeds", "varchar(16)"), ("shares_context", "boolean"),
    # feed (also object_ap_id)
    ("owner", "varchar(2048)"), ("via", "varchar(2048)"),
    ("created_at", "timestamp with time zone"),
    # deliveries (also host, created_at)
    ("activity_ap_id", "varchar(2048)"), ("inbox_url", "varchar(2048)"),
    ("signer", "varchar(2048)"), ("state", "varchar(16)"), ("attempts", "integer"),
    ("next_attempt_at", "timestamp with time zone"),
)

# target -> (its columns, what it does on a conflict)
TARGETS: dict[str, tuple[tuple[str, ...], str]] = {
    "search_docs": (("ap_id", "doc_type", "kind", "is_local", "host", "province", "legal_form",
                     "phase", "status", "latitude", "longitude", "url", "title", "text",
                     "themes", "published", "terms_title", "terms_summary", "terms_body",
                     "terms_parts", "answered"), ""),
    "activities": (("ap_id", "actor", "type", "object_ap_id", "published", "document",
                    "embeds", "shares_context"), ""),
    "feed": (("owner", "object_ap_id", "via", "created_at"),
             " ON CONFLICT (owner, object_ap_id) DO NOTHING"),
    "deliveries": (("activity_ap_id", "inbox_url", "host", "signer", "state", "attempts",
                    "created_at", "next_attempt_at"),
                   " ON CONFLICT (activity_ap_id, inbox_url) DO NOTHING"),
}


def _insert(target: str) -> str:
    names, conflict = TARGETS[target]
    return (f"INSERT INTO {target} ({', '.join(names)}) "
            f"VALUES ({', '.join(f'NEW.{n}' for n in names)}){conflict}")


_SQLITE_VIEW = ("CREATE VIEW batched_writes AS SELECT "
                + ", ".join(f"NULL AS {name}" for name, _ in COLUMNS) + " WHERE 0")
_SQLITE = [_SQLITE_VIEW, *(
    f"""CREATE TRIGGER batched_{target} INSTEAD OF INSERT ON batched_writes
WHEN NEW.target = '{target}' BEGIN
    {_insert(target)};
END""" for target in TARGETS), f"""CREATE TRIGGER batched_unknown INSTEAD OF INSERT ON batched_writes
WHEN NEW.target IS NULL OR NEW.target NOT IN ({', '.join(f"'{t}'" for t in TARGETS)}) BEGIN
    SELECT RAISE(ABORT, 'batched_writes: unknown target');
END"""]
_SQLITE_DROP = [*(f"DROP TRIGGER batched_{target}" for target in TARGETS),
                "DROP TRIGGER batched_unknown", "DROP VIEW batched_writes"]

_BRANCHES = "\n    ELS".join(f"IF NEW.target = '{target}' THEN\n        {_insert(target)};"
                            for target in TARGETS)
_POSTGRES = [
    "CREATE VIEW batched_writes AS SELECT "
    + ", ".join(f"CAST(NULL AS {type_}) AS {name}" for name, type_ in COLUMNS) + " WHERE false",
    f"""CREATE FUNCTION batched_writes_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_BRANCHES}
    ELSE
        RAISE EXCEPTION 'batched_writes: unknown target %', NEW.target;
    END IF;
    RETURN NEW;
END $$""",
    "CREATE TRIGGER batched_writes_insert INSTEAD OF INSERT ON batched_writes "
    "FOR EACH ROW EXECUTE FUNCTION batched_writes_insert()",
]
_POSTGRES_DROP = ["DROP TRIGGER batched_writes_insert ON batched_writes",
                  "DROP FUNCTION batched_writes_insert()", "DROP VIEW batched_writes"]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in _SQLITE if sqlite else _POSTGRES:
        op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in _SQLITE_DROP if sqlite else _POSTGRES_DROP:
        op.execute(statement)
