"""effective province: every item's province_code is its place's, else its author's, else the node's

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The CBS province codes of protocol.themes.PROVINCES, frozen here: a migration must not change
# when the code it once ran with does.
PROVINCES = frozenset(f"PV{n}" for n in range(20, 32))

_actors = sa.table("actors", sa.column("ap_id", sa.Text), sa.column("kind", sa.String),
                   sa.column("is_local", sa.Boolean), sa.column("profile", sa.JSON),
                   sa.column("document", sa.JSON))
_objects = sa.table("objects", sa.column("id", sa.Integer), sa.column("is_local", sa.Boolean),
                    sa.column("attributed_to", sa.Text), sa.column("province_code", sa.String),
                    sa.column("deleted_at", sa.DateTime))


def _valid(code: Any) -> str | None:
    return code.upper() if isinstance(code, str) and code.upper() in PROVINCES else None


def _of(mapping: Any, place_key: str, code_key: str) -> str | None:
    if not isinstance(mapping, dict):
        return None
    place = mapping.get(place_key)
    if isinstance(place, list):
        place = place[0] if place else None
    found = _valid(place.get(code_key)) if isinstance(place, dict) else None
    return found or _valid(mapping.get(code_key))


def _actor_province(profile: Any, document: Any) -> str | None:
    return _of(document, "location", "provinceCode") or _of(profile, "place", "province_code")


def upgrade() -> None:
    bind = op.get_bind()
    provinces = {ap_id: _actor_province(profile, document) for ap_id, profile, document in
                 bind.execute(sa.select(_actors.c.ap_id, _actors.c.profile, _actors.c.document))}
    node_row = bind.execute(sa.select(_actors.c.profile, _actors.c.document).where(
        _actors.c.kind == "node", _actors.c.is_local.is_(True))).first()
    node_province = _actor_province(node_row[0], node_row[1]) if node_row else None
    rows = bind.execute(sa.select(_objects.c.id, _objects.c.is_local, _objects.c.attributed_to)
                        .where(_objects.c.province_code.is_(None),
                               _objects.c.deleted_at.is_(None))).all()
    for object_id, is_local, author in rows:
        province = provinces.get(author) or (node_province if is_local else None)
        if province is not None:
            bind.execute(sa.update(_objects).where(_objects.c.id == object_id)
                         .values(province_code=province))


def downgrade() -> None:
    # Which codes were filled in cannot be told from those that came with a place; both are
    # valid province codes, so the older code reads them as it reads a place's.
    pass
