"""What search engines and other directories read: schema.org JSON-LD on every page (expanded
with PyLD, offline), canonical links, /sitemap.xml, /robots.txt and the Murmurations profile."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import lxml.etree as et
from pyld import jsonld

from node.services.context import NodeContext
from node.services.inputs import Patch
from node.services.items import delete_item, update_item
from node.services.permissions import SYSTEM
from node.web.pages import CSP
from tests.node.web import BROWSER, local_id, make_initiative, make_item
from tests.node.web.api_helpers import insert_remote_item

DATA = Path(__file__).resolve().parents[2] / "data" / "bridges"
SCHEMA = "http://schema.org/"
LD_BLOCK = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)
ANLOO = {"name": "Anloo", "latitude": 53.04, "longitude": 6.69, "province_code": "PV22"}


def schema_org_loader(url: str, options: Any = None) -> dict[str, Any]:
    """The vendored, trimmed schema.org context for ``https://schema.org``; nothing else and
    never the network (its ``@vocab`` is the published one, ``http://schema.org/``)."""
    if url.rstrip("/") not in ("https://schema.org", "http://schema.org"):
        raise jsonld.JsonLdError(f"{url} is not vendored", "loading document failed")
    document = json.loads((DATA / "schemaorg-context.jsonld").read_text())
    return {"contextUrl": None, "documentUrl": url, "document": document}


async def structured(client: httpx.AsyncClient, path: str) -> tuple[list[Any], list[Any]]:
    """The page's JSON-LD block as JSON and expanded."""
    response = await client.get(path, headers=BROWSER)
    assert response.status_code == 200, response.text
    (block,) = LD_BLOCK.findall(response.text)
    data = json.loads(block)
    expanded = jsonld.expand(data, {"documentLoader": schema_org_loader})
    return data, expanded


def types(node: dict[str, Any]) -> list[str]:
    return [t.removeprefix(SCHEMA) for t in node.get("@type", [])]


def value(node: dict[str, Any], term: str) -> Any:
    (found,) = node[SCHEMA + term]
    return found.get("@value", found.get("@id", found))


async def test_every_page_describes_the_node_as_an_organization(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    for path in ("/", "/kennis", "/initiatieven", "/thema/meals", "/statistiek", "/zoeken?q=x"):
        _, expanded = await structured(client, path)
        node = expanded[0]
        assert types(node) == ["Organization"], path
        assert value(node, "name") == "BOKD Drenthe" and value(node, "url") == "https://drenthe.test"


async def test_story_is_an_article_and_initiative_an_organization(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx, summary="Een molen van het dorp", place=ANLOO,
                          website="https://molen.example", themes=["energy-generation"])
    story = await make_item(ctx, title="Zo begonnen wij", summary="Het begin",
                            themes=["energy-generation"])
    _, expanded = await structured(client, f"/items/{local_id(story.ap_id)}")
    article = expanded[1]
    assert types(article) == ["Article"] and article["@id"] == story.ap_id
    assert value(article, "headline") == "Zo begonnen wij"
    assert value(article, "url") == story.ap_id
    assert types(article[SCHEMA + "author"][0]) == ["Organization"]
    assert value(article[SCHEMA + "author"][0], "name") == "Dorpsmolen Reduzum"
    assert value(article, "datePublished") == "2026-11-27T09:00:00Z"
    _, expanded = await structured(client, "/actors/dorpsmolen")
    organization = expanded[1]
    assert types(organization) == ["Organization"]
    assert value(organization, "url") == "https://drenthe.test/actors/dorpsmolen"
    assert value(organization, "sameAs") == "https://molen.example"
    address = organization[SCHEMA + "address"][0]
    assert types(address) == ["PostalAddress"]
    assert value(address, "addressLocality") == "Anloo"
    assert value(address, "addressRegion") == "Drenthe"


async def test_event_has_its_place_and_times(client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    event = await make_item(ctx, kind="event", title="Burendag", place=ANLOO,
                            start_time="2026-12-12T10:00:00+01:00",
                            end_time="2026-12-12T16:00:00+01:00")
    data, expanded = await structured(client, f"/items/{local_id(event.ap_id)}")
    assert data[1]["startDate"] == "2026-12-12T10:00:00+01:00"
    found = expanded[1]
    assert types(found) == ["Event"]
    assert value(found, "endDate") == "2026-12-12T16:00:00+01:00"
    assert value(found, "eventAttendanceMode") == SCHEMA.replace("http", "https") + \
        "OfflineEventAttendanceMode"
    place = found[SCHEMA + "location"][0]
    assert types(place) == ["Place"] and value(place, "name") == "Anloo"
    assert types(place[SCHEMA + "geo"][0]) == ["GeoCoordinates"]
    assert types(found[SCHEMA + "organizer"][0]) == ["Organization"]


async def test_question_is_a_qa_page_with_accepted_and_suggested_answers(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    question = await make_item(ctx, kind="question", title="Hoe regel je de verzekering?",
                               content="Wij zoeken een verzekering.")
    await make_item(ctx, kind="answer", title=None, content="Via de gemeente.",
                    in_reply_to=question.ap_id)
    accepted = await make_item(ctx, kind="answer", title=None, content="Bij een *collectief*.",
                               in_reply_to=question.ap_id)
    await update_item(ctx, question.ap_id, Patch({"accepted_answer": accepted.ap_id}), SYSTEM)
    _, expanded = await structured(client, f"/items/{local_id(question.ap_id)}")
    page = expanded[1]
    assert types(page) == ["QAPage"]
    entity = page[SCHEMA + "mainEntity"][0]
    assert types(entity) == ["Question"]
    assert value(entity, "name") == "Hoe regel je de verzekering?"
    assert value(entity, "answerCount") == 2
    answer = entity[SCHEMA + "acceptedAnswer"][0]
    assert types(answer) == ["Answer"] and value(answer, "text") == "Bij een collectief."
    assert value(answer, "url") == accepted.ap_id
    (suggested,) = entity[SCHEMA + "suggestedAnswer"]
    assert value(suggested, "text") == "Via de gemeente."


async def test_text_cannot_end_the_json_ld_block(client: httpx.AsyncClient,
                                                 ctx: NodeContext) -> None:
    await make_initiative(ctx)
    title = "</script><script>alert(1)</script><!-- & -->"
    item = await make_item(ctx, title=title, unchecked=True)
    response = await client.get(f"/items/{local_id(item.ap_id)}", headers=BROWSER)
    head = response.text.split("</head>")[0]
    assert head.count("<script") == 1 and head.count("</script>") == 1
    data, _ = await structured(client, f"/items/{local_id(item.ap_id)}")
    assert data[1]["headline"] == title


async def test_the_strict_csp_allows_the_data_block_and_no_script(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    # CSP governs script execution; a <script> whose type is not a JavaScript MIME type is a
    # data block that browsers never run (HTML, "the script element": data blocks), so
    # script-src 'none' stands and the block is still read by crawlers.
    response = await client.get("/", headers=BROWSER)
    assert response.headers["content-security-policy"] == CSP
    assert "script-src 'none'" in CSP
    assert re.findall(r"<script[^>]*>", response.text) == ['<script type="application/ld+json">']


async def test_canonical_is_the_page_or_the_subjects_origin(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    item = await make_item(ctx)

    async def canonical(path: str) -> str:
        page = (await client.get(path, headers=BROWSER)).text
        (found,) = re.findall(r'<link rel="canonical" href="([^"]+)">', page)
        return found

    assert await canonical(f"/items/{local_id(item.ap_id)}") == item.ap_id
    assert await canonical("/actors/dorpsmolen") == "https://drenthe.test/actors/dorpsmolen"
    assert await canonical("/kennis?theme=meals") == "https://drenthe.test/kennis?theme=meals"
    assert await canonical("/") == "https://drenthe.test/"


# --- sitemap and robots ------------------------------------------------------------------------


async def test_sitemap_lists_own_pages_and_no_received_copy(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    item = await make_item(ctx)
    gone = await make_item(ctx, title="Weg")
    await delete_item(ctx, gone.ap_id, SYSTEM)
    copy = await insert_remote_item(ctx, "r1", published=ctx.now())
    response = await client.get("/sitemap.xml")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml; charset=utf-8"
    doc = et.fromstring(response.content)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    urls = {u.findtext("s:loc", namespaces=ns): u.findtext("s:lastmod", namespaces=ns)
            for u in doc.findall("s:url", ns)}
    assert urls[item.ap_id] == "2026-11-27T09:00:00Z"
    assert "https://drenthe.test/actors/dorpsmolen" in urls
    assert "https://drenthe.test/actors/drenthe" in urls
    assert {"https://drenthe.test/", "https://drenthe.test/kennis",
            "https://drenthe.test/thema/meals"} <= set(urls)
    assert copy.ap_id not in urls and gone.ap_id not in urls
    assert all(u.startswith("https://drenthe.test/") for u in urls)


async def test_robots_points_at_the_sitemap(client: httpx.AsyncClient) -> None:
    response = await client.get("/robots.txt")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    lines = response.text.splitlines()
    assert "User-agent: *" in lines and "Disallow: /bewerken/" in lines
    assert "Sitemap: https://drenthe.test/sitemap.xml" in lines


# --- Murmurations ---------------------------------------------------------------------------------


async def test_murmurations_profile_validates_against_the_organizations_schema(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx, summary="Molen", description="De **molen** van het dorp.",
                          place=ANLOO, website="https://molen.example", goals="Stroom maken",
                          contact="info@molen.example", legal_form="cooperative",
                          themes=["energy-generation"])
    response = await client.get("/api/initiatives/dorpsmolen/murmurations")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    profile = response.json()
    schema = json.loads((DATA / "murmurations-organizations_schema-v1.0.0.json").read_text())
    jsonschema.Draft7Validator(schema).validate(profile)
    assert profile["linked_schemas"] == ["organizations_schema-v1.0.0"]
    assert profile["name"] == "Dorpsmolen Reduzum"
    assert profile["primary_url"] == "https://molen.example"
    assert profile["description"] == "De molen van het dorp."
    assert profile["geolocation"] == {"lat": 53.04, "lon": 6.69}
    assert profile["locality"] == "Anloo" and profile["region"] == "Drenthe"
    assert profile["email"] == "info@molen.example" and profile["mission"] == "Stroom maken"
    assert profile["rss"] == "https://drenthe.test/feeds/items.atom?initiative=dorpsmolen"
    assert "Coöperatie" in profile["tags"]


async def test_minimal_murmurations_profile_points_at_the_node_page(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx, "kaal", name="Kaal")
    profile = (await client.get("/api/initiatives/kaal/murmurations")).json()
    schema = json.loads((DATA / "murmurations-organizations_schema-v1.0.0.json").read_text())
    jsonschema.Draft7Validator(schema).validate(profile)
    assert profile["primary_url"] == "https://drenthe.test/actors/kaal"
    assert (await client.get("/api/initiatives/niemand/murmurations")).status_code == 404
