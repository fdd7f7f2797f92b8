"""The helpdesk in one node: similar questions (API and form), /vragen, answering, accepting.

Issue 11, "Asking" and "Answering"; multi-node behaviour is in tests/federation/test_questions.py.
"""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from node.services.context import NodeContext
from node.services.inputs import Patch
from node.services.items import delete_item, update_item
from node.services.permissions import SYSTEM
from node.services.users import add_user, grant
from node.store.objects import StoredObject
from node.store.schema import activities, objects
from tests.clock import Clock
from tests.node.web import local_id, make_initiative, make_item
from tests.node.web.test_ui_auth import PASSWORD, count_rows, csrf_of, sign_in

NEW = "/bewerken/item/nieuw"
SIMILAR = "/api/questions/similar"


@pytest.fixture
async def initiatives(ctx: NodeContext) -> None:
    await make_initiative(ctx, "dorpsmolen", name="Dorpsmolen Reduzum")
    await make_initiative(ctx, "zorgcoop", name="Zorgcoöperatie Hollandscheveld")


@pytest.fixture
async def editor_client(client: httpx.AsyncClient, ctx: NodeContext, initiatives: None
                        ) -> httpx.AsyncClient:
    """Signed in as an editor granted ``dorpsmolen`` only; ``zorgcoop`` exists too."""
    await add_user(ctx, "redacteur", PASSWORD, "editor")
    await grant(ctx, "redacteur", "dorpsmolen")
    assert (await sign_in(client, "redacteur")).status_code == 303
    return client


async def question(ctx: NodeContext, title: str, content: str = "Wie weet raad?", *,
                   initiative: str = "zorgcoop", **fields: object) -> StoredObject:
    return await make_item(ctx, initiative, kind="question", title=title, content=content,
                           **fields)


async def answer(ctx: NodeContext, to: StoredObject, content: str,
                 initiative: str = "dorpsmolen") -> StoredObject:
    return await make_item(ctx, initiative, kind="answer", title=None, content=content,
                           in_reply_to=to.ap_id)


async def accept(ctx: NodeContext, to: StoredObject, answer_: StoredObject) -> None:
    await update_item(ctx, to.ap_id, Patch({"accepted_answer": answer_.ap_id}), SYSTEM)


async def counts(ctx: NodeContext) -> tuple[int, int]:
    return await count_rows(ctx, objects), await count_rows(ctx, activities)


@pytest.fixture
async def insurance(ctx: NodeContext, initiatives: None) -> dict[str, StoredObject]:
    """Questions about insuring volunteers: answered (accepted), with answers, without; and an
    answered one about something else."""
    with_answers = await question(ctx, "Verzekering voor vrijwilligers van de molen",
                                  "Moeten vrijwilligers apart verzekerd worden?")
    await answer(ctx, with_answers, "Vraag het na bij de gemeente.")
    accepted_q = await question(ctx, "Hoe verzekeren wij onze vrijwilligers?",
                                "De vrijwilligersverzekering van de gemeente: werkt die?")
    await answer(ctx, accepted_q, "Eerst gegeven antwoord.")
    best = await answer(ctx, accepted_q, "De gemeentelijke vrijwilligersverzekering dekt het.")
    await accept(ctx, accepted_q, best)
    open_q = await question(ctx, "Vrijwilligers verzekeren: hoe?", "Nog geen idee.")
    other = await question(ctx, "Subsidie voor zonnepanelen op het dorpshuis",
                           "Welke subsidie is er?")
    await answer(ctx, other, "De SDE++.")
    return {"with_answers": with_answers, "accepted": accepted_q, "open": open_q,
            "other": other, "best": best}


# --- GET /api/questions/similar ---------------------------------------------------------------


async def test_similar_questions_are_answered_ones_first_each_with_its_accepted_answer_first(
        client: httpx.AsyncClient, insurance: dict[str, StoredObject]) -> None:
    response = await client.get(SIMILAR, params={
        "q": "Hoe zit het met de verzekering van vrijwilligers?"})
    assert response.status_code == 200, response.text
    found = response.json()["questions"]
    # Then only the insurance questions that have answers, the answered (accepted) one first
    assert [q["id"] for q in found] == [insurance["accepted"].ap_id,
                                        insurance["with_answers"].ap_id]
    assert [q["state"] for q in found] == ["answered", "has_answers"]
    first = found[0]
    assert first["answer_count"] == 2
    assert first["answers"][0]["id"] == insurance["best"].ap_id
    assert first["answers"][0]["accepted"] is True
    assert [a["accepted"] for a in first["answers"]] == [True, False]
    assert first["url"] == f"/items/{local_id(insurance['accepted'].ap_id)}"
    assert first["category"] == "content"


async def test_similar_questions_use_stemming_and_compound_parts(
        client: httpx.AsyncClient, insurance: dict[str, StoredObject]) -> None:
    # "verzekeringen" stems like "verzekering"; "panelen" is a part of "zonnepanelen"
    found = (await client.get(SIMILAR, params={"q": "verzekeringen"})).json()["questions"]
    assert insurance["accepted"].ap_id in [q["id"] for q in found]
    found = (await client.get(SIMILAR, params={"q": "panelen"})).json()["questions"]
    assert [q["id"] for q in found] == [insurance["other"].ap_id]


async def test_similar_questions_without_words_or_matches_are_none(
        client: httpx.AsyncClient, insurance: dict[str, StoredObject]) -> None:
    for q in ("", "de het een", "kaasboerderij"):
        response = await client.get(SIMILAR, params={"q": q})
        assert response.status_code == 200
        assert response.json() == {"questions": []}


@pytest.mark.parametrize(("params", "reason"), [
    ({"q": "x" * 2001}, "too_long"),
    ({"q": "verzekering", "limit": "0"}, "bad_value"),
    ({"q": "verzekering", "kind": "question"}, "unknown_parameter"),
])
async def test_bad_similar_requests_are_422(client: httpx.AsyncClient,
                                            params: dict[str, str], reason: str) -> None:
    response = await client.get(SIMILAR, params=params)
    assert response.status_code == 422
    assert response.json()["error"] == reason


# --- the question form ---------------------------------------------------------------------------


def new_question(**fields: object) -> dict[str, object]:
    data: dict[str, object] = {"kind": "question", "initiative": "dorpsmolen",
                               "title": "Hoe verzekeren we vrijwilligers?",
                               "content": "Onze vrijwilligers draaien de molen.",
                               "question_category": "organisational"}
    data.update(fields)
    return data


async def test_first_submit_of_a_question_shows_similar_ones_and_keeps_what_was_typed(
        editor_client: httpx.AsyncClient, ctx: NodeContext,
        insurance: dict[str, StoredObject]) -> None:
    token = csrf_of((await editor_client.get(NEW)).text)
    before = await counts(ctx)
    # When a question like the answered ones is submitted for the first time
    response = await editor_client.post(NEW, data={"csrf_token": token, **new_question()})
    # Then the form comes back with them, what was typed kept, and nothing stored
    assert response.status_code == 200
    html = response.text
    assert "Lijkt uw vraag op een van deze?" in html
    assert "Hoe verzekeren wij onze vrijwilligers?" in html
    assert "De gemeentelijke vrijwilligersverzekering dekt het." in html
    assert 'value="Hoe verzekeren we vrijwilligers?"' in html
    assert ">Onze vrijwilligers draaien de molen.</textarea>" in html
    assert '<option value="organisational" selected>' in html
    assert '<input type="hidden" name="toch_plaatsen" value="1">' in html
    assert ">Toch plaatsen</button>" in html
    assert await counts(ctx) == before
    # And "Toch plaatsen" posts it after all
    response = await editor_client.post(NEW, data={"csrf_token": token, "toch_plaatsen": "1",
                                                   **new_question()})
    assert response.status_code == 303
    assert (await counts(ctx))[0] == before[0] + 1


async def test_a_question_like_none_answered_is_posted_at_once(
        editor_client: httpx.AsyncClient, ctx: NodeContext,
        insurance: dict[str, StoredObject]) -> None:
    token = csrf_of((await editor_client.get(NEW)).text)
    response = await editor_client.post(NEW, data={"csrf_token": token, **new_question(
        title="Waar huren we een kraan?", content="Voor de wieken van de molen.")})
    assert response.status_code == 303


async def test_the_form_loads_its_script_as_a_file_under_a_strict_policy(
        editor_client: httpx.AsyncClient) -> None:
    response = await editor_client.get(NEW)
    assert '<script src="/static/similar.js" defer></script>' in response.text
    assert "<script>" not in response.text and " onclick" not in response.text
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    script = await editor_client.get("/static/similar.js")
    assert script.status_code == 200
    assert "/api/questions/similar" not in script.text or "dataset.api" in script.text


# --- /vragen -------------------------------------------------------------------------------------


async def test_questions_page_lists_unanswered_first_then_oldest(
        client: httpx.AsyncClient, ctx: NodeContext, clock: Clock, initiatives: None) -> None:
    old_open = await question(ctx, "Oude open vraag")
    clock.advance(timedelta(hours=1).total_seconds())
    answered = await question(ctx, "Beantwoorde vraag")
    best = await answer(ctx, answered, "Zo.")
    await accept(ctx, answered, best)
    clock.advance(3600)
    with_answers = await question(ctx, "Vraag met antwoord")
    await answer(ctx, with_answers, "Misschien zo.")
    clock.advance(3600)
    new_open = await question(ctx, "Nieuwe open vraag")
    html = (await client.get("/vragen")).text
    titles = [old_open, new_open, with_answers, answered]
    positions = [html.index(f">{q.title}</a>") for q in titles]
    assert positions == sorted(positions)
    assert "Nog geen antwoord" in html and "Beantwoord" in html and "Heeft antwoorden" in html
    assert '<a href="/vragen">Vragen</a>' in html  # in the main navigation


async def test_questions_page_filters_by_kind_of_question_theme_province_and_state(
        client: httpx.AsyncClient, ctx: NodeContext, initiatives: None) -> None:
    ethical = await question(ctx, "Mogen vrijwilligers zorg overnemen?",
                             question_category="ethical", themes=["care-wellbeing"])
    await question(ctx, "Welke rechtsvorm past?", question_category="organisational",
                   themes=["energy-generation"])
    await question(ctx, "Waar staat de molen?", place={"name": "Reduzum",
                                                       "province_code": "PV21"})

    async def titles(**params: str) -> list[str]:
        html = (await client.get("/vragen", params=params)).text
        return re.findall(r'<h3><a href="[^"]+">([^<]+)</a></h3>', html)

    assert await titles(categorie="ethical") == [ethical.title]
    assert await titles(theme="care-wellbeing") == [ethical.title]
    assert await titles(theme="sustainability") == ["Welke rechtsvorm past?"]
    assert await titles(province="PV21") == ["Waar staat de molen?"]
    assert len(await titles(province="PV22")) == 2
    assert await titles(stand="answered") == []
    assert len(await titles(stand="open", categorie="nonsense")) == 3  # unknown values ignored


async def test_questions_page_pages_to_the_end(client: httpx.AsyncClient,
                                               ctx: NodeContext, clock: Clock) -> None:
    await make_initiative(ctx, "zorgcoop")
    for n in range(23):
        await question(ctx, f"Vraag nummer {n}")
        clock.advance(60)
    first = (await client.get("/vragen")).text
    assert "Pagina 1 van 2" in first and 'href="/vragen?pagina=2"' in first
    last = (await client.get("/vragen", params={"pagina": "2"})).text
    assert re.findall(r">(Vraag nummer \d+)</a>", last) == [
        "Vraag nummer 20", "Vraag nummer 21", "Vraag nummer 22"]


# --- answering on the question's page ------------------------------------------------------------


async def post_answer(client: httpx.AsyncClient, to: StoredObject, **data: str
                      ) -> httpx.Response:
    token = csrf_of((await client.get(to.ap_id)).text)
    return await client.post("/vragen/antwoord", data={
        "csrf_token": token, "question": to.ap_id, **data})


async def test_editor_answers_a_question_as_their_initiative(
        editor_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    asked = await question(ctx, "Wie heeft een aggregaat te leen?")
    page = (await editor_client.get(asked.ap_id)).text
    assert "Deze vraag beantwoorden" in page
    assert '<option value="dorpsmolen">Dorpsmolen Reduzum</option>' in page
    assert "zorgcoop" not in page.split("Deze vraag beantwoorden", 1)[1]
    response = await post_answer(editor_client, asked, initiative="dorpsmolen",
                                 content="Wij, bel **even**.")
    assert response.status_code == 303
    assert response.headers["location"] == f"/items/{local_id(asked.ap_id)}?beantwoord=1"
    page = (await editor_client.get(response.headers["location"])).text
    assert "Uw antwoord is geplaatst" in page
    assert "Wij, bel <strong>even</strong>." in page
    assert "Antwoorden (1)" in page and "Heeft antwoorden" in page


async def test_answering_as_an_initiative_one_may_not_act_for_is_403_and_stores_nothing(
        editor_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    asked = await question(ctx, "Wie heeft een aggregaat te leen?")
    before = await counts(ctx)
    response = await post_answer(editor_client, asked, initiative="zorgcoop", content="Wij.")
    assert response.status_code == 403
    assert await counts(ctx) == before


async def test_an_empty_answer_is_shown_again_with_its_error(
        editor_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    asked = await question(ctx, "Wie heeft een aggregaat te leen?")
    before = await counts(ctx)
    response = await post_answer(editor_client, asked, initiative="dorpsmolen", content="")
    assert response.status_code == 422
    assert 'id="fout-content"' in response.text
    assert await counts(ctx) == before


async def test_an_answer_to_a_deleted_question_is_refused_and_stores_nothing(
        editor_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    asked = await question(ctx, "Wie heeft een aggregaat te leen?")
    token = csrf_of((await editor_client.get(asked.ap_id)).text)
    await delete_item(ctx, asked.ap_id, SYSTEM)
    before = await counts(ctx)
    response = await editor_client.post("/vragen/antwoord", data={
        "csrf_token": token, "question": asked.ap_id, "initiative": "dorpsmolen",
        "content": "Te laat."})
    assert response.status_code == 422
    assert "Deze vraag is verwijderd" in response.text
    assert await counts(ctx) == before


async def test_the_api_refuses_an_answer_to_a_deleted_question(
        client: httpx.AsyncClient, ctx: NodeContext, auth: dict[str, str]) -> None:
    await make_initiative(ctx, "zorgcoop")
    asked = await question(ctx, "Wie heeft een aggregaat te leen?")
    await delete_item(ctx, asked.ap_id, SYSTEM)
    before = await counts(ctx)
    response = await client.post("/api/items", headers=auth, json={
        "kind": "answer", "content": "Te laat.", "in_reply_to": asked.ap_id})
    assert response.status_code == 422
    assert (response.json()["error"], response.json()["field"]) == (
        "question_deleted", "in_reply_to")
    assert await counts(ctx) == before


async def test_signed_out_visitors_see_no_answer_form(client: httpx.AsyncClient,
                                                      ctx: NodeContext) -> None:
    await make_initiative(ctx, "zorgcoop")
    asked = await question(ctx, "Wie heeft een aggregaat te leen?")
    assert "Deze vraag beantwoorden" not in (await client.get(asked.ap_id)).text


# --- accepting -----------------------------------------------------------------------------------


async def test_the_questions_editor_accepts_an_answer_which_then_comes_first(
        editor_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    asked = await question(ctx, "Hoe vinden we een penningmeester?", initiative="dorpsmolen")
    first = await answer(ctx, asked, "Via de krant.", initiative="zorgcoop")
    second = await answer(ctx, asked, "Vraag het de bakker.", initiative="zorgcoop")
    page = (await editor_client.get(asked.ap_id)).text
    assert page.count(">Dit antwoord accepteren</button>") == 2
    assert "Nog geen antwoord" not in page and "Heeft antwoorden" in page
    token = csrf_of(page)

    async def accept_form(answer_iri: str) -> httpx.Response:
        return await editor_client.post("/vragen/accepteren", data={
            "csrf_token": token, "question": asked.ap_id, "answer": answer_iri})

    # When the second answer is accepted
    response = await accept_form(second.ap_id)
    assert response.status_code == 303
    page = (await editor_client.get(response.headers["location"])).text
    # Then it comes first, marked, and the question shows "Beantwoord"
    assert page.index("Vraag het de bakker.") < page.index("Via de krant.")
    assert "Het geaccepteerde antwoord is opgeslagen." in page
    assert ">Beantwoord</strong>" in page
    api = (await editor_client.get(f"/api/items/{local_id(asked.ap_id)}")).json()
    assert api["accepted_answer"] == second.ap_id
    # And accepting it again changes nothing: no new version, no new activity
    before = await counts(ctx)
    await accept_form(second.ap_id)
    assert await counts(ctx) == before
    assert (await editor_client.get(f"/api/items/{local_id(asked.ap_id)}")).json()[
        "version"] == api["version"]
    # And the editor can change it to the other answer
    await accept_form(first.ap_id)
    page = (await editor_client.get(asked.ap_id)).text
    assert page.index("Via de krant.") < page.index("Vraag het de bakker.")


async def test_only_the_questions_editors_see_the_accept_button_or_may_accept(
        editor_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    asked = await question(ctx, "Hoe vinden we een penningmeester?", initiative="zorgcoop")
    given = await answer(ctx, asked, "Via de krant.")
    page = (await editor_client.get(asked.ap_id)).text
    assert "Dit antwoord accepteren" not in page
    before = await counts(ctx)
    response = await editor_client.post("/vragen/accepteren", data={
        "csrf_token": csrf_of(page), "question": asked.ap_id, "answer": given.ap_id})
    assert response.status_code == 403
    assert await counts(ctx) == before


# --- search ranks answered questions higher ---------------------------------------------------------


async def test_answered_questions_rank_above_comparable_open_ones_in_search(
        client: httpx.AsyncClient, ctx: NodeContext, initiatives: None) -> None:
    # Given three equally relevant questions: open, with an answer, with an accepted answer
    open_q = await question(ctx, "Subsidie voor een buurtbus", "Wie weet raad?")
    with_answers = await question(ctx, "Subsidie voor een buurtbus", "Wie weet raad?")
    answered = await question(ctx, "Subsidie voor een buurtbus", "Wie weet raad?")
    await answer(ctx, with_answers, "Misschien via de provincie.")
    best = await answer(ctx, answered, "Via de provincie.")
    await accept(ctx, answered, best)

    async def ranked() -> list[str]:
        response = await client.get("/api/search", params={"q": "buurtbus", "kind": "question"})
        return [r["id"] for r in response.json()["results"]]

    # Then the answered one comes first, then the one with answers, then the open one
    assert await ranked() == [answered.ap_id, with_answers.ap_id, open_q.ap_id]
    # And when its accepted answer is deleted, it is open again and ranks as such
    await delete_item(ctx, best.ap_id, SYSTEM)
    assert await ranked() == [with_answers.ap_id, open_q.ap_id, answered.ap_id]


# --- GET /api/questions ------------------------------------------------------------------------------


async def test_question_list_api_is_least_answered_first_each_with_its_accepted_answer_first(
        client: httpx.AsyncClient, insurance: dict[str, StoredObject]) -> None:
    body = (await client.get("/api/questions")).json()
    assert body["total"] == 4 and body["next"] is None
    assert [(q["question"]["id"], q["state"]) for q in body["questions"]] == [
        (insurance["open"].ap_id, "open"), (insurance["with_answers"].ap_id, "has_answers"),
        (insurance["other"].ap_id, "has_answers"), (insurance["accepted"].ap_id, "answered")]
    answered = body["questions"][3]
    assert answered["answer_count"] == 2
    assert answered["answers"][0]["id"] == insurance["best"].ap_id
    assert answered["question"]["accepted_answer"] == insurance["best"].ap_id
    page = (await client.get("/api/questions", params={"state": "has_answers", "limit": "1"}
                             )).json()
    assert [q["question"]["id"] for q in page["questions"]] == [insurance["with_answers"].ap_id]
    assert page["total"] == 2 and "offset=1" in page["next"]


@pytest.mark.parametrize(("params", "reason"), [
    ({"state": "closed"}, "bad_value"), ({"category": "funny"}, "bad_value"),
    ({"stand": "open"}, "unknown_parameter"), ({"limit": "0"}, "bad_value")])
async def test_bad_question_list_requests_are_422(client: httpx.AsyncClient,
                                                  params: dict[str, str], reason: str) -> None:
    response = await client.get("/api/questions", params=params)
    assert response.status_code == 422
    assert response.json()["error"] == reason
