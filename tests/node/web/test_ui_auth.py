"""Signing in and out of the web interface: cookies, CSRF, origin checks, rate limiting."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Table, func, select

from node.app import create_app
from node.services.context import NodeContext
from node.services.users import add_user
from node.store.schema import login_failures, web_sessions
from tests.node.conftest import BASE_URL, FAST_HASHER, Clock, make_settings

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SESSION_COOKIE = "__Host-kk_session"


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match[1]


async def sign_in(client: httpx.AsyncClient, username: str = "beheerder",
                  password: str = PASSWORD, **extra: str) -> httpx.Response:
    """Fetch the sign-in form and post it (as a browser would, with the form's token)."""
    form = await client.get("/aanmelden")
    data = {"csrf_token": csrf_of(form.text), "username": username, "password": password}
    return await client.post("/aanmelden", data={**data, **extra})


async def count_rows(ctx: NodeContext, table: Table) -> int:
    async with ctx.db.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


@pytest.fixture
async def admin(ctx: NodeContext) -> str:
    await add_user(ctx, "beheerder", PASSWORD, "admin")
    return "beheerder"


def _set_cookies(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


def _session_cookie_header(response: httpx.Response) -> str:
    [header] = [c for c in _set_cookies(response) if c.startswith(f"{SESSION_COOKIE}=")]
    return header


async def test_sign_in_form_is_dutch_with_labels_and_a_csrf_token(
        client: httpx.AsyncClient) -> None:
    response = await client.get("/aanmelden")
    assert response.status_code == 200
    assert '<html lang="nl">' in response.text
    assert '<label for="veld-username">Gebruikersnaam</label>' in response.text
    assert '<label for="veld-password">Wachtwoord</label>' in response.text
    assert csrf_of(response.text)
    assert response.headers["cache-control"] == "no-store"


async def test_login_redirects_to_aanmelden(client: httpx.AsyncClient) -> None:
    response = await client.get("/login?volgende=/x")
    assert response.status_code == 301
    assert response.headers["location"] == "/aanmelden?volgende=/x"


async def test_sign_in_starts_a_session_and_the_header_names_the_user(
        client: httpx.AsyncClient, admin: str) -> None:
    response = await sign_in(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    home = await client.get("/")
    assert "Aangemeld als <strong>beheerder</strong>" in home.text
    assert 'action="/afmelden"' in home.text
    assert home.headers["cache-control"] == "no-store"


async def test_session_cookie_is_secure_httponly_samesite_lax_for_14_days(
        client: httpx.AsyncClient, admin: str) -> None:
    header = _session_cookie_header(await sign_in(client)).lower()
    attributes = {part.strip() for part in header.split(";")[1:]}
    assert {"httponly", "secure", "path=/", "samesite=lax", "max-age=1209600"} <= attributes
    assert not any(a.startswith("domain") for a in attributes)


async def test_session_row_keeps_only_the_hash_of_the_cookie(
        client: httpx.AsyncClient, ctx: NodeContext, admin: str) -> None:
    await sign_in(client)
    token = client.cookies[SESSION_COOKIE]
    async with ctx.db.sessions() as session:
        [stored] = (await session.execute(select(web_sessions.c.id_hash))).scalars().all()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert token not in stored


async def test_session_cookie_is_not_secure_on_an_http_node(
        tmp_path: Path, database_url: str, clock: Clock) -> None:
    settings = make_settings(tmp_path, database_url, node__url="http://localhost:8000")
    app = create_app(settings, clock=clock, password_hasher=FAST_HASHER)
    async with app.router.lifespan_context(app):
        await add_user(app.state.ctx, "beheerder", PASSWORD, "admin")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.node.url) as client:
            response = await sign_in(client)
    [header] = [c for c in _set_cookies(response) if c.startswith("kk_session=")]
    assert "secure" not in header.lower()
    assert "httponly" in header.lower()


async def test_wrong_password_is_401_and_starts_no_session(
        client: httpx.AsyncClient, ctx: NodeContext, admin: str) -> None:
    response = await sign_in(client, password="wrong horse battery")
    assert response.status_code == 401
    assert "De gebruikersnaam of het wachtwoord klopt niet." in response.text
    assert not any(c.startswith(f"{SESSION_COOKIE}=") for c in _set_cookies(response))
    assert await count_rows(ctx, web_sessions) == 0


async def test_wrong_password_error_is_linked_to_the_field(
        client: httpx.AsyncClient, admin: str) -> None:
    html = (await sign_in(client, password="wrong horse battery")).text
    assert '<a href="#veld-username">' in html
    assert 'aria-describedby="fout-username" aria-invalid="true"' in html
    assert "<title>Fout: Aanmelden" in html


async def test_unknown_user_gets_the_same_answer_as_a_wrong_password(
        client: httpx.AsyncClient, admin: str) -> None:
    response = await sign_in(client, username="niemand")
    assert response.status_code == 401
    assert "De gebruikersnaam of het wachtwoord klopt niet." in response.text


async def test_empty_fields_are_named_without_counting_a_failure(
        client: httpx.AsyncClient, ctx: NodeContext, admin: str) -> None:
    response = await sign_in(client, username="", password="")
    assert response.status_code == 422
    assert "Vul uw gebruikersnaam in." in response.text
    assert "Vul uw wachtwoord in." in response.text
    assert await count_rows(ctx, login_failures) == 0


async def test_five_failures_lock_the_user_and_even_the_right_password_gets_429(
        client: httpx.AsyncClient, admin: str) -> None:
    for _ in range(5):
        assert (await sign_in(client, password="wrong horse battery")).status_code == 401
    response = await sign_in(client)
    assert response.status_code == 429
    assert 0 < int(response.headers["retry-after"]) <= 15 * 60
    assert "Wacht 15 minuten" in response.text
    assert not any(c.startswith(f"{SESSION_COOKIE}=") for c in _set_cookies(response))


async def test_lock_ends_when_the_failures_leave_the_window(
        client: httpx.AsyncClient, clock: Clock, admin: str) -> None:
    for _ in range(5):
        await sign_in(client, password="wrong horse battery")
    clock.advance(15 * 60 + 1)
    assert (await sign_in(client)).status_code == 303


async def test_one_address_trying_many_names_is_locked_too(
        client: httpx.AsyncClient, admin: str) -> None:
    for n in range(20):
        assert (await sign_in(client, username=f"gok{n}")).status_code == 401
    assert (await sign_in(client)).status_code == 429


async def test_successful_sign_in_clears_the_user_count(
        client: httpx.AsyncClient, admin: str) -> None:
    for _ in range(4):
        await sign_in(client, password="wrong horse battery")
    assert (await sign_in(client)).status_code == 303
    assert (await sign_in(client, password="wrong horse battery")).status_code == 401
    assert (await sign_in(client)).status_code == 303


async def test_sign_in_without_the_form_token_is_403_and_counts_nothing(
        client: httpx.AsyncClient, ctx: NodeContext, admin: str) -> None:
    response = await client.post("/aanmelden", data={"username": "beheerder",
                                                     "password": PASSWORD})
    assert response.status_code == 403
    assert "Formulier verlopen" in response.text
    assert await count_rows(ctx, web_sessions) == 0


async def test_sign_in_with_a_token_not_matching_the_cookie_is_403(
        client: httpx.AsyncClient, ctx: NodeContext, admin: str) -> None:
    await client.get("/aanmelden")
    response = await client.post("/aanmelden", data={
        "csrf_token": "x" * 43, "username": "beheerder", "password": PASSWORD})
    assert response.status_code == 403
    assert await count_rows(ctx, web_sessions) == 0


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.test"},
    {"Origin": "null"},
    {"Origin": "https://drenthe.test:8443"},
    {"Origin": "http://drenthe.test"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
])
async def test_sign_in_sent_by_another_site_is_403(
        client: httpx.AsyncClient, ctx: NodeContext, admin: str,
        headers: dict[str, str]) -> None:
    token = csrf_of((await client.get("/aanmelden")).text)
    response = await client.post("/aanmelden", headers=headers, data={
        "csrf_token": token, "username": "beheerder", "password": PASSWORD})
    assert response.status_code == 403
    assert await count_rows(ctx, web_sessions) == 0


async def test_sign_in_from_this_origin_is_accepted(client: httpx.AsyncClient,
                                                    admin: str) -> None:
    token = csrf_of((await client.get("/aanmelden")).text)
    response = await client.post("/aanmelden", headers={
        "Origin": BASE_URL, "Sec-Fetch-Site": "same-origin"}, data={
        "csrf_token": token, "username": "beheerder", "password": PASSWORD})
    assert response.status_code == 303


@pytest.mark.parametrize("origin", ["https://DRENTHE.test", "https://drenthe.test:443",
                                    "https://drenthe.test."])
async def test_sign_in_from_another_spelling_of_this_origin_is_accepted(
        client: httpx.AsyncClient, admin: str, origin: str) -> None:
    token = csrf_of((await client.get("/aanmelden")).text)
    response = await client.post("/aanmelden", headers={"Origin": origin}, data={
        "csrf_token": token, "username": "beheerder", "password": PASSWORD})
    assert response.status_code == 303


async def test_sign_in_returns_to_the_page_asked_for(client: httpx.AsyncClient,
                                                     admin: str) -> None:
    asked = await client.get("/bewerken/item/nieuw")
    assert asked.status_code == 303
    assert asked.headers["location"] == "/aanmelden?volgende=/bewerken/item/nieuw"
    form = await client.get(asked.headers["location"])
    assert 'name="volgende" value="/bewerken/item/nieuw"' in form.text
    response = await client.post("/aanmelden", data={
        "csrf_token": csrf_of(form.text), "username": "beheerder", "password": PASSWORD,
        "volgende": "/bewerken/item/nieuw"})
    assert response.headers["location"] == "/bewerken/item/nieuw"


@pytest.mark.parametrize("target", ["//evil.test/", "https://evil.test/", "/\t/evil.test",
                                    "/\\evil.test"])
async def test_sign_in_never_redirects_to_another_site(client: httpx.AsyncClient, admin: str,
                                                       target: str) -> None:
    response = await sign_in(client, volgende=target)
    assert response.headers["location"] == "/"


async def test_sign_out_revokes_the_session(client: httpx.AsyncClient, ctx: NodeContext,
                                            admin: str) -> None:
    await sign_in(client)
    token = client.cookies[SESSION_COOKIE]
    home = await client.get("/")
    response = await client.post("/afmelden", data={"csrf_token": csrf_of(home.text)})
    assert response.status_code == 303
    assert await count_rows(ctx, web_sessions) == 0
    # The old cookie value, replayed, is worth nothing.
    client.cookies.set(SESSION_COOKIE, token, domain="drenthe.test")
    assert "Aangemeld als" not in (await client.get("/")).text


async def test_sign_out_without_the_form_token_is_403_and_keeps_the_session(
        client: httpx.AsyncClient, ctx: NodeContext, admin: str) -> None:
    await sign_in(client)
    response = await client.post("/afmelden", data={})
    assert response.status_code == 403
    assert await count_rows(ctx, web_sessions) == 1


async def test_session_expires_after_14_days(client: httpx.AsyncClient, clock: Clock,
                                             admin: str) -> None:
    await sign_in(client)
    clock.advance(14 * 24 * 3600 + 1)
    assert (await client.get("/bewerken/item/nieuw")).status_code == 303
    assert "Aangemeld als" not in (await client.get("/")).text


async def test_a_new_sign_in_replaces_the_previous_session(
        client: httpx.AsyncClient, ctx: NodeContext, admin: str) -> None:
    await sign_in(client)
    first = client.cookies[SESSION_COOKIE]
    await sign_in(client)
    assert client.cookies[SESSION_COOKIE] != first
    assert await count_rows(ctx, web_sessions) == 1


async def test_every_page_has_the_security_headers(client: httpx.AsyncClient) -> None:
    for url in ("/", "/aanmelden", "/items/onbekend"):
        response = await client.get(url)
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "script-src 'none'" in response.headers["content-security-policy"]


async def test_pages_carry_no_inline_script(client: httpx.AsyncClient, admin: str) -> None:
    await sign_in(client)
    for url in ("/", "/aanmelden", "/bewerken/item/nieuw"):
        html = (await client.get(url)).text
        # Only script files of our own (the item form's similar.js) and JSON-LD data blocks
        for attributes, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S):
            assert ('src="/static/' in attributes and not body.strip()) or \
                'type="application/ld+json"' in attributes, attributes
        assert " on" + "click=" not in html
