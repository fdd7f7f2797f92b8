"""``NodeContext``: what every use case needs — settings, database, clock, outbound HTTP client."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from node.config import Settings
from node.remote import RemoteClient, RemotePolicy
from node.services import policy
from node.services.metrics import Metrics
from node.services.rendered import RenderCache
from node.services.urls import Urls
from node.store.db import Database
from node.store.group import GroupCommit
from protocol.keys import generate_ed25519, generate_rsa


def utcnow() -> datetime:
    return datetime.now(UTC)


KeyPair = tuple[rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey]


def generate_keys() -> KeyPair:
    """A fresh RSA-2048 and Ed25519 key for a new local actor."""
    return generate_rsa(), generate_ed25519()


@dataclass
class NodeContext:
    settings: Settings
    db: Database
    clock: Callable[[], datetime] = utcnow
    http: httpx.AsyncClient | None = None
    keygen: Callable[[], KeyPair] = generate_keys
    # argon2id with the library's defaults (RFC 9106 low-memory profile); tests pass cheaper ones.
    password_hasher: PasswordHasher = field(default_factory=PasswordHasher)
    # Per context, never the process-wide registry: several nodes share a test process, and
    # `serve` hands the app's to its built-in worker (docs/operations.md).
    metrics: Metrics = field(default_factory=Metrics)
    urls: Urls = field(init=False)
    # Rendered responses of this process (node.services.rendered), bounded by
    # ``server.render_cache_bytes``.
    rendered: RenderCache = field(init=False)
    _remote: RemoteClient | None = field(init=False, default=None)
    # The inbox's writes, grouped while one commits (``node.services.inbox.writes``).
    inbox_writes: GroupCommit[Any, bool] | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        self.urls = Urls(self.settings.node.url)
        self.rendered = RenderCache(self.settings.server.render_cache_bytes)

    @property
    def remote(self) -> RemoteClient:
        """The guarded outbound client (created on first use over ``http``)."""
        if self._remote is None:
            if self.http is None:
                raise RuntimeError("this node has no outbound HTTP client")
            self._remote = RemoteClient(self.http, RemotePolicy(
                allow_private_network=self.settings.node.allow_private_network,
                max_bytes=self.settings.limits.max_body_bytes), clock=self.clock,
                host_allowed=self.host_allowed)
        return self._remote

    async def host_allowed(self, host: str) -> bool:
        """The federation policy (``node.services.policy``) the outbound client enforces."""
        return await policy.host_allowed(self, host)

    def now(self) -> datetime:
        """The current time, to the second (documents carry second precision)."""
        return self.clock().astimezone(UTC).replace(microsecond=0)
