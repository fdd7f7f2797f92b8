"""moderation: hiding a received item; followers approved by hand, per actor

``objects.hidden_at``/``hidden_by``: a received item an admin hid on this node (kept, still
updated and deleted by its origin, shown to nobody but admins). ``actors.approves_followers``:
a local actor whose incoming Follows wait as pending until an editor accepts or rejects them
(published as ``manuallyApprovesFollowers``). docs/pages.md ("Beheer"), docs/following.md.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("objects", sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("objects", sa.Column("hidden_by", sa.String(64), nullable=True))
    op.add_column("actors", sa.Column("approves_followers", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("actors", "approves_followers")
    op.drop_column("objects", "hidden_by")
    op.drop_column("objects", "hidden_at")
