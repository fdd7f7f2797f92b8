"""Dutch first, English complete: the catalogs, the choice of language, dates and numbers.

The catalog tests read ``node/locale`` as it is committed: a sentence added to
``node.web.strings.NL`` without its English translation (``make translations``, then fill in
``node/locale/en/LC_MESSAGES/messages.po``) fails here (docs/translations.md).
"""

from __future__ import annotations

import contextvars
import functools
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from babel.dates import format_date
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from node.services.context import NodeContext
from node.web import i18n, pages, strings
from protocol import themes
from tests.node.conftest import BASE_URL
from tests.node.web import BROWSER, local_id, make_initiative, make_item
from tests.node.web.test_errors import faulty_client  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[3]
PLACEHOLDER = re.compile(r"\{(\w*)[^}]*\}")


def catalog(locale: str) -> Catalog:
    with (i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=locale)


def keyed(cat: Catalog) -> dict[str, tuple[str, str, bool]]:
    """context (the key) → (Dutch msgid, translation, fuzzy) of a catalog's sentences."""
    return {m.context: (str(m.id), str(m.string or ""), m.fuzzy)
            for m in cat if m.id and m.context}


def in_locale(locale: str, function: object, *args: object) -> str:
    """Call ``function`` with ``locale`` current, without leaking it into other tests."""
    def run() -> str:
        i18n.set_locale(locale)
        return function(*args)  # type: ignore[operator, no-any-return]
    return contextvars.copy_context().run(run)


# --- the catalogs --------------------------------------------------------------------------


def test_every_dutch_sentence_has_a_current_english_translation() -> None:
    english = keyed(catalog("en"))
    missing = sorted(set(strings.NL) - set(english))
    assert not missing, f"no English for {missing}: run `make translations`, fill in en/…/messages.po"
    for key, dutch in strings.NL.items():
        msgid, translation, fuzzy = english[key]
        assert msgid == dutch, f"{key}: the Dutch changed since it was translated; update its English"
        assert translation.strip() and not fuzzy, f"{key}: no (or a fuzzy) English translation"
        assert sorted(PLACEHOLDER.findall(translation)) == sorted(PLACEHOLDER.findall(dutch)), key


def test_every_catalog_sentence_is_still_one_of_the_dutch_sentences() -> None:
    for locale in i18n.LOCALES:
        stale = sorted(set(keyed(catalog(locale))) - set(strings.NL))
        assert not stale, f"{locale}: {stale} are no longer in strings.NL (`make translations`)"
    assert set(keyed(catalog("nl"))) == set(strings.NL)


def test_the_catalogs_compile_to_the_committed_mo_files() -> None:
    for locale in i18n.LOCALES:
        compiled = io.BytesIO()
        write_mo(compiled, catalog(locale))
        committed = (i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.mo").read_bytes()
        assert compiled.getvalue() == committed, f"{locale}: run `make translations` (compile)"


def test_pybabel_extract_finds_every_key(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"),
                                "--no-location", "-o", str(pot), str(ROOT)])
    with pot.open("rb") as file:
        extracted = keyed(read_po(file))
    assert {key: msgid for key, (msgid, _, _) in extracted.items()} == strings.NL


def test_text_speaks_the_current_language_and_keeps_its_values() -> None:
    assert in_locale("nl", strings.text, "not_found_title") == "Niet gevonden"
    assert in_locale("en", strings.text, "not_found_title") == "Not found"
    assert in_locale("en", lambda: strings.text("page_of", page=2, pages=5)) == "Page 2 of 5"
    assert in_locale("en", lambda: strings.Texts().skip_link) == "Skip to content"
    assert in_locale("en", lambda: strings.BOTTLENECK_STATUSES["resolved"]) == "Resolved"
    assert in_locale("en", strings.validation_message, "title", "missing_field", "") == (
        "Fill in a title.")


# --- dates and numbers -----------------------------------------------------------------------


def test_dates_and_numbers_follow_the_language() -> None:
    moment = datetime(2026, 11, 27, 19, 30, tzinfo=UTC)
    assert in_locale("nl", pages.date_nl, moment) == "27 november 2026"
    assert in_locale("en", pages.date_nl, moment) == "November 27, 2026"
    assert in_locale("nl", pages.datetime_nl, "2026-11-27T19:30:00+01:00") == (
        "27 november 2026, 19:30")
    assert in_locale("en", pages.datetime_nl, moment).startswith("November 27, 2026, 7:30")
    assert in_locale("nl", pages.number, 12345.5) == "12.345,5"
    assert in_locale("en", pages.number, 12345.5) == "12,345.5"
    assert in_locale("en", pages.number, None) == ""


# --- choosing the language -------------------------------------------------------------------


@pytest.mark.parametrize(("accept_language", "locale"), [
    ("", "nl"), ("en", "en"), ("en-GB,en;q=0.9", "en"), ("nl-BE, en;q=0.5", "nl"),
    ("de, en;q=0.5, nl;q=0.3", "en"), ("fr", "nl"), ("nl;q=0.2, en;q=0.8", "en"),
    ("en;q=0", "nl"), ("*", "nl")])
def test_accept_language_is_negotiated_dutch_by_default(accept_language: str, locale: str) -> None:
    assert (i18n.negotiate(accept_language) or i18n.DEFAULT_LOCALE) == locale


async def test_a_page_is_english_for_accept_language_en(client: httpx.AsyncClient) -> None:
    response = await client.get("/", headers={**BROWSER, "Accept-Language": "en-GB,en;q=0.9"})
    assert response.status_code == 200
    assert '<html lang="en">' in response.text
    assert "Skip to content" in response.text and "Direct naar de inhoud" not in response.text
    assert 'href="/?lang=nl" hreflang="nl" lang="nl"' in response.text  # the way back
    assert "Accept-Language" in response.headers["vary"]
    dutch = await client.get("/", headers=BROWSER)
    assert '<html lang="nl">' in dutch.text and "Direct naar de inhoud" in dutch.text
    assert 'href="/?lang=en" hreflang="en" lang="en"' in dutch.text


async def test_the_switch_is_remembered_in_a_cookie(client: httpx.AsyncClient) -> None:
    switched = await client.get("/?lang=en", headers=BROWSER)
    assert '<html lang="en">' in switched.text
    cookie = switched.headers["set-cookie"]
    assert cookie.startswith("lang=en;") and "Path=/" in cookie and "SameSite=Lax" in cookie
    # The next page, without ?lang, and even when the browser asks for Dutch
    later = await client.get("/initiatieven", headers={**BROWSER, "Accept-Language": "nl"})
    assert '<html lang="en">' in later.text and "set-cookie" not in later.headers
    back = await client.get("/initiatieven?lang=nl", headers=BROWSER)
    assert '<html lang="nl">' in back.text and back.headers["set-cookie"].startswith("lang=nl;")
    assert '<html lang="nl">' in (await client.get("/", headers=BROWSER)).text


async def test_an_unknown_language_is_ignored(client: httpx.AsyncClient) -> None:
    response = await client.get("/?lang=fy", headers={**BROWSER, "Accept-Language": "en"})
    assert '<html lang="en">' in response.text and "set-cookie" not in response.headers


async def test_the_switch_link_keeps_the_page_and_its_query(client: httpx.AsyncClient) -> None:
    response = await client.get("/zoeken?q=molen+en+zo&lang=nl", headers=BROWSER)
    assert 'href="/zoeken?q=molen+en+zo&amp;lang=en"' in response.text
    assert "?lang=nl" not in response.text.split('class="language"')[1]


async def test_error_pages_speak_the_chosen_language(client: httpx.AsyncClient) -> None:
    response = await client.get("/bestaat/niet", headers={**BROWSER, "Accept-Language": "en"})
    assert response.status_code == 404
    assert '<html lang="en">' in response.text and "<h1>Not found</h1>" in response.text


async def test_the_500_page_speaks_the_chosen_language(
        faulty_client: httpx.AsyncClient) -> None:  # noqa: F811
    response = await faulty_client.get("/", headers={**BROWSER, "Cookie": "lang=en"})
    assert response.status_code == 500
    assert "<h1>Something went wrong on our side</h1>" in response.text


async def test_an_item_page_in_english_has_english_dates_and_labels(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    item = await make_item(ctx, themes=["energy-generation"])
    response = await client.get(f"/items/{local_id(item.ap_id)}",
                                headers={**BROWSER, "Cookie": "lang=en"})
    assert response.status_code == 200
    assert format_date(item.published, format="long", locale="en") in response.text
    assert themes.get("energy-generation").label.en in response.text


async def test_filter_choices_are_labelled_in_the_language(client: httpx.AsyncClient) -> None:
    english = await client.get("/kennis", headers={**BROWSER, "Accept-Language": "en"})
    dutch = await client.get("/kennis", headers=BROWSER)
    for theme in themes.all_themes()[:3]:
        assert theme.label.en in english.text and theme.label.nl in dutch.text


async def test_a_validation_message_from_code_is_english(client: httpx.AsyncClient) -> None:
    form = await client.get("/aanmelden?lang=en")
    token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = await client.post("/aanmelden", data={"username": "", "password": "x",
                                                      "csrf_token": token},
                                 headers={"Origin": BASE_URL})
    assert "Fill in your username." in response.text


def test_the_templates_have_the_language_filters(ctx: NodeContext) -> None:
    env = pages.build_environment(ctx.settings)
    # (values, not constants: Jinja2 folds a filter of a constant when it compiles)
    template = env.from_string("{{ n | number }} · {{ day | date }} · {{ t.nav_home }}")
    render = functools.partial(template.render, n=12345, day="2026-11-27")
    assert in_locale("en", render) == "12,345 · November 27, 2026 · Home"
    assert in_locale("nl", render) == "12.345 · 27 november 2026 · Start"
