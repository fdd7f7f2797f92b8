"""Browsing pages: /kennis paged to its end with filters, /initiatieven with counts, theme pages.

Run on SQLite and PostgreSQL (the ``ctx``/``client`` fixtures): the paging query is new.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import httpx

from node.services.context import NodeContext
from node.store.schema import follows
from tests.node.web import BROWSER, make_initiative, make_item
from tests.node.web.api_helpers import insert_remote_item

ITEM_LINK = re.compile(r'<h[23]><a href="https://drenthe\.test/items/([0-9a-f]+)">')


async def html(client: httpx.AsyncClient, url: str) -> str:
    response = await client.get(url, headers=BROWSER)
    assert response.status_code == 200, response.text
    return unescape(response.text)


def next_link(page: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">', page)
    return found.group(1) if found else None


async def test_item_list_pages_to_its_end(client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    made = {(await make_item(ctx, title=f"Verhaal {n}")).ap_id.rsplit("/", 1)[1]
            for n in range(45)}
    seen: list[str] = []
    url: str | None = "/kennis"
    pages = 0
    while url is not None:
        page = await html(client, url)
        pages += 1
        seen += ITEM_LINK.findall(page)
        url = next_link(page)
        if pages == 2:
            assert '<a href="/kennis" rel="prev">' in page
    assert pages == 3
    assert len(seen) == 45 and set(seen) == made  # all distinct, none missing
    assert "Pagina 3 van 3" in page


async def test_item_list_filters_combine_and_keep_them_on_the_next_page(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    for n in range(21):
        await make_item(ctx, kind="question", title=f"Vraag {n}", themes=["energy-generation"],
                        question_category="content")
    await make_item(ctx, kind="question", title="Zorgvraag", themes=["care-wellbeing"],
                    question_category="content")
    await make_item(ctx, title="Energieverhaal", themes=["energy-generation"])
    first = await html(client, "/kennis?kind=question&theme=sustainability&province=pv22")
    assert "21 gevonden" in first
    assert "Zorgvraag" not in first and "Energieverhaal" not in first
    assert next_link(first) == "/kennis?kind=question&theme=sustainability&province=PV22&pagina=2"
    other = await html(client, "/kennis?kind=question&province=PV21")
    assert "0 gevonden" in other


async def test_items_show_where_they_come_from(client: httpx.AsyncClient,
                                               ctx: NodeContext) -> None:
    await make_initiative(ctx)
    await make_item(ctx, title="Van hier")
    await insert_remote_item(ctx, "abc", published=datetime(2026, 1, 1, tzinfo=UTC))
    page = await html(client, "/kennis")
    assert "uit Drenthe</span> <span class=\"node\">via drenthe.test" in page
    assert "uit Fryslân</span> <span class=\"node\">via fryslan.test" in page


async def test_blocked_hosts_are_left_out_of_the_list(client: httpx.AsyncClient,
                                                      ctx: NodeContext) -> None:
    from node.store import blocks as block_store

    await insert_remote_item(ctx, "abc", published=datetime(2026, 1, 1, tzinfo=UTC),
                             title="Geblokkeerd verhaal")
    async with ctx.db.transaction() as session:
        await block_store.add(session, "fryslan.test", now=ctx.now(), reason=None)
    page = await html(client, "/kennis")
    assert "Geblokkeerd verhaal" not in page and "0 gevonden" in page


async def test_directory_filters_and_counts(client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx, "molen", name="Dorpsmolen", themes=["energy-generation"],
                          legal_form="cooperative", place={"name": "Anloo", "province_code": "PV22"})
    await make_initiative(ctx, "zorgcoop", name="Zorgcoop", themes=["care-wellbeing"],
                          legal_form="cooperative", place={"name": "Reduzum",
                                                           "province_code": "PV21"})
    await make_initiative(ctx, "hal", name="Dorpshal", legal_form="foundation")
    page = await html(client, "/initiatieven")
    assert "3 gevonden" in page
    assert re.search(r'<option value="cooperative">[^<]*\(2\)</option>', page)
    assert re.search(r'<option value="PV21">Fryslân \(1\)</option>', page)
    filtered = await html(client, "/initiatieven?legal_form=cooperative&theme=sustainability")
    assert "1 gevonden" in filtered and "Dorpsmolen" in filtered and "Zorgcoop" not in filtered
    assert "uit Drenthe" in filtered and "via drenthe.test" in filtered
    assert '<a href="/thema/energy-generation" rel="tag">' in filtered


async def test_directory_pages_to_its_end(client: httpx.AsyncClient, ctx: NodeContext) -> None:
    for n in range(25):
        await make_initiative(ctx, f"ini-{n:02d}", name=f"Initiatief {n:02d}")
    first = await html(client, "/initiatieven")
    second = await html(client, "/initiatieven?pagina=2")
    names = set(re.findall(r"Initiatief \d\d", first)) | set(re.findall(r"Initiatief \d\d",
                                                                        second))
    assert len(names) == 25 and next_link(second) is None


async def test_theme_page_lists_items_followers_and_the_follow_handle(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    await make_item(ctx, title="Over mantelzorg", themes=["meeting"])
    await make_item(ctx, title="Over energie", themes=["energy-generation"])
    async with ctx.db.transaction() as session:  # the node actor follows the zorg feed
        await session.execute(follows.insert().values(
            follower=ctx.urls.actor("drenthe"), followee=ctx.urls.actor("zorg"),
            state="accepted", created_at=ctx.now(), updated_at=ctx.now()))
    page = await html(client, "/thema/meeting")
    assert "Over mantelzorg" in page and "Over energie" not in page
    assert "@zorg@drenthe.test" in page and "Volg vanaf Mastodon" in page
    assert "Volgers (1)" in page and "BOKD Drenthe</a></li>" in page
    item_page = await html(client, "/kennis")
    assert '<a href="/thema/meeting" rel="tag">' in item_page


async def test_unknown_theme_page_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/thema/geen-thema", headers=BROWSER)
    assert response.status_code == 404


async def test_menu_links_the_browsing_pages(client: httpx.AsyncClient) -> None:
    page = await html(client, "/")
    assert '<a href="/kennis">' in page and '<a href="/initiatieven">' in page


async def test_directory_lists_received_initiatives_with_their_origin(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    from node.store import actors as actor_store

    await make_initiative(ctx, "molen", name="Dorpsmolen")
    now = ctx.now()
    async with ctx.db.transaction() as session:
        await actor_store.insert(
            session, ap_id="https://fryslan.test/actors/doarpswurk", is_local=False,
            kind="initiative", host="fryslan.test", type="Organization", name="Doarpswurk",
            profile={"themes": ["meals"], "place": {"name": "Reduzum", "province_code": "PV21"},
                     "legal_form": "association"},
            version=1, published=now, updated=now)
    page = await html(client, "/initiatieven?province=PV21")
    assert "1 gevonden" in page and "Doarpswurk" in page and "Dorpsmolen" not in page
    assert "uit Fryslân" in page and "via fryslan.test" in page


async def test_item_page_shows_province_and_origin_node(client: httpx.AsyncClient,
                                                       ctx: NodeContext) -> None:
    await make_initiative(ctx)
    item = await make_item(ctx, title="Hier vandaan")
    page = await html(client, item.ap_id.removeprefix("https://drenthe.test"))
    assert '<p class="origin"><span class="province">uit Drenthe</span>' in page
    assert "via drenthe.test" in page


async def _walk(client: httpx.AsyncClient, url: str | None) -> tuple[list[str], int, str]:
    """Follow the next links from ``url``: the item ids seen, the pages read, the last page."""
    seen: list[str] = []
    pages = 0
    page = ""
    while url is not None:
        page = await html(client, url)
        pages += 1
        seen += ITEM_LINK.findall(page)
        url = next_link(page)
    return seen, pages, page


async def test_initiative_page_pages_its_items_to_their_end(client: httpx.AsyncClient,
                                                            ctx: NodeContext) -> None:
    # Given an initiative with 45 items (and another initiative's item, not on its page)
    await make_initiative(ctx)
    await make_initiative(ctx, "buurtkracht", name="Buurtkracht")
    made = {(await make_item(ctx, title=f"Verhaal {n}")).ap_id.rsplit("/", 1)[1]
            for n in range(45)}
    await make_item(ctx, "buurtkracht", title="Van een ander")
    # When we follow its page's next links
    seen, pages, last = await _walk(client, "/actors/dorpsmolen")
    # Then three pages hold all 45, none twice, and the last links back
    assert pages == 3
    assert len(seen) == 45 and set(seen) == made
    assert "Pagina 3 van 3" in last and "45 gevonden" in last
    assert '<a href="/actors/dorpsmolen?pagina=2" rel="prev">' in last


async def test_node_page_pages_all_local_items_with_filters(client: httpx.AsyncClient,
                                                            ctx: NodeContext) -> None:
    await make_initiative(ctx)
    for n in range(22):
        await make_item(ctx, kind="question", title=f"Vraag {n}", question_category="content")
    await make_item(ctx, title="Een verhaal")
    first = await html(client, "/actors/drenthe?kind=question")
    assert "22 gevonden" in first and "Een verhaal" not in first
    assert next_link(first) == "/actors/drenthe?kind=question&pagina=2"
    seen, pages, _ = await _walk(client, "/actors/drenthe")
    assert pages == 2 and len(set(seen)) == 23
    assert '<a href="/initiatieven">' in first  # the whole directory, paged


async def test_theme_page_pages_to_its_end_and_filters_by_kind(client: httpx.AsyncClient,
                                                               ctx: NodeContext) -> None:
    await make_initiative(ctx)
    made = {(await make_item(ctx, title=f"Verhaal {n}", themes=["dementia"])).ap_id
            .rsplit("/", 1)[1] for n in range(21)}
    await make_item(ctx, kind="question", title="Een vraag", themes=["dementia"],
                    question_category="content")
    # A broader theme takes in its narrower ones, paged to the end.
    seen, pages, _ = await _walk(client, "/thema/care-wellbeing")
    assert pages == 2 and len(seen) == 22 and made < set(seen)
    questions = await html(client, "/thema/care-wellbeing?kind=question")
    assert "1 gevonden" in questions and "Een vraag" in questions
    assert "Verhaal 3" not in questions
