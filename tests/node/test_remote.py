"""The guarded outbound client (node/remote.py) against real sockets on 127.0.0.1.

Peers are raw asyncio servers (so they can lie about lengths, drip bytes or never end) and count
the TCP connections they accept. Names resolve through an injected resolver; where a test needs a
public address, ``Diverted`` stands in for the network under the guard: it records the address the
guard chose and connects to the loopback peer instead, so no test ever leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import json
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpcore
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from node.remote import (
    GuardedBackend,
    RemoteClient,
    RemoteError,
    RemotePolicy,
    Signer,
    build_http_client,
)
from node.store.blocks import HostRule
from protocol.keys import generate_ed25519

PUBLIC = "93.184.215.14"  # a public address; only ever handed to Diverted, never dialled
OPEN = RemotePolicy(allow_private_network=True, timeout=2.0, deadline=5.0)
STRICT = RemotePolicy(timeout=2.0, deadline=5.0)
PRIVATE_TARGETS = ["127.0.0.1", "10.0.0.1", "[::1]", "169.254.169.254", "100.64.0.1", "[fc00::1]",
                   "[::ffff:127.0.0.1]", "0.0.0.0"]


# --- loopback peers -------------------------------------------------------------------------

@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


Handler = Callable[[Seen, asyncio.StreamWriter], Awaitable[None]]


class Peer:
    """An HTTP/1.1 server on 127.0.0.1, one request per connection, answering by path."""

    def __init__(self, routes: dict[str, Handler], *, tls: ssl.SSLContext | None = None) -> None:
        self.routes = routes
        self.tls = tls
        self.connections = 0  # TCP accepts, counted before any TLS handshake
        self.requests: list[Seen] = []
        self.sni: list[str | None] = []
        self.port = 0
        self._tasks: set[asyncio.Task[None]] = set()
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: self.sni.append(name)

    async def __aenter__(self) -> Peer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        if self.tls is not None:
            try:
                await writer.start_tls(self.tls)
            except (ConnectionError, ssl.SSLError):
                self._tasks.discard(task)
                return  # the client refused the handshake; the loop has closed the socket
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            method, path, _ = head[0].split(" ", 2)
            headers = dict((k.strip().lower(), v.strip()) for k, v in
                           (line.split(":", 1) for line in head[1:] if line))
            if "content-length" in headers:
                await reader.readexactly(int(headers["content-length"]))
            seen = Seen(method, path, headers)
            self.requests.append(seen)
            await self.routes[path](seen, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass  # the client hung up: what the guard is for
        finally:
            writer.close()
            with suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()
            self._tasks.discard(task)


def _head(status: int, headers: Iterable[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} X", "Connection: close", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def reply(status: int = 200, headers: Iterable[tuple[str, str]] = (), body: bytes = b"") -> Handler:
    async def handle(seen: Seen, writer: asyncio.StreamWriter) -> None:
        writer.write(_head(status, [*headers, ("Content-Length", str(len(body)))]) + body)
        await writer.drain()
    return handle


def document(*, encoding: str | None = None) -> Handler:
    """An AS2 document whose ``id`` is the URL it was asked for (as the Host header names it)."""
    async def handle(seen: Seen, writer: asyncio.StreamWriter) -> None:
        scheme = "https" if seen.headers.get("x-tls") else "http"
        body = json.dumps({"id": f"{scheme}://{seen.headers['host']}{seen.path}",
                           "type": "Note"}).encode()
        headers = [("Content-Type", "application/activity+json")]
        if encoding:
            body, headers = gzip.compress(body), [*headers, ("Content-Encoding", encoding)]
        await reply(200, headers, body)(seen, writer)
    return handle


def redirect(location: str, *, after: float = 0.0) -> Handler:
    async def handle(seen: Seen, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(after)
        await reply(302, [("Location", location)])(seen, writer)
    return handle


def endless(head: bytes, piece: bytes, *, every: float = 0.0) -> Handler:
    """``head``, then ``piece`` again and again until the client hangs up (or 20 s pass)."""
    async def handle(seen: Seen, writer: asyncio.StreamWriter) -> None:
        writer.write(head)
        stop = time.monotonic() + 20
        while time.monotonic() < stop:
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(every)
    return handle


# --- the network under the guard ----------------------------------------------------------

class Dns:
    """An injected resolver: each name answers its next list of addresses (the last repeats)."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        queue = self.answers[host]
        return queue.pop(0) if len(queue) > 1 else queue[0]


class Diverted(httpcore.AsyncNetworkBackend):
    """Records the address the guard connects to and connects to the loopback peer instead."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port
        self.targets: list[tuple[str, int]] = []

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
                          ) -> httpcore.AsyncNetworkStream:
        self.targets.append((host, port))
        if self.port is None:
            raise httpcore.ConnectError(f"not connecting to {host}")
        return await httpcore.AnyIOBackend().connect_tcp("127.0.0.1", self.port, timeout=timeout)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@asynccontextmanager
async def guarded(policy: RemotePolicy, *, dns: Dns | None = None,
                  backend: httpcore.AsyncNetworkBackend | None = None,
                  verify: ssl.SSLContext | bool = True) -> AsyncIterator[RemoteClient]:
    async with build_http_client(policy, resolver=dns, backend=backend, verify=verify) as http:
        yield RemoteClient(http, policy)


async def refusal(remote: RemoteClient, url: str) -> str:
    with pytest.raises(RemoteError) as caught:
        await remote.get_json(url)
    return caught.value.reason


# --- TLS for names that resolve to the loopback peer --------------------------------------

@dataclass
class Pki:
    client: ssl.SSLContext
    server_files: dict[str, tuple[Path, Path]] = field(default_factory=dict)

    def server(self, name: str) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*self.server_files[name])
        return context


def _cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str,
          issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(hours=1))
               .not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = (builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]),
                                         critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                                  critical=False))
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("Test CA", ca_key, "Test CA", ca_key, ca=True)
    client = ssl.create_default_context(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    found = Pki(client)
    for name in ("peer.example",):
        key = ec.generate_private_key(ec.SECP256R1())
        cert_file, key_file = directory / f"{name}.crt", directory / f"{name}.key"
        cert_file.write_bytes(_cert(name, key, "Test CA", ca_key, ca=False)
                              .public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        found.server_files[name] = (cert_file, key_file)
    return found


def tls_document() -> Handler:
    async def handle(seen: Seen, writer: asyncio.StreamWriter) -> None:
        await document()(Seen(seen.method, seen.path, {**seen.headers, "x-tls": "1"}), writer)
    return handle


# --- happy paths ----------------------------------------------------------------------------

async def test_loopback_peer_is_fetched_over_http_when_private_network_is_allowed() -> None:
    async with Peer({"/actor": document()}) as peer, guarded(OPEN) as remote:
        found = await remote.get_json(f"http://127.0.0.1:{peer.port}/actor")
    assert found["id"] == f"http://127.0.0.1:{peer.port}/actor"
    assert peer.connections == 1


async def test_name_is_dialled_at_the_address_resolved_once_with_its_host_header() -> None:
    dns = Dns({"peer.example": [["127.0.0.1"]]})
    async with Peer({"/actor": document()}) as peer, guarded(OPEN, dns=dns) as remote:
        found = await remote.get_json(f"http://peer.example:{peer.port}/actor")
    assert found["id"] == f"http://peer.example:{peer.port}/actor"
    assert peer.requests[0].headers["host"] == f"peer.example:{peer.port}"
    assert dns.asked == ["peer.example"]  # allow_private_network: no early check, one lookup


async def test_https_peer_is_dialled_at_the_checked_public_address(pki: Pki) -> None:
    dns = Dns({"peer.example": [[PUBLIC]]})
    async with Peer({"/actor": tls_document()}, tls=pki.server("peer.example")) as peer:
        diverted = Diverted(peer.port)
        async with guarded(STRICT, dns=dns, backend=diverted, verify=pki.client) as remote:
            found = await remote.get_json("https://peer.example/actor")
    assert found["id"] == "https://peer.example/actor"
    assert diverted.targets == [(PUBLIC, 443)]
    assert peer.sni == ["peer.example"]


async def test_certificate_is_verified_for_the_name_not_the_address(pki: Pki) -> None:
    dns = Dns({"other.example": [[PUBLIC]]})
    async with Peer({"/actor": tls_document()}, tls=pki.server("peer.example")) as peer:
        remote_context = guarded(STRICT, dns=dns, backend=Diverted(peer.port), verify=pki.client)
        async with remote_context as remote:
            reason = await refusal(remote, "https://other.example/actor")
    assert reason == "connect_error"
    assert peer.requests == []


async def test_two_redirects_are_followed() -> None:
    routes = {"/one": redirect("/two"), "/two": redirect("/actor"), "/actor": document()}
    async with Peer(routes) as peer, guarded(OPEN) as remote:
        found = await remote.get_json(f"http://127.0.0.1:{peer.port}/one")
    assert found["id"] == f"http://127.0.0.1:{peer.port}/actor"


async def test_gzip_body_is_decoded() -> None:
    async with Peer({"/actor": document(encoding="gzip")}) as peer, guarded(OPEN) as remote:
        found = await remote.get_json(f"http://127.0.0.1:{peer.port}/actor")
    assert found["type"] == "Note"


async def test_requests_ask_for_an_uncompressed_body() -> None:
    async with Peer({"/actor": document()}) as peer, guarded(OPEN) as remote:
        await remote.get_json(f"http://127.0.0.1:{peer.port}/actor")
    assert peer.requests[0].headers["accept-encoding"] == "identity"


# --- addresses refused before connecting ----------------------------------------------------

@pytest.mark.parametrize("host", [*PRIVATE_TARGETS, "192.168.1.1", "172.16.0.1", "[fe80::1]",
                                  "224.0.0.1", "[2002:7f00:1::]", "[::]", "2130706433"])
async def test_private_address_is_refused_before_connecting(host: str) -> None:
    async with Peer({"/actor": document()}) as peer:
        diverted = Diverted(peer.port)
        async with guarded(STRICT, backend=diverted) as remote:
            reason = await refusal(remote, f"https://{host}:{peer.port}/actor")
    assert reason == "private_address"
    assert (peer.connections, diverted.targets) == (0, [])


async def test_localhost_is_refused_before_connecting() -> None:
    async with Peer({"/actor": document()}) as peer, guarded(STRICT) as remote:
        reason = await refusal(remote, f"https://localhost:{peer.port}/actor")
    assert reason == "private_address"
    assert peer.connections == 0


@pytest.mark.parametrize("answer", [["10.0.0.1"], [PUBLIC, "127.0.0.1"]])
async def test_name_with_a_private_answer_is_refused_before_connecting(answer: list[str]) -> None:
    dns = Dns({"peer.example": [answer]})
    async with Peer({"/actor": document()}) as peer:
        diverted = Diverted(peer.port)
        async with guarded(STRICT, dns=dns, backend=diverted) as remote:
            reason = await refusal(remote, "https://peer.example/actor")
    assert reason == "private_address"
    assert (peer.connections, diverted.targets) == (0, [])


async def test_a_request_resolves_its_host_once_and_dials_the_checked_address() -> None:
    # Given a name that answers a public address first, then a loopback one (DNS rebinding)
    dns = Dns({"rebind.example": [[PUBLIC], ["127.0.0.1"]]})
    async with Peer({"/actor": document()}) as peer:
        diverted = Diverted()  # records, never connects
        async with guarded(STRICT, dns=dns, backend=diverted) as remote:
            # When it is fetched
            reason = await refusal(remote, "https://rebind.example/actor")
    # Then it was looked up once, and only the address that lookup checked was dialled
    assert reason == "connect_error"
    assert dns.asked == ["rebind.example"]
    assert diverted.targets == [(PUBLIC, 443)]
    assert peer.connections == 0


async def test_guarded_backend_dials_the_address_it_checked_without_resolving_again() -> None:
    dns = Dns({"rebind.example": [[PUBLIC], ["127.0.0.1"]]})
    inner = Diverted()  # records, never connects
    with pytest.raises(httpcore.ConnectError):
        await GuardedBackend(resolver=dns, inner=inner).connect_tcp("rebind.example", 443)
    assert inner.targets == [(PUBLIC, 443)]
    assert dns.asked == ["rebind.example"]


async def test_an_idn_host_is_checked_and_dialled_in_the_one_idna_2008_form() -> None:
    # Given a name whose IDNA 2003 form (strasse.de) is another host than its IDNA 2008 form
    dns = Dns({"xn--strae-oqa.de": [[PUBLIC]]})
    inner = Diverted()
    async with guarded(STRICT, dns=dns, backend=inner) as remote:
        # When it is fetched
        with pytest.raises(RemoteError):
            await remote.get_json("https://Straße.de/actor")
    # Then the one lookup, at connect time, asked for the IDNA 2008 name
    assert dns.asked == ["xn--strae-oqa.de"]
    assert inner.targets == [(PUBLIC, 443)]


async def test_check_url_refuses_an_invalid_idn_host() -> None:
    async with guarded(STRICT, dns=Dns({})) as remote:
        with pytest.raises(RemoteError) as caught:
            await remote.check_url("https://xn--zz.example/actor")
    assert caught.value.reason == "bad_url"


async def test_guarded_backend_tries_each_checked_address_in_turn() -> None:
    dns = Dns({"peer.example": [[PUBLIC, "2606:4700::1111"]]})
    inner = Diverted()
    with pytest.raises(httpcore.ConnectError):
        await GuardedBackend(resolver=dns, inner=inner).connect_tcp("peer.example", 443)
    assert inner.targets == [(PUBLIC, 443), ("2606:4700::1111", 443)]


async def test_guarded_backend_refuses_a_private_answer_without_dialling() -> None:
    inner = Diverted()
    backend = GuardedBackend(resolver=Dns({"peer.example": [["169.254.169.254"]]}), inner=inner)
    with pytest.raises(RemoteError) as caught:
        await backend.connect_tcp("peer.example", 443)
    assert caught.value.reason == "private_address"
    assert inner.targets == []


async def test_guarded_http_client_refuses_a_private_address_by_itself() -> None:
    async with Peer({"/": reply()}) as peer, build_http_client(STRICT) as http:
        with pytest.raises(RemoteError) as caught:
            await http.get(f"https://127.0.0.1:{peer.port}/")
    assert caught.value.reason == "private_address"
    assert peer.connections == 0


async def test_environment_proxies_are_ignored(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    async with Peer({"/actor": tls_document()}, tls=pki.server("peer.example")) as peer:
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{peer.port}")
        monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{peer.port}")
        diverted = Diverted(peer.port)
        async with guarded(STRICT, dns=Dns({"peer.example": [[PUBLIC]]}), backend=diverted,
                           verify=pki.client) as remote:
            await remote.get_json("https://peer.example/actor")
    assert diverted.targets == [(PUBLIC, 443)]
    assert peer.requests[0].method == "GET"  # not a proxy's CONNECT


# --- schemes and credentials ------------------------------------------------------------------

@pytest.mark.parametrize(("url", "expected"), [
    ("ftp://127.0.0.1:{port}/actor", "bad_url"),
    ("file:///etc/passwd", "bad_url"),
    ("gopher://127.0.0.1:{port}/_actor", "bad_url"),
    ("http://peer.example:{port}/actor", "insecure_url"),
])
async def test_other_schemes_are_refused_before_connecting(url: str, expected: str) -> None:
    dns = Dns({"peer.example": [["127.0.0.1"]]})
    async with Peer({"/actor": document()}) as peer, guarded(STRICT, dns=dns) as remote:
        reason = await refusal(remote, url.format(port=peer.port))
    assert reason == expected
    assert (peer.connections, dns.asked) == (0, [])


async def test_guarded_http_client_refuses_http_unless_private_network_is_allowed() -> None:
    async with Peer({"/": reply()}) as peer, build_http_client(STRICT) as http:
        with pytest.raises(RemoteError) as caught:
            await http.get(f"http://127.0.0.1:{peer.port}/")
    assert caught.value.reason == "insecure_url"
    assert peer.connections == 0


async def test_private_network_allowed_still_refuses_credentials_in_urls() -> None:
    async with Peer({"/actor": document()}) as peer, guarded(OPEN) as remote:
        reason = await refusal(remote, f"http://user:secret@127.0.0.1:{peer.port}/actor")
    assert reason == "bad_url"
    assert peer.connections == 0


async def test_guarded_http_client_refuses_credentials_by_itself() -> None:
    async with Peer({"/": reply()}) as peer, build_http_client(OPEN) as http:
        with pytest.raises(RemoteError) as caught:
            await http.get(f"http://user:secret@127.0.0.1:{peer.port}/")
    assert caught.value.reason == "bad_url"
    assert peer.connections == 0


# --- redirects ------------------------------------------------------------------------------

@pytest.mark.parametrize("target", PRIVATE_TARGETS)
async def test_redirect_to_a_private_address_is_refused_before_connecting(pki: Pki, target: str
                                                                          ) -> None:
    routes = {"/start": redirect(f"https://{target}/actor"), "/actor": tls_document()}
    async with Peer(routes, tls=pki.server("peer.example")) as peer:
        diverted = Diverted(peer.port)
        async with guarded(STRICT, dns=Dns({"peer.example": [[PUBLIC]]}), backend=diverted,
                           verify=pki.client) as remote:
            reason = await refusal(remote, "https://peer.example/start")
    assert reason == "private_address"
    assert peer.connections == 1  # the first hop only
    assert diverted.targets == [(PUBLIC, 443)]


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://127.0.0.1/actor",
                                      "gopher://127.0.0.1:70/_actor"])
async def test_redirect_to_another_scheme_is_refused(location: str) -> None:
    async with Peer({"/start": redirect(location)}) as peer, guarded(OPEN) as remote:
        reason = await refusal(remote, f"http://127.0.0.1:{peer.port}/start")
    assert reason == "bad_url"
    assert peer.connections == 1


async def test_redirect_loop_ends_after_two_redirects() -> None:
    async with Peer({"/a": redirect("/b"), "/b": redirect("/a")}) as peer, guarded(OPEN) as remote:
        reason = await refusal(remote, f"http://127.0.0.1:{peer.port}/a")
    assert reason == "too_many_redirects"
    assert [seen.path for seen in peer.requests] == ["/a", "/b", "/a"]


# --- byte cap -------------------------------------------------------------------------------

CAPPED = RemotePolicy(allow_private_network=True, timeout=2.0, deadline=5.0, max_bytes=1000)
CHUNK = b"400\r\n" + b"x" * 1024 + b"\r\n"


@pytest.mark.parametrize("handler", [
    # declares more than the cap: refused on the header
    reply(200, [("Content-Type", "application/activity+json")], b"x" * 1001),
    # a lying Content-Length under the cap, overridden by an endless chunked body
    endless(_head(200, [("Content-Length", "10"), ("Transfer-Encoding", "chunked")]), CHUNK),
    # chunked, no length
    endless(_head(200, [("Transfer-Encoding", "chunked")]), CHUNK),
    # no length, ends when the connection closes (never)
    endless(_head(200, []), b"x" * 1024),
], ids=["declared", "lying-content-length", "chunked", "close-delimited"])
async def test_body_over_the_cap_is_cut(handler: Handler) -> None:
    async with Peer({"/actor": handler}) as peer, guarded(CAPPED) as remote:
        reason = await refusal(remote, f"http://127.0.0.1:{peer.port}/actor")
    assert reason == "too_large"


async def test_compressed_body_is_capped_after_decompression() -> None:
    bomb = gzip.compress(bytes(10_000_000))  # about 10 kB on the wire
    policy = RemotePolicy(allow_private_network=True, timeout=2.0, deadline=5.0,
                          max_bytes=100_000)
    headers = [("Content-Type", "application/activity+json"), ("Content-Encoding", "gzip")]
    async with Peer({"/actor": reply(200, headers, bomb)}) as peer, guarded(policy) as remote:
        reason = await refusal(remote, f"http://127.0.0.1:{peer.port}/actor")
    assert len(bomb) < policy.max_bytes
    assert reason == "too_large"


async def test_unknown_content_encoding_is_refused() -> None:
    headers = [("Content-Type", "application/activity+json"), ("Content-Encoding", "br")]
    async with Peer({"/actor": reply(200, headers, b"{}")}) as peer, guarded(OPEN) as remote:
        reason = await refusal(remote, f"http://127.0.0.1:{peer.port}/actor")
    assert reason == "bad_encoding"


async def test_delivery_answer_in_an_unknown_encoding_is_still_a_success() -> None:
    handler = reply(202, [("Content-Encoding", "br")], b"\x8b\x00\x80accepted\x03")
    signer = Signer("https://drenthe.test/actors/drenthe#ed25519", generate_ed25519())
    async with Peer({"/inbox": handler}) as peer, guarded(OPEN) as remote:
        status = await remote.post(f"http://127.0.0.1:{peer.port}/inbox", b"{}", signer=signer)
    assert status == 202


# --- deadlines ------------------------------------------------------------------------------

DRIPPING = RemotePolicy(allow_private_network=True, timeout=0.3, deadline=5.0)


@pytest.mark.parametrize("handler", [
    endless(b"HTTP/1.1 200 OK\r\n", b"X-Drip: x\r\n", every=0.02),
    endless(_head(200, [("Content-Type", "application/activity+json")]), b" ", every=0.02),
], ids=["headers", "body"])
async def test_slow_drip_is_cut_by_the_request_deadline(handler: Handler) -> None:
    # Every byte arrives well within httpx's per-read timeout; only the deadline can end it.
    async with Peer({"/actor": handler}) as peer, guarded(DRIPPING) as remote:
        started = time.monotonic()
        reason = await refusal(remote, f"http://127.0.0.1:{peer.port}/actor")
    assert reason == "timeout"
    assert time.monotonic() - started < 1.5


async def test_slow_redirect_chain_is_cut_by_the_overall_deadline() -> None:
    policy = RemotePolicy(allow_private_network=True, timeout=0.5, deadline=0.6)
    routes = {"/a": redirect("/b", after=0.25), "/b": redirect("/c", after=0.25),
              "/c": redirect("/d", after=0.25)}
    async with Peer(routes) as peer, guarded(policy) as remote:
        with pytest.raises(RemoteError) as caught:
            await remote.get_json(f"http://127.0.0.1:{peer.port}/a")
    assert caught.value.reason == "timeout"
    assert "deadline" in caught.value.detail


async def test_slow_drip_answer_to_a_delivery_is_cut_by_the_deadline() -> None:
    handler = endless(_head(202, [("Transfer-Encoding", "chunked")]), b"1\r\n \r\n", every=0.02)
    signer = Signer("https://drenthe.test/actors/drenthe#ed25519", generate_ed25519())
    async with Peer({"/inbox": handler}) as peer, guarded(DRIPPING) as remote:
        started = time.monotonic()
        with pytest.raises(RemoteError) as caught:
            await remote.post(f"http://127.0.0.1:{peer.port}/inbox", b"{}", signer=signer)
    assert caught.value.reason == "timeout"
    assert time.monotonic() - started < 1.5



# --- the federation policy ------------------------------------------------------------------

async def _not_evil(host: str) -> bool:
    return HostRule(blocked=frozenset({"evil.test"})).allows(host)  # any port, any subdomain


async def test_a_host_the_policy_refuses_is_neither_resolved_nor_dialled() -> None:
    dns = Dns({"evil.test": [[PUBLIC]]})
    diverted = Diverted()
    async with build_http_client(STRICT, resolver=dns, backend=diverted) as http:
        remote = RemoteClient(http, STRICT, host_allowed=_not_evil)
        reason = await refusal(remote, "https://evil.test/actor")
        with pytest.raises(RemoteError) as caught:
            await remote.post("https://evil.test/inbox", b"{}",
                              signer=Signer("https://drenthe.test/actors/n#ed",
                                            generate_ed25519()))
    assert (reason, caught.value.reason) == ("host_not_allowed", "host_not_allowed")
    assert (dns.asked, diverted.targets) == ([], [])


async def test_a_redirect_to_a_refused_host_is_not_followed() -> None:
    dns = Dns({"drenthe.test": [["127.0.0.1"]], "evil.test": [["127.0.0.1"]]})
    async with Peer({}) as peer:
        peer.routes.update({"/start": redirect(f"http://evil.test:{peer.port}/actor"),
                            "/actor": document()})
        async with build_http_client(OPEN, resolver=dns) as http:
            remote = RemoteClient(http, OPEN, host_allowed=_not_evil)
            reason = await refusal(remote, f"http://drenthe.test:{peer.port}/start")
    assert reason == "host_not_allowed"
    assert [seen.path for seen in peer.requests] == ["/start"]
    assert dns.asked == ["drenthe.test"]


async def test_a_client_without_the_address_guard_is_refused_for_public_use() -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(ValueError):
            RemoteClient(http, STRICT)
