"""endorsements: initiatives that run into the same bottleneck (and fediverse support)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "endorsements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("object_ap_id", sa.String(2048), nullable=False),
        sa.Column("actor", sa.String(2048), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("activity_ap_id", sa.String(2048), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("province_code", sa.String(8), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endorsements")),
        sa.UniqueConstraint("object_ap_id", "actor", name="uq_endorsements_pair"),
    )
    op.create_index("ix_endorsements_activity_ap_id", "endorsements", ["activity_ap_id"])
    op.create_index("ix_endorsements_created_at", "endorsements", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_endorsements_created_at", table_name="endorsements")
    op.drop_index("ix_endorsements_activity_ap_id", table_name="endorsements")
    op.drop_table("endorsements")
