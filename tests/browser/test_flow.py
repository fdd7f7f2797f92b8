"""Issue 12's story in a real browser, across two real nodes, clicked and typed as people do.

An editor on Fryslân creates an initiative with a place, a guide with an attachment and a
question; an editor on Drenthe finds the question by search and answers it; back on Fryslân the
answer is accepted; Fryslân's admin blocks a peer; a theme is followed by handle; the language
is switched. Each person has a browser context of their own (the two nodes share the host
127.0.0.1, so their cookies would otherwise mix). Federation runs in the nodes' workers: an
effect on the other node is awaited by reloading the page, bounded (``reload_until``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import PageFactory
from tests.browser.site import (
    ADMIN,
    DRENTHE_EDITOR,
    DRENTHE_INITIATIVE,
    EDITOR,
    THEME,
    Site,
    ThreadedNode,
)

pytestmark = pytest.mark.slow

WIDTH = 390
POLL_SECONDS = 20.0
PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
       b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
       b"trailer << /Root 1 0 R >>\n%%EOF\n")
INITIATIVE_NAME = "Zonnedak Grou"
GUIDE_TITLE = "Werkwijzer: een zonnedak op het dorpshuis"
QUESTION_WORD = "dakhuurcontract"  # in the question's title only
QUESTION_TITLE = f"Wie heeft een {QUESTION_WORD} voor zonnepanelen?"
ANSWER = "Wij gebruiken het model van de energiecoöperaties; vraag het ons gerust."


def reload_until(page: Any, arrived: Callable[[], bool], what: str) -> None:
    """Reload ``page`` until ``arrived()`` (a federated effect), at most POLL_SECONDS."""
    deadline = time.monotonic() + POLL_SECONDS
    while not arrived():
        assert time.monotonic() < deadline, f"{what}: not on {page.url} after {POLL_SECONDS} s"
        page.wait_for_timeout(200)
        page.reload()


def sign_in(page_at: PageFactory, node: ThreadedNode, username: str, password: str) -> Any:
    page = page_at(WIDTH)
    page.goto(node.url + "/")
    page.get_by_role("link", name="Aanmelden").click()
    page.get_by_label("Gebruikersnaam").fill(username)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Aanmelden").click()
    page.wait_for_url(node.url + "/")
    assert username in page.locator(".account").inner_text()
    return page


def says(page: Any, text: str) -> bool:
    """Whether a status message (the notice after a form) with ``text`` is shown.

    Waits for it (10 s at most): a click that submits a form returns before the page the
    redirect leads to is parsed, so counting at once could look at an unfinished document.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    notice = page.locator("[role=status]", has_text=text)
    try:
        notice.wait_for(timeout=10_000)
    except PlaywrightTimeout:
        return False
    shown: bool = notice.count() == 1
    return shown


def heading(page: Any) -> str:
    text: str = page.locator("h1").inner_text()
    return text.strip()


def test_the_story_of_issue_12(site: Site, page_at: PageFactory,
                               shot: Callable[[Any, str], Path]) -> None:
    fryslan, drenthe = site.fryslan, site.drenthe

    # 1. An editor on Fryslân creates an initiative with a place
    friese = sign_in(page_at, fryslan, *EDITOR)
    friese.goto(fryslan.url + "/initiatieven/nieuw")
    friese.locator("#veld-handle").fill("zonnedak-grou")
    friese.locator("#veld-name").fill(INITIATIVE_NAME)
    friese.locator("#veld-summary").fill("Zonnepanelen op het dak van het dorpshuis van Grou.")
    friese.locator("#veld-place_name").fill("Grou")
    friese.get_by_label("Breedtegraad").fill("53,09")
    friese.get_by_label("Lengtegraad").fill("5,84")
    friese.get_by_label("Energieopwekking").check()
    friese.get_by_role("button", name="Opslaan").click()
    assert says(friese, "Het initiatief is opgeslagen en gepubliceerd.")
    assert heading(friese) == INITIATIVE_NAME
    assert "Grou" in friese.locator("main").inner_text()
    shot(friese, "flow-01-initiatief")

    # 2. … and a guide with a PDF attached, on behalf of the new initiative
    friese.get_by_role("link", name="Nieuw item").click()
    friese.locator("#veld-kind").select_option("guide")
    friese.locator("#veld-initiative").select_option("zonnedak-grou")
    friese.locator("#veld-title").fill(GUIDE_TITLE)
    friese.locator("#veld-content").fill("1. Vraag de gemeente\n2. Laat het dak keuren")
    friese.locator("#veld-bijlage").set_input_files(files=[{
        "name": "werkwijzer.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    friese.get_by_label("Energieopwekking").check()
    friese.get_by_role("button", name="Publiceren").click()
    assert says(friese, "Het item is opgeslagen en gepubliceerd.")
    assert heading(friese) == GUIDE_TITLE
    attachments = friese.get_by_role("region", name="Bijlagen")
    assert "application/pdf" in attachments.inner_text()
    pdf_url = attachments.get_by_role("link").first.get_attribute("href")
    assert pdf_url
    shot(friese, "flow-02-handleiding")
    assert friese.request.get(pdf_url).body() == PDF  # the file is served back as sent

    # 3. … and asks a question
    friese.get_by_role("link", name="Nieuw item").click()
    friese.locator("#veld-kind").select_option("question")
    friese.locator("#veld-initiative").select_option("zonnedak-grou")
    friese.locator("#veld-title").fill(QUESTION_TITLE)
    friese.locator("#veld-content").fill("Het dorpshuis is van de gemeente. Wie deed dit al?")
    friese.get_by_label("Energieopwekking").check()
    friese.get_by_role("button", name="Publiceren").click()
    assert heading(friese) == QUESTION_TITLE
    assert "Antwoorden (0)" in friese.locator(".answers").inner_text()
    question_url = friese.url
    shot(friese, "flow-03-vraag")

    # 4. An editor on Drenthe finds the question by search (it arrives by federation)
    drentse = sign_in(page_at, drenthe, *DRENTHE_EDITOR)
    box = drentse.get_by_role("search").get_by_label("Zoek in initiatieven en kennis")
    box.fill(QUESTION_WORD)
    box.press("Enter")
    drentse.wait_for_url("**/zoeken?q=*")
    result = drentse.get_by_role("link", name=QUESTION_TITLE)
    reload_until(drentse, lambda: result.count() == 1, "the question on Drenthe")
    shot(drentse, "flow-04-zoeken")
    result.click()
    assert heading(drentse) == QUESTION_TITLE
    assert "/kennis/item?id=" in drentse.url

    # 5. … and answers it on behalf of Drenthe's initiative
    drentse.locator("#veld-initiative").select_option(DRENTHE_INITIATIVE)
    drentse.get_by_label("Uw antwoord").fill(ANSWER)
    drentse.get_by_role("button", name="Antwoord plaatsen").click()
    assert says(drentse, "gaat naar de vraagsteller")
    assert ANSWER in drentse.locator(".answers").inner_text()
    shot(drentse, "flow-05-antwoord")

    # 6. Back on Fryslân, the answer has arrived, and the asking editor accepts it
    friese.goto(question_url)
    accept = friese.get_by_role("button", name="Dit antwoord accepteren")
    reload_until(friese, lambda: accept.count() == 1, "Drenthe's answer on Fryslân")
    assert ANSWER in friese.locator(".answers").inner_text()
    assert "Energie Dwingeloo" in friese.locator(".answers").inner_text()
    accept.click()
    assert says(friese, "Het geaccepteerde antwoord is opgeslagen.")
    assert "Geaccepteerd antwoord" in friese.locator(".answers li.accepted").inner_text()
    shot(friese, "flow-06-geaccepteerd")

    # … which Drenthe's copy of the question shows too
    accepted = drentse.locator(".answers li.accepted")
    reload_until(drentse, lambda: accepted.count() == 1, "the acceptance on Drenthe")
    assert ANSWER in accepted.inner_text()

    # 7. Fryslân's admin blocks a peer, with a confirmation page between
    admin = sign_in(page_at, fryslan, *ADMIN)
    admin.goto(fryslan.url + "/beheer/knooppunten")
    admin.locator("#veld-host").fill("spam.example")
    admin.get_by_role("button", name="Blokkeren").click()
    assert heading(admin) == "Knooppunt blokkeren"
    assert admin.locator("#veld-host").input_value() == "spam.example"
    shot(admin, "flow-07-blokkeren-bevestigen")
    admin.get_by_role("button", name="Ja, blokkeren").click()
    assert says(admin, "spam.example is geblokkeerd.")
    row = admin.locator("tr", has_text="spam.example")
    assert "Geblokkeerd" in row.inner_text()
    shot(admin, "flow-07-geblokkeerd")

    # 8. The theme on Fryslân is followed by handle: Drenthe's editor names their initiative's
    # account, confirms on their own server, and Fryslân accepts the follow
    visitor = page_at(WIDTH)
    visitor.goto(f"{fryslan.url}/thema/{THEME}")
    follow_box = visitor.get_by_role("region", name="Volgen")
    host = drenthe.url.removeprefix("http://")
    follow_box.get_by_label("Uw account in de fediverse").fill(f"{DRENTHE_INITIATIVE}@{host}")
    shot(visitor, "flow-08-thema-volgen")
    follow_box.get_by_role("button", name="Volgen vanaf mijn server").click()
    visitor.wait_for_url(f"{drenthe.url}/**")
    # (not signed in on Drenthe yet: its sign-in form comes first, then the follow page)
    visitor.get_by_label("Gebruikersnaam").fill(DRENTHE_EDITOR[0])
    visitor.get_by_label("Wachtwoord").fill(DRENTHE_EDITOR[1])
    visitor.get_by_role("button", name="Aanmelden").click()
    visitor.wait_for_url(f"{drenthe.url}/volgen?*")
    assert heading(visitor).endswith("volgen")
    visitor.get_by_label("Volgen als").select_option(DRENTHE_INITIATIVE)
    visitor.get_by_role("button", name="Volgen", exact=True).click()
    state = visitor.get_by_text("Energie Dwingeloo volgt dit")
    reload_until(visitor, lambda: state.count() == 1, "Fryslân's Accept on Drenthe")
    shot(visitor, "flow-08-thema-gevolgd")
    friese.goto(f"{fryslan.url}/thema/{THEME}")
    followers = friese.get_by_role("region", name="Volgers (1)")
    reload_until(friese, lambda: followers.count() == 1, "the follower on the theme page")
    assert followers.get_by_role("link", name="Energie Dwingeloo").is_visible()

    # 9. The language is switched in the footer, and the next page stays English
    friese.goto(question_url)
    friese.get_by_role("navigation", name="Taal").get_by_role("link", name="English").click()
    assert friese.locator("html").get_attribute("lang") == "en"
    assert "Accepted answer" in friese.locator(".answers li.accepted").inner_text()
    shot(friese, "flow-09-english")
    friese.get_by_role("navigation", name="Main menu").get_by_role(
        "link", name="Questions", exact=True).click()
    assert friese.locator("html").get_attribute("lang") == "en"
    assert heading(friese) == "Questions"
    assert friese.get_by_role("link", name=QUESTION_TITLE).count() >= 1
