"""Route dispatch that skips the routes a path cannot match.

Starlette's ``Router`` tries every route in order until one matches, a regular expression each:
with the node's hundred-odd routes, an item's ActivityPub IRI or API path was found after tens
of them (docs/performance.md, "Reads without the stamp"). ``IndexedRouter`` files each route
under the literal leading segments of its path, up to two (``/api/items/{local_id}`` under
``api/items``, ``/items/{id}`` under ``items``; ``/{handle}`` and what is not a plain ``Route``
under every path) and tries only the routes filed under the request's first two segments, in
their order. The routes it skips cannot match, so the first that matches is the one Starlette's
loop finds; when none does, Starlette's own ``app`` runs as before (405 for another method, a
redirect for a missing or extra slash, 404).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Lifespan, Receive, Scope, Send

DEPTH = 2  # leading path segments a route is filed under


def _segments(path: str) -> tuple[str, ...]:
    """The first ``DEPTH`` segments of a path (fewer when it has fewer)."""
    return tuple(path.split("/", DEPTH + 1)[1:DEPTH + 1])


def _literal_prefix(route: BaseRoute) -> tuple[str, ...]:
    """The leading segments (up to ``DEPTH``) of a route's path that are literal text, before
    the first with a parameter; () when the route may match any path."""
    if not isinstance(route, Route) or not route.path.startswith("/"):
        return ()
    prefix: list[str] = []
    for segment in _segments(route.path):
        if "{" in segment:
            break
        prefix.append(segment)
    return tuple(prefix)


class IndexedRouter(Router):
    """A ``Router`` that tries only the routes a request's leading path segments may match."""

    def __init__(self, routes: Sequence[BaseRoute], lifespan: Lifespan[Any] | None = None
                 ) -> None:
        super().__init__(routes, lifespan=lifespan)
        prefixes = [_literal_prefix(route) for route in self.routes]
        self._filed: dict[tuple[str, ...], list[BaseRoute]] = {}
        for key in {p[:n] for p in prefixes for n in range(len(p) + 1)}:
            # A request whose leading segments are ``key`` may match the routes filed under a
            # prefix of ``key`` (when ``key`` is one segment long: no longer prefix matches it).
            self._filed[key] = [r for r, p in zip(self.routes, prefixes, strict=True)
                                if key[:len(p)] == p]

    def candidates(self, path: str) -> list[BaseRoute]:
        """The routes, in order, that may match ``path``: every other cannot."""
        segments = _segments(path)
        filed = self._filed
        for n in range(len(segments), -1, -1):
            found = filed.get(segments[:n])
            if found is not None:
                return found
        return self.routes  # pragma: no cover  (() is always filed)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self.candidates(get_route_path(scope)):
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.setdefault("router", self)
                    scope["route"] = route
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        await super().app(scope, receive, send)
