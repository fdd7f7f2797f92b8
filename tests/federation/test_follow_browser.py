"""Following across nodes from the browser (issue 11): an editor on Drenthe follows an initiative
on Fryslân through the forms — Fryslân's remote-follow box sends them to Drenthe's ``/volgen``
(found through WebFinger's subscribe template), the Follow is accepted, and Drenthe's
``/volgend`` page shows the initiative's items, earlier ones and new ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from node.services.users import add_user, grant
from node.store import follows as follow_store
from tests.federation.harness import Federation, federation, postgres
from tests.node.web import BROWSER, make_initiative, make_item
from tests.node.web.test_ui_auth import PASSWORD, csrf_of, sign_in

MOLEN = "https://fryslan.test/actors/molen"


async def _follow_state(fed: Federation, follower: str, followee: str) -> str | None:
    async with fed["drenthe"].ctx.db.sessions() as session:
        found = await follow_store.get(session, follower, followee)
    return found.state if found else None


def _browser(fed: Federation, name: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=fed[name].app),
                             base_url=fed[name].url, headers=BROWSER)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Iterator[Callable[[Path, str], str] | None]:
    if request.param == "sqlite":
        yield None
        return
    with postgres() as make:
        yield make


async def test_editor_follows_an_initiative_of_another_node_through_the_forms(
        tmp_path: Path, database: Callable[[Path, str], str] | None) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"], database=database) as fed:
        drenthe, fryslan = fed["drenthe"].ctx, fed["fryslan"].ctx
        await make_initiative(fryslan, "molen", name="Mûne Reduzum")
        await make_item(fryslan, "molen", title="Eerder verhaal")
        await make_initiative(drenthe, "dorpsmolen", name="Dorpsmolen Sleen")
        await add_user(drenthe, "redacteur", PASSWORD, "editor")
        await grant(drenthe, "redacteur", "dorpsmolen")
        async with _browser(fed, "fryslan") as visitor, _browser(fed, "drenthe") as editor:
            # Given: on Fryslân's page of the initiative, the editor names their initiative's
            # account; Fryslân finds Drenthe's remote-follow page through WebFinger.
            page = await visitor.get("/actors/molen")
            assert '<form method="get" action="/volgen/op-afstand"' in page.text
            hop = await visitor.get("/volgen/op-afstand",
                                    params={"uri": MOLEN, "handle": "dorpsmolen@drenthe.test"})
            assert hop.status_code == 303
            target = urlsplit(hop.headers["location"])
            assert (target.netloc, target.path) == ("drenthe.test", "/volgen")
            # When: signed in on Drenthe, they follow as their initiative through the form.
            await sign_in(editor, "redacteur")
            form = await editor.get(f"{target.path}?{target.query}")
            assert '<option value="dorpsmolen">Dorpsmolen Sleen</option>' in form.text
            sent = await editor.post("/volgen", data={
                "csrf_token": csrf_of(form.text), "uri": MOLEN, "as": "dorpsmolen",
                "action": "follow", "terug": f"{target.path}?{target.query}"})
            assert sent.status_code == 303
            follower = drenthe.urls.actor("dorpsmolen")
            assert await _follow_state(fed, follower, MOLEN) == "pending"
            await fed.settle()
            # Then: the Follow is accepted, the page says so, and the feed page fills.
            assert await _follow_state(fed, follower, MOLEN) == "accepted"
            assert "Dorpsmolen Sleen volgt dit" in unescape(
                (await editor.get(f"{target.path}?{target.query}")).text)
            await make_item(fryslan, "molen", title="Nieuw verhaal")
            await fed.settle()
            feed = unescape((await editor.get("/actors/dorpsmolen/volgend")).text)
            assert re.findall(r'<h3><a href="[^"]+">([^<]+)</a></h3>', feed) == [
                "Nieuw verhaal", "Eerder verhaal"]
            # Undo from the same form: Fryslân forgets the follower.
            form = await editor.get(f"{target.path}?{target.query}")
            await editor.post("/volgen", data={
                "csrf_token": csrf_of(form.text), "uri": MOLEN, "as": "dorpsmolen",
                "action": "unfollow"})
            await fed.settle()
            async with fryslan.db.sessions() as session:
                assert await follow_store.get(session, follower, MOLEN) is None


async def test_follow_form_on_one_node_of_a_node_actor_elsewhere(tmp_path: Path) -> None:
    """The admin of Drenthe follows Fryslân's node actor as Drenthe's node, by handle."""
    async with federation(tmp_path, ["drenthe", "fryslan"]) as fed:
        await add_user(fed["drenthe"].ctx, "beheerder", PASSWORD, "admin")
        async with _browser(fed, "drenthe") as admin:
            await sign_in(admin)
            form = await admin.get("/volgen?uri=fryslan@fryslan.test")
            assert '<option value="drenthe">' in form.text
            await admin.post("/volgen", data={"csrf_token": csrf_of(form.text),
                                              "uri": "https://fryslan.test/actors/fryslan",
                                              "as": "drenthe"})
            await fed.settle()
        assert await _follow_state(fed, "https://drenthe.test/actors/drenthe",
                                   "https://fryslan.test/actors/fryslan") == "accepted"
