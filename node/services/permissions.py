"""Who may do what: admins everything; editors the actors they are granted and their items."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from node.services.errors import PermissionDeniedError
from node.store import users as user_store
from node.store.actors import StoredActor


@dataclass(frozen=True)
class Caller:
    """The authenticated user behind a request (or a CLI command, which acts as admin)."""

    user_id: int
    username: str
    role: str  # admin | editor

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


SYSTEM = Caller(user_id=0, username="system", role="admin")


def require_admin(caller: Caller) -> None:
    if not caller.is_admin:
        raise PermissionDeniedError("forbidden", "only an admin may do this")


async def require_actor_edit(session: AsyncSession, caller: Caller, actor: StoredActor) -> None:
    """Admins may edit every local actor; editors only the initiatives granted to them."""
    if caller.is_admin:
        return
    if actor.kind == "initiative" and actor.id in await user_store.granted_actor_ids(
            session, caller.user_id):
        return
    raise PermissionDeniedError("forbidden", f"{caller.username} may not edit {actor.ap_id}")
