"""Conditional GET (RFC 9110 §8.8.3 ``ETag``, §13.1.2 ``If-None-Match``, §15.4.5 ``304``).

Every successful GET of a document (ActivityPub JSON of actors, items, activities and collection
pages; the JSON API; the public HTML pages; the well-known documents) carries a strong ``ETag``
made from the bytes served, so a follower or a cache that already holds them gets ``304 Not
Modified`` and no body. The tag is a hash of the exact bytes, so the JSON and the HTML of one URL
(``Vary: Accept``, set by the handlers that negotiate) never share a tag.

Left alone: responses that already carry an ``ETag`` (static files), that must not be stored
(``Cache-Control: no-store``: pages for a signed-in person, forms with a CSRF token) or that set a
cookie, anything but a 200, and bodies past ``MAX_BUFFERED`` bytes (streamed as they come).
"""

from __future__ import annotations

import hashlib

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BUFFERED = 4 * 1024 * 1024
# Sent again on a 304 (RFC 9110 §15.4.5 lists the fields a 304 repeats).
_KEPT_ON_304 = frozenset({"etag", "vary", "cache-control", "content-location", "date", "expires",
                          "link"})


def etag_of(body: bytes) -> str:
    """The strong entity tag of ``body``: a 128-bit BLAKE2b digest, quoted.

    >>> etag_of(b"{}")
    '"2afb9b83f9314e5d029766197f539792"'
    """
    return f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


def matches(if_none_match: str, etag: str) -> bool:
    """Whether an ``If-None-Match`` value names ``etag`` (weak comparison, §13.1.2; ``*``)."""
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


class ConditionalGetMiddleware:
    """Adds ``ETag`` to documents served to a GET and answers 304 when ``If-None-Match`` holds it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        if_none_match = Headers(scope=scope).get("if-none-match")
        start: Message | None = None
        chunks: list[bytes] = []
        size = 0
        passing = False

        async def buffered_send(message: Message) -> None:
            nonlocal start, size, passing
            if passing:
                await send(message)
                return
            if message["type"] == "http.response.start":
                if _eligible(message):
                    start = message
                else:
                    passing = True
                    await send(message)
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            body = message.get("body", b"")
            chunks.append(body)
            size += len(body)
            if message.get("more_body", False):
                if size > MAX_BUFFERED:  # too big to hold: send it as it comes, untagged
                    passing = True
                    await send(start)
                    await send({"type": "http.response.body", "body": b"".join(chunks),
                                "more_body": True})
                return
            await _finish(send, start, b"".join(chunks), if_none_match)

        await self.app(scope, receive, buffered_send)


def kept_on_304(raw_headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers of a 200 that its 304 repeats."""
    return [(name, value) for name, value in raw_headers if name.decode() in _KEPT_ON_304]


def _eligible(start: Message) -> bool:
    if start["status"] != 200:
        return False
    headers = Headers(raw=start["headers"])
    return ("etag" not in headers and "set-cookie" not in headers
            and "no-store" not in headers.get("cache-control", ""))


async def _finish(send: Send, start: Message, body: bytes, if_none_match: str | None) -> None:
    etag = etag_of(body)
    headers = MutableHeaders(raw=list(start["headers"]))
    headers["ETag"] = etag
    if if_none_match is not None and matches(if_none_match, etag):
        await send({"type": "http.response.start", "status": 304,
                    "headers": kept_on_304(headers.raw)})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({**start, "headers": headers.raw})
    await send({"type": "http.response.body", "body": body})
