"""The help section (``/hulp``, docs/help.md): every page in Dutch and English, rendered in the
site's layout in the chosen language, linked from every page and from the forms, and its
pictures exactly the screenshots the browser test makes."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import httpx
import pytest

from node.services.context import NodeContext
from node.web import help_pages, i18n
from tests.browser.help_shots import HELP_SHOTS
from tests.node.web import BROWSER, local_id, make_item

PAGES = (help_pages.INDEX, *help_pages.TOPICS)
IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")
HELP_IMAGES = help_pages.STATIC_DIR / "help"


def path_of(topic: str) -> str:
    return "/hulp" if topic == help_pages.INDEX else f"/hulp/{topic}"


def images(locale: str, topic: str) -> list[tuple[str, str]]:
    """(alt text, src) of every image of a help page's Markdown."""
    return [(alt, src) for alt, src in IMAGE.findall(help_pages.source(locale, topic))]


async def get_page(client: httpx.AsyncClient, path: str, locale: str) -> str:
    response = await client.get(path, headers={**BROWSER, "Accept-Language": locale})
    assert response.status_code == 200, response.text
    return unescape(response.text)


# --- the files ---------------------------------------------------------------------------------


def test_every_dutch_help_page_has_an_english_one_and_back() -> None:
    files = {locale: sorted(p.stem for p in (help_pages.HELP_DIR / locale).glob("*.md"))
             for locale in i18n.LOCALES}
    assert files["nl"] == files["en"], "a help page without its translation (node/help/<lang>/)"
    assert set(files["nl"]) == set(PAGES), "a help file that is no topic, or a topic without file"


@pytest.mark.parametrize("topic", PAGES)
def test_a_help_page_has_a_title_and_a_summary_in_each_language(topic: str) -> None:
    shown = {locale: help_pages.help_page(locale, topic) for locale in i18n.LOCALES}
    for page in shown.values():
        assert page.title and page.summary and not page.summary.startswith("#")
    assert shown["nl"].title != shown["en"].title  # translated, not copied


@pytest.mark.parametrize("topic", PAGES)
def test_the_dutch_help_speaks_plain_dutch(topic: str) -> None:
    """"knooppunt", not "node" (docs/translations.md)."""
    text = help_pages.source("nl", topic)
    assert not re.search(r"\bnodes?\b", text, re.IGNORECASE), topic


# --- the pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", i18n.LOCALES)
@pytest.mark.parametrize("topic", PAGES)
async def test_every_help_page_renders_in_both_languages(
        client: httpx.AsyncClient, topic: str, locale: str) -> None:
    html = await get_page(client, path_of(topic), locale)
    expected = help_pages.help_page(locale, topic)
    assert f'<html lang="{locale}">' in html
    assert f"<h1>{expected.title}</h1>" in html
    assert f"<title>{expected.title} · Kennisknoop</title>" in html
    # in the site's layout, with the other topics one click away
    assert 'class="site-header"' in html and 'class="site-footer"' in html
    for other in help_pages.TOPICS:
        assert f'href="/hulp/{other}"' in html
        assert help_pages.help_page(locale, other).title in html


async def test_the_language_switch_turns_a_help_page_into_english(
        client: httpx.AsyncClient) -> None:
    html = unescape((await client.get("/hulp/volgen?lang=en", headers=BROWSER)).text)
    assert f"<h1>{help_pages.help_page('en', 'volgen').title}</h1>" in html
    assert 'href="/hulp/volgen?lang=nl"' in html


async def test_an_unknown_help_topic_is_the_sites_404_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/hulp/bestaat-niet", headers=BROWSER)
    assert response.status_code == 404
    assert "<h1>Niet gevonden</h1>" in response.text


async def test_the_index_lists_every_topic_with_its_summary(client: httpx.AsyncClient) -> None:
    html = await get_page(client, "/hulp", "nl")
    for topic in help_pages.TOPICS:
        page = help_pages.help_page("nl", topic)
        assert f'<a href="/hulp/{topic}">{page.title}</a>' in html
        assert page.summary in html


# --- links to the help -------------------------------------------------------------------------


async def test_every_page_links_to_the_help_in_its_footer(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    item = await make_item(ctx, None, title="Zo begonnen wij")
    for path in ("/", "/kennis", f"/items/{local_id(item.ap_id)}", "/bestaat/niet"):
        response = await client.get(path, headers=BROWSER)
        footer = response.text.split('<footer class="site-footer">', 1)[1]
        assert '<a href="/hulp">Hulp</a>' in footer, path


async def test_the_forms_link_to_the_help_of_their_step(editor_client: httpx.AsyncClient,
                                                         ctx: NodeContext) -> None:
    question = await make_item(ctx, "zorgcoop", kind="question", title="Wie weet raad?")
    bottleneck = await make_item(ctx, "zorgcoop", kind="bottleneck", title="Te veel regels")
    expected = {
        "/bewerken/item/nieuw": "/hulp/publiceren",
        "/initiatieven/nieuw": "/hulp/publiceren",
        f"/items/{local_id(question.ap_id)}": "/hulp/beantwoorden",
        f"/items/{local_id(bottleneck.ap_id)}": "/hulp/onderschrijven",
        "/actors/zorgcoop": "/hulp/volgen",
    }
    for path, help_path in expected.items():
        html = await get_page(editor_client, path, "nl")
        assert f'<a href="{help_path}">Hulp bij deze stap</a>' in html, path


# --- the pictures ------------------------------------------------------------------------------


def test_every_help_image_exists_is_used_and_is_made_by_the_browser_test() -> None:
    referenced: set[str] = set()
    for locale in i18n.LOCALES:
        for topic in PAGES:
            for _, src in images(locale, topic):
                assert src.startswith(help_pages.IMAGE_PREFIX), f"{locale}/{topic}: {src}"
                name = src.removeprefix(help_pages.IMAGE_PREFIX)
                assert (HELP_IMAGES / name).is_file(), f"{locale}/{topic}: {src} is missing"
                referenced.add(Path(name).stem)
    committed = {p.stem for p in HELP_IMAGES.glob("*.png")} if HELP_IMAGES.is_dir() else set()
    assert committed == referenced, "a committed help image no page shows, or the other way"
    assert referenced == set(HELP_SHOTS), (
        "the help pages' images and tests/browser/help_shots.py must name the same screenshots")


@pytest.mark.parametrize("topic", PAGES)
def test_each_image_is_on_both_languages_page_with_alt_text_in_that_language(topic: str) -> None:
    shown = {locale: images(locale, topic) for locale in i18n.LOCALES}
    assert [src for _, src in shown["nl"]] == [src for _, src in shown["en"]], topic
    for (dutch, _), (english, _) in zip(shown["nl"], shown["en"], strict=True):
        assert dutch.strip() and english.strip()
        assert dutch != english, f"{topic}: the English alt text is the Dutch one"


async def test_a_help_picture_is_shown_with_its_size_and_alt_text(
        client: httpx.AsyncClient) -> None:
    html = await get_page(client, "/hulp/volgen", "en")
    alt, src = images("en", "volgen")[0]
    width, height = help_pages.png_size(HELP_IMAGES / Path(src).name) or (0, 0)
    assert width and height
    assert (f'<img src="{src}" alt="{alt}" width="{width}" height="{height}" loading="lazy"'
            in html)
    assert (await client.get(src)).headers["content-type"] == "image/png"


def test_png_size_reads_only_a_png() -> None:
    assert help_pages.png_size(HELP_IMAGES / "bestaat-niet.png") is None
    assert help_pages.png_size(help_pages.HELP_DIR / "nl" / "index.md") is None
