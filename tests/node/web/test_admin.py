"""The admin's pages (``/beheer``): admins only, every action CSRF-checked and logged."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from node.services.context import NodeContext
from node.services.users import add_user, grant
from node.store import deliveries as delivery_store
from node.store import flags as flag_store
from node.store import users as user_store
from node.store.schema import deliveries
from tests.node.conftest import BASE_URL
from tests.node.web import make_initiative
from tests.node.web.api_helpers import insert_remote_item
from tests.node.web.test_ui_auth import PASSWORD, csrf_of, sign_in

WHEN = datetime(2026, 11, 1, tzinfo=UTC)
PAGES = ("/beheer", "/beheer/knooppunten", "/beheer/wachtrij", "/beheer/gebruikers",
         "/beheer/gebruikers/redacteur/verwijderen", "/beheer/meldingen",
         "/beheer/knooppunten/blokkeren?host=evil.test")


@pytest.fixture
async def admin_client(client: httpx.AsyncClient, ctx: NodeContext) -> httpx.AsyncClient:
    await add_user(ctx, "beheerder", PASSWORD, "admin")
    assert (await sign_in(client, "beheerder")).status_code == 303
    return client


async def _token(client: httpx.AsyncClient) -> str:
    return csrf_of((await client.get("/beheer/knooppunten")).text)


async def _failed_delivery(ctx: NodeContext, host: str = "fryslan.test") -> int:
    async with ctx.db.transaction() as session:
        await delivery_store.enqueue(session, activity_ap_id=f"{BASE_URL}/activities/1",
                                     signer=f"{BASE_URL}/actors/drenthe",
                                     inboxes=[(f"https://{host}/inbox", host)], now=WHEN)
        await session.execute(deliveries.update().values(state="failed", attempts=9,
                                                          last_error="expired: timeout"))
        return int((await session.execute(select(deliveries.c.id))).scalar_one())


async def _state(ctx: NodeContext, delivery_id: int) -> str:
    async with ctx.db.sessions() as session:
        query = select(deliveries.c.state).where(deliveries.c.id == delivery_id)
        return str((await session.execute(query)).scalar_one())


@pytest.mark.parametrize("path", PAGES)
async def test_admin_pages_are_for_admins(admin_client: httpx.AsyncClient, path: str) -> None:
    response = await admin_client.get(path)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert '<a href="/beheer">Beheer</a>' in response.text


@pytest.mark.parametrize("path", PAGES)
async def test_admin_pages_refuse_an_editor_with_the_site_page(
        editor_client: httpx.AsyncClient, path: str) -> None:
    response = await editor_client.get(path)
    assert response.status_code == 403
    assert '<html lang="nl">' in response.text
    assert 'href="/beheer"' not in response.text


@pytest.mark.parametrize("path", PAGES)
async def test_admin_pages_send_anonymous_visitors_to_sign_in(
        client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == f"/aanmelden?volgende={path.split('?')[0]}"


async def test_peers_page_shows_queue_depth_and_the_settings(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    async with ctx.db.transaction() as session:
        await delivery_store.enqueue(session, activity_ap_id=f"{BASE_URL}/activities/1",
                                     signer=f"{BASE_URL}/actors/drenthe",
                                     inboxes=[("https://fryslan.test/inbox", "fryslan.test"),
                                              ("https://fryslan.test/actors/a/inbox",
                                               "fryslan.test")], now=WHEN)
    text = (await admin_client.get("/beheer/knooppunten")).text
    row = text.split('<th scope="row">fryslan.test</th>', 1)[1].split("</tr>", 1)[0]
    assert "<td>2</td>" in row
    assert "1 november 2026" in row
    assert "Open: samenwerken met elk knooppunt" in text


async def test_block_from_the_page_hides_the_peers_content_and_unblock_shows_it(
        admin_client: httpx.AsyncClient, ctx: NodeContext,
        caplog: pytest.LogCaptureFixture) -> None:
    item = await insert_remote_item(ctx, "kwaad", published=WHEN, host="evil.test")
    assert (await admin_client.get(f"{BASE_URL}/api/items/by-id",
                                   params={"id": item.ap_id})).status_code == 200
    # Given the confirmation page
    confirm = await admin_client.get("/beheer/knooppunten/blokkeren?host=evil.test")
    assert 'value="evil.test"' in confirm.text
    # When the admin confirms with a reason
    with caplog.at_level(logging.INFO, logger="kennisknoop.admin"):
        response = await admin_client.post("/beheer/knooppunten/blokkeren", data={
            "csrf_token": csrf_of(confirm.text), "host": "EVIL.test", "reason": "spam"})
    # Then the host is blocked, its item hidden, the action logged with the admin's name
    assert response.status_code == 303
    assert response.headers["location"] == "/beheer/knooppunten?geblokkeerd=evil.test"
    assert (await admin_client.get(f"{BASE_URL}/api/items/by-id",
                                   params={"id": item.ap_id})).status_code == 404
    assert "admin beheerder blocked host evil.test" in caplog.text
    page = (await admin_client.get(response.headers["location"])).text
    assert "evil.test is geblokkeerd." in page
    assert "Geblokkeerd (spam)" in page
    # And lifting the block shows the item again
    lifted = await admin_client.post("/beheer/knooppunten/deblokkeren", data={
        "csrf_token": csrf_of(page), "host": "evil.test"})
    assert lifted.status_code == 303
    assert (await admin_client.get(f"{BASE_URL}/api/items/by-id",
                                   params={"id": item.ap_id})).status_code == 200


async def test_blocking_the_own_host_shows_the_form_again(
        admin_client: httpx.AsyncClient) -> None:
    response = await admin_client.post("/beheer/knooppunten/blokkeren", data={
        "csrf_token": await _token(admin_client), "host": "drenthe.test", "reason": "x"})
    assert response.status_code == 422
    assert 'class="error-summary"' in response.text
    assert 'value="x"' in response.text


@pytest.mark.parametrize(("path", "data"), [
    ("/beheer/knooppunten/blokkeren", {"host": "evil.test"}),
    ("/beheer/knooppunten/deblokkeren", {"host": "evil.test"}),
    ("/beheer/wachtrij/opnieuw", {"host": "fryslan.test"}),
])
async def test_admin_actions_are_refused_without_the_csrf_token(
        admin_client: httpx.AsyncClient, ctx: NodeContext, path: str,
        data: dict[str, str]) -> None:
    delivery = await _failed_delivery(ctx)
    response = await admin_client.post(path, data=data)
    assert response.status_code == 403
    listing = (await admin_client.get("/beheer/knooppunten")).text
    assert "Geblokkeerd" not in listing.split("<h2>Bekende knooppunten</h2>", 1)[1]
    assert await _state(ctx, delivery) == "failed"


async def test_admin_actions_are_refused_for_an_editor(
        editor_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    token = csrf_of((await editor_client.get("/")).text)
    response = await editor_client.post("/beheer/knooppunten/blokkeren",
                                        data={"csrf_token": token, "host": "evil.test"})
    assert response.status_code == 403


async def test_queue_lists_failed_deliveries_and_retries_one(
        admin_client: httpx.AsyncClient, ctx: NodeContext,
        caplog: pytest.LogCaptureFixture) -> None:
    delivery = await _failed_delivery(ctx)
    page = (await admin_client.get("/beheer/wachtrij")).text
    assert "expired: timeout" in page
    assert "https://fryslan.test/inbox" in page
    with caplog.at_level(logging.INFO, logger="kennisknoop.admin"):
        response = await admin_client.post("/beheer/wachtrij/opnieuw", data={
            "csrf_token": csrf_of(page), "delivery": str(delivery)})
    assert response.status_code == 303
    assert await _state(ctx, delivery) == "pending"
    assert "admin beheerder retried 1 failed deliveries" in caplog.text
    assert "Er zijn geen mislukte berichten." in (
        await admin_client.get(response.headers["location"])).text


async def test_queue_retries_all_of_one_peer(admin_client: httpx.AsyncClient,
                                             ctx: NodeContext) -> None:
    delivery = await _failed_delivery(ctx)
    page = (await admin_client.get("/beheer/wachtrij")).text
    assert "Alles voor fryslan.test opnieuw proberen" in page
    response = await admin_client.post("/beheer/wachtrij/opnieuw", data={
        "csrf_token": csrf_of(page), "host": "fryslan.test"})
    assert response.status_code == 303
    assert await _state(ctx, delivery) == "pending"


# --- users ---------------------------------------------------------------------------------


async def _role_and_grants(ctx: NodeContext, username: str) -> tuple[str, set[int]] | None:
    async with ctx.db.sessions() as session:
        user = await user_store.get(session, username)
        if user is None:
            return None
        return user.role, await user_store.granted_actor_ids(session, user.id)


async def _users_token(client: httpx.AsyncClient) -> str:
    return csrf_of((await client.get("/beheer/gebruikers")).text)


async def test_users_page_lists_roles_and_grants(admin_client: httpx.AsyncClient,
                                                 ctx: NodeContext) -> None:
    await add_user(ctx, "redacteur", PASSWORD, "editor")
    await make_initiative(ctx, "dorpsmolen", name="Dorpsmolen Reduzum")
    await grant(ctx, "redacteur", "dorpsmolen")
    text = (await admin_client.get("/beheer/gebruikers")).text
    row = text.split('<th scope="row">redacteur</th>', 1)[1].split("</tr>", 1)[0]
    assert '<option value="editor" selected>Redacteur</option>' in row
    assert "Dorpsmolen Reduzum" in row
    assert 'href="/beheer/gebruikers/redacteur/verwijderen"' in row


async def test_adding_a_user_shows_a_generated_password_once_and_it_signs_in(
        admin_client: httpx.AsyncClient, app: object, ctx: NodeContext,
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="kennisknoop.admin"):
        response = await admin_client.post("/beheer/gebruikers", data={
            "csrf_token": await _users_token(admin_client), "username": "Nieuw",
            "role": "editor", "password": ""})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    password = response.text.split("<code>", 1)[1].split("</code>", 1)[0]
    assert len(password) >= 10
    assert "<code>" not in (await admin_client.get("/beheer/gebruikers")).text
    assert await _role_and_grants(ctx, "nieuw") == ("editor", set())
    assert "admin beheerder added user nieuw (role editor, generated password)" in caplog.text
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
                                 base_url=BASE_URL) as other:
        assert (await sign_in(other, "nieuw", password)).status_code == 303


async def test_adding_a_user_with_an_admin_set_password(admin_client: httpx.AsyncClient,
                                                        ctx: NodeContext) -> None:
    response = await admin_client.post("/beheer/gebruikers", data={
        "csrf_token": await _users_token(admin_client), "username": "tweede",
        "role": "admin", "password": "een lang wachtwoord"})
    assert response.status_code == 200
    assert "<code>" not in response.text
    assert await _role_and_grants(ctx, "tweede") == ("admin", set())


async def test_adding_a_user_shows_every_error_and_keeps_the_name(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    response = await admin_client.post("/beheer/gebruikers", data={
        "csrf_token": await _users_token(admin_client), "username": "beheerder",
        "role": "editor", "password": "een lang wachtwoord"})
    assert response.status_code == 422
    assert "Deze gebruikersnaam bestaat al." in response.text
    short = await admin_client.post("/beheer/gebruikers", data={
        "csrf_token": await _users_token(admin_client), "username": "derde",
        "role": "editor", "password": "kort"})
    assert short.status_code == 422
    assert "Een wachtwoord heeft minstens 10 tekens." in short.text
    assert 'value="derde"' in short.text
    assert await _role_and_grants(ctx, "derde") is None


async def test_grant_revoke_and_role_change(admin_client: httpx.AsyncClient,
                                            ctx: NodeContext) -> None:
    await add_user(ctx, "redacteur", PASSWORD, "editor")
    actor = await make_initiative(ctx, "dorpsmolen", name="Dorpsmolen Reduzum")
    token = await _users_token(admin_client)
    granted = await admin_client.post("/beheer/gebruikers/redacteur/toekennen",
                                      data={"csrf_token": token, "handle": "dorpsmolen"})
    assert granted.status_code == 303
    assert await _role_and_grants(ctx, "redacteur") == ("editor", {actor.id})
    revoked = await admin_client.post("/beheer/gebruikers/redacteur/intrekken",
                                      data={"csrf_token": token, "handle": "dorpsmolen"})
    assert revoked.status_code == 303
    assert await _role_and_grants(ctx, "redacteur") == ("editor", set())
    promoted = await admin_client.post("/beheer/gebruikers/redacteur/rol",
                                       data={"csrf_token": token, "role": "admin"})
    assert promoted.headers["location"] == "/beheer/gebruikers?gewijzigd=redacteur"
    assert await _role_and_grants(ctx, "redacteur") == ("admin", set())


async def test_deleting_a_user_asks_first_then_deletes(
        admin_client: httpx.AsyncClient, ctx: NodeContext,
        caplog: pytest.LogCaptureFixture) -> None:
    await add_user(ctx, "redacteur", PASSWORD, "editor")
    confirm = await admin_client.get("/beheer/gebruikers/redacteur/verwijderen")
    assert "Ja, verwijderen" in confirm.text
    assert await _role_and_grants(ctx, "redacteur") is not None
    with caplog.at_level(logging.INFO, logger="kennisknoop.admin"):
        response = await admin_client.post("/beheer/gebruikers/redacteur/verwijderen",
                                           data={"csrf_token": csrf_of(confirm.text)})
    assert response.status_code == 303
    assert await _role_and_grants(ctx, "redacteur") is None
    assert "admin beheerder deleted user redacteur" in caplog.text


async def test_an_admin_cannot_delete_or_demote_themselves(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    token = await _users_token(admin_client)
    deleted = await admin_client.post("/beheer/gebruikers/beheerder/verwijderen",
                                      data={"csrf_token": token})
    demoted = await admin_client.post("/beheer/gebruikers/beheerder/rol",
                                      data={"csrf_token": token, "role": "editor"})
    assert (deleted.status_code, demoted.status_code) == (422, 422)
    assert await _role_and_grants(ctx, "beheerder") == ("admin", set())


@pytest.mark.parametrize(("path", "data"), [
    ("/beheer/gebruikers", {"username": "nieuw", "role": "admin", "password": ""}),
    ("/beheer/gebruikers/redacteur/rol", {"role": "admin"}),
    ("/beheer/gebruikers/redacteur/toekennen", {"handle": "dorpsmolen"}),
    ("/beheer/gebruikers/redacteur/verwijderen", {}),
])
async def test_user_actions_are_refused_without_the_csrf_token(
        admin_client: httpx.AsyncClient, ctx: NodeContext, path: str,
        data: dict[str, str]) -> None:
    await add_user(ctx, "redacteur", PASSWORD, "editor")
    await make_initiative(ctx, "dorpsmolen", name="Dorpsmolen Reduzum")
    response = await admin_client.post(path, data=data)
    assert response.status_code == 403
    assert await _role_and_grants(ctx, "redacteur") == ("editor", set())
    assert await _role_and_grants(ctx, "nieuw") is None


# --- reports ---------------------------------------------------------------------------------


async def _report(ctx: NodeContext) -> int:
    async with ctx.db.transaction() as session:
        await flag_store.add(session, activity_ap_id="https://fryslan.test/flags/1",
                             actor="https://fryslan.test/actors/fryslan",
                             objects=[f"{BASE_URL}/items/x"], content="Reclame", now=WHEN)
        return (await flag_store.recent(session, limit=1))[0].id


async def test_reports_are_listed_and_resolved(admin_client: httpx.AsyncClient,
                                               ctx: NodeContext,
                                               caplog: pytest.LogCaptureFixture) -> None:
    report = await _report(ctx)
    page = (await admin_client.get("/beheer/meldingen")).text
    assert "Reclame" in page and f"{BASE_URL}/items/x" in page
    with caplog.at_level(logging.INFO, logger="kennisknoop.admin"):
        response = await admin_client.post("/beheer/meldingen/afhandelen", data={
            "csrf_token": csrf_of(page), "report": str(report)})
    assert response.status_code == 303
    async with ctx.db.sessions() as session:
        assert (await flag_store.recent(session, limit=1))[0].state == "resolved"
    assert f"admin beheerder resolved report {report}" in caplog.text
    assert "Afgehandeld" in (await admin_client.get(response.headers["location"])).text


async def test_resolving_a_report_is_refused_without_the_csrf_token(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    report = await _report(ctx)
    response = await admin_client.post("/beheer/meldingen/afhandelen",
                                       data={"report": str(report)})
    assert response.status_code == 403
    async with ctx.db.sessions() as session:
        assert (await flag_store.recent(session, limit=1))[0].state == "open"
