"""The federation policy, in one place: which hosts this node federates with, on every path.

The rule combines the configuration (``federation.mode``, ``allow``, ``block``) with the hosts an
admin blocked at run time (the ``blocks`` table: ``kennisknoop block``, ``POST /api/admin/blocks``).
A host is refused when it is blocked (by either), or when the mode is ``allowlist`` and the host
is not in ``allow``. ``blocklist`` is a deprecated alias of ``open``: both federate with every
host that is not blocked.

It holds on every path (docs/security.md, "Federation policy"):
- outbound: the guarded client asks ``host_allowed`` before every request, so a request to a
  refused host is never made (``RemoteError`` ``host_not_allowed``);
- inbound requests: ``check_host`` refuses a POST or a follow with 403 ``host_not_allowed``;
- content, whatever path it came by (inbox, relay, backfill, anti-entropy): ``check_content``
  refuses an object or activity whose ``id`` or author is on a refused host, before it is
  fetched or stored;
- stored content: every listing applies ``rule`` (``node.store.blocks.visible``), so a block
  hides what is stored at once, and an unblock shows it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from node.config import Settings
from node.services.errors import PermissionDeniedError, RejectedError, ValidationError
from node.store import blocks as block_store
from node.store import search as search_store
from node.store.blocks import HostRule, StoredBlock
from protocol.errors import DocumentError
from protocol.origin import authority_of

if TYPE_CHECKING:  # the context builds its outbound client with ``host_allowed``
    from node.services.context import NodeContext


@lru_cache(maxsize=16)
def _normalised(hosts: tuple[str, ...]) -> frozenset[str]:
    """Configured hosts in the one form IRIs are compared in (``protocol.origin``): an admin who
    blocks ``Bücher.test.`` blocks ``https://xn--bcher-kva.test`` too."""
    found = set()
    for host in hosts:
        try:
            found.add(normalise(host))
        except ValidationError:
            found.add(host.strip().lower())
    return frozenset(found)


def normalise(host: str) -> str:
    """A host as an admin writes it (``Bücher.test.``, ``https://x.test/``) in ``host[:port]`` form.

    Raises ValidationError(bad_value) for something that is not a host name.
    """
    text = host.strip()
    if "://" not in text:
        text = f"https://{text}/"
    try:
        return authority_of(text)
    except (DocumentError, ValueError) as exc:
        raise ValidationError("bad_value", f"not a host name: {host[:100]!r}",
                              field="host") from exc


def _configured(settings: Settings) -> HostRule:
    """The configuration's rule, made once per settings (they are immutable): every inbound
    request asks twice."""
    held = _CONFIGURED.get(id(settings))
    if held is not None and held[0] is settings:
        return held[1]
    allowlist = settings.federation.mode == "allowlist"
    allow = _normalised(settings.federation.allow)
    made = HostRule(blocked=_normalised(settings.federation.block),
                    allowed=allow if allowlist else None)
    if len(_CONFIGURED) >= 64:  # a process holds one or two (the tests make many)
        _CONFIGURED.clear()
    _CONFIGURED[id(settings)] = (settings, made)
    return made


_CONFIGURED: dict[int, tuple[Settings, HostRule]] = {}


def configured_mode(settings: Settings) -> str:
    """``open`` or ``allowlist`` (``blocklist``, a deprecated alias, reads as ``open``)."""
    return "allowlist" if settings.federation.mode == "allowlist" else "open"


def configured_allows(settings: Settings, host: str) -> bool:
    """Whether the configuration alone (no run-time blocks) federates with ``host``."""
    return _configured(settings).allows(host)


async def rule(ctx: NodeContext, session: AsyncSession) -> HostRule:
    """The whole policy now: the configuration plus the run-time blocks (held in memory by
    ``node.store.blocks``: a block counts at once in this process, within two seconds in the
    node's other processes — the CLI beside a running server)."""
    return _with_blocks(ctx, await block_store.hosts(session))


def _with_blocks(ctx: NodeContext, blocked: frozenset[str]) -> HostRule:
    configured = _configured(ctx.settings)
    if not blocked:
        return configured
    return HostRule(blocked=configured.blocked | blocked, allowed=configured.allowed)


async def current_rule(ctx: NodeContext) -> HostRule:
    """``rule`` in a session of its own, or none when the blocks are held in memory."""
    blocked = block_store.held_hosts(ctx.db)
    if blocked is not None:
        return _with_blocks(ctx, blocked)
    async with ctx.db.sessions() as session:
        return await rule(ctx, session)


def own_host(ctx: NodeContext) -> str:
    return ctx.settings.node.host


async def host_allowed(ctx: NodeContext, host: str) -> bool:
    """Whether this node federates with a normalised ``host[:port]``; our own host always."""
    if host == own_host(ctx):
        return True
    return (await current_rule(ctx)).allows(host)


def _host_of(iri: str) -> str:
    try:
        return authority_of(iri)
    except DocumentError as exc:
        raise RejectedError("bad_id", f"not an http(s) IRI: {iri[:200]!r}") from exc


async def check_host(ctx: NodeContext, iri: str) -> str:
    """The host of ``iri`` if it is federated with; else 403 ``host_not_allowed`` (requests)."""
    host = authority_of(iri)
    if not await host_allowed(ctx, host):
        raise PermissionDeniedError("host_not_allowed", f"{host} is not federated with")
    return host


async def check_content(ctx: NodeContext, *iris: str | None, current: HostRule | None = None
                        ) -> None:
    """Refuse received content (``RejectedError`` ``host_not_allowed``) when any of ``iris`` — an
    object's or activity's ``id``, its author, its actor — is on a refused host.

    The one content check of every path that stores what another server sent: called before
    anything is fetched from, or stored for, those IRIs. ``current``: the rule as a caller read
    it for a batch (backfill reads it once per batch of outbox activities, not twice per
    activity: each read is a session of its own).
    """
    hosts = {_host_of(iri) for iri in iris if iri} - {own_host(ctx)}
    if not hosts:
        return
    current = current or await current_rule(ctx)
    refused = sorted(host for host in hosts if not current.allows(host))
    if refused:
        raise RejectedError("host_not_allowed", f"{', '.join(refused)} is not federated with")


def allowed_urls(current: HostRule, urls: Iterable[str]) -> list[str]:
    """The ``urls`` (attachments, links) not on a refused host; unparseable ones are dropped."""
    kept = []
    for url in urls:
        try:
            if current.allows(authority_of(url)):
                kept.append(url)
        except DocumentError:
            continue
    return kept


# --- run-time blocks ---------------------------------------------------------------------------

async def block(ctx: NodeContext, host: str, *, reason: str | None = None, purge: bool = False
                ) -> tuple[str, bool, int]:
    """Block ``host`` from now on; with ``purge``, delete what is stored from it.

    Returns the normalised host, whether it was newly blocked, and how many objects were purged.
    """
    normalised = normalise(host)
    if normalised == own_host(ctx):
        raise ValidationError("bad_value", "a node cannot block itself", field="host")
    async with ctx.db.transaction() as session:
        added = await block_store.add(session, normalised, now=ctx.now(), reason=reason)
        purged = 0
        if purge:
            purged = await block_store.purge(session, normalised)
            await search_store.remove_host(session, normalised)
    return normalised, added, purged


async def unblock(ctx: NodeContext, host: str) -> tuple[str, bool]:
    """Lift a run-time block (a host the configuration blocks stays blocked)."""
    normalised = normalise(host)
    async with ctx.db.transaction() as session:
        return normalised, await block_store.remove(session, normalised)


async def list_blocks(ctx: NodeContext) -> list[StoredBlock]:
    async with ctx.db.sessions() as session:
        return await block_store.list_all(session)
