"""Atom feeds (RFC 4287) and iCalendar (RFC 5545) of a node, read back with independent parsers
(feedparser, lxml's RelaxNG with the RFC's schema, icalendar), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import feedparser
import httpx
import lxml.etree as et
import rnc2rng
from icalendar import Calendar

from node.services.context import NodeContext
from tests.clock import Clock
from tests.node.web import BROWSER, local_id, make_initiative, make_item
from tests.node.web.api_helpers import insert_remote_item

DATA = Path(__file__).resolve().parents[2] / "data" / "bridges"
ATOM = "{http://www.w3.org/2005/Atom}"
ANLOO = {"name": "Anloo", "latitude": 53.04, "longitude": 6.69, "province_code": "PV22"}
REDUZUM = {"name": "Reduzum", "latitude": 53.11, "longitude": 5.83, "province_code": "PV21"}


@cache
def atom_schema() -> et.RelaxNG:
    """RFC 4287 Appendix B, converted from the compact syntax (rnc2rng) for lxml.

    rnc2rng declares ``xmlns:local=""`` for the RNC's ``namespace local = ""`` (an empty prefix
    binding XML 1.0 forbids) and the predefined ``xml`` prefix; both declarations are dropped,
    the patterns that use them name the namespaces themselves.
    """
    rng = rnc2rng.dumps(rnc2rng.load(str(DATA / "atom.rnc")))
    rng = rng.replace(' xmlns:local=""', "").replace(
        'xmlns:xml="http://www.w3.org/XML/1998/namespace"', "")
    return et.RelaxNG(et.fromstring(rng.encode()))


def check_atom(body: bytes) -> et._Element:
    """Valid against the RNC, and the two Schematron rules of the RFC's schema as XPath."""
    doc = et.fromstring(body)
    schema = atom_schema()
    assert schema.validate(doc), schema.error_log
    ns = {"atom": ATOM[1:-1]}
    assert doc.xpath("atom:author or not(atom:entry[not(atom:author)])", namespaces=ns)
    for entry in doc.xpath("atom:entry", namespaces=ns):
        assert entry.xpath("atom:link[@rel='alternate'] or atom:content", namespaces=ns)
    return doc


async def fetch_feed(client: httpx.AsyncClient, url: str) -> Any:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    check_atom(response.content)
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    return parsed


async def test_items_feed_is_valid_atom_and_links_copies_to_their_origin(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    own = await make_item(ctx, title="Molen & maalt", themes=["energy-generation"],
                          content="Een **verhaal** met <script>alert(1)</script> erin.")
    copy = await insert_remote_item(ctx, "r1", published=ctx.now() - timedelta(days=1))
    parsed = await fetch_feed(client, "/feeds/items.atom")
    feed = parsed.feed
    assert feed.id == "https://drenthe.test/feeds/items.atom"
    assert feed.title == "Kennis op BOKD Drenthe"
    assert feed.author_detail.name == "BOKD Drenthe"
    assert feed.link == "https://drenthe.test/kennis"  # rel=alternate
    assert [e.id for e in parsed.entries] == [own.ap_id, copy.ap_id]
    first, second = parsed.entries
    assert first.title == "Molen & maalt" and first.link == own.ap_id
    assert first.author_detail.name == "Dorpsmolen Reduzum"
    assert first.author_detail.href == "https://drenthe.test/actors/dorpsmolen"
    assert [t.term for t in first.tags] == ["energy-generation"]
    assert "<strong>verhaal</strong>" in first.content[0].value
    assert "<script" not in first.content[0].value
    assert second.link == "https://fryslan.test/items/r1"  # the origin's page, not a copy here


async def test_items_feed_takes_the_filters_of_the_api(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    await make_initiative(ctx, "buurtzorg", name="Buurtzorg Anloo")
    await make_item(ctx, title="Energie", themes=["energy-generation"])
    await make_item(ctx, "buurtzorg", title="Zorg", themes=["meals"])
    await make_item(ctx, "buurtzorg", kind="question", title="Wie kookt?", themes=["meals"])
    await insert_remote_item(ctx, "r1", published=ctx.now(), themes=("meals",))

    async def titles(query: str) -> list[str]:
        return [e.title for e in (await fetch_feed(client, f"/feeds/items.atom?{query}")).entries]

    assert await titles("theme=care-wellbeing&origin=local") == ["Wie kookt?", "Zorg"]
    assert await titles("kind=question") == ["Wie kookt?"]
    assert await titles("initiative=dorpsmolen") == ["Energie"]
    assert await titles("q=kookt") == ["Wie kookt?"]
    assert await titles("origin=remote") == ["Verhaal uit Fryslân"]
    parsed = await fetch_feed(client, "/feeds/items.atom?theme=meals")
    assert parsed.feed.id == "https://drenthe.test/feeds/items.atom?theme=meals"
    assert parsed.feed.link == "https://drenthe.test/kennis?theme=meals"
    response = await client.get("/feeds/items.atom?kind=poem")
    assert response.status_code == 422 and response.json()["field"] == "kind"
    response = await client.get("/feeds/items.atom?colour=red")
    assert response.status_code == 422


async def test_empty_feed_is_still_valid(client: httpx.AsyncClient) -> None:
    parsed = await fetch_feed(client, "/feeds/items.atom?kind=event")
    assert parsed.entries == [] and parsed.feed.updated == "2026-11-27T09:00:00Z"


async def test_search_feed_holds_the_search_results(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx, summary="Een molen die maalt")
    await make_item(ctx, title="De molen draait weer", themes=["energy-generation"])
    await make_item(ctx, title="Buurtkamer", content="Koffie voor iedereen.")
    parsed = await fetch_feed(client, "/feeds/search.atom?q=molen")
    assert parsed.feed.title == "Zoekresultaten voor ‘molen’ op BOKD Drenthe"
    assert parsed.feed.link == "https://drenthe.test/zoeken?q=molen"
    assert {e.title for e in parsed.entries} == {"De molen draait weer", "Dorpsmolen Reduzum"}
    only_items = await fetch_feed(client, "/feeds/search.atom?q=molen&type=item")
    assert [e.title for e in only_items.entries] == ["De molen draait weer"]
    assert (await client.get("/feeds/search.atom?type=thing")).status_code == 422


async def test_pages_link_their_feeds_with_the_same_filters(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    item = await make_item(ctx)

    async def feed_links(path: str) -> list[str]:
        page = (await client.get(path, headers=BROWSER)).text
        head = page.split("</head>")[0]
        return re.findall(r'<link rel="alternate" type="application/atom\+xml" title="[^"]*" '
                          r'href="([^"]+)">', head)

    assert await feed_links("/kennis?theme=meals&province=PV22") == [
        "/feeds/items.atom?province=PV22&amp;theme=meals"]
    assert await feed_links("/thema/meals") == ["/feeds/items.atom?theme=meals"]
    assert await feed_links("/zoeken?q=molen&type=item") == [
        "/feeds/search.atom?q=molen&amp;type=item"]
    assert await feed_links("/actors/dorpsmolen") == ["/feeds/items.atom?initiative=dorpsmolen"]
    assert await feed_links("/") == ["/feeds/items.atom"]
    assert await feed_links(f"/items/{local_id(item.ap_id)}") == []


# --- iCalendar -----------------------------------------------------------------------------------


async def events(client: httpx.AsyncClient, url: str) -> list[Any]:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    return list(calendar.walk("VEVENT"))


async def test_agenda_has_the_upcoming_events_soonest_first(
        client: httpx.AsyncClient, ctx: NodeContext, clock: Clock) -> None:
    await make_initiative(ctx)
    now = ctx.now()
    later = await make_item(ctx, kind="event", title="Later", place=REDUZUM,
                            start_time=now + timedelta(days=9), themes=["meals"])
    soon = await make_item(ctx, kind="event", title="Burendag", place=ANLOO,
                           start_time=now + timedelta(days=3),
                           end_time=now + timedelta(days=3, hours=4), summary="Samen klussen")
    await make_item(ctx, kind="event", title="Voorbij", start_time=now + timedelta(hours=1),
                    end_time=now + timedelta(hours=2))
    await make_item(ctx, title="Geen bijeenkomst")
    clock.advance(3 * 3600)
    found = await events(client, "/agenda.ics")
    assert [str(e["SUMMARY"]) for e in found] == ["Burendag", "Later"]
    first = found[0]
    assert str(first["UID"]) == soon.ap_id and str(first["URL"]) == soon.ap_id
    assert first.decoded("DTSTART") == (now + timedelta(days=3)).astimezone(UTC)
    assert first.decoded("DTEND") == (now + timedelta(days=3, hours=4)).astimezone(UTC)
    assert str(first["LOCATION"]) == "Anloo"
    assert first.decoded("GEO") is not None
    assert "Samen klussen" in str(first["DESCRIPTION"])
    assert [str(e["UID"]) for e in await events(client, "/agenda.ics?province=PV21")] == [
        later.ap_id]
    assert [str(e["UID"]) for e in await events(client, "/agenda.ics?theme=care-wellbeing")] == [
        later.ap_id]
    assert (await client.get("/agenda.ics?province=XX")).status_code == 422
    assert (await client.get("/agenda.ics?kind=event")).status_code == 422


async def test_agenda_includes_received_events(client: httpx.AsyncClient, ctx: NodeContext) -> None:
    copy = await insert_remote_item(ctx, "e1", published=ctx.now(), kind="event")
    async with ctx.db.transaction() as session:
        from sqlalchemy import update

        from node.store.schema import objects
        start = (ctx.now() + timedelta(days=2)).isoformat()
        await session.execute(update(objects).where(objects.c.ap_id == copy.ap_id)
                              .values(fields={"start_time": start}))
    assert [str(e["UID"]) for e in await events(client, "/agenda.ics")] == [copy.ap_id]


async def test_one_event_downloads_as_ics_from_its_page(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    start = datetime(2026, 12, 12, 19, 30, tzinfo=UTC)
    event = await make_item(ctx, kind="event", title="Dorpsavond", start_time=start)
    path = f"/items/{local_id(event.ap_id)}"
    page = (await client.get(path, headers=BROWSER)).text
    assert f'<a href="{path}.ics" type="text/calendar" download>Zet in agenda (.ics)</a>' in page
    response = await client.get(f"{path}.ics")
    assert response.headers["content-disposition"] == \
        f'attachment; filename="{local_id(event.ap_id)}.ics"'
    (found,) = await events(client, f"{path}.ics")
    assert str(found["SUMMARY"]) == "Dorpsavond" and found.decoded("DTSTART") == start
    assert found.decoded("SEQUENCE") == 1
    story = await make_item(ctx)
    assert (await client.get(f"/items/{local_id(story.ap_id)}.ics")).status_code == 404
    assert "Zet in agenda" not in (await client.get(
        f"/items/{local_id(story.ap_id)}", headers=BROWSER)).text
    assert (await client.get("/items/nothing.ics")).status_code == 404


async def test_map_page_links_the_agenda_with_its_filters(client: httpx.AsyncClient) -> None:
    page = (await client.get("/kaart?theme=meals&province=PV22&phase=idea", headers=BROWSER)).text
    assert '<a href="/agenda.ics?province=PV22&amp;theme=meals" type="text/calendar">' \
        'Abonneer op de agenda (.ics)</a>' in page
