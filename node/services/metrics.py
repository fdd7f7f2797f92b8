"""What a node counts for Prometheus (docs/operations.md, "Monitoring").

``Metrics`` holds one ``CollectorRegistry`` per node context, never the process-wide default, so
several nodes in one test process (or one web process and its built-in worker) each count their
own. Counters and histograms are updated where the work happens (the web middleware, the
inbox, the worker); the queue and peer gauges are read from the database at scrape time
(``refresh``), so every web process reports the same figures whichever worker did the work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy.ext.asyncio import AsyncSession

from node.store import queues as queue_store
from node.store import workers as worker_store
from protocol.vocab import ACTIVITY_TYPES

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Seconds; a search answers in milliseconds, a slow one in a second or two.
SEARCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _activity_type(name: str) -> str:
    # A made-up type from a stranger must not create a new time series.
    return name if name in ACTIVITY_TYPES else "other"


@dataclass
class Metrics:
    """The collectors of one node; ``render`` is the ``/metrics`` body."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter(
            "kennisknoop_http_requests", "HTTP requests answered, by method, route template "
            "and status.", ["method", "route", "status"], registry=r)
        self.request_seconds = Histogram(
            "kennisknoop_http_request_duration_seconds", "Time to answer an HTTP request, by "
            "route template.", ["route"], registry=r)
        self.search_seconds = Histogram(
            "kennisknoop_search_duration_seconds", "Time to answer a search (/zoeken and "
            "/api/search).", ["route"], buckets=SEARCH_BUCKETS, registry=r)
        self.inbox = Counter(
            "kennisknoop_inbox_activities", "Activities received (outcome accepted, duplicate, "
            "ignored, refused) and applied by the worker (applied, failed, retry), by type.",
            ["type", "outcome"], registry=r)
        self.signature_failures = Counter(
            "kennisknoop_signature_failures", "Incoming requests refused for their HTTP "
            "signature, by reason.", ["reason"], registry=r)
        self.deliveries = Counter(
            "kennisknoop_deliveries", "Delivery attempts by outcome (sent, retry, gave_up).",
            ["outcome"], registry=r)
        self.queue_depth = Gauge(
            "kennisknoop_delivery_queue_depth", "Deliveries waiting to be sent, per peer host.",
            ["host"], registry=r)
        self.queue_oldest = Gauge(
            "kennisknoop_delivery_queue_oldest_seconds", "Age of the oldest delivery waiting "
            "for a peer host.", ["host"], registry=r)
        self.inbox_depth = Gauge(
            "kennisknoop_inbox_queue_depth", "Received activities waiting to be applied, per "
            "sending host.", ["host"], registry=r)
        self.inbox_oldest = Gauge(
            "kennisknoop_inbox_queue_oldest_seconds", "Age of the oldest received activity "
            "waiting to be applied, per sending host.", ["host"], registry=r)
        self.peer_available = Gauge(
            "kennisknoop_peer_available", "1 while a peer host is reachable, 0 once it is "
            "marked unavailable (failures on distinct days).", ["host"], registry=r)
        self.worker_heartbeat_age = Gauge(
            "kennisknoop_worker_heartbeat_age_seconds", "Seconds since the freshest worker "
            "heartbeat; -1 when no worker ever ran.", registry=r)

    def received(self, activity_type: str, outcome: str) -> None:
        self.inbox.labels(_activity_type(activity_type), outcome).inc()

    def signature_failed(self, reason: str) -> None:
        self.signature_failures.labels(reason).inc()

    def delivered(self, outcome: str) -> None:
        self.deliveries.labels(outcome).inc()

    async def refresh(self, session: AsyncSession, now: datetime) -> None:
        """Set the gauges from the database (called on every scrape)."""
        gauges = ((self.queue_depth, self.queue_oldest, await queue_store.deliveries_by_host(
            session)), (self.inbox_depth, self.inbox_oldest, await queue_store.inbox_by_host(
                session)))
        for depth, oldest, waiting in gauges:
            depth.clear()
            oldest.clear()
            for row in waiting:
                depth.labels(row.host).set(row.count)
                oldest.labels(row.host).set(max(0.0, (now - row.oldest).total_seconds()))
        self.peer_available.clear()
        for host, unavailable_since in await queue_store.peer_availability(session):
            self.peer_available.labels(host).set(0 if unavailable_since else 1)
        beat = await worker_store.last_beat(session)
        self.worker_heartbeat_age.set(-1 if beat is None else (now - beat).total_seconds())

    def render(self) -> bytes:
        return generate_latest(self.registry)
