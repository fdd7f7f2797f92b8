"""The helpdesk across nodes (issue 11): similar questions from other provinces, answers given on
any node that holds a question, accepted at its origin and shown on every copy.

Drenthe and Fryslân are provincial nodes, LVKK the aggregator; each follows the others' node
actor, as provinces and the aggregator do. Editors work through the HTML pages (sign-in, CSRF,
forms) over the in-process network of ``tests/federation/harness.py``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import func, select

from node.services.actors import create_initiative
from node.services.follow import follow
from node.services.inputs import InitiativeInput, Patch, item_input
from node.services.items import create_item, delete_item, update_item
from node.services.permissions import SYSTEM
from node.services.users import add_user, grant
from node.store.objects import StoredObject
from node.store.schema import deliveries, objects
from tests.clock import FAST_HASHER
from tests.federation.harness import Federation, Node, activities_of, federation, stored
from tests.node.web.test_ui_auth import PASSWORD, csrf_of, sign_in

QUESTION = "Hoe verzekeren wij de vrijwilligers van ons dorpshuis?"


@pytest.fixture
async def fed(tmp_path: Path) -> AsyncIterator[Federation]:
    async with federation(tmp_path, ["drenthe", "fryslan", "lvkk"]) as f:
        for node in f.nodes.values():
            node.ctx.password_hasher = FAST_HASHER
        await create_initiative(f["drenthe"].ctx, InitiativeInput(
            handle="dorpshuis-eext", name="Dorpshuis Eext"), SYSTEM)
        await create_initiative(f["fryslan"].ctx, InitiativeInput(
            handle="ried-reduzum", name="Ried Reduzum"), SYSTEM)
        await create_initiative(f["fryslan"].ctx, InitiativeInput(
            handle="doarpshus-heeg", name="Doarpshûs Heeg"), SYSTEM)
        for follower, followee in (("drenthe", "fryslan"), ("fryslan", "drenthe"),
                                   ("lvkk", "drenthe"), ("lvkk", "fryslan")):
            await follow(f[follower].ctx, f[followee].ctx.urls.actor(followee))
        await f.settle()
        yield f


@asynccontextmanager
async def browser(node: Node, username: str, *, role: str = "editor",
                  grants: tuple[str, ...] = ()) -> AsyncIterator[httpx.AsyncClient]:
    """A signed-in browser on ``node``."""
    await add_user(node.ctx, username, PASSWORD, role)
    for handle in grants:
        await grant(node.ctx, username, handle)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=node.app),
                                 base_url=node.url) as client:
        assert (await sign_in(client, username)).status_code == 303
        yield client


def copy_page(question: StoredObject) -> str:
    return "/kennis/item?" + urlencode({"id": question.ap_id})


async def ask(node: Node, initiative: str, title: str = QUESTION,
              content: str = "Zijn ze via de gemeente verzekerd?") -> StoredObject:
    return await create_item(node.ctx, item_input(kind="question", title=title, content=content,
                                                  initiative=initiative), SYSTEM)


async def answers_to(node: Node, question: str) -> list[str]:
    async with node.ctx.db.sessions() as session:
        rows = (await session.execute(select(objects.c.ap_id).where(
            objects.c.in_reply_to == question, objects.c.deleted_at.is_(None)))).all()
    return [r[0] for r in rows]


async def post_answer(client: httpx.AsyncClient, page: str, question: StoredObject,
                      initiative: str, content: str) -> httpx.Response:
    token = csrf_of((await client.get(page)).text)
    return await client.post("/vragen/antwoord", data={
        "csrf_token": token, "question": question.ap_id, "initiative": initiative,
        "content": content})


async def test_a_similar_answered_question_of_another_province_is_suggested(
        fed: Federation) -> None:
    drenthe, fryslan = fed["drenthe"], fed["fryslan"]
    # Given an answered question in Fryslân, which Drenthe received
    asked = await ask(fryslan, "doarpshus-heeg", "Verzekering van vrijwilligers in het dorpshuis",
                      "Wat moeten we regelen?")
    given = await create_item(fryslan.ctx, item_input(
        kind="answer", content="De vrijwilligersverzekering van de gemeente.",
        initiative="ried-reduzum", in_reply_to=asked.ap_id), SYSTEM)
    await update_item(fryslan.ctx, asked.ap_id, Patch({"accepted_answer": given.ap_id}), SYSTEM)
    await fed.settle()
    # When a Drenthe editor types a question like it
    async with browser(drenthe, "eext", grants=("dorpshuis-eext",)) as eext:
        response = await eext.get("/api/questions/similar", params={"q": QUESTION})
        # Then Fryslân's question is suggested with its accepted answer, linked to its copy here
        [hit] = response.json()["questions"]
        assert (hit["id"], hit["state"], hit["origin"]) == (asked.ap_id, "answered",
                                                             "fryslan.test")
        assert hit["answers"][0]["id"] == given.ap_id and hit["answers"][0]["accepted"]
        assert hit["url"] == copy_page(asked)
        # And the form shows it on the first submit, without JavaScript
        token = csrf_of((await eext.get("/bewerken/item/nieuw")).text)
        form = await eext.post("/bewerken/item/nieuw", data={
            "csrf_token": token, "kind": "question", "initiative": "dorpshuis-eext",
            "title": QUESTION, "content": "Zijn ze via de gemeente verzekerd?"})
        assert form.status_code == 200
        assert "Lijkt uw vraag op een van deze?" in form.text
        assert "De vrijwilligersverzekering van de gemeente." in form.text
        assert f'href="{copy_page(asked).replace("&", "&amp;")}"' in form.text
        # And search, /kennis and /vragen open the received question at its copy here
        local_copy = "/kennis/item?id=" + asked.ap_id.replace(":", "%3A")
        for url in ("/zoeken?q=verzekering", "/kennis?kind=question", "/vragen"):
            page = (await eext.get(url)).text
            assert local_copy in page or copy_page(asked) in page, url


async def test_an_answer_from_another_province_is_accepted_at_the_origin_and_shown_on_all_three(
        fed: Federation) -> None:
    drenthe, fryslan, lvkk = fed["drenthe"], fed["fryslan"], fed["lvkk"]
    # Given a question of a Drenthe initiative, held by Fryslân and LVKK
    asked = await ask(drenthe, "dorpshuis-eext")
    await fed.settle()
    assert await stored(fryslan, asked.ap_id) is not None
    # When a Fryslân editor answers it on Fryslân's copy, as their initiative
    async with browser(fryslan, "reduzum", grants=("ried-reduzum",)) as reduzum:
        page = (await reduzum.get(copy_page(asked))).text
        assert "Deze vraag beantwoorden" in page and "Nog geen antwoord" in page
        response = await post_answer(reduzum, copy_page(asked), asked, "ried-reduzum",
                                     "Wij hebben een collectieve polis via de gemeente.")
        assert response.status_code == 303
    [answer_id] = await answers_to(fryslan, asked.ap_id)
    assert answer_id.startswith("https://fryslan.test/items/")  # created and signed there
    await fed.settle()
    # Then the origin and the aggregator hold it: relayed once by the question's origin
    for node in (drenthe, lvkk):
        assert await answers_to(node, asked.ap_id) == [answer_id]
    author = drenthe.ctx.urls.actor("dorpshuis-eext")
    relays = [a for name in ("dorpshuis-eext", "drenthe")
              for a in await activities_of(drenthe, drenthe.ctx.urls.actor(name), "Announce")
              if a.object_ap_id == answer_id]
    assert len(relays) == 2  # by the question's author and by its node
    answer = await stored(fryslan, answer_id)
    assert answer is not None and author in answer.document["cc"]
    # When a Drenthe editor of the question accepts it with the button on the question page
    async with browser(drenthe, "eext", grants=("dorpshuis-eext",)) as eext:
        page = (await eext.get(asked.ap_id)).text
        assert "Wij hebben een collectieve polis" in page
        response = await eext.post("/vragen/accepteren", data={
            "csrf_token": csrf_of(page), "question": asked.ap_id, "answer": answer_id})
        assert response.status_code == 303
    await fed.settle()
    # Then all three show the question answered, with that answer accepted and first
    async with httpx.AsyncClient(transport=fed.network, base_url=drenthe.url) as anyone:
        for node, url in ((drenthe, asked.ap_id), (fryslan, node_url(fryslan, asked)),
                          (lvkk, node_url(lvkk, asked))):
            copy = await stored(node, asked.ap_id)
            assert copy is not None and copy.fields.get("accepted_answer") == answer_id, node
            html = (await anyone.get(url)).text
            assert ">Beantwoord</strong>" in html, node.name
            assert "Geaccepteerd antwoord" in html and "collectieve polis" in html
            found = (await anyone.get(f"{node.url}/api/questions/similar",
                                      params={"q": QUESTION})).json()["questions"]
            assert [(q["id"], q["state"], q["answers"][0]["id"]) for q in found] == [
                (asked.ap_id, "answered", answer_id)], node.name


def node_url(node: Node, question: StoredObject) -> str:
    return node.url + copy_page(question)


async def test_duplicate_and_replayed_answer_deliveries_count_once(fed: Federation) -> None:
    drenthe, fryslan = fed["drenthe"], fed["fryslan"]
    asked = await ask(drenthe, "dorpshuis-eext")
    await fed.settle()
    # Given the Create of an answer from Fryslân caught on its way to Drenthe
    fed.faults.hold = True
    answer = await create_item(fryslan.ctx, item_input(
        kind="answer", content="Met een rooster.", initiative="ried-reduzum",
        in_reply_to=asked.ap_id), SYSTEM)
    await fed.run_workers(names=["fryslan"])
    to_drenthe = [h for h in fed.network.held if h.target == "drenthe.test"
                  and h.document["type"] == "Create"]
    assert len({h.document["id"] for h in to_drenthe}) == 1
    # When the same signed POST arrives three times, and later once more
    for _ in range(3):
        assert (await fed.network.replay(to_drenthe[0])).status_code == 202
    fed.faults.hold = False
    await fed.network.release_due(everything=True)
    await fed.settle()
    assert (await fed.network.replay(to_drenthe[0])).status_code == 202
    await fed.settle()
    # Then Drenthe holds one answer, relayed once by the question's author, counted once
    assert await answers_to(drenthe, asked.ap_id) == [answer.ap_id]
    relays = [a for a in await activities_of(drenthe, drenthe.ctx.urls.actor("dorpshuis-eext"),
                                             "Announce") if a.object_ap_id == answer.ap_id]
    assert len(relays) == 1
    page = (await fed.http.get(asked.ap_id, headers={"Accept": "text/html"})).text
    assert "Antwoorden (1)" in page
    assert await answers_to(fed["lvkk"], asked.ap_id) == [answer.ap_id]


async def _delivery_count(node: Node) -> int:
    async with node.ctx.db.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(deliveries)))
                   .scalar_one())


async def test_answering_as_an_initiative_one_may_not_act_for_is_403_stores_and_sends_nothing(
        fed: Federation) -> None:
    drenthe, fryslan = fed["drenthe"], fed["fryslan"]
    asked = await ask(drenthe, "dorpshuis-eext")
    await fed.settle()
    async with browser(fryslan, "reduzum", grants=("ried-reduzum",)) as reduzum:
        sent = await _delivery_count(fryslan)
        response = await post_answer(reduzum, copy_page(asked), asked, "doarpshus-heeg",
                                     "Niet namens ons.")
        assert response.status_code == 403
    assert await answers_to(fryslan, asked.ap_id) == []
    assert await _delivery_count(fryslan) == sent
    await fed.settle()
    assert await answers_to(drenthe, asked.ap_id) == []


async def test_an_answer_to_a_deleted_question_is_stored_nowhere(fed: Federation) -> None:
    drenthe, fryslan = fed["drenthe"], fed["fryslan"]
    asked = await ask(drenthe, "dorpshuis-eext")
    await fed.settle()
    async with browser(fryslan, "reduzum", grants=("ried-reduzum",)) as reduzum:
        page = copy_page(asked)
        token = csrf_of((await reduzum.get(page)).text)
        # Given the question deleted at its origin while Fryslân's copy does not know yet
        fed.faults.links_down.add(frozenset(("drenthe.test", "fryslan.test")))
        await delete_item(drenthe.ctx, asked.ap_id, SYSTEM)
        await fed.settle()
        # When Fryslân's editor answers the copy, the answer is made there, but the origin,
        # once reachable, does not store it
        response = await reduzum.post("/vragen/antwoord", data={
            "csrf_token": token, "question": asked.ap_id, "initiative": "ried-reduzum",
            "content": "Te laat."})
        assert response.status_code == 303
        [late] = await answers_to(fryslan, asked.ap_id)
        await fed.heal(hours=4)
        assert await stored(drenthe, late) is None
        # And once the Delete has arrived, answering the copy is refused: nothing stored
        copy = await stored(fryslan, asked.ap_id)
        assert copy is not None and copy.deleted
        before = await answers_to(fryslan, asked.ap_id)
        response = await reduzum.post("/vragen/antwoord", data={
            "csrf_token": token, "question": asked.ap_id, "initiative": "ried-reduzum",
            "content": "Nog later."})
        assert response.status_code == 422
        assert "Deze vraag is verwijderd" in response.text
        assert await answers_to(fryslan, asked.ap_id) == before


async def test_a_mastodon_reply_to_a_question_shows_as_an_answer(fed: Federation) -> None:
    drenthe = fed["drenthe"]
    asked = await ask(drenthe, "dorpshuis-eext")
    # Given a plain Note replying to the question, as Mastodon stores a reply
    reply = {"id": "https://fryslan.test/users/anne/statuses/1", "type": "Note",
             "attributedTo": "https://fryslan.test/users/anne", "inReplyTo": asked.ap_id,
             "content": "<p>Bij ons via de <b>gemeente</b>.</p>",
             "published": "2026-12-03T10:00:00Z", "to": ["https://www.w3.org/ns/activitystreams#Public"]}
    from node.services import remote_objects
    from protocol.parse import parse_object

    async with drenthe.ctx.db.transaction() as session:
        await remote_objects.upsert(drenthe.ctx, session, parse_object(reply))
    # Then the question page shows it as an answer, and the question as having answers
    html = (await fed.http.get(asked.ap_id, headers={"Accept": "text/html"})).text
    assert "Antwoorden (1)" in html and "Heeft antwoorden" in html
    assert re.search(r"Bij ons via de <b>gemeente</b>\.", html)
    found = (await fed.http.get(f"{drenthe.url}/api/questions/similar",
                                params={"q": QUESTION})).json()["questions"]
    assert [q["id"] for q in found] == [asked.ap_id]


async def test_a_local_answer_reaches_the_followers_of_the_questions_initiative(
        tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "lvkk"]) as f:
        drenthe, lvkk = f["drenthe"], f["lvkk"]
        for handle in ("dorpshuis-eext", "zorg-eext"):
            await create_initiative(drenthe.ctx, InitiativeInput(handle=handle, name=handle),
                                    SYSTEM)
        # Given LVKK following only the initiative that asks (not the node)
        await follow(lvkk.ctx, drenthe.ctx.urls.actor("dorpshuis-eext"))
        await f.settle()
        asked = await ask(drenthe, "dorpshuis-eext")
        # When another initiative of the same node answers it
        given = await create_item(drenthe.ctx, item_input(
            kind="answer", content="Via de gemeente.", initiative="zorg-eext",
            in_reply_to=asked.ap_id), SYSTEM)
        await f.settle()
        # Then the asking initiative relayed it, and LVKK holds question and answer
        assert await answers_to(lvkk, asked.ap_id) == [given.ap_id]
