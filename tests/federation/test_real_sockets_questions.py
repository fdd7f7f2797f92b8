"""A question answered across provinces over real sockets: three ``kennisknoop serve`` processes.

Fryslân holds the question; an initiative in Drenthe answers it on Drenthe's copy (its own
node's API); the answer travels to Fryslân, which relays it to its followers; Fryslân accepts
it, and all three nodes list the question as answered with that answer first.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.federation.processes import Network, ServedNode
from tests.federation.test_real_sockets import _api, _follow_all, network  # noqa: F401

pytestmark = pytest.mark.slow


def _questions(node: ServedNode) -> list[tuple[str, str, list[str]]]:
    response = httpx.get(f"{node.url}/api/questions", timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return [(q["question"]["id"], q["state"], [a["id"] for a in q["answers"]])
            for q in body["questions"]]


def test_an_answer_from_another_province_is_accepted_and_shown_everywhere(
        network: Network) -> None:  # noqa: F811
    net = network
    fryslan, drenthe, lvkk = net["fryslan"], net["drenthe"], net["lvkk"]
    with net.explain_failures(), _api(fryslan) as origin, _api(drenthe) as answerer:
        _follow_all(net)
        assert origin.post("/api/initiatives", json={
            "handle": "doarpshus", "name": "Doarpshûs"}).status_code == 201
        assert answerer.post("/api/initiatives", json={
            "handle": "sleen", "name": "Zorgcoöperatie Sleen"}).status_code == 201
        created = origin.post("/api/items", json={
            "kind": "question", "title": "Hoe verzekeren we vrijwilligers?",
            "content": "Via de gemeente?", "initiative": "doarpshus"})
        assert created.status_code == 201, created.text
        iri = created.json()["id"]
        net.wait_for("drenthe to hold the question", lambda: httpx.get(
            f"{drenthe.url}/api/items/by-id", params={"id": iri}, timeout=10).status_code == 200)
        # When Drenthe's initiative answers it on Drenthe's copy
        answered = answerer.post("/api/items", json={
            "kind": "answer", "content": "Een collectieve polis.", "initiative": "sleen",
            "in_reply_to": iri})
        assert answered.status_code == 201, answered.text
        answer = answered.json()["id"]
        assert answer.startswith(drenthe.url)
        for node in (fryslan, lvkk):
            net.wait_for(f"{node.handle} to hold the answer",
                         lambda node=node: _questions(node) == [(iri, "has_answers", [answer])])
        # When Fryslân's editor accepts it
        accepted = origin.patch(f"/api/items/by-id?id={iri}", json={"accepted_answer": answer})
        assert accepted.status_code == 200, accepted.text
        # Then all three list the question as answered, that answer first
        for node in (fryslan, drenthe, lvkk):
            net.wait_for(f"{node.handle} to show it answered",
                         lambda node=node: _questions(node) == [(iri, "answered", [answer])])
