"""The harness itself: axe-core does find a serious fault, and screenshots land outside the
checkout. (Without these, a harness that checked nothing would pass every page.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import (
    REPO_ROOT,
    PageFactory,
    chromium_path,
    require,
    require_chromium,
)

BAD_PAGE = ('<!doctype html><html lang="nl"><head><title>Fout</title></head><body><main>'
            '<h1>Fout</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
            '<a href="/x"></a></main></body></html>')


def test_axe_check_fails_on_serious_violations(page_at: PageFactory,
                                               axe_check: Callable[[Any], Any]) -> None:
    page = page_at(390)
    page.set_content(BAD_PAGE)
    with pytest.raises(AssertionError) as failed:
        axe_check(page)
    assert "image-alt (critical)" in str(failed.value)
    assert "link-name (serious)" in str(failed.value)


def test_axe_check_passes_a_clean_page_and_returns_what_it_found(
        page_at: PageFactory, axe_check: Callable[[Any], Any]) -> None:
    page = page_at(1280)
    page.set_content(BAD_PAGE.replace("<img ", '<img alt="Een punt" ').replace(
        "></a>", ">Verder</a>"))
    assert [v["impact"] for v in axe_check(page)] == []


def test_screenshots_go_outside_the_checkout(page_at: PageFactory,
                                             shot: Callable[[Any, str], Path]) -> None:
    page = page_at(390)
    page.set_content(BAD_PAGE)
    path = shot(page, "harness")
    assert path.name == "harness-390.png" and path.stat().st_size > 0
    assert not path.resolve().is_relative_to(REPO_ROOT)
    path.unlink()


def test_without_chromium_browser_tests_skip_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no Chromium"):
        require("no Chromium found", False)


def test_without_chromium_browser_tests_fail_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required when CI is set"):
        require("no Chromium found", False)


def test_a_missing_chromium_fails_in_ci_for_every_browser_test(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The one check both fixtures use: this harness's and the bridges' async one
    # (tests/node/web/test_bridges_browser.py).
    monkeypatch.setenv("KENNISKNOOP_CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required when CI is set"):
        require_chromium()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="no Chromium"):
        require_chromium()


def test_the_chromium_can_be_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KENNISKNOOP_CHROMIUM", "/opt/chromium/chrome")
    assert chromium_path() == "/opt/chromium/chrome"
