"""Apply Alembic migrations (node/migrations) to a database URL.

Migrations use the synchronous driver of the same database (``sqlite`` / ``psycopg``), so they can
run in a worker thread from async code: ``await asyncio.to_thread(upgrade, url)``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def sync_url(url: str) -> str:
    """The synchronous-driver form of a database URL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite")
    elif backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (default: the newest)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


@cache
def head_revision() -> str:
    """The newest revision of the migrations shipped with this code."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


async def current_revision(session: AsyncSession) -> str | None:
    """The revision the database is at (None: never migrated)."""
    try:
        async with session.begin_nested():
            value = (await session.execute(text("SELECT version_num FROM alembic_version"))
                     ).scalar()
    except DBAPIError:  # no alembic_version table: the schema was never built by migrations
        return None
    return str(value) if value is not None else None
