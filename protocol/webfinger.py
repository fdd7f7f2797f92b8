"""WebFinger (RFC 7033) and host-meta (RFC 6415): find an actor from ``acct:name@host``.

Builds the JRD a node serves at ``/.well-known/webfinger`` (RFC 7033 §4.4) and parses the ones
peers serve, and builds the host-meta XRD whose ``lrdd`` template points at WebFinger (RFC 6415
§3), which some older fediverse software still asks for first.

Usage::

    user, host = parse_handle("@drenthe@kennis.example")
    url = webfinger_url("https://kennis.example", f"{user}@{host}")
    actor = parse_jrd(response_json).actor_url()
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import quoteattr

from protocol.errors import DocumentError
from protocol.origin import normalise_host
from protocol.vocab import ACTIVITY_JSON, is_activitypub_media_type

__all__ = [
    "JRD",
    "JRD_MEDIA_TYPE",
    "PROFILE_PAGE_REL",
    "SUBSCRIBE_REL",
    "JRDLink",
    "build_host_meta",
    "build_host_meta_jrd",
    "build_jrd",
    "parse_handle",
    "parse_jrd",
    "webfinger_url",
]

JRD_MEDIA_TYPE = "application/jrd+json"
PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"
# OStatus remote follow, as Mastodon still serves and reads it: a template with ``{uri}`` for the
# account (or object) to follow, on the server of the person who wants to follow.
SUBSCRIBE_REL = "http://ostatus.org/schema/1.0/subscribe"
WEBFINGER_PATH = "/.well-known/webfinger"

# RFC 7565 §7: acct userpart is unreserved / sub-delims / pct-encoded; '@' must be encoded.
_USER = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=%-]+")
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62})(?:\.[a-z0-9](?:[a-z0-9-]{0,62}))*(?::\d{1,5})?")


def parse_handle(handle: str) -> tuple[str, str]:
    """Split ``acct:user@host``, ``@user@host`` or ``user@host`` into ``(user, host)``.

    The host is normalised as :func:`protocol.origin.normalise_host` does (lower case, IDNA with
    UTS #46, no trailing dot), a port kept; the user is kept as written.

    Raises:
        DocumentError: ``bad_handle`` for anything else.

    >>> parse_handle("@drenthe@Kennis.Example")
    ('drenthe', 'kennis.example')
    >>> parse_handle("acct:winkel@straße.de")
    ('winkel', 'xn--strae-oqa.de')
    """
    if not isinstance(handle, str):
        raise DocumentError("bad_handle", "a handle must be a string")
    text = handle.strip()
    if text[:5].lower() == "acct:":
        text = text[5:]
    elif text.startswith("@"):
        text = text[1:]
    user, at, host = text.rpartition("@")
    if not at or not _USER.fullmatch(user):
        raise DocumentError("bad_handle", f"not a user@host handle: {handle!r}")
    name, colon, port = host.partition(":")
    try:
        host = normalise_host(name) + colon + port
    except DocumentError as exc:
        raise DocumentError("bad_handle", f"bad host in handle: {handle!r}") from exc
    if not _HOST.fullmatch(host):
        raise DocumentError("bad_handle", f"bad host in handle: {handle!r}")
    return user, host


def _acct(handle: str) -> str:
    user, host = parse_handle(handle)
    return f"acct:{user}@{host}"


def _base(base_url: str) -> str:
    base = base_url.rstrip("/")
    return base if "://" in base else f"https://{base}"


def webfinger_url(host_base: str, acct: str) -> str:
    """The WebFinger query URL for a handle on a host (``https://host`` or a bare host name).

    >>> webfinger_url("kennis.example", "drenthe@kennis.example")
    'https://kennis.example/.well-known/webfinger?resource=acct:drenthe@kennis.example'
    """
    # ':' and '@' are legal in a query (RFC 3986 §3.4); keeping them matches what Mastodon sends.
    return f"{_base(host_base)}{WEBFINGER_PATH}?resource={quote(_acct(acct), safe=':@')}"


def build_jrd(
    acct: str,
    actor_url: str,
    *,
    profile_url: str | None = None,
    aliases: Iterable[str] = (),
    subscribe_template: str | None = None,
) -> dict[str, Any]:
    """Build the JRD for a local actor: a ``self`` link to the actor, its HTML page, and the
    remote-follow template (``SUBSCRIBE_REL``) of its server.

    >>> jrd = build_jrd("drenthe@kennis.example", "https://kennis.example/actors/drenthe")
    >>> jrd["subject"]
    'acct:drenthe@kennis.example'
    """
    all_aliases = list(dict.fromkeys([actor_url, *([profile_url] if profile_url else []),
                                      *aliases]))
    links: list[dict[str, str]] = [{"rel": "self", "type": ACTIVITY_JSON, "href": actor_url}]
    if profile_url:
        links.append({"rel": PROFILE_PAGE_REL, "type": "text/html", "href": profile_url})
    if subscribe_template:
        links.append({"rel": SUBSCRIBE_REL, "template": subscribe_template})
    return {"subject": _acct(acct), "aliases": all_aliases, "links": links}


@dataclass(frozen=True)
class JRDLink:
    """One ``links`` member of a JRD (RFC 7033 §4.4.4)."""

    rel: str
    type: str | None = None
    href: str | None = None
    template: str | None = None


@dataclass(frozen=True)
class JRD:
    """A parsed JSON Resource Descriptor."""

    subject: str | None
    aliases: tuple[str, ...]
    links: tuple[JRDLink, ...]

    def actor_url(self) -> str:
        """The ActivityPub actor URL: the ``self`` link typed ``application/activity+json``,
        else one typed ``application/ld+json`` with the AS2 profile.

        Raises:
            DocumentError: ``missing_field`` if the JRD names no http(s) actor.
        """
        selves = [link for link in self.links if link.rel == "self" and link.href and link.type]
        preferred = [link for link in selves if link.type == ACTIVITY_JSON]
        preferred += [link for link in selves if is_activitypub_media_type(link.type or "")]
        for link in preferred:
            if link.href and urlsplit(link.href).scheme in ("https", "http"):
                return link.href
        raise DocumentError("missing_field", "WebFinger response names no ActivityPub actor")

    def subscribe_url(self, uri: str) -> str | None:
        """The remote-follow page for ``uri`` from the ``SUBSCRIBE_REL`` template (``{uri}``
        filled in percent-encoded), if the JRD has an http(s) one.

        >>> jrd = parse_jrd({"links": [{"rel": SUBSCRIBE_REL,
        ...                             "template": "https://m.example/authorize_interaction?uri={uri}"}]})
        >>> jrd.subscribe_url("https://kennis.example/actors/drenthe")
        'https://m.example/authorize_interaction?uri=https%3A%2F%2Fkennis.example%2Factors%2Fdrenthe'
        """
        for link in self.links:
            if link.rel != SUBSCRIBE_REL or not link.template or "{uri}" not in link.template:
                continue
            url = link.template.replace("{uri}", quote(uri, safe=""))
            if urlsplit(url).scheme in ("https", "http") and urlsplit(url).hostname:
                return url
        return None

    def profile_url(self) -> str | None:
        """The HTML profile page, if the JRD names one."""
        for link in self.links:
            if link.rel == PROFILE_PAGE_REL and link.href:
                return link.href
        return None


def _optional_str(raw: Mapping[str, Any], name: str) -> str | None:
    value = raw.get(name)
    return value if isinstance(value, str) else None


def parse_jrd(raw: Mapping[str, Any] | str | bytes) -> JRD:
    """Parse a WebFinger response body (already size-limited by the caller).

    Link entries without a string ``rel`` are skipped: RFC 7033 §4.4.4 requires it, and one odd
    link must not hide the actor.

    Raises:
        DocumentError: ``bad_json`` (not JSON or not an object), ``bad_field`` (``subject``,
            ``aliases`` or ``links`` of the wrong type).

    >>> jrd = parse_jrd(build_jrd("drenthe@kennis.example", "https://kennis.example/actors/drenthe"))
    >>> jrd.actor_url()
    'https://kennis.example/actors/drenthe'
    """
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise DocumentError("bad_json", "WebFinger response is not JSON") from exc
    if not isinstance(raw, Mapping):
        raise DocumentError("bad_json", "WebFinger response is not a JSON object")
    subject = raw.get("subject")
    if subject is not None and not isinstance(subject, str):
        raise DocumentError("bad_field", "JRD subject is not a string")
    aliases = raw.get("aliases", [])
    links = raw.get("links", [])
    if not isinstance(aliases, list) or not isinstance(links, list):
        raise DocumentError("bad_field", "JRD aliases and links must be arrays")
    parsed_links = tuple(
        JRDLink(
            rel=link["rel"],
            type=_optional_str(link, "type"),
            href=_optional_str(link, "href"),
            template=_optional_str(link, "template"),
        )
        for link in links
        if isinstance(link, dict) and isinstance(link.get("rel"), str)
    )
    return JRD(
        subject=subject,
        aliases=tuple(alias for alias in aliases if isinstance(alias, str)),
        links=parsed_links,
    )


def _lrdd_template(base_url: str) -> str:
    return f"{_base(base_url)}{WEBFINGER_PATH}?resource={{uri}}"


def build_host_meta(base_url: str) -> str:
    """The host-meta XRD (RFC 6415 §3) with the WebFinger ``lrdd`` template.

    The link carries no ``type``: the template answers with JRD (JSON), not XRD, as Mastodon's does.

    >>> "https://kennis.example/.well-known/webfinger?resource={uri}" in build_host_meta(
    ...     "https://kennis.example")
    True
    """
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template={quoteattr(_lrdd_template(base_url))}/>\n'
        "</XRD>\n"
    )


def build_host_meta_jrd(base_url: str) -> dict[str, Any]:
    """The JSON form of host-meta (``/.well-known/host-meta.json``, RFC 6415 Appendix A).

    >>> build_host_meta_jrd("https://kennis.example")["links"][0]["rel"]
    'lrdd'
    """
    return {"links": [{"rel": "lrdd", "type": JRD_MEDIA_TYPE,
                       "template": _lrdd_template(base_url)}]}
