"""Two real nodes on loopback with content of every kind, for the browser tests.

Each node is the real application on a real uvicorn server at 127.0.0.1 with its worker, in a
thread of the test process (as httpx's ``serve_in_thread``; STYLE.md, Tests): the same code
``kennisknoop serve`` runs, without a process start and a migration per node, which cost 10-15 s
on a busy machine. The SQLite schema is migrated once and copied (``tests/dbs.py``); keys come
from the fixed pool and passwords use the fast test hasher.

Fryslân holds two initiatives with places and content of every representative kind, written
through its JSON API over the socket: a story whose title has a long Dutch compound word, a
guide with an attachment, a question with two answers (one accepted), a bottleneck and an
upcoming event with a place; its settings name a Murmurations index (the admin's page of
choices). Drenthe follows Fryslân, so it receives all of it by federation.
An editor with a grant on one initiative can sign in on Fryslân; on Drenthe, an editor with a
grant on Drenthe's one initiative (to answer Fryslân's questions from there).

``Site.pages`` names every page type the browser tests look at, as a path on Fryslân.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from node import worker
from node.app import create_app
from node.config import Settings, build_settings
from node.services import approvals, hiding
from node.services.actors import ensure_node_actor
from node.services.context import NodeContext
from node.services.errors import NotFoundError
from node.services.follow import follow
from node.services.users import add_user, caller_for_token, create_token, grant
from node.web.help_pages import TOPICS as HELP_TOPICS
from tests import dbs
from tests.clock import FAST_HASHER
from tests.keys import pool_keygen
from tests.servers import free_port

WAIT_SECONDS = 30.0
EDITOR = ("redacteur", "fietsen langs de molen")
ADMIN = ("beheerder", "beheer het knooppunt")
INITIATIVE = "dorpsmolen-reduzum"
THEME = "energy-generation"
LONG_WORD_TITLE = "Het dorpsenergiecoöperatieledenvergaderingsverslag van Reduzum"
SEARCH_WORD = "molenaarsvrijwilligers"  # in one item's title only
SEARCH_TITLE = f"Zo vonden wij {SEARCH_WORD}"
DRENTHE_EDITOR = ("drentse-redacteur", "hunebedden en heidevelden")
DRENTHE_INITIATIVE = "energie-dwingeloo"
# Fryslân's Murmurations index, so /beheer/murmurations offers its choices; nothing listens
# there, and nothing is sent unless an initiative is chosen (no test chooses one).
MURMURATIONS = "http://127.0.0.1:9/v2"


class ThreadedNode:
    """One node served by uvicorn on 127.0.0.1 in a thread with its own event loop, and the
    node's worker beside it in the same loop (delivery, inbox, jobs), as ``serve`` runs them."""

    def __init__(self, handle: str, name: str, province: str, directory: Path,
                 database_url: str, clock: Callable[[], datetime] | None = None,
                 extra: dict[tuple[str, str], Any] | None = None) -> None:
        self.handle, self.port = handle, free_port()
        self.clock = clock
        directory.mkdir(parents=True)
        self.settings: Settings = build_settings(directory, {
            ("node", "url"): self.url, ("node", "name"): name, ("node", "handle"): handle,
            ("node", "province_code"): province, ("node", "allow_private_network"): True,
            ("database", "url"): database_url, **(extra or {})}, environ={})
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),),
                                        name=f"node-{handle}", daemon=True)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._failed: list[BaseException] = []
        self.ctx: NodeContext | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def actor(self) -> str:
        return f"{self.url}/actors/{self.handle}"

    async def _main(self) -> None:
        try:
            app = create_app(self.settings, keygen=pool_keygen(), password_hasher=FAST_HASHER,
                             **({"clock": self.clock} if self.clock else {}))
            self.ctx = app.state.ctx
            await ensure_node_actor(app.state.ctx)
            # ws="none": no websocket library is imported (its deprecation warnings would be
            # errors under the suite's filterwarnings).
            server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                   log_level="warning", ws="none"))
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            serving = asyncio.create_task(server.serve())
            working = asyncio.create_task(worker.run(app.state.ctx, self._stop))
            while not server.started and not serving.done():
                await asyncio.sleep(0.01)
            self._ready.set()
            await self._stop.wait()
            await working  # before the server's lifespan closes the outbound client
            server.should_exit = True
            await serving
        except BaseException as exc:
            self._failed.append(exc)
            raise
        finally:
            self._ready.set()

    def start(self) -> None:
        self._thread.start()

    def wait_until_ready(self) -> None:
        if not self._ready.wait(WAIT_SECONDS) or self._failed:
            raise RuntimeError(f"{self.handle} did not start: {self._failed}")

    def run(self, coroutine: Any) -> Any:
        """Run ``coroutine`` in the node's loop (its database pool lives there); its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(WAIT_SECONDS)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(WAIT_SECONDS)


@dataclass
class Site:
    nodes: dict[str, ThreadedNode]
    token: str = ""  # Fryslân's admin, for the API
    pages: dict[str, str] = field(default_factory=dict)  # page type → path on Fryslân
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    clock: Callable[[], datetime] | None = None  # the nodes' clock (None: the real one)

    def now(self) -> datetime:
        return self.clock() if self.clock else datetime.now(UTC)

    @property
    def fryslan(self) -> ThreadedNode:
        return self.nodes["fryslan"]

    @property
    def drenthe(self) -> ThreadedNode:
        return self.nodes["drenthe"]

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.fryslan.url, timeout=WAIT_SECONDS,
                            headers={"Authorization": f"Bearer {self.token}"})

    def stop(self) -> None:
        for node in self.nodes.values():
            node.stop()


async def _accounts(ctx: NodeContext) -> str:
    """Fryslân's admin (its API token) and an editor, who gets a grant once the initiative is
    there."""
    await add_user(ctx, *ADMIN, "admin")
    await add_user(ctx, *EDITOR, "editor")
    return await create_token(ctx, "beheerder")


async def _drenthe_accounts(ctx: NodeContext) -> str:
    """Drenthe's admin (its API token) and an editor, granted Drenthe's initiative later."""
    await add_user(ctx, *ADMIN, "admin")
    await add_user(ctx, *DRENTHE_EDITOR, "editor")
    return await create_token(ctx, ADMIN[0])


def _seed_drenthe(site: Site) -> None:
    token = site.drenthe.run(_drenthe_accounts(_ctx(site.drenthe)))
    with httpx.Client(base_url=site.drenthe.url, timeout=WAIT_SECONDS,
                      headers={"Authorization": f"Bearer {token}"}) as api:
        _post(api, "/api/initiatives", {
            "handle": DRENTHE_INITIATIVE, "name": "Energie Dwingeloo", "themes": [THEME],
            "place": {"name": "Dwingeloo", "latitude": 52.83, "longitude": 6.37}})
    site.drenthe.run(grant(_ctx(site.drenthe), DRENTHE_EDITOR[0], DRENTHE_INITIATIVE))


def _post(api: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(path, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _seed(site: Site) -> None:
    with site.api() as api:
        _post(api, "/api/initiatives", {
            "handle": INITIATIVE, "name": "Dorpsmolen Reduzum", "legal_form": "cooperative",
            "phase": "mature", "themes": [THEME],
            "summary": "De dorpsmolen van Reduzum maakt stroom voor het hele dorp.",
            "description": "Sinds 2004 draait de molen, gebouwd en beheerd door het dorp.",
            "place": {"name": "Reduzum", "latitude": 53.12, "longitude": 5.79},
            "website": "https://example.org/dorpsmolen"})
        _post(api, "/api/initiatives", {
            "handle": "doarpshus-wergea", "name": "Doarpshûs Wergea", "themes": ["care-wellbeing"],
            "place": {"name": "Wergea", "latitude": 53.15, "longitude": 5.73}})
        site.fryslan.run(grant(_ctx(site.fryslan), EDITOR[0], INITIATIVE))
        base = {"initiative": INITIATIVE, "themes": [THEME]}
        items = site.items
        items["story"] = _post(api, "/api/items", {
            **base, "kind": "story", "title": LONG_WORD_TITLE,
            "summary": "Wat de leden besloten over de tweede molen.",
            "content": "De leden stemden **voor** een tweede molen.\n\n- zonnepanelen\n- opslag",
            "place": {"name": "Reduzum", "latitude": 53.12, "longitude": 5.79}})
        items["search"] = _post(api, "/api/items", {
            **base, "kind": "story", "title": SEARCH_TITLE,
            "content": "Elke zaterdag draaien vrijwilligers de molen."})
        items["guide"] = _post(api, "/api/items", {
            **base, "kind": "guide", "title": "Handleiding: een energiecoöperatie oprichten",
            "content": "1. Zoek medestanders\n2. Kies een rechtsvorm\n3. Vraag subsidie aan",
            "attachments": [{"url": "https://example.org/handleiding.pdf",
                             "name": "Handleiding (pdf)", "media_type": "application/pdf"}]})
        items["question"] = _post(api, "/api/items", {
            **base, "kind": "question", "title": "Hoe vinden wij een molenaar?",
            "content": "Onze vrijwillige molenaar stopt. Wie weet hoe wij een nieuwe vinden?",
            "question_category": "organisational"})
        answers = [_post(api, "/api/items", {
            "kind": "answer", "initiative": initiative, "in_reply_to": items["question"]["id"],
            "content": text}) for initiative, text in (
            ("doarpshus-wergea", "Vraag het Gilde van Vrijwillige Molenaars om hulp."),
            (INITIATIVE, "Zet een oproep in de dorpskrant en op het prikbord."))]
        accepted = api.patch(f"/api/items/{items['question']['local_id']}",
                             json={"accepted_answer": answers[0]["id"]})
        assert accepted.status_code == 200, accepted.text
        items["answer"] = answers[0]
        items["bottleneck"] = _post(api, "/api/items", {
            **base, "kind": "bottleneck", "title": "Netcongestie houdt de tweede molen tegen",
            "content": "De netbeheerder kan de stroom van een tweede molen niet aan.",
            "regulation": "Energiewet"})
        start = (site.now() + timedelta(days=30)).replace(microsecond=0)
        items["event"] = _post(api, "/api/items", {
            **base, "kind": "event", "title": "Open dag bij de dorpsmolen",
            "content": "Kom kijken hoe de molen stroom maakt. Koffie staat klaar.",
            "start_time": start.isoformat(), "end_time": (start + timedelta(hours=3)).isoformat(),
            "place": {"name": "Reduzum", "latitude": 53.12, "longitude": 5.79}})
        gone = _post(api, "/api/items", {**base, "kind": "story", "title": "Weg ermee",
                                         "content": "Dit verhaal wordt weer verwijderd."})
        assert api.delete(f"/api/items/{gone['local_id']}").status_code == 204
    site.pages.update({
        "home": "/",
        "kennis": "/kennis",
        "initiatieven": "/initiatieven",
        "kaart": "/kaart",
        "zoeken": f"/zoeken?q={SEARCH_WORD}",
        "statistiek": "/statistiek",
        "vragen": "/vragen",
        "knelpunten": "/knelpunten",
        "thema": f"/thema/{THEME}",
        "initiatief": f"/actors/{INITIATIVE}",
        "knooppunt": "/actors/fryslan",
        "verzameling": "/actors/fryslan/outbox",
        "volgend": "/actors/fryslan/volgend",
        "aanmelden": "/aanmelden",
        "niet-gevonden": "/bestaat/niet",
        "verwijderd": f"/items/{gone['local_id']}",
        **{f"item-{kind}": f"/items/{items[kind]['local_id']}"
           for kind in ("story", "guide", "question", "answer", "bottleneck", "event")},
        "hulp": "/hulp",
        **{f"hulp-{topic}": f"/hulp/{topic}" for topic in HELP_TOPICS},
    })


# A 1×1 PNG: the initiative's logo; the same bytes with one more byte after IEND, an upload
# nothing refers to (an orphan on /beheer).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f00050001ff89993d1d0000000049454e44ae426082")


def _until(probe: Callable[[], Any], what: str) -> Any:
    """Poll ``probe`` until it returns something true (or stops raising NotFoundError)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        try:
            found = probe()
        except NotFoundError:
            found = None
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} within {WAIT_SECONDS:.0f} s")


@dataclass
class Moderation:
    request_id: int  # Drenthe's follow request, waiting on Fryslân
    hidden: str  # the IRI of Drenthe's answer, received and hidden on Fryslân


def seed_moderation(site: Site) -> Moderation:
    """What the admin's pages show when there is something to do on Fryslân: the initiative
    with a logo (and an upload nothing refers to), approving its followers by hand with
    Drenthe's request waiting, and Drenthe's answer to Fryslân's question received and hidden.

    Written through the API and the services, after the module's other tests looked at the
    pages (a module calls it last: the map and lists stay as ``_seed`` left them)."""
    fryslan, drenthe = _ctx(site.fryslan), _ctx(site.drenthe)
    with site.api() as api:
        urls = [api.post("/api/attachments", files={"file": ("logo.png", data, "image/png")})
                for data in (PNG, PNG + b"\0")]
        assert all(r.status_code == 201 for r in urls), [r.text for r in urls]
        patched = api.patch(f"/api/initiatives/{INITIATIVE}", json={"avatar": urls[0].json()["url"]})
        assert patched.status_code == 200, patched.text
    admin = site.fryslan.run(caller_for_token(fryslan, site.token))
    site.fryslan.run(approvals.set_approval(fryslan, admin, INITIATIVE, True))
    site.drenthe.run(follow(drenthe, f"{site.fryslan.url}/actors/{INITIATIVE}"))
    waiting = _until(lambda: site.fryslan.run(approvals.pending_requests(fryslan, admin)),
                     "Drenthe's follow request did not reach Fryslân")
    wait_until_found(site.drenthe, "molenaar")  # the question, so the answer goes to its author
    token = site.drenthe.run(create_token(drenthe, ADMIN[0]))
    with httpx.Client(base_url=site.drenthe.url, timeout=WAIT_SECONDS,
                      headers={"Authorization": f"Bearer {token}"}) as api:
        answer = _post(api, "/api/items", {
            "kind": "answer", "initiative": DRENTHE_INITIATIVE,
            "in_reply_to": site.items["question"]["id"],
            "content": "In Drenthe vroegen wij de molenaars van het Hunzedal."})
    _until(lambda: site.fryslan.run(hiding.hide_item(fryslan, admin, answer["id"])),
           "Drenthe's answer did not reach Fryslân")
    return Moderation(request_id=waiting[0].id, hidden=answer["id"])


def _ctx(node: ThreadedNode) -> NodeContext:
    assert node.ctx is not None
    return node.ctx


def start_site(directory: Path, clock: Callable[[], datetime] | None = None) -> Site:
    """Start Fryslân and Drenthe, let Drenthe follow Fryslân, and write the content.

    ``clock``: the nodes' clock (default the real one); the help screenshots pass one that
    starts at a fixed moment, so the dates on the pages never change (``ticking_from``)."""
    template = dbs.sqlite_template(directory)
    specs = [("fryslan", "Doarpswurk", "PV21", {("murmurations", "index_url"): MURMURATIONS}),
             ("drenthe", "BOKD Drenthe", "PV22", {})]
    site = Site({}, clock=clock)
    for handle, name, province, extra in specs:
        (directory / handle).mkdir()
        site.nodes[handle] = ThreadedNode(handle, name, province, directory / handle / "node",
                                          dbs.fresh_sqlite(template, directory / handle), clock,
                                          extra)
    try:
        for node in site.nodes.values():
            node.start()
        for node in site.nodes.values():
            node.wait_until_ready()
        site.token = site.fryslan.run(_accounts(_ctx(site.fryslan)))
        site.drenthe.run(follow(_ctx(site.drenthe), site.fryslan.actor))
        _seed(site)
        _seed_drenthe(site)
        return site
    except BaseException:
        site.stop()
        raise


def ticking_from(start: datetime) -> Callable[[], datetime]:
    """A clock that starts at ``start`` and then runs at the real pace: the dates the pages show
    are always those of ``start`` (a run takes minutes, not a day), while the worker's waits and
    the signatures' clock checks still see time pass."""
    began = time.monotonic()

    def now() -> datetime:
        return start + timedelta(seconds=time.monotonic() - began)

    return now


def wait_until_found(node: ThreadedNode, word: str, timeout: float = WAIT_SECONDS) -> None:
    """Poll ``node``'s search API until ``word`` finds something (it arrives by federation)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = httpx.get(f"{node.url}/api/search", params={"q": word}, timeout=10).json()
        if found["total"]:
            return
        time.sleep(0.1)
    raise AssertionError(f"{node.handle} did not find {word!r} within {timeout:.0f} s")
