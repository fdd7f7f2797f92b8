"""In a real browser (Chromium via Playwright): the schema.org JSON-LD block of a page is data
under the strict CSP — no violation is reported for it, while an inline script under the same
policy is refused (the control that shows violations are seen).

Chromium is found and required as for every browser test (``tests/browser/conftest.py``):
without one the test is skipped locally and fails in CI."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser, Route, async_playwright

from node.services.context import NodeContext
from tests.browser.conftest import require_chromium
from tests.node.web import BROWSER, local_id, make_initiative, make_item


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = require_chromium()
    async with async_playwright() as playwright:
        found = await playwright.chromium.launch(executable_path=executable,
                                                 args=["--no-sandbox"])
        yield found
        await found.close()


async def violations(browser: Browser, body: str, headers: dict[str, str]) -> tuple[list[str], str]:
    """Console messages about the policy while the page loads, and the JSON-LD block's text."""
    page = await browser.new_page()
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))

    async def serve(route: Route) -> None:
        if route.request.url.rstrip("/") == "https://drenthe.test":
            await route.fulfill(status=200, body=body, headers=headers)
        else:
            await route.fulfill(status=404, body="")

    await page.route("**/*", serve)
    await page.goto("https://drenthe.test/")
    block = await page.evaluate(
        "document.querySelector('script[type=\"application/ld+json\"]')?.textContent || ''")
    await page.close()
    return [m for m in messages if "Content Security Policy" in m], block


async def test_json_ld_block_raises_no_csp_violation(
        client: httpx.AsyncClient, ctx: NodeContext, browser: Browser) -> None:
    await make_initiative(ctx)
    item = await make_item(ctx, title="</script><script>alert(1)</script>", unchecked=True)
    response = await client.get(f"/items/{local_id(item.ap_id)}", headers=BROWSER)
    headers = {"content-type": "text/html; charset=utf-8",
               "content-security-policy": response.headers["content-security-policy"]}
    found, block = await violations(browser, response.text, headers)
    assert found == []
    assert json.loads(block)[1]["headline"] == "</script><script>alert(1)</script>"
    # The control: an inline script under the same policy is refused, and reported.
    refused, _ = await violations(
        browser, response.text.replace("</head>", "<script>document.title='x'</script></head>"),
        headers)
    assert refused and "script-src 'none'" in refused[0]
