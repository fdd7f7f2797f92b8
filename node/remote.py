"""The one guarded outbound client: every fetch and delivery to another server goes through here.

Guards (DESIGN.md, "Remote fetches"; Mastodon's rules as reference):
- only https, or http when ``allow_private_network`` is set (local demos and tests);
- hosts that resolve to loopback, private, link-local, CGNAT, unique-local, unspecified or
  IPv4-mapped addresses are refused before connecting, unless ``allow_private_network``;
- redirects are followed by hand, at most 2, each target checked again;
- a per-request timeout and an overall deadline; a byte cap on every body read;
- fetched ActivityPub documents must have an ActivityPub content type and an ``id`` equal to the
  URL finally fetched.
Foreign errors (httpx, DNS) are translated here, at one seam, into ``RemoteError``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from protocol.errors import DocumentError
from protocol.httpsig import sign_request
from protocol.httpsig._headers import PrivateKeyLike
from protocol.jsonlimits import JsonLimits, load_json
from protocol.origin import origin_of
from protocol.vocab import ACTIVITY_JSON, is_activitypub_media_type

log = logging.getLogger("kennisknoop.remote")

ACCEPT_AP = f'{ACTIVITY_JSON}, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
USER_AGENT = "Kennisknoop/0.1 (+https://kennisknoop.nl)"


class RemoteError(Exception):
    """An outbound request failed; ``reason`` is stable, ``status`` the peer's HTTP status if any."""

    def __init__(self, reason: str, detail: str, *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        self.reason = reason
        self.detail = detail
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"{reason}: {detail}")


@dataclass(frozen=True)
class Signer:
    """Who signs an outgoing request: a key id and its private key."""

    key_id: str
    private_key: PrivateKeyLike


@dataclass(frozen=True)
class RemotePolicy:
    allow_private_network: bool = False
    timeout: float = 10.0
    deadline: float = 30.0
    max_bytes: int = 1_000_000
    max_redirects: int = 2
    json_limits: JsonLimits = field(default_factory=JsonLimits)


def _address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_unspecified:
        return False
    if ip.is_multicast or ip.is_reserved:
        return False
    if isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"):
        return False
    return ip.is_global


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds (delta or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class RemoteClient:
    """Guarded fetches and deliveries over one ``httpx.AsyncClient``."""

    def __init__(self, http: httpx.AsyncClient, policy: RemotePolicy,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.http = http
        self.policy = policy
        self.clock = clock

    async def check_url(self, url: str) -> None:
        """Refuse a URL by scheme or by the addresses its host resolves to."""
        parts = urlsplit(url)
        allow_private = self.policy.allow_private_network
        if parts.scheme == "http" and not allow_private:
            raise RemoteError("insecure_url", f"only https is allowed: {url[:200]}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RemoteError("bad_url", f"not an http(s) URL: {url[:200]}")
        if parts.username or parts.password:
            raise RemoteError("bad_url", "URLs with credentials are refused")
        if allow_private:
            return
        host = parts.hostname
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, parts.port or (443 if parts.scheme == "https" else 80),
                    type=socket.SOCK_STREAM)
            except OSError as exc:
                raise RemoteError("dns_error", f"cannot resolve {host}") from exc
            addresses = [str(info[4][0]) for info in infos]
        if not addresses or not all(_address_allowed(a) for a in addresses):
            raise RemoteError("private_address", f"{host} resolves to a non-public address")

    async def _read_capped(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.policy.max_bytes:
            raise RemoteError("too_large", f"body over {self.policy.max_bytes} bytes",
                              status=response.status_code)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > self.policy.max_bytes:
                raise RemoteError("too_large", f"body over {self.policy.max_bytes} bytes",
                                  status=response.status_code)
            chunks.append(chunk)
        return b"".join(chunks)

    async def _request(self, method: str, url: str, *, headers: dict[str, str],
                       body: bytes | None, signer: Signer | None, flavour: str = "cavage"
                       ) -> tuple[httpx.Response, bytes, str]:
        """One request following at most ``max_redirects`` redirects, each checked and re-signed."""
        current = url
        for _ in range(self.policy.max_redirects + 1):
            await self.check_url(current)
            send_headers = {"User-Agent": USER_AGENT, **headers}
            if signer is not None:
                send_headers.update(sign_request(method, current, send_headers, body,
                                                 signer.private_key, signer.key_id,
                                                 flavour=flavour,  # type: ignore[arg-type]
                                                 now=self.clock() if self.clock else None))
            request = self.http.build_request(method, current, headers=send_headers,
                                              content=body)
            try:
                response = await self.http.send(request, stream=True, follow_redirects=False)
            except httpx.TimeoutException as exc:
                raise RemoteError("timeout", f"{method} {current[:200]} timed out") from exc
            except httpx.HTTPError as exc:
                raise RemoteError("connect_error", f"{method} {current[:200]}: {exc}") from exc
            try:
                if response.is_redirect and method == "GET":
                    location = response.headers.get("location")
                    if not location:
                        raise RemoteError("bad_redirect", "redirect without Location",
                                          status=response.status_code)
                    current = urljoin(current, location)
                    continue
                content = await self._read_capped(response)
            except httpx.HTTPError as exc:
                raise RemoteError("read_error", f"{method} {current[:200]}: {exc}") from exc
            finally:
                await response.aclose()
            return response, content, current
        raise RemoteError("too_many_redirects", f"more than {self.policy.max_redirects} redirects")

    async def get_json(self, url: str, *, signer: Signer | None = None,
                       activitypub: bool = True) -> dict[str, Any]:
        """Fetch an ActivityPub document (signed GET when ``signer``); checks type and ``id``."""
        try:
            async with asyncio.timeout(self.policy.deadline):
                response, content, final_url = await self._request(
                    "GET", url, headers={"Accept": ACCEPT_AP if activitypub else
                                         "application/json"}, body=None, signer=signer)
        except TimeoutError as exc:
            raise RemoteError("timeout", f"GET {url[:200]} exceeded the deadline") from exc
        if response.status_code == 410:
            raise RemoteError("gone", f"{url[:200]} is gone", status=410)
        if response.status_code >= 400:
            raise RemoteError("http_error", f"GET {url[:200]} answered {response.status_code}",
                              status=response.status_code)
        content_type = response.headers.get("content-type", "")
        if activitypub and not is_activitypub_media_type(content_type):
            raise RemoteError("bad_content_type", f"{url[:200]} served {content_type[:100]!r}")
        try:
            document = load_json(content, limits=self.policy.json_limits)
        except DocumentError as exc:
            raise RemoteError("bad_document", f"{url[:200]}: {exc.detail}") from exc
        if activitypub:
            doc_id = document.get("id")
            if not isinstance(doc_id, str) or doc_id.split("#")[0] != final_url.split("#")[0]:
                raise RemoteError("id_mismatch", f"{url[:200]} served a document with another id")
            if origin_of(final_url) != origin_of(url):
                raise RemoteError("id_mismatch", f"{url[:200]} redirected to another origin")
        return document

    async def post(self, url: str, body: bytes, *, signer: Signer, flavour: str = "cavage"
                   ) -> int:
        """Deliver a signed POST; returns the status, raises RemoteError on any failure."""
        try:
            async with asyncio.timeout(self.policy.deadline):
                response, _, _ = await self._request(
                    "POST", url, headers={"Content-Type": ACTIVITY_JSON, "Accept": ACCEPT_AP},
                    body=body, signer=signer, flavour=flavour)
        except TimeoutError as exc:
            raise RemoteError("timeout", f"POST {url[:200]} exceeded the deadline") from exc
        if response.status_code >= 300:
            raise RemoteError("http_error", f"POST {url[:200]} answered {response.status_code}",
                              status=response.status_code,
                              retry_after=retry_after_seconds(response.headers.get("retry-after")))
        return response.status_code
