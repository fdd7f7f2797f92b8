"""The browser side of signing in: session cookies, CSRF tokens and the origin check of forms.

Cookies (RFC 6265bis): ``HttpOnly``, ``SameSite=Lax``, ``Path=/``; on an https node also
``Secure`` and the ``__Host-`` name prefix, which forbids a ``Domain`` attribute, so no other
host (a sibling subdomain) can set or overwrite them. The session cookie holds a random id that
``node.services.sessions`` resolves server-side; it lives 14 days.

CSRF (OWASP CSRF Prevention Cheat Sheet): every POST form carries ``csrf_token``.
- Signed in: the synchronizer token stored with the session row.
- Not signed in (the sign-in form only): a double-submit token, the value of a separate
  short-lived ``kk_login`` cookie, which only this host can set.
Tokens are compared with ``hmac.compare_digest``. Before that, a POST whose ``Origin`` is not
this node, or whose ``Sec-Fetch-Site`` says another site sent it, is refused (Fetch Metadata).
"""

from __future__ import annotations

import functools
import hmac
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from node.config import Settings
from node.services import sessions
from node.services.errors import AuthenticationError, PermissionDeniedError
from node.services.permissions import Caller
from node.services.sessions import WebSession
from node.web.common import ctx_of
from node.web.forms import Form, read_form
from protocol.origin import origin_of, same_origin

SESSION_COOKIE = "kk_session"
LOGIN_COOKIE = "kk_login"
CSRF_FIELD = "csrf_token"
LOGIN_COOKIE_SECONDS = 2 * 60 * 60
_ALLOWED_FETCH_SITES = ("same-origin", "none")  # "none": typed or bookmarked by the user


class CsrfError(PermissionDeniedError):
    """A POST without this node's form token, or sent from another site."""

    default_reason = "csrf_failed"


def _secure(settings: Settings) -> bool:
    return _https(settings.node.url)


@functools.lru_cache(maxsize=16)  # a node's own URL: asked on every page
def _https(url: str) -> bool:
    return urlsplit(url).scheme == "https"


def cookie_name(settings: Settings, base: str) -> str:
    """``__Host-<base>`` on an https node (the prefix needs ``Secure``), else ``<base>``."""
    return f"__Host-{base}" if _secure(settings) else base


def _set_cookie(response: Response, settings: Settings, base: str, value: str,
                max_age: int) -> None:
    response.set_cookie(cookie_name(settings, base), value, max_age=max_age, path="/",
                        secure=_secure(settings), httponly=True, samesite="lax")


def _clear_cookie(response: Response, settings: Settings, base: str) -> None:
    response.delete_cookie(cookie_name(settings, base), path="/", secure=_secure(settings),
                           httponly=True, samesite="lax")


def session_token(request: Request) -> str | None:
    """The raw session id from the cookie, if the browser sent one."""
    return request.cookies.get(cookie_name(ctx_of(request).settings, SESSION_COOKIE))


async def current(request: Request) -> WebSession | None:
    """The signed-in session of this request, or None (looked up once per request)."""
    if hasattr(request.state, "web_session"):
        cached: WebSession | None = request.state.web_session
        return cached
    token = session_token(request)
    found = await sessions.session_for(ctx_of(request), token) if token else None
    request.state.web_session = found
    return found


def set_session(request: Request, response: Response, new: sessions.NewSession) -> None:
    """Give the browser its new session and drop the sign-in form's token."""
    settings = ctx_of(request).settings
    max_age = int(sessions.SESSION_LIFETIME.total_seconds())
    _set_cookie(response, settings, SESSION_COOKIE, new.token, max_age)
    _clear_cookie(response, settings, LOGIN_COOKIE)


def clear_session(request: Request, response: Response) -> None:
    _clear_cookie(response, ctx_of(request).settings, SESSION_COOKIE)


def login_form_token(request: Request) -> tuple[str, bool]:
    """The sign-in form's token for a browser without a session, and whether it is new."""
    token = request.cookies.get(cookie_name(ctx_of(request).settings, LOGIN_COOKIE))
    if token and 20 <= len(token) <= 64:
        return token, False
    return secrets.token_urlsafe(32), True


def set_login_token(request: Request, response: Response, token: str) -> None:
    _set_cookie(response, ctx_of(request).settings, LOGIN_COOKIE, token, LOGIN_COOKIE_SECONDS)


def check_origin(request: Request) -> None:
    """Refuse a request another site sent (``Origin`` / ``Sec-Fetch-Site``, when present)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site.lower() not in _ALLOWED_FETCH_SITES:
        raise CsrfError("csrf_failed", f"Sec-Fetch-Site: {site}")
    origin = request.headers.get("origin")
    if origin is not None:
        # Browsers send the serialised origin (RFC 6454 §6.2), hosts in IDNA form; compare both
        # in the one normalised form (protocol.origin), "null" included (it never matches).
        own = origin_of(ctx_of(request).settings.node.url)
        if not same_origin(origin, own):
            raise CsrfError("csrf_failed", f"Origin {origin!r} is not {own}")


def check_token(expected: str | None, form: Form) -> None:
    given = form.get(CSRF_FIELD)
    if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfError("csrf_failed", "missing or wrong form token")


async def require_user(request: Request) -> WebSession:
    """The signed-in session; AuthenticationError (sign-in page or 401) without one."""
    found = await current(request)
    if found is None:
        raise AuthenticationError("unauthenticated", "sign in first")
    return found


async def signed_in_form(request: Request) -> tuple[Caller, Form]:
    """A POSTed form of a signed-in user: same origin, signed in, with the session's token."""
    check_origin(request)
    web_session = await require_user(request)
    form = await read_form(request)
    check_token(web_session.csrf_token, form)
    return web_session.caller, form


async def anonymous_form(request: Request) -> Form:
    """A POSTed form that needs no session (sign in, sign out): checked against its own token."""
    check_origin(request)
    form = await read_form(request)
    web_session = await current(request)
    if web_session is not None:
        expected: str | None = web_session.csrf_token
    else:
        expected = request.cookies.get(cookie_name(ctx_of(request).settings, LOGIN_COOKIE))
    check_token(expected, form)
    return form


def client_address(request: Request) -> str | None:
    """The client's address as the server sees it (behind a proxy named in
    ``server.forwarded_allow_ips`` this is the visitor, not the proxy)."""
    return request.client.host if request.client else None
