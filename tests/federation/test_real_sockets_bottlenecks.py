"""A bottleneck endorsed over real sockets: three ``kennisknoop serve`` processes on loopback.

Fryslân holds the bottleneck; an initiative in Drenthe endorses it through Drenthe's API; the
Like travels to Fryslân, which counts it and publishes the tally; the aggregator LVKK ranks it
with Drenthe's province. The withdrawal (an Undo) empties the count everywhere.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.federation.processes import Network, ServedNode
from tests.federation.test_real_sockets import _api, _follow_all, network  # noqa: F401

pytestmark = pytest.mark.slow


def _ranked(node: ServedNode) -> list[tuple[str, dict[str, Any]]]:
    response = httpx.get(f"{node.url}/api/bottlenecks", params={"sort": "endorsements"},
                         timeout=10)
    assert response.status_code == 200, response.text
    return [(b["title"], b["endorsements"]) for b in response.json()["bottlenecks"]]


def test_an_endorsement_travels_between_processes(network: Network) -> None:  # noqa: F811
    net = network
    fryslan, drenthe, lvkk = net["fryslan"], net["drenthe"], net["lvkk"]
    with net.explain_failures(), _api(fryslan) as origin, _api(drenthe) as endorser:
        _follow_all(net)
        assert origin.post("/api/initiatives", json={
            "handle": "doarpshus", "name": "Doarpshûs"}).status_code == 201
        assert endorser.post("/api/initiatives", json={
            "handle": "sleen", "name": "Zorgcoöperatie Sleen"}).status_code == 201
        created = origin.post("/api/items", json={
            "kind": "bottleneck", "title": "Windmolenregels", "content": "Clustering.",
            "initiative": "doarpshus", "regulation_area": "energy"})
        assert created.status_code == 201, created.text
        iri = created.json()["id"]
        net.wait_for("drenthe to hold the bottleneck", lambda: httpx.get(
            f"{drenthe.url}/api/items/by-id", params={"id": iri}, timeout=10).status_code == 200)
        # When Drenthe's initiative endorses it through its own node
        endorsed = endorser.post("/api/endorsements", json={"item": iri, "as": "sleen",
                                                            "note": "Ook bij ons"})
        assert endorsed.status_code == 201, endorsed.text
        # Then the aggregator ranks it with one initiative from Drenthe
        counted = ("Windmolenregels", {"count": 1, "provinces": ["PV22"], "support": 0})
        net.wait_for("lvkk to rank the endorsed bottleneck", lambda: _ranked(lvkk) == [counted])
        # When it is withdrawn, the count is gone everywhere
        assert endorser.request("DELETE", "/api/endorsements",
                                json={"item": iri, "as": "sleen"}).status_code == 204
        empty = ("Windmolenregels", {"count": 0, "provinces": [], "support": 0})
        for node in (fryslan, drenthe, lvkk):
            net.wait_for(f"{node.handle} to drop the count",
                         lambda node=node: _ranked(node) == [empty])
