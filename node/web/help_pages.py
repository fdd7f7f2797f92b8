"""The help section for volunteers: ``/hulp`` and ``/hulp/{topic}``, in Dutch and English.

Each page is a Markdown file per language, ``node/help/<lang>/<topic>.md`` (docs/help.md): the
first line is the page's ``# title``, the first paragraph after it the summary the index shows.
The language is the page's language (``node.web.i18n``: the switch, the cookie or
``Accept-Language``); every topic exists in every language (``tests/node/web/test_help.py``).
The files are ours, not user input: they are rendered with markdown-it-py with raw HTML off,
and images (``/static/help/*.png``, made by the browser tests, docs/help.md) get their
``width``/``height`` from the PNG so the page does not jump while they load.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from node.services.errors import NotFoundError
from node.web import i18n
from node.web.pages import PACKAGE_DIR, page, render

HELP_DIR = PACKAGE_DIR / "help"
STATIC_DIR = PACKAGE_DIR / "static"
INDEX = "index"
# The topics, in the order the index lists them; each is a file in every language.
TOPICS = ("publiceren", "vragen", "beantwoorden", "onderschrijven", "volgen", "uitnodigen")
IMAGE_PREFIX = "/static/help/"


@dataclass(frozen=True)
class HelpPage:
    topic: str
    title: str
    summary: str
    html: Markup


def png_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR chunk, or None if ``path`` is no readable PNG."""
    try:
        with path.open("rb") as png:
            head = png.read(24)
    except OSError:
        return None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def _render_image(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    """markdown-it's image rule (``renderer.image``), plus the PNG's size and lazy loading."""
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    if src.startswith(IMAGE_PREFIX):
        size = png_size(STATIC_DIR / "help" / src.removeprefix(IMAGE_PREFIX))
        if size is not None:
            token.attrSet("width", str(size[0]))
            token.attrSet("height", str(size[1]))
        token.attrSet("loading", "lazy")
    return str(renderer.image(tokens, idx, options, env))


@functools.cache
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False})
    md.add_render_rule("image", _render_image)
    return md


def source(locale: str, topic: str) -> str:
    return (HELP_DIR / locale / f"{topic}.md").read_text(encoding="utf-8")


@functools.cache
def help_page(locale: str, topic: str) -> HelpPage:
    """The page ``topic`` in ``locale``, rendered once per process (the files do not change)."""
    text = source(locale, topic)
    first, _, rest = text.partition("\n")
    if not first.startswith("# "):
        raise ValueError(f"help/{locale}/{topic}.md must start with '# title'")
    summary = rest.strip().split("\n\n", 1)[0].replace("\n", " ")
    return HelpPage(topic, first[2:].strip(), summary, Markup(_markdown().render(text)))


def _topic_of(request: Request) -> str:
    topic = str(request.path_params.get("topic", INDEX))
    if topic != INDEX and topic not in TOPICS:
        raise NotFoundError("not_found", "no such help page")
    return topic


@page
async def help_view(request: Request) -> Response:
    topic = _topic_of(request)
    locale = i18n.current_locale()
    shown = help_page(locale, topic)
    topics = [help_page(locale, name) for name in TOPICS]
    return render(request, "help.html", help=shown, topics=topics, is_index=topic == INDEX)


routes: list[BaseRoute] = [
    Route("/hulp", help_view, methods=["GET"]),
    Route("/hulp/{topic}", help_view, methods=["GET"]),
]
