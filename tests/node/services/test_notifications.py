"""Notifications derived from the rows events leave (node.services.notifications), on SQLite and
PostgreSQL: who gets which, each once, read marks, and the pages ``/meldingen``.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from node.services import notifications
from node.services.context import NodeContext
from node.services.follow import follow
from node.services.inputs import Patch
from node.services.items import update_item
from node.services.permissions import SYSTEM, Caller
from node.services.users import add_user, grant
from node.store import endorsements as endorsement_store
from node.store import users as user_store
from tests.clock import Clock
from tests.node.conftest import BASE_URL
from tests.node.web import BROWSER, make_initiative, make_item
from tests.node.web.test_ui_auth import PASSWORD, csrf_of, sign_in

MOLEN = f"{BASE_URL}/actors/dorpsmolen"
ZORG = f"{BASE_URL}/actors/zorgcoop"


async def editor_of(ctx: NodeContext, name: str, *handles: str) -> Caller:
    await add_user(ctx, name, PASSWORD, "editor")
    for handle in handles:
        await grant(ctx, name, handle)
    async with ctx.db.sessions() as session:
        user = await user_store.get(session, name)
    assert user is not None
    return Caller(user.id, user.username, user.role)


async def kinds(ctx: NodeContext, caller: Caller) -> list[tuple[str, str, str]]:
    """(kind, recipient, actor) of each notification, newest first."""
    return [(n.event.kind, n.event.recipient, n.event.actor)
            for n in await notifications.list_for(ctx, caller)]


@pytest.fixture
async def two(ctx: NodeContext) -> tuple[Caller, Caller]:
    """``dorpsmolen`` (editor ``molenaar``) and ``zorgcoop`` (editor ``zorg``)."""
    await make_initiative(ctx, "dorpsmolen")
    await make_initiative(ctx, "zorgcoop", name="Zorgcoop")
    return await editor_of(ctx, "molenaar", "dorpsmolen"), await editor_of(ctx, "zorg", "zorgcoop")


async def test_answer_to_a_question_notifies_the_askers_editor_only(
        ctx: NodeContext, clock: Clock, two: tuple[Caller, Caller]) -> None:
    molenaar, zorg = two
    question = await make_item(ctx, "dorpsmolen", kind="question", title="Hoe begin je?")
    clock.advance(60)
    await make_item(ctx, "zorgcoop", kind="answer", title=None, content="Zo.",
                    in_reply_to=question.ap_id)
    await make_item(ctx, "dorpsmolen", kind="answer", title=None, content="Eigen aanvulling.",
                    in_reply_to=question.ap_id)  # its own answer: nothing to tell
    assert await kinds(ctx, molenaar) == [("answer", MOLEN, ZORG)]
    assert (await notifications.list_for(ctx, molenaar))[0].event.title == "Hoe begin je?"
    assert await kinds(ctx, zorg) == []


async def test_new_follower_notifies_once_and_again_after_an_undo(
        ctx: NodeContext, clock: Clock, two: tuple[Caller, Caller]) -> None:
    molenaar, _ = two
    await follow(ctx, MOLEN, as_handle="zorgcoop")
    await follow(ctx, MOLEN, as_handle="zorgcoop")  # the same follow again: no second one
    assert await kinds(ctx, molenaar) == [("follower", MOLEN, ZORG)]
    await notifications.mark_all_read(ctx, molenaar)
    from node.services.follow import unfollow

    await unfollow(ctx, MOLEN, as_handle="zorgcoop")
    clock.advance(60)
    await follow(ctx, MOLEN, as_handle="zorgcoop")
    found = await notifications.list_for(ctx, molenaar)
    assert [n.read for n in found] == [False]  # the old follow is gone, the new one is new


async def test_endorsement_notifies_once_however_often_it_is_liked(
        ctx: NodeContext, two: tuple[Caller, Caller]) -> None:
    molenaar, zorg = two
    bottleneck = await make_item(ctx, "dorpsmolen", kind="bottleneck", title="Netcongestie",
                                 regulation="Energiewet")
    for _ in range(2):  # a replayed Like
        async with ctx.db.transaction() as session:
            await endorsement_store.like(
                session, object_ap_id=bottleneck.ap_id, actor=ZORG, kind="endorsement",
                activity_ap_id=f"{ZORG}#like", note="Wij ook", province_code="PV22",
                now=ctx.now())
    assert await kinds(ctx, molenaar) == [("endorsement", MOLEN, ZORG)]
    assert await kinds(ctx, zorg) == []


async def test_accepted_answer_notifies_the_answerers_editor(
        ctx: NodeContext, clock: Clock, two: tuple[Caller, Caller]) -> None:
    molenaar, zorg = two
    question = await make_item(ctx, "dorpsmolen", kind="question", title="Hoe begin je?")
    answer = await make_item(ctx, "zorgcoop", kind="answer", title=None, content="Zo.",
                             in_reply_to=question.ap_id)
    clock.advance(60)
    await update_item(ctx, question.ap_id, Patch({"accepted_answer": answer.ap_id}), SYSTEM)
    assert await kinds(ctx, zorg) == [("accepted", ZORG, MOLEN)]
    assert [k for k, _, _ in await kinds(ctx, molenaar)] == ["answer"]


async def test_admin_gets_the_node_actors_notifications_not_every_initiatives(
        ctx: NodeContext, two: tuple[Caller, Caller]) -> None:
    await add_user(ctx, "beheerder", PASSWORD, "admin")
    async with ctx.db.sessions() as session:
        user = await user_store.get(session, "beheerder")
    assert user is not None
    admin = Caller(user.id, user.username, "admin")
    await follow(ctx, f"{BASE_URL}/actors/drenthe", as_handle="zorgcoop")
    await follow(ctx, MOLEN, as_handle="zorgcoop")
    assert await kinds(ctx, admin) == [("follower", f"{BASE_URL}/actors/drenthe", ZORG)]


async def test_marking_read_keeps_later_ones_unread(
        ctx: NodeContext, clock: Clock, two: tuple[Caller, Caller]) -> None:
    molenaar, _ = two
    await follow(ctx, MOLEN, as_handle="zorgcoop")
    assert await notifications.unread_count(ctx, molenaar) == 1
    await notifications.mark_all_read(ctx, molenaar)
    await notifications.mark_all_read(ctx, molenaar)  # twice: changes nothing
    assert await notifications.unread_count(ctx, molenaar) == 0
    clock.advance(timedelta(minutes=5).total_seconds())
    question = await make_item(ctx, "dorpsmolen", kind="question", title="Vraag")
    await make_item(ctx, "zorgcoop", kind="answer", title=None, content="Antwoord.",
                    in_reply_to=question.ap_id)
    assert await notifications.unread_count(ctx, molenaar) == 1


# --- the pages ---------------------------------------------------------------------------------


async def test_notifications_page_lists_them_and_the_header_counts_the_unread(
        client: httpx.AsyncClient, ctx: NodeContext, two: tuple[Caller, Caller]) -> None:
    await follow(ctx, MOLEN, as_handle="zorgcoop")
    await sign_in(client, "molenaar")
    page = (await client.get("/meldingen", headers=BROWSER)).text
    assert '<a href="/meldingen">Meldingen <span class="badge">1 nieuw</span></a>' in page
    assert "Zorgcoop volgt nu Dorpsmolen Reduzum" in page
    response = await client.post("/meldingen/gelezen", data={"csrf_token": csrf_of(page)})
    assert response.headers["location"] == "/meldingen?gelezen=1"
    page = (await client.get("/meldingen?gelezen=1", headers=BROWSER)).text
    assert "Alle meldingen zijn als gelezen gemarkeerd." in page
    assert '<a href="/meldingen">Meldingen</a>' in page
    assert "Zorgcoop volgt nu Dorpsmolen Reduzum" in page


async def test_notifications_page_needs_a_session(client: httpx.AsyncClient) -> None:
    response = await client.get("/meldingen", headers=BROWSER)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/aanmelden")
    assert (await client.post("/meldingen/gelezen")).status_code == 401


async def test_mail_settings_form_saves_a_choice_and_refuses_a_bad_address(
        client: httpx.AsyncClient, ctx: NodeContext, two: tuple[Caller, Caller]) -> None:
    molenaar, _ = two
    await sign_in(client, "molenaar")
    page = (await client.get("/meldingen/email", headers=BROWSER)).text
    assert "Dit knooppunt verstuurt geen e-mail" in page
    assert 'value="none" id="modus-none" checked' in page
    token = csrf_of(page)
    bad = await client.post("/meldingen/email", data={
        "csrf_token": token, "address": "geen adres", "mode": "daily"})
    assert bad.status_code == 422
    assert "Dit is geen geldig e-mailadres." in bad.text
    missing = await client.post("/meldingen/email", data={
        "csrf_token": token, "address": "", "mode": "immediate"})
    assert "Vul een e-mailadres in" in missing.text
    from node.services import mail

    assert (await mail.settings_of(ctx, molenaar)).choice is None  # nothing stored
    ok = await client.post("/meldingen/email", data={
        "csrf_token": token, "address": "molenaar@example.org", "mode": "daily"})
    assert ok.headers["location"] == "/meldingen/email?opgeslagen=1"
    page = (await client.get("/meldingen/email?opgeslagen=1", headers=BROWSER)).text
    assert 'value="daily" id="modus-daily" checked' in page
    assert 'value="molenaar@example.org"' in page
