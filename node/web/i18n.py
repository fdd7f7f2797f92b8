"""The language of a page: Dutch first, English complete (docs/translations.md).

Every sentence is written once, in Dutch, in ``node.web.strings.NL`` under a key. The gettext
catalogs in ``node/locale/<lang>/LC_MESSAGES/messages.po`` (compiled to ``messages.mo``) hold
each sentence with the key as its context (``msgctxt``) and the Dutch text as its ``msgid``, so
``pgettext(key, dutch)`` gives the sentence in a language, and the Dutch text itself where a
catalog has no (or an outdated) translation. ``pybabel extract -F babel.cfg`` finds the keys
through :func:`extract_strings`; ``make translations`` extracts, updates and compiles.

The language of a request: ``?lang=nl|en`` (the switch on every page; remembered in the
``lang`` cookie), else the ``lang`` cookie, else ``Accept-Language`` (Babel's
``negotiate_locale``), else Dutch. :class:`LocaleMiddleware` chooses it once per request and
keeps it in a context variable, so ``strings.text(key)`` in a handler and ``t.<key>`` in a
template both speak it without being handed the request.
"""

from __future__ import annotations

import ast
import functools
import gettext
from collections.abc import Iterator
from contextvars import ContextVar
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote_plus

from babel.core import negotiate_locale
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOCALES = ("nl", "en")  # the first is the default and the language the sentences are written in
DEFAULT_LOCALE = LOCALES[0]
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
PARAM = "lang"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
LANGUAGE_NAMES = {"nl": "Nederlands", "en": "English"}  # each in its own language

_current: ContextVar[str] = ContextVar("kennisknoop_locale", default=DEFAULT_LOCALE)


def current_locale() -> str:
    """The language the current request is answered in (Dutch outside a request)."""
    return _current.get()


def set_locale(locale: str) -> None:
    _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)


@functools.cache
def translations(locale: str) -> gettext.NullTranslations:
    """The compiled catalog of ``locale`` (loaded once per process)."""
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[locale], fallback=True)


def translate(key: str, dutch: str) -> str:
    """The sentence under ``key`` (Dutch text ``dutch``) in the current language."""
    locale = current_locale()
    if locale == DEFAULT_LOCALE:
        return dutch
    return translations(locale).pgettext(key, dutch)


# --- Jinja2's i18n extension: _(), gettext, ngettext, {% trans %} ----------------------------


def gettext_(message: str) -> str:
    return translations(current_locale()).gettext(message)


def ngettext_(singular: str, plural: str, n: int) -> str:
    return translations(current_locale()).ngettext(singular, plural, n)


def pgettext_(context: str, message: str) -> str:
    return translations(current_locale()).pgettext(context, message)


def npgettext_(context: str, singular: str, plural: str, n: int) -> str:
    return translations(current_locale()).npgettext(context, singular, plural, n)


# --- choosing the language ---------------------------------------------------------------------


def _valid(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value if value in LOCALES else None


@functools.lru_cache(maxsize=256)  # browsers send a few values over and over
def negotiate(accept_language: str) -> str | None:
    """The best of our languages for an ``Accept-Language`` value (quality order), or None."""
    wanted: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and quality > 0:
            wanted.append((-quality, position, tag.strip().replace("-", "_")))
    preferred = [tag for _, _, tag in sorted(wanted)]
    return negotiate_locale(preferred, list(LOCALES), sep="_")


def choose_locale(connection: HTTPConnection) -> tuple[str, bool]:
    """(language, whether the request chose it with ``?lang=``, so it is to be remembered)."""
    asked = _valid(connection.query_params.get(PARAM)) if connection.scope.get(
        "query_string") else None  # (most requests have no query: nothing to parse)
    if asked is not None:
        return asked, True
    headers = connection.headers
    remembered = _valid(connection.cookies.get(COOKIE)) if "cookie" in headers else None
    if remembered is not None:
        return remembered, False
    negotiated = negotiate(headers.get("accept-language", ""))
    return negotiated or DEFAULT_LOCALE, False


def activate(connection: HTTPConnection) -> str:
    """Choose the request's language and make it current (error pages call this themselves)."""
    locale, _ = choose_locale(connection)
    set_locale(locale)
    return locale


def switch_links(path: str, query: str) -> list[dict[str, str]]:
    """The other languages' links to this page: its path and query with ``lang`` replaced."""
    kept = [(name, value) for name, value in parse_qsl(query, keep_blank_values=True)
            if name != PARAM]
    current = current_locale()
    links = []
    for locale in LOCALES:
        if locale == current:
            continue
        params = "&".join(f"{_quote(n)}={_quote(v)}" for n, v in [*kept, (PARAM, locale)])
        links.append({"locale": locale, "name": LANGUAGE_NAMES[locale],
                      "url": f"{path}?{params}"})
    return links


def _quote(value: str) -> str:
    return quote_plus(value, safe="")


class LocaleMiddleware:
    """Chooses each HTTP request's language; remembers a ``?lang=`` choice in a cookie."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        locale, remember = choose_locale(connection)
        token = _current.set(locale)
        if not remember:
            try:
                await self.app(scope, receive, send)
            finally:
                _current.reset(token)
            return
        cookie: SimpleCookie = SimpleCookie()
        cookie[COOKIE] = locale
        morsel = cookie[COOKIE]
        morsel["path"] = "/"
        morsel["max-age"] = COOKIE_MAX_AGE
        morsel["samesite"] = "Lax"
        if scope.get("scheme") == "https":
            morsel["secure"] = True

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("set-cookie", morsel.OutputString())
            await send(message)

        try:
            await self.app(scope, receive, send_with_cookie)
        finally:
            _current.reset(token)


# --- extraction: pybabel extract -F babel.cfg ------------------------------------------------


def extract_strings(fileobj: Any, keywords: Any, comment_tags: Any, options: Any
                    ) -> Iterator[tuple[int, str, tuple[str, str], list[str]]]:
    """Babel extractor for ``node/web/strings.py``: each ``NL`` entry as ``pgettext(key, text)``.

    The dict is read from the source (``ast``), not imported, like any Babel extractor.
    """
    tree = ast.parse(fileobj.read())
    for node in ast.walk(tree):
        target = getattr(node, "target", None)
        if not (isinstance(node, ast.AnnAssign) and isinstance(target, ast.Name)
                and target.id == "NL" and isinstance(node.value, ast.Dict)):
            continue
        entries: dict[str, tuple[int, str]] = {}  # a repeated key: the last one counts
        for key, value in zip(node.value.keys, node.value.values, strict=True):
            if (isinstance(key, ast.Constant) and isinstance(key.value, str)
                    and isinstance(value, ast.Constant) and isinstance(value.value, str)):
                entries[key.value] = (key.lineno, value.value)
        for key_text, (lineno, dutch) in entries.items():
            yield lineno, "pgettext", (key_text, dutch), []
