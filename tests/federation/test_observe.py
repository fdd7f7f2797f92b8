"""What two federating nodes count: inbox activities, deliveries and signature failures."""

from __future__ import annotations

from pathlib import Path

import orjson
from prometheus_client.parser import text_string_to_metric_families

from node.services.context import NodeContext
from node.services.follow import follow
from node.services.health import scrape
from tests.federation.harness import federation


async def _samples(ctx: NodeContext) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families((await scrape(ctx)).decode()):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


async def test_a_follow_is_counted_as_received_applied_and_delivered(tmp_path: Path) -> None:
    async with federation(tmp_path, ["fryslan", "drenthe"]) as fed:
        # When Drenthe's node follows Fryslân's and the workers settle
        await follow(fed["drenthe"].ctx, "fryslan@fryslan.test")
        await fed.settle()
        fryslan = await _samples(fed["fryslan"].ctx)
        drenthe = await _samples(fed["drenthe"].ctx)
    inbox = "kennisknoop_inbox_activities_total"
    # Then Fryslân received and applied the Follow, and delivered its Accept
    assert fryslan[(inbox, (("outcome", "accepted"), ("type", "Follow")))] == 1
    assert fryslan[(inbox, (("outcome", "applied"), ("type", "Follow")))] == 1
    assert fryslan[("kennisknoop_deliveries_total", (("outcome", "sent"),))] >= 1
    # And Drenthe delivered the Follow and applied the Accept
    assert drenthe[("kennisknoop_deliveries_total", (("outcome", "sent"),))] >= 1
    assert drenthe[(inbox, (("outcome", "applied"), ("type", "Accept")))] == 1
    assert drenthe[("kennisknoop_peer_available", (("host", "fryslan.test"),))] == 1


async def test_an_unsigned_post_is_counted_as_a_signature_failure(tmp_path: Path) -> None:
    async with federation(tmp_path, ["fryslan"]) as fed:
        body = orjson.dumps({"@context": "https://www.w3.org/ns/activitystreams",
                             "id": "https://evil.test/a/1", "type": "Follow",
                             "actor": "https://evil.test/actors/x",
                             "object": "https://fryslan.test/actors/fryslan"})
        response = await fed.http.post("https://fryslan.test/inbox", content=body,
                                       headers={"Content-Type": "application/activity+json"})
        assert response.status_code == 401
        found = await _samples(fed["fryslan"].ctx)
    failures = {labels: v for (name, labels), v in found.items()
                if name == "kennisknoop_signature_failures_total"}
    assert sum(failures.values()) == 1
    assert found[("kennisknoop_inbox_activities_total",
                  (("outcome", "refused"), ("type", "Follow")))] == 1
