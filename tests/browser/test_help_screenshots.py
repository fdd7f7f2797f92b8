"""The help pages' pictures, made by walking each help step in Chromium on two real nodes, and
checked against the committed ones so they never go out of date (docs/help.md).

Each step is clicked and typed as the help tells it; the picture of a step is a screenshot of
the part of the page the help talks about, written to ``<artefacts>/screenshots/help/`` and
compared with ``node/static/help/<name>.png``: same size, and at most ``MAX_CHANGED`` of the
pixels visibly different. A failure names the pictures and says to run
``make help-screenshots``, which runs this module with ``KENNISKNOOP_HELP_REFRESH=1`` (no
comparison) and copies the fresh pictures into ``node/static/help/``; the test itself never
writes into the checkout.

Deterministic: the nodes' clock starts at ``SITE_START`` (the dates on the pages), the content
is fixed, the loopback address with its random port is shown as a real host name
(``HOSTS``), the text caret and animations are off, and the map tiles are the test's grey tile.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from node.web.help_pages import STATIC_DIR
from tests.browser.conftest import PageFactory, artifacts_dir
from tests.browser.help_shots import HELP_SHOTS
from tests.browser.site import (
    DRENTHE_EDITOR,
    DRENTHE_INITIATIVE,
    EDITOR,
    INITIATIVE,
    Site,
)
from tests.browser.test_flow import PDF, reload_until, sign_in
from tests.browser.test_pages import check_at_both_widths, offline_tiles

pytestmark = pytest.mark.slow

SITE_START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # read by the `site` fixture
WIDTH = 390  # the pictures are a phone's width: sharp on a phone, and fit any column
PAD = 8  # px around the part shown
COMMITTED = STATIC_DIR / "help"
REFRESH = "KENNISKNOOP_HELP_REFRESH"
# A pixel counts as changed when a channel differs by more than CHANNEL_TOLERANCE (of 255):
# anti-aliasing noise stays below it, a changed word or colour does not. At most MAX_CHANGED
# of the pixels may change: a moved line of text changes far more.
CHANNEL_TOLERANCE = 48
MAX_CHANGED = 0.002
GUIDE_TITLE = "Werkwijzer: vrijwilligers voor de molen"
QUESTION_TITLE = "Wie weet een nieuwe molenaar?"
ANSWER = "Vraag het Gilde van Vrijwillige Molenaars: zij leiden molenaars op, ook in Drenthe."
NOTE = "Ook onze zonneweide wacht al twee jaar op een aansluiting."


def shows(page: Any, text: str) -> None:
    """Wait for the notice with ``text`` that the page after a form's redirect shows."""
    page.locator("[role=status]", has_text=text).wait_for(timeout=10_000)


class Pictures:
    """Takes the help pictures and compares each with the committed one."""

    def __init__(self, site: Site) -> None:
        self.folder = artifacts_dir() / "help"
        self.folder.mkdir(exist_ok=True)
        self.hosts = {site.fryslan.url.removeprefix("http://"): "kennis.example",
                      site.drenthe.url.removeprefix("http://"): "drenthe.example"}
        self.taken: list[str] = []
        self.problems: list[str] = []

    def take(self, page: Any, name: str, *parts: str) -> None:
        """A picture of the region from the first to the last element of ``parts`` (CSS
        selectors), across the width they take, ``PAD`` px around it."""
        assert name in HELP_SHOTS, f"{name} is not in tests/browser/help_shots.py"
        # after a form's redirect the new page may still be loading its stylesheet: measured
        # before it applies, the region would be another one
        page.wait_for_load_state("load")
        page.evaluate("document.fonts.ready.then(() => true)")
        page.evaluate("""hosts => {
            // the loopback address and its random port, as a real node shows its host name
            const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode())
                for (const [from, to] of Object.entries(hosts))
                    node.nodeValue = node.nodeValue.split(from).join(to);
            if (document.activeElement) document.activeElement.blur();
            // the same scroll position every time: the page is drawn from the top
            window.scrollTo(0, 0);
        }""", self.hosts)
        box = page.evaluate("""selectors => {
            const measure = () => selectors.map(s => {
                const found = document.querySelector(s);
                if (!found) throw new Error('no element ' + s);
                return found.getBoundingClientRect();
            });
            // Text is drawn snapped to whole pixels from where it lies on the page: a region
            // starting at y = 1096.17 is drawn a little differently from the same region at
            // 1096.5, so a change anywhere above it would change the picture. Move the page
            // down by the fraction, so the region always starts on a whole pixel.
            document.body.style.paddingTop = '';  // (a picture before on the same page)
            const first = Math.min(...measure().map(b => b.top)) + scrollY;
            document.body.style.paddingTop = (Math.ceil(first) - first) + 'px';
            const boxes = measure();
            const left = Math.min(...boxes.map(b => b.left)), top = Math.min(...boxes.map(b => b.top));
            const right = Math.max(...boxes.map(b => b.right));
            const bottom = Math.max(...boxes.map(b => b.bottom));
            return {x: left + scrollX, y: top + scrollY, width: right - left, height: bottom - top,
                    page: document.documentElement.scrollWidth};
        }""", list(parts))
        x = max(0, int(box["x"]) - PAD)
        y = max(0, int(box["y"]) - PAD)
        right = min(box["page"], int(box["x"] + box["width"] + 0.999) + PAD)
        clip = {"x": x, "y": y, "width": right - x,
                "height": int(box["y"] + box["height"] + 0.999) + PAD - y}
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True, clip=clip, animations="disabled",
                        caret="hide", scale="css")
        self.taken.append(name)
        if not os.environ.get(REFRESH):
            problem = differs(path, COMMITTED / f"{name}.png")
            if problem:
                self.problems.append(f"{name}.png: {problem}")


def differs(fresh: Path, committed: Path) -> str | None:
    """Why ``fresh`` is not (nearly) ``committed``, or None."""
    from PIL import Image, ImageChops

    if not committed.is_file():
        return "no committed picture yet"
    with Image.open(fresh) as new, Image.open(committed) as old:
        if new.size != old.size:
            return f"size {new.size[0]}×{new.size[1]}, committed {old.size[0]}×{old.size[1]}"
        difference = ImageChops.difference(new.convert("RGB"), old.convert("RGB"))
        # per pixel, the largest of its channels' differences, then the share above tolerance
        largest = ImageChops.lighter(ImageChops.lighter(*difference.split()[:2]),
                                     difference.split()[2])
        changed = sum(largest.histogram()[CHANNEL_TOLERANCE + 1:])
        share = changed / (new.size[0] * new.size[1])
    if share > MAX_CHANGED:
        return f"{share:.2%} of the pixels changed (at most {MAX_CHANGED:.2%})"
    return None


def test_the_help_pictures_are_the_pages_as_they_are(site: Site, page_at: PageFactory) -> None:
    fryslan, drenthe = site.fryslan, site.drenthe
    pictures = Pictures(site)
    friese = sign_in(page_at, fryslan, *EDITOR)
    offline_tiles(friese)  # the initiative form's map

    # publiceren: a guide with a PDF, on behalf of the editor's initiative
    friese.goto(fryslan.url + "/bewerken/item/nieuw")
    friese.locator("#veld-kind").select_option("guide")
    friese.locator("#veld-title").fill(GUIDE_TITLE)
    friese.locator("#veld-content").fill("1. Vraag het dorp\n2. Maak een rooster")
    friese.locator("#veld-bijlage").set_input_files(files=[{
        "name": "werkwijzer.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    friese.get_by_label("Energieopwekking").check()
    pictures.take(friese, "publiceren-formulier", ".field:has(#veld-kind)",
                  ".field:has(#veld-bijlage)")
    friese.get_by_role("button", name="Publiceren").click()
    shows(friese, "Het item is opgeslagen en gepubliceerd.")
    pictures.take(friese, "publiceren-gepubliceerd", "[role=status]", "section:has(#bijlagen)")

    # … and the initiative's place, on its form's map
    friese.goto(f"{fryslan.url}/actors/{INITIATIVE}/bewerken")
    friese.locator("#plaatskiezer .leaflet-marker-icon").wait_for()
    # Leaflet fades tiles in from JavaScript (not a CSS animation Playwright could stop): wait
    # until every tile is loaded and fully shown, and no zoom is under way
    friese.wait_for_function("""() => {
        const map = document.querySelector('#plaatskiezer');
        const tiles = [...map.querySelectorAll('img.leaflet-tile')];
        return tiles.length > 0 && !map.querySelector('.leaflet-zoom-anim')
            && tiles.every(t => t.classList.contains('leaflet-tile-loaded')
                                && getComputedStyle(t).opacity === '1'
                                && getComputedStyle(t.parentElement).opacity === '1');
    }""")
    pictures.take(friese, "publiceren-plek", "#veld-place")

    # vragen: typing a question shows the similar answered one; posted anyway
    friese.goto(fryslan.url + "/bewerken/item/nieuw")
    friese.locator("#veld-kind").select_option("question")
    friese.locator("#veld-title").fill(QUESTION_TITLE)
    similar = friese.locator("#vergelijkbare-vragen")
    similar.get_by_role("link", name="Hoe vinden wij een molenaar?").wait_for(timeout=10_000)
    friese.locator("#veld-content").fill("Onze molenaar stopt na dertig jaar. Wie weet raad?")
    friese.get_by_label("Energieopwekking").check()
    pictures.take(friese, "vragen-formulier", ".field:has(#veld-kind)", "#vergelijkbare-vragen")
    friese.get_by_role("button", name="Publiceren").click()
    anyway = friese.get_by_role("button", name="Toch plaatsen")
    if anyway.count():  # the server showed the similar questions once more
        anyway.click()
    assert friese.locator("h1").inner_text().strip() == QUESTION_TITLE
    question = friese.url.split("?")[0]
    pictures.take(friese, "vragen-geplaatst", "[role=status]", ".answers h2")

    # beantwoorden: on Drenthe, which received the question
    drentse = sign_in(page_at, drenthe, *DRENTHE_EDITOR)
    drentse.goto(f"{drenthe.url}/kennis/item?id={quote(question, safe='')}")
    reload_until(drentse, lambda: drentse.locator("h1", has_text=QUESTION_TITLE).count() == 1,
                 "the question on Drenthe")
    drentse.locator("#veld-initiative").select_option(DRENTHE_INITIATIVE)
    drentse.get_by_label("Uw antwoord").fill(ANSWER)
    pictures.take(drentse, "beantwoorden-formulier", ".answer-form")
    drentse.get_by_role("button", name="Antwoord plaatsen").click()
    shows(drentse, "gaat naar de vraagsteller")

    # … accepted on Fryslân
    friese.goto(question)
    accept = friese.get_by_role("button", name="Dit antwoord accepteren")
    reload_until(friese, lambda: accept.count() == 1, "Drenthe's answer on Fryslân")
    pictures.take(friese, "beantwoorden-accepteren", ".answers")
    accept.click()
    shows(friese, "Het geaccepteerde antwoord is opgeslagen.")
    pictures.take(friese, "beantwoorden-geaccepteerd", ".answers")
    # … which reaches Drenthe too: wait for it, since it puts "1 nieuw" beside "Meldingen" in
    # the header of Drenthe's editor, which moves everything below it in the next pictures
    drentse.reload()
    accepted = drentse.locator(".answers li.accepted")
    reload_until(drentse, lambda: accepted.count() == 1, "the acceptance on Drenthe")

    # onderschrijven: Drenthe's initiative runs into Fryslân's obstacle too
    drentse.goto(f"{drenthe.url}/kennis/item?id={quote(site.items['bottleneck']['id'], safe='')}")
    drentse.get_by_label("Toelichting (niet verplicht)").fill(NOTE)
    pictures.take(drentse, "onderschrijven-formulier", ".endorse")
    drentse.locator(".endorse").get_by_role("button", name="Wij lopen hier ook tegenaan").click()
    assert drentse.locator(".endorse", has_text="Energie Dwingeloo loopt hier ook tegenaan.").count()
    # (the tally is the origin's: it arrives with Fryslân's Update of the obstacle)
    tally = drentse.locator(".endorse .tally", has_text="1 initiatieven lopen hier ook tegenaan")
    reload_until(drentse, lambda: tally.count() == 1, "the endorsement counted at Fryslân")
    pictures.take(drentse, "onderschrijven-gedaan", ".endorse")

    # volgen: the editor's initiative follows the other initiative of Fryslân
    friese.goto(f"{fryslan.url}/actors/doarpshus-wergea")
    pictures.take(friese, "volgen-als", ".follow-box")
    friese.locator(".follow-box").get_by_role("button", name="Volgen", exact=True).click()
    state = friese.locator(".follow-box", has_text="Dorpsmolen Reduzum volgt dit")
    reload_until(friese, lambda: state.count() == 1, "the follow")
    pictures.take(friese, "volgen-gevolgd", ".follow-box")

    # … and from Mastodon, by a visitor: the box takes their account
    visitor = page_at(WIDTH)
    visitor.goto(f"{fryslan.url}/actors/{INITIATIVE}")
    visitor.get_by_label("Uw account in de fediverse").fill("naam@mastodon.social")
    pictures.take(visitor, "volgen-mastodon", ".follow-box")

    # uitnodigen: the initiative's address, below its name
    pictures.take(visitor, "uitnodigen-adres", "main h1", "main .handle")
    pictures.take(visitor, "uitnodigen-knooppunt", ".site-footer p:has(.handle)")

    assert sorted(pictures.taken) == sorted(HELP_SHOTS), "a picture of help_shots.py not taken"
    assert not pictures.problems, (
        "The help pictures no longer show the pages as they are:\n- "
        + "\n- ".join(pictures.problems)
        + f"\nLook at the new ones in {pictures.folder}; if they are right, run "
        "`make help-screenshots` and commit node/static/help/.")


@pytest.mark.parametrize("path", ["/hulp?lang=en", "/hulp/publiceren?lang=en"])
def test_the_english_help_is_accessible_and_fits(
        site: Site, page_at: PageFactory, path: str, axe_check: Callable[[Any], Any],
        shot: Callable[[Any, str], Path]) -> None:
    page = page_at(WIDTH)
    page.goto(site.fryslan.url + path)
    assert page.locator("html").get_attribute("lang") == "en"
    name = "hulp-en" if path.startswith("/hulp?") else "hulp-publiceren-en"
    check_at_both_widths(page, name, page_at, axe_check, shot)
    # every picture is served (they load lazily, so ask for each)
    sources = page.evaluate("[...document.images].map(i => i.src)")
    assert all(page.request.get(src).status == 200 for src in sources), sources
