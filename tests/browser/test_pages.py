"""Every page type in headless Chromium on real nodes: accessible, no sideways scrolling at
390 px, screenshots at 390 and 1280 px; the map, the header search and the item form work.

One browser and one pair of nodes serve the whole module (``tests/browser/conftest.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from node.web.help_pages import TOPICS as HELP_TOPICS
from tests.browser.conftest import DEFAULT_HEIGHT, HEIGHTS, PageFactory
from tests.browser.site import (
    ADMIN,
    EDITOR,
    INITIATIVE,
    SEARCH_TITLE,
    SEARCH_WORD,
    Moderation,
    Site,
    seed_moderation,
    wait_until_found,
)

pytestmark = pytest.mark.slow

WIDTHS = (390, 1280)
PAGE_TYPES = ("home", "kennis", "initiatieven", "kaart", "zoeken", "statistiek", "vragen",
              "knelpunten", "thema",
              "initiatief", "knooppunt", "verzameling", "volgend", "aanmelden", "niet-gevonden", "verwijderd",
              "item-story", "item-guide", "item-question", "item-answer", "item-bottleneck",
              "item-event", "hulp", *(f"hulp-{topic}" for topic in HELP_TOPICS))
SIGNED_IN_PAGE_TYPES = ("item-nieuw", "item-bewerken", "item-verwijderen", "volgen", "meldingen",
                        "feeds", "geen-toegang", "initiatief-nieuw", "initiatief-bewerken",
                        "initiatief-verwijderen")
STATUS = {"niet-gevonden": 404, "verwijderd": 410, "geen-toegang": 403}
ERROR_TITLES = {"niet-gevonden": "Niet gevonden", "verwijderd": "Verwijderd",
                "geen-toegang": "Geen toegang"}
# A 1×1 grey PNG for every map tile: the test needs no internet, and the screenshots show a
# calm background where the tiles would be.
TILE = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8f8f0e03f0005fe02fea7d6a4b50000000049454e44ae426082")


def no_sideways_scrolling(page: Any) -> None:
    widths = page.evaluate("[document.scrollingElement.scrollWidth, "
                           "document.scrollingElement.clientWidth]")
    assert widths[0] <= widths[1], f"{page.url} scrolls sideways: {widths[0]} > {widths[1]} px"


def offline_tiles(page: Any) -> None:
    page.route("https://tile.openstreetmap.org/**",
               lambda route: route.fulfill(status=200, content_type="image/png", body=TILE))


def _signed_in_state(browser: Any, site: Site, tmp_path_factory: pytest.TempPathFactory,
                     username: str, password: str) -> Path:
    context = browser.new_context(locale="nl-NL")  # the Dutch form
    try:
        page = context.new_page()
        page.goto(site.fryslan.url + "/aanmelden")
        page.get_by_label("Gebruikersnaam").fill(username)
        page.get_by_label("Wachtwoord").fill(password)
        page.get_by_role("button", name="Aanmelden").click()
        page.wait_for_url(site.fryslan.url + "/")
        assert username in page.locator(".account").inner_text()
        state = tmp_path_factory.mktemp(username) / "state.json"
        context.storage_state(path=str(state))
        return state
    finally:
        context.close()


@pytest.fixture(scope="module")
def editor_state(browser: Any, site: Site, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cookies of an editor signed in through the form, for the signed-in pages."""
    return _signed_in_state(browser, site, tmp_path_factory, *EDITOR)


@pytest.fixture(scope="module")
def admin_state(browser: Any, site: Site, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cookies of the node's admin, for the /beheer pages."""
    return _signed_in_state(browser, site, tmp_path_factory, *ADMIN)


def visit(page_at: PageFactory, url: str, *, status: int = 200, **context_options: Any) -> Any:
    page = page_at(WIDTHS[0], **context_options)
    offline_tiles(page)
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == status, url
    if status >= 400:  # an error is a page of the site, in Dutch, with its menu and search box
        assert page.locator("h1").inner_text() in ERROR_TITLES.values()
        assert page.get_by_role("search", name="Zoeken op de hele site").is_visible()
    return page


def check_at_both_widths(page: Any, name: str, page_at: PageFactory,
                         axe_check: Callable[[Any], Any],
                         shot: Callable[[Any, str], Path]) -> None:
    """axe-core, no sideways scrolling (on the phone) and a screenshot, at 390 px, then at
    1280 px: the same page resized (the CSS media queries apply again), not loaded twice."""
    for width in WIDTHS:
        if width != page.viewport_size["width"]:
            page.set_viewport_size({"width": width, "height": HEIGHTS.get(width, DEFAULT_HEIGHT)})
        axe_check(page)
        if width <= 390:
            no_sideways_scrolling(page)
        shot(page, name)
    assert page_at.console(page) == [], f"{page.url} logged errors"


@pytest.mark.parametrize("name", PAGE_TYPES)
def test_page_is_accessible_and_fits(site: Site, page_at: PageFactory, name: str,
                                     axe_check: Callable[[Any], Any],
                                     shot: Callable[[Any, str], Path]) -> None:
    page = visit(page_at, site.fryslan.url + site.pages[name], status=STATUS.get(name, 200))
    if name == "kaart":
        page.wait_for_selector("#kaart[data-markers]")
    check_at_both_widths(page, name, page_at, axe_check, shot)


@pytest.mark.parametrize("path", ["/beheer", "/beheer/knooppunten", "/beheer/wachtrij",
                                  "/beheer/meldingen", "/beheer/gebruikers",
                                  "/beheer/knooppunten/blokkeren?host=evil.test"])
def test_admin_page_is_accessible_and_fits(
        site: Site, page_at: PageFactory, admin_state: Path, path: str,
        axe_check: Callable[[Any], Any], shot: Callable[[Any, str], Path]) -> None:
    page = visit(page_at, site.fryslan.url + path, storage_state=str(admin_state))
    name = "beheer" + path.split("?")[0].removeprefix("/beheer").replace("/", "-")
    check_at_both_widths(page, name, page_at, axe_check, shot)


@pytest.mark.parametrize("name", SIGNED_IN_PAGE_TYPES)
def test_signed_in_page_is_accessible_and_fits(
        site: Site, page_at: PageFactory, editor_state: Path, name: str,
        axe_check: Callable[[Any], Any], shot: Callable[[Any, str], Path]) -> None:
    path = {"item-nieuw": "/bewerken/item/nieuw",
            "item-bewerken": site.pages["item-question"] + "/bewerken",
            "item-verwijderen": site.pages["item-story"] + "/verwijderen",
            "meldingen": "/meldingen",
            "feeds": "/bewerken/feeds",
            "initiatief-nieuw": "/initiatieven/nieuw",
            "initiatief-bewerken": f"/actors/{INITIATIVE}/bewerken",
            "initiatief-verwijderen": f"/actors/{INITIATIVE}/verwijderen",
            "volgen": f"/volgen?{urlencode({'uri': site.drenthe.actor})}",
            # an answer of the other initiative, on which the editor has no grant
            "geen-toegang": site.pages["item-answer"] + "/bewerken"}[name]
    page = visit(page_at, site.fryslan.url + path, status=STATUS.get(name, 200),
                 storage_state=str(editor_state))
    assert EDITOR[0] in page.locator(".account").inner_text()
    check_at_both_widths(page, name, page_at, axe_check, shot)


def test_forms_with_errors_are_accessible_and_fit(
        site: Site, page_at: PageFactory, editor_state: Path, axe_check: Callable[[Any], Any],
        shot: Callable[[Any, str], Path]) -> None:
    # Given the sign-in form sent with a wrong password
    page = visit(page_at, site.fryslan.url + "/aanmelden")
    page.get_by_label("Gebruikersnaam").fill(EDITOR[0])
    page.get_by_label("Wachtwoord").fill("niet het wachtwoord")
    page.get_by_role("button", name="Aanmelden").click()
    # Then the page summarises the error, and is accessible at both widths
    assert page.locator(".error-summary").is_visible()
    check_at_both_widths(page, "aanmelden-fout", page_at, axe_check, shot)
    # Given the new item form sent empty by a signed-in editor
    page = visit(page_at, site.fryslan.url + "/bewerken/item/nieuw",
                 storage_state=str(editor_state))
    page.get_by_role("button", name="Publiceren").click()
    assert page.locator(".error-summary").is_visible()
    check_at_both_widths(page, "item-nieuw-fout", page_at, axe_check, shot)
    # Given the new initiative form sent empty: every error summarised, the map picker shown
    page = visit(page_at, site.fryslan.url + "/initiatieven/nieuw",
                 storage_state=str(editor_state))
    assert page.locator("#plaatskiezer").is_visible()
    page.get_by_role("button", name="Opslaan").click()
    assert page.locator(".error-summary").is_visible()
    assert page.locator(".error-summary li").count() == 2  # the short name and the name
    check_at_both_widths(page, "initiatief-nieuw-fout", page_at, axe_check, shot)


def test_the_markdown_preview_stays_on_the_page_and_is_sanitised(
        site: Site, page_at: PageFactory, editor_state: Path) -> None:
    # Given the new item form with Markdown that tries a script
    page = visit(page_at, site.fryslan.url + "/bewerken/item/nieuw",
                 storage_state=str(editor_state))
    page.get_by_label("Titel").fill("Mijn titel blijft")
    page.locator("#veld-content").fill("Een **sterk** verhaal.\n\n<script>alert(1)</script>")
    page.evaluate("window.stillHere = true")
    # When "Voorbeeld bekijken" is pressed (preview.js fetches the server's preview)
    page.get_by_role("button", name="Voorbeeld bekijken").click()
    # Then the preview shows the rendered text, the script only as text, on the same page
    page.locator("#voorbeeld strong").wait_for()
    assert page.locator("#voorbeeld strong").inner_text() == "sterk"
    assert page.locator("#voorbeeld script").count() == 0
    assert page.evaluate("window.stillHere === true")
    assert page.get_by_label("Titel").input_value() == "Mijn titel blijft"


def test_a_received_question_on_the_other_node_is_accessible_and_fits(
        site: Site, page_at: PageFactory, axe_check: Callable[[Any], Any],
        shot: Callable[[Any, str], Path]) -> None:
    # Given Drenthe, which received Fryslân's question with its answers by federation
    wait_until_found(site.drenthe, "molenaar")
    path = f"/kennis/item?{urlencode({'id': site.items['question']['id']})}"
    page = visit(page_at, site.drenthe.url + path)
    assert page.locator("h1").inner_text().strip() == "Hoe vinden wij een molenaar?"
    check_at_both_widths(page, "item-ontvangen-vraag", page_at, axe_check, shot)


def test_map_shows_clustered_markers_from_the_geojson(site: Site, page_at: PageFactory) -> None:
    # Given two initiatives and an upcoming event with places
    page = page_at(1280)
    offline_tiles(page)
    with page.expect_response(lambda r: "/api/initiatives.geojson" in r.url) as geojson:
        page.goto(site.fryslan.url + "/kaart")
    assert len(geojson.value.json()["features"]) == 2
    # Then the map shows all three, clustered where they lie close together
    markers = page.wait_for_selector("#kaart[data-markers]")
    assert markers.get_attribute("data-markers") == "3"
    assert page.locator("#kaart").is_visible()
    # (polled: while Leaflet zooms to fit, the clusters of the old zoom level fade out)
    page.wait_for_function("""() => {
        const clusters = [...document.querySelectorAll('#kaart .marker-cluster')];
        const single = document.querySelectorAll(
            '#kaart .leaflet-marker-icon:not(.marker-cluster)').length;
        return clusters.length >= 1 && single + clusters.reduce(
            (n, c) => n + parseInt(c.textContent, 10), 0) === 3;
    }""", timeout=10_000)
    # And the list beside it names the same places, as links to their pages
    listing = page.locator(".map-list")
    for name in ("Dorpsmolen Reduzum", "Doarpshûs Wergea", "Open dag bij de dorpsmolen"):
        listing.get_by_role("link", name=name).click()
        assert page.locator("h1").inner_text().strip() == name
        page.go_back()


def test_map_without_javascript_is_the_list(site: Site, page_at: PageFactory) -> None:
    page = page_at(390, java_script_enabled=False)
    page.goto(site.fryslan.url + "/kaart")
    assert page.locator("#kaart").is_hidden()
    assert page.locator(".map-list li").count() == 3


def test_search_from_the_header_box_finds_an_item(site: Site, page_at: PageFactory) -> None:
    # Given Drenthe, which holds Fryslân's items by federation
    wait_until_found(site.drenthe, SEARCH_WORD)
    page = page_at(390)
    page.goto(site.drenthe.url + "/")
    # When a word is typed into the search box in the header and sent with Enter
    box = page.get_by_role("search").get_by_label("Zoek in initiatieven en kennis")
    box.fill(SEARCH_WORD)
    box.press("Enter")
    # Then the results page lists the item, and its link leads to the item
    page.wait_for_url("**/zoeken?q=*")
    page.get_by_role("link", name=SEARCH_TITLE).click()
    assert page.locator("h1").inner_text().strip() == SEARCH_TITLE


def test_editor_signs_in_creates_an_item_and_sees_it(site: Site, page_at: PageFactory) -> None:
    # Given an editor who signs in from the header link of the home page
    page = page_at(390)
    page.goto(site.fryslan.url + "/")
    page.get_by_role("link", name="Aanmelden").click()
    page.get_by_label("Gebruikersnaam").fill(EDITOR[0])
    page.get_by_label("Wachtwoord").fill(EDITOR[1])
    page.get_by_role("button", name="Aanmelden").click()
    # When they fill in the new item form and publish
    page.get_by_role("link", name="Nieuw item").click()
    page.get_by_role("combobox", name="Soort (verplicht)").select_option("story")
    page.get_by_label("Titel").fill("Ons eerste jaar met de molen")
    page.get_by_label("Tekst").fill("Het eerste jaar leverde de molen **meer** op dan gedacht.")
    page.get_by_label("Energieopwekking").check()
    page.get_by_role("button", name="Publiceren").click()
    # Then they see the item's page, saved, with its title and text
    assert page.get_by_role("status").is_visible()
    assert page.locator("h1").inner_text().strip() == "Ons eerste jaar met de molen"
    assert page.locator(".content strong").inner_text() == "meer"
    # And it is listed with the node's knowledge
    page.goto(site.fryslan.url + "/kennis")
    assert page.get_by_role("link", name="Ons eerste jaar met de molen").is_visible()



def test_similar_answered_questions_show_while_a_question_is_typed(
        site: Site, page_at: PageFactory, editor_state: Path) -> None:
    # Given an editor on the new item form, with /static/similar.js running under the form's CSP
    page = visit(page_at, site.fryslan.url + "/bewerken/item/nieuw",
                 storage_state=str(editor_state))
    box = page.locator("#vergelijkbare-vragen")
    assert box.is_hidden()
    # When a question like the answered one is typed (no submit)
    page.locator("#veld-kind").select_option("question")
    page.locator("#veld-title").fill("Waar vinden wij een molenaar?")
    # Then the similar answered question shows, with its accepted answer, and nothing errs
    box.get_by_role("link", name="Hoe vinden wij een molenaar?").wait_for(timeout=10_000)
    assert box.is_visible()
    assert "Geaccepteerd antwoord" in box.inner_text()
    assert page.locator('input[name="toch_plaatsen"]').count() == 1
    assert page_at.console(page) == []


def test_the_language_is_switched_and_remembered(
        site: Site, page_at: PageFactory, axe_check: Callable[[Any], Any],
        shot: Callable[[Any, str], Path]) -> None:
    # Given the Dutch home page (the browser asks for Dutch)
    page = visit(page_at, site.fryslan.url + "/")
    assert page.locator("html").get_attribute("lang") == "nl"
    # When the person picks English in the switch at the bottom of the page
    page.get_by_role("navigation", name="Taal").get_by_role("link", name="English").click()
    page.wait_for_url("**/?lang=en")
    # Then the page is English, and stays accessible at both widths
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("search", name="Search the whole site").is_visible()
    check_at_both_widths(page, "home-en", page_at, axe_check, shot)
    # And the next page is English too: the choice is remembered
    menu = page.get_by_role("navigation", name="Main menu")
    menu.get_by_role("link", name="Questions", exact=True).click()
    page.wait_for_url("**/vragen")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Questions"
    # And back to Dutch
    page.get_by_role("navigation", name="Language").get_by_role("link", name="Nederlands").click()
    page.wait_for_url("**/vragen?lang=nl")
    assert page.locator("html").get_attribute("lang") == "nl"
    assert page.locator("h1").inner_text() == "Vragen"


def test_a_click_on_the_initiative_forms_map_fills_the_coordinates(
        site: Site, page_at: PageFactory, editor_state: Path) -> None:
    page = visit(page_at, site.fryslan.url + "/initiatieven/nieuw",
                 storage_state=str(editor_state))
    page.get_by_label("Breedtegraad").fill("53,1")
    page.get_by_label("Lengtegraad").fill("5,8")
    page.get_by_label("Lengtegraad").dispatch_event("change")
    assert page.locator("#plaatskiezer .leaflet-marker-icon").count() == 1  # typed: marker set
    page.locator("#plaatskiezer").click(position={"x": 200, "y": 120})
    latitude = float(page.get_by_label("Breedtegraad").input_value())
    longitude = float(page.get_by_label("Lengtegraad").input_value())
    assert (latitude, longitude) != (53.1, 5.8)
    assert 50 < latitude < 56 and 3 < longitude < 8  # near the typed spot, at zoom 12
    assert page_at.console(page) == []


def test_a_chosen_avatar_shows_at_once_and_is_kept_after_a_form_error(
        site: Site, page_at: PageFactory, editor_state: Path, tmp_path: Path) -> None:
    # Given the new initiative form and a logo chosen from the computer
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01"
                     b"\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\x0dIDATx\x9cc\xf8\xcf"
                     b"\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")
    page = visit(page_at, site.fryslan.url + "/initiatieven/nieuw",
                 storage_state=str(editor_state))
    page.get_by_label("Afbeelding (logo)").set_input_files(str(logo))
    # Then avatar_preview.js shows it before anything is sent
    chosen = page.locator("#avatar-keuze img")
    chosen.wait_for()
    assert (chosen.get_attribute("src") or "").startswith("data:image/png;base64,")
    # When the form is sent with an error elsewhere (no short name)
    page.locator("#veld-name").fill("Dorpsmolen met logo")
    page.get_by_role("button", name="Opslaan").click()
    # Then the form comes back with the error and the logo, now stored on the node
    assert page.locator(".error-summary").is_visible()
    kept = page.locator("figure.avatar-preview:not([hidden]) img")
    assert (kept.get_attribute("src") or "").startswith("/bestanden/")
    assert kept.get_attribute("alt") == "Logo van Dorpsmolen met logo"
    assert page.evaluate("document.querySelector('figure.avatar-preview img').naturalWidth") == 1
    assert page_at.console(page) == []


# --- last: the admin's pages with something to do (seed_moderation changes what Fryslân shows) --


@pytest.fixture(scope="module")
def moderation(site: Site) -> Moderation:
    return seed_moderation(site)


@pytest.mark.parametrize("name", ["beheer-overzicht", "beheer-verborgen", "beheer-volgverzoeken",
                                  "beheer-volgverzoek-weigeren", "beheer-murmurations",
                                  "initiatief-bewerken-beheerder"])
def test_admin_page_with_work_is_accessible_and_fits(
        site: Site, moderation: Moderation, page_at: PageFactory, admin_state: Path, name: str,
        axe_check: Callable[[Any], Any], shot: Callable[[Any, str], Path]) -> None:
    path = {"beheer-overzicht": "/beheer",
            "beheer-verborgen": "/beheer/verborgen",
            "beheer-volgverzoeken": "/beheer/volgverzoeken",
            "beheer-volgverzoek-weigeren": f"/beheer/volgverzoeken/{moderation.request_id}/weigeren",
            "beheer-murmurations": "/beheer/murmurations",
            "initiatief-bewerken-beheerder": f"/actors/{INITIATIVE}/bewerken"}[name]
    page = visit(page_at, site.fryslan.url + path, storage_state=str(admin_state))
    main = page.locator("main")
    shown = {"beheer-overzicht": lambda: (  # the logo and an upload nothing refers to
                 "2 bestanden" in main.inner_text() and "Daarvan worden er 1 " in main.inner_text()),
             "beheer-verborgen": lambda: main.locator("tbody tr").count() == 1,
             "beheer-volgverzoeken": lambda: main.locator("tbody tr").count() == 1,
             "beheer-volgverzoek-weigeren": lambda: main.locator("button.danger").count() == 1,
             "beheer-murmurations": lambda: main.locator("tbody button").count() == 2,
             "initiatief-bewerken-beheerder": lambda: (
                 main.locator("figure.avatar-preview:not([hidden]) img").count() == 1
                 and main.locator("#veld-approve").is_checked())}[name]
    assert shown(), f"{path} does not show what was seeded"
    check_at_both_widths(page, name, page_at, axe_check, shot)
