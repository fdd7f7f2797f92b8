"""``create_app``: the one place that wires routes, middleware, error handlers and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import httpx
from argon2 import PasswordHasher
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from node.config import Settings
from node.remote import RemotePolicy, build_http_client
from node.services.context import KeyPair, NodeContext, generate_keys, utcnow
from node.services.errors import ServiceError
from node.services.ratelimit import InboxLimits, RetryLaterError
from node.store.db import Database
from node.web import (
    activitypub,
    admin,
    api,
    bottlenecks,
    bridges,
    browse,
    errors,
    federation_api,
    files,
    follow_requests,
    following,
    help_pages,
    i18n,
    inbox,
    initiative_pages,
    notifications,
    observe,
    questions,
    ui,
    wellknown,
)
from node.web.common import protocol_error_handler, service_error_handler
from node.web.conditional import ConditionalGetMiddleware
from node.web.routing import IndexedRouter
from protocol.errors import ProtocolError


def create_app(settings: Settings, *, http: httpx.AsyncClient | None = None,
               clock: Callable[[], datetime] = utcnow, database: Database | None = None,
               keygen: Callable[[], KeyPair] = generate_keys,
               password_hasher: PasswordHasher | None = None) -> Starlette:
    """A node application. The schema must exist (``kennisknoop migrate`` / ``serve`` do that).

    ``http`` is the outbound client (tests pass one mounted on other in-process nodes);
    ``clock`` is injectable so tests control time.
    """
    db = database or Database.connect(settings.database_url)
    own_http = http is None
    if http is None:
        # The guarded client connects only to the addresses it checked (no DNS rebinding).
        http = build_http_client(RemotePolicy(
            allow_private_network=settings.node.allow_private_network))
    ctx = NodeContext(settings=settings, db=db, clock=clock, http=http, keygen=keygen,
                      password_hasher=password_hasher or PasswordHasher())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if own_http:
                await http.aclose()
            if database is None:
                await db.dispose()

    routes: list[BaseRoute] = [
        *observe.routes,
        *wellknown.routes,
        *inbox.routes,
        *bridges.routes,  # before activitypub's /items/{id}: /items/{id}.ics is a calendar
        *activitypub.routes,
        *api.routes,
        *files.routes,
        *federation_api.routes,
        *initiative_pages.routes,
        *ui.routes,
        *following.routes,
        *notifications.routes,
        *browse.routes,
        *bottlenecks.routes,
        *questions.routes,
        *admin.routes,
        *follow_requests.routes,
        *help_pages.routes,
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        # Outermost first: request ids and metrics see the 304s too.
        middleware=[Middleware(observe.RequestMiddleware, metrics=ctx.metrics),
                    Middleware(i18n.LocaleMiddleware),
                    Middleware(ConditionalGetMiddleware)],
        exception_handlers={
            RetryLaterError: inbox.retry_later_handler,
            ServiceError: service_error_handler,
            ProtocolError: protocol_error_handler,
            HTTPException: errors.http_error_handler,
            Exception: errors.server_error_handler,
        },
    )
    # The same routes, each request trying only those its first path segment may match.
    app.router = IndexedRouter(routes, lifespan=lifespan)
    app.state.ctx = ctx
    # In memory and per process, like the app itself (docs/security.md: several processes
    # multiply the rates).
    app.state.inbox_limits = InboxLimits.from_settings(settings)
    return app
