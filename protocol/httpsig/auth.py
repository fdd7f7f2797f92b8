"""An ``httpx.Auth`` that signs every outgoing request with an HTTP signature.

Signed GET (authorized fetch) and signed POST (inbox delivery) both go through
:func:`protocol.httpsig.sign_request`, draft-cavage-12 by default or RFC 9421 on request.

Usage::

    auth = HttpSignatureAuth(private_key, "https://kennis.example/actors/drenthe#main-key")
    async with httpx.AsyncClient(auth=auth) as client:
        await client.post(inbox, content=body, headers={"Content-Type": AP_JSON})
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime

import httpx

from protocol.httpsig import Flavour, sign_request
from protocol.httpsig._headers import PrivateKeyLike
from protocol.httpsig._headers import private_key as _load_private_key

__all__ = ["HttpSignatureAuth"]


class HttpSignatureAuth(httpx.Auth):
    """Sign each request with ``private_key`` as ``key_id``, in the given flavour.

    ``clock`` returns the signing time (tests inject a fixed one); default: the real clock.
    """

    # The digest covers the body, so httpx must read it before calling auth_flow.
    requires_request_body = True

    def __init__(
        self,
        private_key: PrivateKeyLike,
        key_id: str,
        *,
        flavour: Flavour = "cavage",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._key = _load_private_key(private_key)  # parse PEM once, not per request
        self._key_id = key_id
        self._flavour: Flavour = flavour
        self._clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        now = None if self._clock is None else self._clock()
        added = sign_request(
            request.method,
            str(request.url),
            request.headers,
            request.content,
            self._key,
            self._key_id,
            flavour=self._flavour,
            now=now,
        )
        request.headers.update(added)
        yield request
