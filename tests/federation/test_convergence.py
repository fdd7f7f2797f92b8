"""Convergence under faults: a seeded random workload on three nodes, then the network heals.

DESIGN.md "Federation semantics": delivery is a retried durable queue, receiving is idempotent,
versions only move forward, tombstones stay dead, and anti-entropy repairs whatever delivery
lost. Topology: ``lvkk`` (the aggregator) follows both provincial node actors; ``drenthe`` and
``fryslan`` follow each other's node actor. Items flow to an initiative's followers directly
and to the node's followers through the node actor's ``Announce``. While the workload runs, the
network drops, fails (500), throttles (429), duplicates, delays and reorders requests, and
partitions come and go. After ``fed.heal()`` every node holds exactly what each origin holds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from node.remote import RemoteError
from node.services.actors import create_initiative
from node.services.errors import ServiceError
from node.services.follow import follow
from node.services.inputs import Patch
from node.services.items import create_item, delete_item, update_item
from node.services.permissions import SYSTEM
from node.services.validation import parse_initiative, parse_item
from node.store import deliveries as delivery_store
from node.store.schema import actors, inbox, objects
from tests.federation.harness import Faults, Federation, federation

PROVINCIAL = ("drenthe", "fryslan")
NODES = ("drenthe", "fryslan", "lvkk")
KINDS = ("story", "guide", "template", "question", "answer", "bottleneck", "event")
THEMES = ("care-wellbeing", "meals", "energy-generation", "broadband", "shop", "housing")
Version = tuple[str, int, bool]  # (ap_id, version, deleted)


@dataclass
class Workload:
    """The seeded random operations and what they need to remember."""

    fed: Federation
    rng: random.Random
    initiatives: dict[str, list[str]] = field(default_factory=dict)  # node -> handles
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, op: str) -> None:
        self.counts[op] = self.counts.get(op, 0) + 1

    async def live_local_items(self, name: str) -> list[str]:
        async with self.fed[name].ctx.db.sessions() as session:
            rows = await session.execute(select(objects.c.ap_id).where(
                objects.c.is_local.is_(True), objects.c.deleted_at.is_(None),
                objects.c.kind != "tombstone").order_by(objects.c.id))
            return list(rows.scalars())

    async def create_item(self) -> None:
        name = self.rng.choice(PROVINCIAL)
        ctx = self.fed[name].ctx
        kind = self.rng.choice(KINDS)
        n = sum(self.counts.values())
        raw: dict[str, object] = {
            "kind": kind, "title": f"{kind} {n} uit {name}", "content": f"Tekst {n}.",
            "initiative": self.rng.choice(self.initiatives[name]),
            "themes": self.rng.sample(THEMES, self.rng.randint(0, 2)),
        }
        if kind == "event":
            raw["start_time"] = (ctx.now() + timedelta(days=7)).isoformat()
        if kind == "answer":
            async with ctx.db.sessions() as session:  # any live question this node knows
                questions = list((await session.execute(select(objects.c.ap_id).where(
                    objects.c.kind == "question", objects.c.deleted_at.is_(None))
                    .order_by(objects.c.id))).scalars())
            if not questions:
                raw["kind"] = "story"
            else:
                raw["in_reply_to"] = self.rng.choice(questions)
        await create_item(ctx, parse_item(raw), SYSTEM)
        self.count("create")

    async def update_item(self) -> None:
        name = self.rng.choice(PROVINCIAL)
        live = await self.live_local_items(name)
        if live:
            n = sum(self.counts.values())
            await update_item(self.fed[name].ctx, self.rng.choice(live),
                              Patch({"title": f"bijgewerkt {n}", "content": f"Nieuw {n}."}),
                              SYSTEM)
            self.count("update")

    async def delete_item(self) -> None:
        name = self.rng.choice(PROVINCIAL)
        live = await self.live_local_items(name)
        if live:
            await delete_item(self.fed[name].ctx, self.rng.choice(live), SYSTEM)
            self.count("delete")

    async def create_initiative(self) -> None:
        name = self.rng.choice(PROVINCIAL)
        handle = f"{name}-initiatief-{len(self.initiatives[name]) + 1}"
        await create_initiative(self.fed[name].ctx, parse_initiative(
            {"handle": handle, "name": handle.replace("-", " ").title()}), SYSTEM)
        self.initiatives[name].append(handle)
        self.count("initiative")

    async def follow(self) -> None:
        """A random local actor follows a random actor of another node (may fail: partition)."""
        name = self.rng.choice(NODES)
        target_node = self.rng.choice([n for n in PROVINCIAL if n != name])
        target = self.fed[target_node].ctx.urls.actor(
            self.rng.choice([target_node, *self.initiatives[target_node]]))
        as_handle = self.rng.choice([None, *self.initiatives.get(name, [])])
        try:
            await follow(self.fed[name].ctx, target, as_handle=as_handle)
        except (RemoteError, ServiceError):
            self.count("follow_failed")  # the user would try again later; nothing to repair
            return
        self.count("follow")

    async def advance(self) -> None:
        scale = self.rng.choice([60.0, 600.0, 3600.0, 4 * 3600.0])
        self.fed.clock.advance(self.rng.uniform(1.0, scale))
        self.count("advance")

    async def run_some_workers(self) -> None:
        names = self.rng.sample(NODES, self.rng.randint(1, len(NODES)))
        await self.fed.run_workers(self.rng.randint(1, 3), names=names)
        self.count("workers")

    async def toggle_partition(self) -> None:
        """Cut a node off or a link between two nodes; or mend one that is cut."""
        faults = self.fed.faults
        hosts = [self.fed[n].ctx.urls.host for n in NODES]
        cuts = [*faults.partitioned, *faults.links_down]
        if self.rng.random() < len(cuts) / (len(cuts) + 1):  # the more cuts, the likelier
            cut = self.rng.choice(sorted(cuts, key=str))
            faults.partitioned.discard(cut)
            faults.links_down.discard(cut)
            self.count("mend")
        elif self.rng.random() < 0.5:
            faults.partitioned.add(self.rng.choice(hosts))
            self.count("partition")
        else:
            faults.links_down.add(frozenset(self.rng.sample(hosts, 2)))
            self.count("partition")

    async def change_faults(self) -> None:
        f = self.fed.faults
        f.drop_rate, f.error_rate, f.throttle_rate = (self.rng.uniform(0, 0.25) for _ in "abc")
        f.duplicate_rate, f.delay_rate, f.lost_reply_rate = (
            self.rng.uniform(0, 0.25) for _ in "abc")
        self.count("faults")

    async def step(self) -> None:
        ops = [(self.create_item, 26), (self.update_item, 16), (self.delete_item, 7),
               (self.create_initiative, 3), (self.follow, 5), (self.advance, 14),
               (self.run_some_workers, 18), (self.toggle_partition, 5), (self.change_faults, 4)]
        op = self.rng.choices([o for o, _ in ops], weights=[w for _, w in ops])[0]
        await op()


async def setup_topology(fed: Federation, work: Workload) -> None:
    """Two initiatives per province; lvkk follows both nodes; the provinces follow each other."""
    for name in PROVINCIAL:
        work.initiatives[name] = []
        for number in (1, 2):
            handle = f"{name}-initiatief-{number}"
            await create_initiative(fed[name].ctx, parse_initiative(
                {"handle": handle, "name": handle.title()}), SYSTEM)
            work.initiatives[name].append(handle)
    for follower, followee in (("lvkk", "drenthe"), ("lvkk", "fryslan"),
                               ("drenthe", "fryslan"), ("fryslan", "drenthe")):
        await follow(fed[follower].ctx, fed[followee].ctx.urls.actor(followee))
    await fed.settle()


async def versions_from(fed: Federation, name: str, host: str) -> dict[str, Version]:
    """Every object on node ``name`` whose id is on ``host``: ap_id -> (ap_id, version, dead)."""
    async with fed[name].ctx.db.sessions() as session:
        rows = (await session.execute(select(
            objects.c.ap_id, objects.c.version, objects.c.deleted_at).where(
            objects.c.host == host))).all()
    found: dict[str, Version] = {}
    for ap_id, version, deleted_at in rows:
        assert ap_id not in found, f"{ap_id} stored twice on {name}"
        found[ap_id] = (ap_id, int(version), deleted_at is not None)
    return found


async def assert_converged(fed: Federation) -> int:
    """Each follower of an origin holds exactly the origin's items; the number compared."""
    compared = 0
    for origin in PROVINCIAL:
        host = fed[origin].ctx.urls.host
        truth = await versions_from(fed, origin, host)
        dead = {ap_id for ap_id, (_, _, deleted) in truth.items() if deleted}
        for name in NODES:
            if name == origin:
                continue
            held = await versions_from(fed, name, host)
            missing = sorted(set(truth.values()) - set(held.values()))
            extra = sorted(set(held.values()) - set(truth.values()))
            assert not missing and not extra, (
                f"{name} differs from {origin}: missing {missing[:5]} ({len(missing)}), "
                f"unexpected {extra[:5]} ({len(extra)})")
            resurrected = [a for a in dead if not held[a][2]]
            assert not resurrected, f"{name} has deleted items live again: {resurrected[:5]}"
            compared += len(held)
    return compared


async def assert_queues_drained(fed: Federation) -> None:
    for name in NODES:
        async with fed[name].ctx.db.sessions() as session:
            pending = (await delivery_store.counts(session)).get("pending", 0)
            unapplied = (await session.execute(select(func.count()).select_from(inbox).where(
                inbox.c.state == "pending"))).scalar_one()
            duplicated_actors = (await session.execute(
                select(actors.c.ap_id).group_by(actors.c.ap_id)
                .having(func.count() > 1))).all()
        assert pending == 0, f"{name} still has {pending} deliveries pending"
        assert unapplied == 0, f"{name} still has {unapplied} received activities unapplied"
        assert not duplicated_actors


async def diverged(fed: Federation) -> bool:
    """Whether some node misses or lags behind something an origin holds."""
    for origin in PROVINCIAL:
        host = fed[origin].ctx.urls.host
        truth = set((await versions_from(fed, origin, host)).values())
        for name in NODES:
            if name != origin and set((await versions_from(fed, name, host)).values()) != truth:
                return True
    return False


# One delivery in flight per node: the network's random faults then meet requests in the same
# order on every run, so a seed replays the same history.
SEQUENTIAL = {name: {"federation__delivery_concurrency": 1} for name in NODES}


@pytest.mark.slow
@pytest.mark.parametrize(("seed", "operations"), [(2026, 220), (7, 200), (42, 60)])
async def test_random_faulty_workload_converges_after_heal(tmp_path: Path, seed: int,
                                                           operations: int) -> None:
    random.seed(seed)  # the engine's backoff jitter
    faults = Faults(seed=seed)
    async with federation(tmp_path, list(NODES), faults=faults, overrides=SEQUENTIAL) as fed:
        # Given three nodes in the standard topology with two initiatives per province
        work = Workload(fed, random.Random(seed))
        await setup_topology(fed, work)
        # When a seeded random sequence of operations runs on a faulty, partitioning network
        work.rng.seed(seed)
        await work.change_faults()
        for _ in range(operations):
            await work.step()
        assert await diverged(fed)  # the faults did bite: there is something to repair
        # And the faults stop; a day is plenty: retries are at most 6 h (+ jitter) apart even
        # for a peer marked unavailable, and anti-entropy runs every hour
        await fed.heal(hours=24)
        # Then every node holds every provincial item at its origin's version, nothing twice,
        # and no deleted item is live anywhere
        compared = await assert_converged(fed)
        await assert_queues_drained(fed)
    assert work.counts.get("create", 0) >= operations // 6 and compared > 0
    injected = {kind for kind, _, _ in faults.log}
    assert {"drop", "500", "429", "duplicate", "delay", "lost_reply", "unreachable"} <= injected
