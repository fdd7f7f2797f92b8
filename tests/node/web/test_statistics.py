"""/statistiek: counts per facet and growth per month, as SVG charts with tables (SQLite and
PostgreSQL: the per-month query is dialect-specific)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import httpx

from node.services.context import NodeContext
from node.services.statistics import growth_of, network_statistics
from node.web.charts import bar_chart
from tests.clock import Clock
from tests.node.web import BROWSER, make_initiative, make_item
from tests.node.web.api_helpers import insert_remote_item


async def _network(ctx: NodeContext, clock: Clock) -> None:
    clock.now = datetime(2026, 1, 15, 12, tzinfo=UTC)
    await make_initiative(ctx, "molen", name="Dorpsmolen", themes=["energy-generation"],
                          legal_form="cooperative", phase="active",
                          place={"name": "Anloo", "province_code": "PV22"})
    await make_item(ctx, "molen")
    await make_item(ctx, "molen")
    clock.now = datetime(2026, 3, 2, 9, tzinfo=UTC)  # February stays empty
    await make_initiative(ctx, "zorgcoop", name="Zorgcoop", themes=["meals", "transport"],
                          legal_form="cooperative", place={"name": "Reduzum",
                                                           "province_code": "PV21"})
    await make_item(ctx, "zorgcoop")
    await insert_remote_item(ctx, "r1", published=datetime(2026, 3, 31, 23, 30, tzinfo=UTC))


async def test_counts_per_facet_and_growth_per_month(ctx: NodeContext, clock: Clock) -> None:
    await _network(ctx, clock)
    stats = await network_statistics(ctx)
    assert stats.initiatives == 2 and stats.items == 4
    assert stats.per["province"] == {"PV22": 1, "PV21": 1}
    assert stats.per["legal_form"] == {"cooperative": 2}
    assert stats.per["phase"] == {"active": 1}
    assert stats.per["theme"] == {"energy-generation": 1, "meals": 1, "transport": 1}
    assert [(g.month, g.items, g.items_total, g.initiatives, g.initiatives_total)
            for g in stats.growth] == [("2026-01", 2, 2, 1, 1), ("2026-02", 0, 2, 0, 1),
                                       ("2026-03", 2, 4, 1, 2)]


async def test_statistics_page_has_charts_and_tables(client: httpx.AsyncClient,
                                                     ctx: NodeContext, clock: Clock) -> None:
    await _network(ctx, clock)
    response = await client.get("/statistiek", headers=BROWSER)
    assert response.status_code == 200
    assert "script-src 'none'" in response.headers["content-security-policy"]
    page = unescape(response.text)
    assert "2 initiatieven en 4 kennisitems" in page
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" role="img"') == 6
    assert '<title id="per-province-title">Initiatieven per provincie</title>' in page
    assert re.search(r'<desc id="per-legal_form-desc">Coöperatie: 2</desc>', page)
    assert "<caption>Initiatieven per provincie</caption>" in page
    assert '<tr><th scope="row">Fryslân</th><td>1</td></tr>' in page
    assert ('<tr><th scope="row">2026-02</th><td>0</td><td>2</td><td>0</td><td>1</td></tr>'
            in page)
    # The one script element is schema.org data (type application/ld+json), never run.
    assert re.findall(r"<script[^>]*>", page) == ['<script type="application/ld+json">']
    assert ' style="' not in page
    assert '<a href="/statistiek">Statistiek</a>' in page


async def test_empty_network_has_no_charts_but_a_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/statistiek", headers=BROWSER)
    assert response.status_code == 200 and "Nog geen gegevens." in response.text


def test_growth_spans_years() -> None:
    rows = growth_of({"2025-11": 1, "2026-02": 2}, {})
    assert [g.month for g in rows] == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert rows[-1].items_total == 3


def test_chart_text_is_escaped() -> None:
    svg = bar_chart("x", "<b>", [("<script>", 1)])
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;" in svg
