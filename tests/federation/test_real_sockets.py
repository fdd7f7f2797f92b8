"""Three ``kennisknoop serve`` processes on loopback: crashes lose nothing (the durable queue).

Fryslân publishes; Drenthe follows Fryslân; the aggregator LVKK follows both. Items are written
through the JSON API over real sockets and travel as signed deliveries between real processes.
First Drenthe is SIGKILLed while Fryslân publishes, updates and deletes: the deliveries wait in
Fryslân's queue and, once Drenthe is back on the same port, arrive exactly once at their
versions. Then Fryslân itself is SIGKILLed in the middle of its queue — one delivery leased and
in flight to a frozen (SIGSTOPped) LVKK, others not yet tried — and after its restart the leased
rows come back when their lease runs out and everything arrives, again exactly once.

Anti-entropy is set to an hour, so whatever arrives after the backfill came through the delivery
queue (the periodic sync is tested in test_convergence.py). Retries and leases take seconds.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from node.cli import load, open_context
from node.services.follow import follow
from tests.federation.processes import WAIT_SECONDS, Network, ServedNode, parse_db_time
from tests.servers import free_port

pytestmark = pytest.mark.slow

LEASE_SECONDS = 6  # above the worst gap between a claim and the kill on a busy machine
FAST = {
    "KENNISKNOOP_FEDERATION_RETRY_INITIAL_SECONDS": "1",
    "KENNISKNOOP_FEDERATION_RETRY_MAX_SECONDS": "2",
    "KENNISKNOOP_FEDERATION_SYNC_INTERVAL_SECONDS": "3600",
    "KENNISKNOOP_FEDERATION_LEASE_SECONDS": str(LEASE_SECONDS),
}
INITIATIVE = "dorpsmolen-reduzum"
FOLLOWS = {"drenthe": ("fryslan",), "lvkk": ("fryslan", "drenthe")}


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Network]:
    specs = [("fryslan", "Doarpswurk", "provincial", "PV21"),
             ("drenthe", "BOKD Drenthe", "provincial", "PV22"),
             ("lvkk", "Landelijke Vereniging Kleine Kernen", "aggregator", None)]
    nodes = {h: ServedNode(h, tmp_path / h, free_port(), FAST) for h, *_ in specs}
    net = Network(nodes)
    try:
        for handle, name, role, province in specs:
            nodes[handle].init(name, role=role, province=province)
        for node in nodes.values():
            node.start()
        for node in nodes.values():
            node.wait_until_ready()
        yield net
    finally:
        net.stop_all()


# --- helpers -------------------------------------------------------------------------------------


def _follow_all(net: Network) -> None:
    async def run(follower: ServedNode, targets: tuple[str, ...]) -> None:
        async with open_context(load(follower.directory)) as ctx:
            for target in targets:
                await follow(ctx, net[target].actor)

    for follower, targets in FOLLOWS.items():
        asyncio.run(run(net[follower], targets))

    def accepted() -> bool:
        return all([tuple(r) for r in net[f].query(
            "SELECT state FROM follows WHERE follower = ? AND followee = ?",
            net[f].actor, net[t].actor)] == [("accepted",)]
                   for f, targets in FOLLOWS.items() for t in targets)

    net.wait_for("every follow to be accepted", accepted)


def _api(node: ServedNode) -> httpx.Client:
    password = secrets.token_urlsafe(12)
    node.cli("user", "add", str(node.directory), "beheerder", "--role", "admin",
             "--password-stdin", stdin=password + "\n")
    token = node.cli("token", str(node.directory), "beheerder").strip()
    return httpx.Client(base_url=node.url, headers={"Authorization": f"Bearer {token}"},
                        timeout=WAIT_SECONDS)


def _publish(api: httpx.Client, title: str) -> dict[str, Any]:
    response = api.post("/api/items", json={"kind": "story", "title": title, "initiative": INITIATIVE,
                                            "content": f"{title}: zo hebben wij het gedaan."})
    assert response.status_code == 201, response.text
    item: dict[str, Any] = response.json()
    return item


def _update(api: httpx.Client, item: dict[str, Any], title: str) -> None:
    response = api.patch(f"/api/items/{item['local_id']}", json={"title": title})
    assert response.status_code == 200 and response.json()["version"] == item["version"] + 1
    item.update(response.json())


def _delete(api: httpx.Client, item: dict[str, Any]) -> None:
    assert api.delete(f"/api/items/{item['local_id']}").status_code == 204


def _remote_items(node: ServedNode) -> list[dict[str, Any]]:
    """What ``node`` holds from other nodes, as its own API lists it (live items only)."""
    response = httpx.get(f"{node.url}/api/items", params={"origin": "remote", "limit": 100},
                         timeout=10)
    assert response.status_code == 200 and response.json()["next"] is None, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _holds(node: ServedNode, live: list[dict[str, Any]], deleted: list[dict[str, Any]]) -> bool:
    """``node`` has exactly ``live`` at their versions and titles, and tombstones for ``deleted``."""
    got = _remote_items(node)
    ids = [i["id"] for i in got]
    if len(ids) != len(set(ids)):
        pytest.fail(f"{node.handle} lists an item twice: {ids}")
    if {i["id"]: (i["version"], i["title"]) for i in got} != {
            i["id"]: (i["version"], i["title"]) for i in live}:
        return False
    return all(httpx.get(f"{node.url}/api/items/by-id", params={"id": i["id"]},
                         timeout=10).status_code == 410 for i in deleted)


def _deliveries(node: ServedNode, to: ServedNode) -> list[Any]:
    return node.query("SELECT activity_ap_id, state, attempts, locked_until, sent_at "
                      "FROM deliveries WHERE host = ? ORDER BY id", to.host)


def _all_sent(node: ServedNode, to: ServedNode) -> bool:
    return all(row["state"] == "sent" for row in _deliveries(node, to))


def _now() -> datetime:
    return datetime.now(UTC)


# --- the test ------------------------------------------------------------------------------------


def test_killed_nodes_lose_no_delivery(network: Network) -> None:
    net = network
    fryslan, drenthe, lvkk = net["fryslan"], net["drenthe"], net["lvkk"]
    with net.explain_failures(), _api(fryslan) as api:
        _follow_all(net)
        created = api.post("/api/initiatives", json={"handle": INITIATIVE,
                                                      "name": "Dorpsmolen Reduzum"})
        assert created.status_code == 201, created.text
        # Given two items that reached both followers while everyone was up
        kept, doomed = _publish(api, "De molen draait"), _publish(api, "Open dag")
        for node in (drenthe, lvkk):
            net.wait_for(f"{node.handle} to receive the first items",
                         lambda node=node: _holds(node, [kept, doomed], []))
        before = len(_deliveries(fryslan, drenthe))

        # When Drenthe is killed and Fryslân publishes, updates and deletes meanwhile
        drenthe.kill()
        fresh = [_publish(api, f"Nieuws {n}") for n in range(3)]
        _update(api, kept, "De molen draait weer")
        _update(api, fresh[2], "Nieuws 2, bijgewerkt")
        _delete(api, doomed)
        live = [kept, *fresh]
        # Then LVKK has it all, while Fryslân holds every delivery to Drenthe, tried and pending
        net.wait_for("lvkk to receive the changes", lambda: _holds(lvkk, live, [doomed]))
        waiting = net.wait_for("fryslan to try every delivery to the dead drenthe", lambda: (
            rows if len(rows := _deliveries(fryslan, drenthe)[before:]) == 6
            and all(r["state"] == "pending" and r["attempts"] >= 1 for r in rows) else None))
        assert {r["activity_ap_id"] for r in waiting}.isdisjoint(
            r["activity_ap_id"] for r in _deliveries(fryslan, drenthe)[:before])
        # When Drenthe comes back on the same port, every change arrives, once, at its version
        drenthe.start()
        drenthe.wait_until_ready()
        net.wait_for("drenthe to catch up", lambda: _holds(drenthe, live, [doomed]))
        net.wait_for("fryslan's queue to drenthe to drain", lambda: _all_sent(fryslan, drenthe))

        # When LVKK freezes (its socket accepts, nobody answers) and Fryslân is killed with a
        # delivery in flight to LVKK, leased by the worker that dies, and two more queued
        lvkk.send(signal.SIGSTOP)
        first = _publish(api, "Vlak voor de crash 0")
        leased = net.wait_for("a delivery to the frozen lvkk to be in flight", lambda: [
            r for r in _deliveries(fryslan, lvkk)
            if r["state"] == "pending" and r["locked_until"] is not None] or None)
        later = [_publish(api, f"Vlak voor de crash {n}") for n in (1, 2)]
        fryslan.kill()
        lvkk.send(signal.SIGCONT)
        killed_at = _now()
        stranded = [r for r in _deliveries(fryslan, lvkk)
                    if r["state"] == "pending" and r["locked_until"] is not None]
        assert stranded and {r["activity_ap_id"] for r in leased} <= {
            r["activity_ap_id"] for r in stranded}
        assert all(parse_db_time(r["locked_until"]) > killed_at for r in stranded)
        # (frozen LVKK answered none of the three, so Fryslân holds all three as pending; whether
        # Drenthe's copies of the later two went out first depends on how a round is scheduled)
        to_lvkk = _deliveries(fryslan, lvkk)[-3:]
        assert all(r["state"] == "pending" and r["sent_at"] is None for r in to_lvkk)
        # Then, restarted, Fryslân delivers everything: the leased rows once their lease ran out
        fryslan.start()
        fryslan.wait_until_ready()
        live += [first, *later]
        for node in (drenthe, lvkk):
            net.wait_for(f"{node.handle} to receive what was queued at the crash",
                         lambda node=node: _holds(node, live, [doomed]))
            net.wait_for(f"fryslan's queue to {node.handle} to drain",
                         lambda node=node: _all_sent(fryslan, node))
        sent = {r["activity_ap_id"]: r for r in _deliveries(fryslan, lvkk)}
        for row in stranded:
            resent_at = parse_db_time(sent[row["activity_ap_id"]]["sent_at"])
            assert resent_at >= parse_db_time(row["locked_until"])
        # And no activity was applied twice: each is in LVKK's inbox once, and nothing failed
        received = lvkk.query("SELECT activity_ap_id, state FROM inbox")
        assert len(received) == len({r["activity_ap_id"] for r in received})
        assert all(r["state"] == "done" for r in received)
        for node in net.nodes.values():
            assert node.query("SELECT count(*) FROM deliveries WHERE state = 'failed'")[0][0] == 0
