"""Node fixtures: settings, a real database (SQLite file or PostgreSQL), the app and an API client.

Every storage/API test that uses ``ctx`` or ``client`` runs twice: on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from node.app import create_app
from node.config import Settings, build_settings
from node.services.context import NodeContext
from node.services.permissions import SYSTEM
from node.services.users import add_user, create_token
from tests import dbs
from tests.clock import FAST_HASHER, Clock
from tests.keys import pool_keygen

BASE_URL = "https://drenthe.test"
@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return dbs.sqlite_template(tmp_path_factory.mktemp("schema"))


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    dbs.require_postgres()
    url = dbs.create_pg_database()
    yield url
    dbs.drop_pg_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        return dbs.fresh_sqlite(sqlite_template, tmp_path)
    url: str = request.getfixturevalue("pg_url")
    dbs.truncate_pg(url)
    return url


def make_settings(directory: Path, database_url: str, **overrides: object) -> Settings:
    values: dict[tuple[str, str], object] = {
        ("node", "url"): BASE_URL,
        ("node", "name"): "BOKD Drenthe",
        ("node", "handle"): "drenthe",
        ("node", "province_code"): "PV22",
        ("database", "url"): database_url,
    }
    for key, value in overrides.items():
        section, _, name = key.partition("__")
        values[(section, name)] = value
    return build_settings(directory, values, environ={})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
async def app(settings: Settings, clock: Clock) -> AsyncIterator[Starlette]:
    application = create_app(settings, clock=clock, keygen=pool_keygen(),
                             password_hasher=FAST_HASHER)
    async with application.router.lifespan_context(application):
        from node.services.actors import ensure_node_actor

        await ensure_node_actor(application.state.ctx)
        yield application


@pytest.fixture
async def loopback_app(tmp_path: Path, database_url: str, clock: Clock
                       ) -> AsyncIterator[Starlette]:
    """An app whose node may fetch from loopback, where the tests serve feeds and directories
    (a private address: allowed for tests and demos only)."""
    settings = make_settings(tmp_path, database_url, node__allow_private_network=True)
    application = create_app(settings, clock=clock, keygen=pool_keygen(),
                             password_hasher=FAST_HASHER)
    async with application.router.lifespan_context(application):
        from node.services.actors import ensure_node_actor

        await ensure_node_actor(application.state.ctx)
        yield application


@pytest.fixture
def ctx(app: Starlette) -> NodeContext:
    context: NodeContext = app.state.ctx
    return context


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
        yield c


@pytest.fixture
async def admin_token(ctx: NodeContext) -> str:
    await add_user(ctx, "beheerder", "correct horse battery", "admin")
    return await create_token(ctx, "beheerder")


@pytest.fixture
async def editor_token(ctx: NodeContext) -> str:
    await add_user(ctx, "redacteur", "correct horse battery", "editor")
    return await create_token(ctx, "redacteur")


@pytest.fixture
def auth(admin_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token}"}


__all__ = ["BASE_URL", "SYSTEM", "Clock", "make_settings"]
