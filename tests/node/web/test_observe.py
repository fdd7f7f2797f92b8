"""``/metrics``, ``/healthz``, ``/readyz``, request ids and JSON log lines (node.web.observe)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from node.app import create_app
from node.services.context import NodeContext
from node.store import deliveries as delivery_store
from node.store import inbox as inbox_store
from node.store import peers as peer_store
from node.store.schema import workers
from node.web.observe import JsonFormatter, request_id_var
from node.worker import beat
from tests.clock import FAST_HASHER, Clock
from tests.keys import pool_keygen
from tests.node.conftest import BASE_URL, make_settings

STRANGER = ("203.0.113.7", 40000)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def client_from(app: Starlette, address: tuple[str, int]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=address),
                             base_url=BASE_URL)


async def test_healthz_answers_without_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_needs_a_worker_heartbeat(client: httpx.AsyncClient, ctx: NodeContext
                                               ) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] and body["checks"]["migrations"]["ok"]
    assert not body["checks"]["worker"]["ok"]

    await beat(ctx, "test-worker")
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"


async def test_readyz_fails_once_the_heartbeat_is_older_than_a_minute(
        client: httpx.AsyncClient, ctx: NodeContext, clock: Clock) -> None:
    await beat(ctx, "test-worker")
    clock.advance(61)
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert "61 s ago" in response.json()["checks"]["worker"]["detail"]


async def test_readyz_fails_when_migrations_are_behind(client: httpx.AsyncClient,
                                                       ctx: NodeContext) -> None:
    from sqlalchemy import text

    from node.store.migrate import head_revision

    await beat(ctx, "test-worker")
    async with ctx.db.transaction() as session:
        await session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        response = await client.get("/readyz")
    finally:
        # The PostgreSQL database is shared by a session's tests (only rows are emptied between
        # them): a later test that migrates it must find it at head, not at 0001.
        async with ctx.db.transaction() as session:
            await session.execute(text("UPDATE alembic_version SET version_num = :head"),
                                  {"head": head_revision()})
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert not checks["migrations"]["ok"] and "0001" in checks["migrations"]["detail"]


async def test_readyz_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "postgresql+psycopg://nobody@127.0.0.1:1/none")
    app = create_app(settings, keygen=pool_keygen(), password_hasher=FAST_HASHER)
    async with app.router.lifespan_context(app), client_from(app, ("127.0.0.1", 1)) as c:
        response = await c.get("/readyz")
    assert response.status_code == 503
    assert not response.json()["checks"]["database"]["ok"]


async def test_metrics_are_refused_to_other_addresses(app: Starlette) -> None:
    async with client_from(app, STRANGER) as c:
        response = await c.get("/metrics")
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


@pytest.fixture
async def token_app(tmp_path: Path, database_url: str) -> AsyncIterator[Starlette]:
    settings = make_settings(tmp_path, database_url, metrics__token="s3cret-scrape-token",
                             metrics__allow=["10.0.0.0/8"])
    app = create_app(settings, keygen=pool_keygen(), password_hasher=FAST_HASHER)
    async with app.router.lifespan_context(app):
        yield app


async def test_metrics_open_to_the_bearer_token_from_anywhere(token_app: Starlette) -> None:
    async with client_from(token_app, STRANGER) as c:
        assert (await c.get("/metrics")).status_code == 403
        wrong = await c.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403
        right = await c.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert right.status_code == 200
    assert right.headers["content-type"].startswith("text/plain")


async def test_metrics_open_to_an_allowed_network(token_app: Starlette) -> None:
    async with client_from(token_app, ("10.1.2.3", 5000)) as c:
        assert (await c.get("/metrics")).status_code == 200
    async with client_from(token_app, ("127.0.0.1", 5000)) as c:  # loopback not listed here
        assert (await c.get("/metrics")).status_code == 403


async def test_requests_are_counted_by_route_template_and_status(
        client: httpx.AsyncClient) -> None:
    assert (await client.get("/actors/drenthe")).status_code == 200
    assert (await client.get("/actors/nobody")).status_code == 404
    assert (await client.get("/no/such/page")).status_code == 404
    await client.get("/zoeken", params={"q": "dorpshuis"})
    found = samples((await client.get("/metrics")).text)
    key = "kennisknoop_http_requests_total"
    assert found[(key, (("method", "GET"), ("route", "/actors/{handle}"), ("status", "200")))] == 1
    assert found[(key, (("method", "GET"), ("route", "/actors/{handle}"), ("status", "404")))] == 1
    assert found[(key, (("method", "GET"), ("route", "unmatched"), ("status", "404")))] == 1
    assert found[("kennisknoop_search_duration_seconds_count", (("route", "/zoeken"),))] == 1


async def test_queue_depth_oldest_age_and_peer_availability_are_read_at_scrape_time(
        client: httpx.AsyncClient, ctx: NodeContext, clock: Clock) -> None:
    # Given two deliveries waiting for fryslan.test, the oldest 90 s ago, and one from gone.test
    start = ctx.now()
    async with ctx.db.transaction() as session:
        for n, host in enumerate(("fryslan.test", "fryslan.test", "gone.test")):
            await delivery_store.enqueue(session, activity_ap_id=f"{BASE_URL}/activities/{n}",
                                         signer=f"{BASE_URL}/actors/drenthe",
                                         inboxes=[(f"https://{host}/inbox", host)], now=ctx.now())
            clock.advance(30)
        await inbox_store.add(session, activity_ap_id="https://fryslan.test/a/1",
                              actor="https://fryslan.test/actors/fryslan", type="Like",
                              recipient=None, document={}, now=start, host="fryslan.test")
        await peer_store.ensure(session, "fryslan.test")
        await peer_store.set_values(session, "gone.test", unavailable_since=start)
    # When Prometheus scrapes
    found = samples((await client.get("/metrics")).text)
    # Then the figures come from the database as it is now
    assert found[("kennisknoop_delivery_queue_depth", (("host", "fryslan.test"),))] == 2
    assert found[("kennisknoop_delivery_queue_oldest_seconds", (("host", "fryslan.test"),))] == 90
    assert found[("kennisknoop_delivery_queue_depth", (("host", "gone.test"),))] == 1
    assert found[("kennisknoop_inbox_queue_depth", (("host", "fryslan.test"),))] == 1
    assert found[("kennisknoop_peer_available", (("host", "fryslan.test"),))] == 1
    assert found[("kennisknoop_peer_available", (("host", "gone.test"),))] == 0
    assert found[("kennisknoop_worker_heartbeat_age_seconds", ())] == -1


async def test_the_worker_heartbeat_age_is_reported(client: httpx.AsyncClient, ctx: NodeContext,
                                                    clock: Clock) -> None:
    await beat(ctx, "w1")
    clock.advance(20)
    found = samples((await client.get("/metrics")).text)
    assert found[("kennisknoop_worker_heartbeat_age_seconds", ())] == 20


async def test_a_worker_keeps_one_heartbeat_row_per_run(ctx: NodeContext, clock: Clock) -> None:
    await beat(ctx, "w1")
    clock.advance(15)
    await beat(ctx, "w1")
    async with ctx.db.sessions() as session:
        rows = (await session.execute(workers.select())).mappings().all()
    assert [(r["id"], r["beat_at"] - r["started_at"]) for r in rows] == [
        ("w1", timedelta(seconds=15))]


async def test_two_apps_in_one_process_count_apart(tmp_path: Path, database_url: str) -> None:
    apps = [create_app(make_settings(tmp_path / str(n), database_url), keygen=pool_keygen(),
                       password_hasher=FAST_HASHER) for n in range(2)]
    for app in apps:
        async with app.router.lifespan_context(app), client_from(app, ("127.0.0.1", 1)) as c:
            await c.get("/healthz")
    counts = [samples(app.state.ctx.metrics.render().decode())[(
        "kennisknoop_http_requests_total",
        (("method", "GET"), ("route", "/healthz"), ("status", "200")))] for app in apps]
    assert counts == [1, 1]


async def test_every_answer_carries_a_request_id(client: httpx.AsyncClient) -> None:
    first = (await client.get("/healthz")).headers["x-request-id"]
    second = (await client.get("/healthz")).headers["x-request-id"]
    assert len(first) == 32 and first != second


async def test_a_sane_incoming_request_id_is_kept_and_a_hostile_one_replaced(
        client: httpx.AsyncClient) -> None:
    kept = await client.get("/healthz", headers={"X-Request-Id": "caddy-7f3a9c21"})
    assert kept.headers["x-request-id"] == "caddy-7f3a9c21"
    hostile = await client.get("/healthz", headers={"X-Request-Id": "x\" onload=alert(1) " * 3})
    assert hostile.headers["x-request-id"] != "x\" onload=alert(1) " * 3
    assert len(hostile.headers["x-request-id"]) == 32


async def test_each_request_is_logged_with_its_request_id(
        client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="kennisknoop.access"):
        response = await client.get("/actors/drenthe", headers={"X-Request-Id": "trace-12345678"})
    (record,) = [r for r in caplog.records if r.name == "kennisknoop.access"]
    line = orjson.loads(JsonFormatter().format(record))
    assert response.headers["x-request-id"] == "trace-12345678"
    assert line["method"] == "GET" and line["path"] == "/actors/drenthe"
    assert line["route"] == "/actors/{handle}" and line["status"] == 200
    assert line["level"] == "info" and line["logger"] == "kennisknoop.access"
    assert line["request_id"] == "trace-12345678"
    assert isinstance(line["duration_ms"], float)


def test_json_lines_carry_the_current_request_id() -> None:
    record = logging.LogRecord("kennisknoop.inbox", logging.WARNING, __file__, 1,
                               "refused %s", ("x",), None)
    token = request_id_var.set("abc12345")
    try:
        line = orjson.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["request_id"] == "abc12345" and line["message"] == "refused x"
    assert "request_id" not in orjson.loads(JsonFormatter().format(record))
