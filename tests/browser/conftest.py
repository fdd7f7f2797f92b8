"""The browser harness: headless Chromium (Debian's ``chromium``) driven by Playwright.

Fixtures, for any browser test (and for the help pages' screenshots):
- ``browser``: one Chromium per module (closed before the next module's async tests).
- ``page_at(width, **context_options)``: a fresh page (its own context: cookies, storage) with a
  viewport ``width`` px wide; ``page_at.console(page)`` lists what the page logged as an error
  (a Content-Security-Policy violation, a failed script).
- ``axe_check(page)``: runs the vendored axe-core (tests/data/axe/) in the page and fails on a
  serious or critical violation; returns every violation found.
- ``shot(page, name)``: a full-page screenshot ``<name>-<width>.png`` in the artefacts folder.
- ``site``: two real nodes on loopback with content of every kind (``tests/browser/site.py``),
  started once per module; a module that sets ``SITE_START`` (a datetime) gets nodes whose clock
  starts then, so the dates on the pages are fixed (the help pictures, docs/help.md).

Playwright cannot download its own browsers here, so it drives the system's Chromium
(``executable_path``): ``KENNISKNOOP_CHROMIUM`` if set, else ``chromium`` on the PATH. Without
one, browser tests are skipped with the reason — except in CI (``CI`` set), where they fail, as
the PostgreSQL tests do (``tests/dbs.py``); ``.ci/run`` installs the Debian package.

Screenshots go to ``$KENNISKNOOP_ARTIFACTS/screenshots`` (default
``<system temp dir>/kennisknoop-artifacts/screenshots``), never into the checkout.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.site import Site, start_site, ticking_from

REPO_ROOT = Path(__file__).resolve().parents[2]
AXE_SOURCE = Path(__file__).resolve().parents[1] / "data" / "axe" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")
HEIGHTS = {390: 844}  # a phone's height; anything else gets a laptop's
DEFAULT_HEIGHT = 800


def chromium_path() -> str | None:
    """The Chromium to drive: ``KENNISKNOOP_CHROMIUM``, else the first one on the PATH."""
    configured = os.environ.get("KENNISKNOOP_CHROMIUM")
    if configured:
        return configured
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def require(what: str, present: bool) -> None:
    """Skip without ``what`` locally; fail in CI, where the suite must be complete."""
    if present:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} (required when CI is set; .ci/run installs it)", pytrace=False)
    pytest.skip(what)


def require_chromium() -> str:
    """The Chromium to drive; without one, skipped locally and failed in CI (``require``)."""
    executable = chromium_path()
    require("no Chromium found (install Debian's chromium or set KENNISKNOOP_CHROMIUM)",
            executable is not None and Path(executable).exists())
    assert executable is not None
    return executable


def artifacts_dir() -> Path:
    """Where screenshots go: outside the checkout (a test must not write into it)."""
    base = os.environ.get("KENNISKNOOP_ARTIFACTS") or str(
        Path(tempfile.gettempdir()) / "kennisknoop-artifacts")
    folder = Path(base).resolve() / "screenshots"
    if folder.is_relative_to(REPO_ROOT):
        pytest.fail(f"KENNISKNOOP_ARTIFACTS must be outside the checkout, not {folder}")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Per module, not per session: Playwright's sync API keeps an event loop running in this
    # thread while it is open, and an async test after it (pytest-asyncio) could not run.
    executable = require_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require("Playwright's Python package is not installed (pip install playwright)", False)
        raise
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable)
        try:
            yield chromium
        finally:
            chromium.close()


class PageFactory:
    """``page_at(width)``: a new page in its own context; everything is closed at teardown."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.contexts: list[Any] = []
        self._console: dict[int, list[str]] = {}

    def __call__(self, width: int, **context_options: Any) -> Any:
        context = self.browser.new_context(
            viewport={"width": width, "height": HEIGHTS.get(width, DEFAULT_HEIGHT)},
            locale="nl-NL", **context_options)
        self.contexts.append(context)
        page = context.new_page()
        errors = self._console.setdefault(id(page), [])

        def on_console(message: Any) -> None:
            # (an error page's own status is logged as a failed load: that one is expected; so
            # is the browser's own request for /favicon.ico, which no page asks for)
            url = message.location.get("url") or ""
            if message.type == "error" and not (
                    message.text.startswith("Failed to load resource")
                    and (url == page.url or urlsplit(url).path == "/favicon.ico")):
                errors.append(message.text)

        page.on("console", on_console)
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    def console(self, page: Any) -> list[str]:
        return self._console.get(id(page), [])

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def page_at(browser: Any) -> Iterator[PageFactory]:
    factory = PageFactory(browser)
    try:
        yield factory
    finally:
        factory.close()


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} — {targets}")
    return "\n".join(lines)


@pytest.fixture(scope="session")
def axe_check() -> Callable[[Any], list[dict[str, Any]]]:
    source = AXE_SOURCE.read_text(encoding="utf-8")

    def check(page: Any) -> list[dict[str, Any]]:
        # evaluate() runs as the browser's developer tools do, past the page's CSP
        # (script-src 'none'), which therefore stays on for the page under test.
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(source)
        violations: list[dict[str, Any]] = page.evaluate(
            "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)")
        failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
        assert not failing, f"axe-core on {page.url}:\n{_describe(failing)}"
        return violations

    return check


@pytest.fixture(scope="session")
def shot() -> Callable[[Any, str], Path]:
    folder = artifacts_dir()

    def take(page: Any, name: str) -> Path:
        path = folder / f"{name}-{page.viewport_size['width']}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture(scope="module")
def site(browser: Any, tmp_path_factory: pytest.TempPathFactory,
         request: pytest.FixtureRequest) -> Iterator[Site]:
    # After `browser`: without a Chromium the test is skipped before any node starts. In a
    # thread of its own: Playwright's sync API keeps an event loop running in this one, and
    # setting the nodes up runs coroutines (asyncio.run). A module with ``SITE_START`` (a
    # datetime) gets nodes whose clock starts then (fixed dates on the pages, for pictures).
    start = getattr(request.module, "SITE_START", None)
    clock = ticking_from(start) if start is not None else None
    with ThreadPoolExecutor(max_workers=1) as pool:
        started = pool.submit(start_site, tmp_path_factory.mktemp("site"), clock).result()
    try:
        yield started
    finally:
        started.stop()
