"""The one guarded outbound client: every fetch and delivery to another server goes through here.

Guards (DESIGN.md, "Remote fetches"; Mastodon's rules as reference):
- only https, or http when ``allow_private_network`` is set (local demos and tests); no userinfo;
- the federation policy (``federation.mode``/``allow``/``block`` and run-time blocks, given as
  ``host_allowed``): a request to a refused host is never made (``host_not_allowed``). Scheme and
  policy are checked before any DNS lookup, on every hop of a redirect chain;
- hosts that resolve to loopback, private, link-local, CGNAT, unique-local, unspecified, multicast,
  reserved or IPv4-mapped addresses are refused before connecting, unless ``allow_private_network``.
  ``GuardedBackend`` (installed by ``build_http_client``) resolves once, at connect time, checks
  every address, and connects to a checked address itself: one DNS lookup per connection, so a
  second answer cannot differ from the checked one (DNS rebinding); TLS still verifies the name;
- redirects are followed by hand, at most 2, each target checked again;
- a deadline per request (``timeout``, covering DNS, connect and the whole body, so a peer that
  drips bytes cannot hold us) inside an overall deadline; a byte cap counted while streaming
  (also after decompression);
- fetched ActivityPub documents must have an ActivityPub content type and an ``id`` equal to the
  URL finally fetched.
Foreign errors (httpx, httpcore, DNS) are translated here, at one seam, into ``RemoteError``.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import json
import logging
import socket
import ssl
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from protocol.errors import DocumentError
from protocol.httpsig import sign_request
from protocol.httpsig._headers import PrivateKeyLike
from protocol.jsonlimits import JsonLimits, load_json
from protocol.origin import authority_of, origin_of
from protocol.vocab import ACTIVITY_JSON, is_activitypub_media_type

log = logging.getLogger("kennisknoop.remote")

ACCEPT_AP = f'{ACTIVITY_JSON}, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
USER_AGENT = "Kennisknoop/0.1 (+https://kennisknoop.nl)"

# A resolver maps a host name to its addresses (tests inject one; the default asks the system).
Resolver = Callable[[str], "Sequence[str] | Awaitable[Sequence[str]]"]
# The federation policy for a normalised ``host[:port]`` (``protocol.origin.authority_of``).
HostCheck = Callable[[str], Awaitable[bool]]


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


_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _address_allowed(address: str) -> bool:
    """Whether ``address`` is a public unicast address we may connect to."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return False  # never a real peer's AAAA record; a classic filter bypass
        if ip in _NAT64:  # DNS64 synthesises these for IPv4-only hosts: judge the IPv4 inside
            return _address_allowed(str(ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)))
        if ip.sixtofour is not None and not _address_allowed(str(ip.sixtofour)):
            return False
    if ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_unspecified:
        return False
    if ip.is_multicast or ip.is_reserved or ip in _CGNAT:
        return False
    return ip.is_global


async def system_resolve(host: str) -> list[str]:
    """The host's addresses from the system resolver, in its order, without repeats."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def _resolve(host: str, resolver: Resolver) -> list[str]:
    try:
        answer = resolver(host)
        found = await answer if inspect.isawaitable(answer) else answer
    except OSError as exc:
        raise RemoteError("dns_error", f"cannot resolve {host[:200]}") from exc
    if not found:
        raise RemoteError("dns_error", f"{host[:200]} has no addresses")
    return [str(address) for address in found]


async def _addresses(host: str, resolver: Resolver, *, allow_private: bool) -> list[str]:
    """``host``'s addresses (a literal is its own), refused unless every one is allowed."""
    host = host.strip("[]")
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = await _resolve(host, resolver)
    if not allow_private and not all(_address_allowed(a) for a in addresses):
        raise RemoteError("private_address", f"{host[:200]} resolves to a non-public address")
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves once, checks, and connects to the checked address.

    httpcore passes the URL's host to ``connect_tcp`` and later calls ``start_tls`` with the name
    as ``server_hostname``, so SNI and certificate verification still use the name.
    """

    def __init__(self, *, allow_private_network: bool = False, resolver: Resolver | None = None,
                 inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.allow_private_network = allow_private_network
        self.resolver: Resolver = resolver or system_resolve
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
                          ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await _addresses(host, self.resolver,
                                             allow_private=self.allow_private_network)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host[:200]} timed out") from exc
        failure: Exception | None = None
        for address in addresses:  # every one was checked; try them in the resolver's order
            try:
                return await self.inner.connect_tcp(address, port, timeout=timeout,
                                                    local_address=local_address,
                                                    socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
                                  ) -> httpcore.AsyncNetworkStream:
        raise RemoteError("bad_url", "remote requests never use unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def _check_scheme(url: str, *, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme == "http" and not allow_private:
        raise RemoteError("insecure_url", f"only https is allowed: {url[:200]}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RemoteError("bad_url", f"not an http(s) URL: {url[:200]}")
    if parts.username is not None or parts.password is not None:
        raise RemoteError("bad_url", "URLs with credentials are refused")


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a ``GuardedBackend``, refusing bad schemes and userinfo first."""

    def __init__(self, policy: RemotePolicy, *, resolver: Resolver | None = None,
                 backend: httpcore.AsyncNetworkBackend | None = None,
                 verify: ssl.SSLContext | bool = True) -> None:
        # No env proxies: a proxy would resolve (and connect to) the name itself.
        ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)
        super().__init__(verify=ssl_context, trust_env=False)
        self.allow_private_network = policy.allow_private_network
        # httpx takes no network backend, so its pool is rebuilt with ours (httpx's defaults).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0,
            network_backend=GuardedBackend(allow_private_network=policy.allow_private_network,
                                           resolver=resolver, inner=backend))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        _check_scheme(str(request.url), allow_private=self.allow_private_network)
        return await super().handle_async_request(request)


def build_http_client(policy: RemotePolicy, *, resolver: Resolver | None = None,
                      backend: httpcore.AsyncNetworkBackend | None = None,
                      verify: ssl.SSLContext | bool = True) -> httpx.AsyncClient:
    """The node's outbound ``httpx.AsyncClient`` with the guarded transport installed.

    ``resolver``, ``backend`` (the connector under the guard) and ``verify`` are for tests.
    """
    return httpx.AsyncClient(
        transport=GuardedTransport(policy, resolver=resolver, backend=backend, verify=verify),
        timeout=httpx.Timeout(policy.timeout), follow_redirects=False,
        max_redirects=policy.max_redirects, trust_env=False)


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


def _decoder(response: httpx.Response) -> Any:
    """A zlib decompressor for the body's ``Content-Encoding``, or None for identity."""
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise RemoteError("bad_encoding", f"unsupported Content-Encoding {encoding[:50]!r}",
                      status=response.status_code)


class RemoteClient:
    """Guarded fetches and deliveries over one ``httpx.AsyncClient``."""

    def __init__(self, http: httpx.AsyncClient, policy: RemotePolicy,
                 clock: Callable[[], datetime] | None = None, *,
                 host_allowed: HostCheck | None = None) -> None:
        # The address guard lives in the transport (one DNS lookup, at connect time): a client
        # without it may only be used where private addresses are allowed anyway (tests, demos).
        if not policy.allow_private_network and not isinstance(http._transport, GuardedTransport):
            raise ValueError("RemoteClient needs a client from build_http_client")
        self.http = http
        self.policy = policy
        self.clock = clock
        self.host_allowed = host_allowed

    async def check_url(self, url: str) -> None:
        """Refuse a URL by scheme, credentials or the federation policy, before any DNS lookup.

        The addresses are checked by the transport when it resolves the name to connect.
        """
        _check_scheme(url, allow_private=self.policy.allow_private_network)
        try:  # the name httpx will connect to (IDNA 2008), as the policy compares hosts
            host = authority_of(url)
        except DocumentError as exc:
            raise RemoteError("bad_url", exc.detail) from exc
        if self.host_allowed is not None and not await self.host_allowed(host):
            raise RemoteError("host_not_allowed", f"{host[:200]} is not federated with")

    async def _read_capped(self, response: httpx.Response, *, decode: bool) -> bytes:
        cap = self.policy.max_bytes

        def too_large() -> RemoteError:
            return RemoteError("too_large", f"body over {cap} bytes", status=response.status_code)

        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise too_large()
        decoder = _decoder(response) if decode else None
        chunks: list[bytes] = []
        size = raw_size = 0
        try:
            # Counted as it arrives, whatever Content-Length claimed (chunked bodies have none).
            async for chunk in response.aiter_raw():
                raw_size += len(chunk)
                if decoder is not None:  # never inflate more than the room left (zip bombs)
                    chunk = decoder.decompress(chunk, cap - size + 1)
                size += len(chunk)
                if size > cap or raw_size > cap:
                    raise too_large()
                chunks.append(chunk)
            if decoder is not None:
                chunk = decoder.flush()
                size += len(chunk)
                if size > cap:
                    raise too_large()
                chunks.append(chunk)
        except zlib.error as exc:
            raise RemoteError("bad_encoding", f"undecodable body: {exc}",
                              status=response.status_code) from exc
        return b"".join(chunks)

    async def _hop(self, method: str, url: str, *, headers: dict[str, str], body: bytes | None,
                   signer: Signer | None, flavour: str) -> tuple[httpx.Response, bytes | None]:
        """One request and its body; the body is None for a redirect to follow."""
        await self.check_url(url)
        # identity: a compressed body is still capped, but most peers then send it plain.
        send_headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **headers}
        if signer is not None:
            send_headers.update(sign_request(method, url, send_headers, body,
                                             signer.private_key, signer.key_id,
                                             flavour=flavour,  # type: ignore[arg-type]
                                             now=self.clock() if self.clock else None))
        request = self.http.build_request(method, url, headers=send_headers, content=body)
        try:
            response = await self.http.send(request, stream=True, follow_redirects=False)
        except httpx.TimeoutException as exc:
            raise RemoteError("timeout", f"{method} {url[:200]} timed out") from exc
        except httpx.HTTPError as exc:
            raise RemoteError("connect_error", f"{method} {url[:200]}: {exc}") from exc
        try:
            if response.is_redirect and method == "GET":
                return response, None
            # A delivery's answer is only counted, never read: no need to understand its encoding.
            return response, await self._read_capped(response, decode=method == "GET")
        except httpx.HTTPError as exc:
            raise RemoteError("read_error", f"{method} {url[:200]}: {exc}") from exc
        finally:
            await response.aclose()

    async def _request(self, method: str, url: str, *, headers: dict[str, str],
                       body: bytes | None, signer: Signer | None, flavour: str = "cavage"
                       ) -> tuple[httpx.Response, bytes, str]:
        """One request following at most ``max_redirects`` redirects, each checked and re-signed."""
        current = url
        for _ in range(self.policy.max_redirects + 1):
            try:
                # httpx's timeouts bound each read, not a body that trickles in byte by byte.
                async with asyncio.timeout(self.policy.timeout):
                    response, content = await self._hop(method, current, headers=headers,
                                                        body=body, signer=signer, flavour=flavour)
            except TimeoutError as exc:
                raise RemoteError("timeout", f"{method} {current[:200]} took over "
                                  f"{self.policy.timeout} s") from exc
            if content is None:
                current = urljoin(current, response.headers["location"])
                continue
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

    async def post_json(self, url: str, document: dict[str, Any]) -> dict[str, Any]:
        """POST a JSON document, unsigned, to a service that is not ActivityPub (a
        Murmurations index); its JSON answer (``{}`` when it sent none). Raises RemoteError
        for any failure or a status of 300 and up."""
        _, content = await self._post(url, json.dumps(document).encode(), headers={
            "Content-Type": "application/json", "Accept": "application/json"}, signer=None)
        try:
            return load_json(content, limits=self.policy.json_limits) if content.strip() else {}
        except DocumentError:
            return {}  # the index took it; an answer we cannot read changes nothing

    async def post(self, url: str, body: bytes, *, signer: Signer, flavour: str = "cavage"
                   ) -> int:
        """Deliver a signed POST; returns the status, raises RemoteError on any failure."""
        response, _ = await self._post(url, body, headers={"Content-Type": ACTIVITY_JSON,
                                                           "Accept": ACCEPT_AP},
                                       signer=signer, flavour=flavour)
        return response.status_code

    async def _post(self, url: str, body: bytes, *, headers: dict[str, str],
                    signer: Signer | None, flavour: str = "cavage"
                    ) -> tuple[httpx.Response, bytes]:
        """One POST within the deadline; RemoteError for a failure or a status of 300 and up."""
        try:
            async with asyncio.timeout(self.policy.deadline):
                response, content, _ = await self._request(
                    "POST", url, headers=headers, body=body, signer=signer, flavour=flavour)
        except TimeoutError as exc:
            raise RemoteError("timeout", f"POST {url[:200]} exceeded the deadline") from exc
        if response.status_code >= 300:
            raise RemoteError("http_error", f"POST {url[:200]} answered {response.status_code}",
                              status=response.status_code,
                              retry_after=retry_after_seconds(response.headers.get("retry-after")))
        return response, content
