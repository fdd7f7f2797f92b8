"""activities: each object stored once; an activity embeds it by reference (issue 13)

Every Create and every Announce held a whole copy of the item it embeds (78 % of a database).
``activities.embeds`` / ``version_id`` and the ``object_versions`` table let an activity store
its ``object`` as null and name where that document is stored once (``node.store.versions``):
the object's current document (``object``), an earlier one kept in ``object_versions``
(``version``), or a local activity (``activity``); ``shares_context``: its ``@context`` (5 KB
inline) is the embedded document's, stored as null too. Reading puts it back: the same JSON, key
order and all, so the bytes served and the proofs are those signed.

Local objects' documents are rewritten in the compact form the application now writes, the
bytes it serves (``node.store.db.json_text``), so an item is served as stored.

The upgrade converts every stored activity whose embedded object is exactly (byte for byte, as
serialised) a document stored elsewhere; one that is not — an earlier version of an object —
has that document kept once in ``object_versions``; anything else stays whole. The downgrade
writes every activity whole again. On SQLite the file keeps its size until ``VACUUM``.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_BATCH = 500

_activities = sa.table("activities", sa.column("id", sa.Integer), sa.column("ap_id"),
                       sa.column("type"),
                       sa.column("object_ap_id"), sa.column("document", sa.JSON),
                       sa.column("embeds"), sa.column("version_id", sa.Integer),
                       sa.column("shares_context", sa.Boolean))
_objects = sa.table("objects", sa.column("ap_id"), sa.column("document", sa.JSON))
_versions = sa.table("object_versions", sa.column("id", sa.Integer), sa.column("ap_id"),
                     sa.column("version", sa.Integer), sa.column("document", sa.JSON))


def _bytes(value: Any) -> bytes:
    return orjson.dumps(value)


def _text(value: Any) -> str:
    """As ``node.store.db.json_text`` (a migration keeps its own copy)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _batches(conn: sa.Connection, *conditions: Any) -> Any:
    """The activities matching ``conditions`` in id order, ``_BATCH`` rows at a time."""
    a = _activities.c
    last = 0
    while True:
        rows = conn.execute(sa.select(a.id, a.ap_id, a.object_ap_id, a.document, a.embeds,
                                      a.version_id, a.shares_context)
                            .where(a.id > last, *conditions).order_by(a.id).limit(_BATCH)).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _embedded(row: Any) -> dict[str, Any] | None:
    inner = row.document.get("object") if isinstance(row.document, dict) else None
    if isinstance(inner, dict) and row.object_ap_id and inner.get("id") == row.object_ap_id:
        return inner
    return None


def _shell(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` as stored: ``object`` null, and ``@context`` (its proof's too) null when
    it is the object's (``node.store.versions.stored_form``)."""
    shell = {**document, "object": None}
    if _shares_context(document):
        shell["@context"] = None
        proof = shell.get("proof")
        if isinstance(proof, dict) and "@context" in proof:
            shell["proof"] = {**proof, "@context": None}
    return shell


def _shares_context(document: dict[str, Any]) -> bool:
    """As ``node.store.versions.shares_context`` (a migration keeps its own copy)."""
    inner = document.get("object")
    if "@context" not in document or not isinstance(inner, dict) or "@context" not in inner:
        return False
    proof = document.get("proof")
    if proof is not None and not isinstance(proof, dict):
        return False
    context = _bytes(inner["@context"])
    return _bytes(document["@context"]) == context and (
        proof is None or "@context" not in proof or _bytes(proof["@context"]) == context)


def upgrade() -> None:
    op.create_table(
        "object_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ap_id", sa.String(2048), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_object_versions"),
    )
    op.create_index("ix_object_versions_ap_id", "object_versions", ["ap_id"])
    op.add_column("activities", sa.Column("embeds", sa.String(16), nullable=True))
    op.add_column("activities", sa.Column("version_id", sa.Integer(), nullable=True))
    op.add_column("activities", sa.Column("shares_context", sa.Boolean(), nullable=True))
    conn = op.get_bind()
    a = _activities.c
    # 1. An Announce of a local activity (a relayed Update or Delete) refers to that activity,
    #    compared with it as it is stored before this migration: whole.
    for rows in _batches(conn, a.type == "Announce", a.object_ap_id.is_not(None)):
        ids = list({r.object_ap_id for r in rows if _embedded(r) is not None})
        if not ids:
            continue
        targets = {t.ap_id: t.document for t in conn.execute(
            sa.select(a.ap_id, a.document).where(a.ap_id.in_(ids)))}
        for row in rows:
            inner, target = _embedded(row), targets.get(row.object_ap_id)
            if inner is None or not isinstance(target, dict):
                continue
            nested = target.get("object")
            if isinstance(nested, dict) and nested.get("actor") is not None:
                continue  # an activity embedding an activity stays whole
            if _bytes(inner) == _bytes(target):
                conn.execute(sa.update(_activities).where(a.id == row.id).values(
                    document=_shell(row.document), embeds="activity",
                    shares_context=_shares_context(row.document)))
    # 2. Every other embedded object we store: its current document, else one kept once.
    for rows in _batches(conn, a.object_ap_id.is_not(None), a.embeds.is_(None)):
        ids = list({r.object_ap_id for r in rows if _embedded(r) is not None})
        if not ids:
            continue
        current = {o.ap_id: _bytes(o.document) for o in conn.execute(
            sa.select(_objects.c.ap_id, _objects.c.document).where(_objects.c.ap_id.in_(ids)))}
        v = _versions.c
        kept: dict[tuple[str, bytes], int] = {
            (k.ap_id, _bytes(k.document)): k.id for k in conn.execute(
                sa.select(v.id, v.ap_id, v.document).where(v.ap_id.in_(list(current))))}
        for row in rows:
            inner = _embedded(row)
            if inner is None or row.object_ap_id not in current:
                continue
            body = _bytes(inner)
            if body == current[row.object_ap_id]:
                values: dict[str, Any] = {"embeds": "object", "version_id": None}
            else:
                key = (row.object_ap_id, body)
                if key not in kept:
                    number = inner.get("version")
                    kept[key] = conn.execute(sa.insert(_versions).values(
                        ap_id=row.object_ap_id, document=inner,
                        version=number if isinstance(number, int) else 0
                    ).returning(v.id)).scalar_one()
                values = {"embeds": "version", "version_id": kept[key]}
            conn.execute(sa.update(_activities).where(a.id == row.id).values(
                document=_shell(row.document), shares_context=_shares_context(row.document),
                **values))
    # 3. Local objects' documents are stored as the bytes served (orjson's compact form, which
    #    the application now writes: node.store.db.json_text), so they are served as stored.
    as_json = "CAST(:doc AS JSON)" if conn.dialect.name == "postgresql" else ":doc"
    o = sa.table("objects", sa.column("id", sa.Integer), sa.column("is_local", sa.Boolean),
                 sa.column("document", sa.JSON)).c
    last = 0
    while True:
        rows = conn.execute(sa.select(o.id, o.document).where(o.id > last, o.is_local.is_(True))
                            .order_by(o.id).limit(_BATCH)).all()
        if not rows:
            break
        conn.execute(sa.text(f"UPDATE objects SET document = {as_json} WHERE id = :id"),
                     [{"id": r.id, "doc": _text(r.document)} for r in rows])
        last = rows[-1].id


def _whole(conn: sa.Connection, row: Any) -> dict[str, Any]:
    a, v = _activities.c, _versions.c
    document = dict(row.document)
    if row.embeds == "object":
        inner = conn.execute(sa.select(_objects.c.document)
                             .where(_objects.c.ap_id == row.object_ap_id)).scalar_one()
    elif row.embeds == "version":
        inner = conn.execute(sa.select(v.document).where(v.id == row.version_id)).scalar_one()
    else:
        target = conn.execute(sa.select(a.id, a.ap_id, a.object_ap_id, a.document, a.embeds,
                                        a.version_id, a.shares_context)
                              .where(a.ap_id == row.object_ap_id)).one()
        inner = _whole(conn, target) if target.embeds else target.document
    document["object"] = inner
    if row.shares_context:
        document["@context"] = inner["@context"]
        proof = document.get("proof")
        if isinstance(proof, dict) and "@context" in proof:
            document["proof"] = {**proof, "@context": inner["@context"]}
    return document


def downgrade() -> None:
    conn = op.get_bind()
    a = _activities.c
    # Announces of activities first: what they embed is still stored by reference then.
    for condition in (a.embeds == "activity", a.embeds.is_not(None)):
        for rows in _batches(conn, condition):
            for row in rows:
                conn.execute(sa.update(_activities).where(a.id == row.id).values(
                    document=_whole(conn, row), embeds=None, version_id=None,
                    shares_context=None))
    op.drop_column("activities", "shares_context")
    op.drop_column("activities", "version_id")
    op.drop_column("activities", "embeds")
    op.drop_index("ix_object_versions_ap_id", table_name="object_versions")
    op.drop_table("object_versions")
