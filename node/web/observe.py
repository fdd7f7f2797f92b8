"""Watching a node: ``/metrics``, ``/healthz``, ``/readyz``, request ids and JSON log lines.

``RequestMiddleware`` wraps the whole app (pure ASGI, so streaming answers pass untouched): it
gives each request an id (a sane incoming ``X-Request-Id`` is kept, for tracing through a
proxy), sends it back in the same header, makes it part of every log line written while the
request runs (``request_id_var``), counts the answer by route template and status, and logs
one ``kennisknoop.access`` line. ``JsonFormatter`` writes those lines as JSON when
``logging.format = "json"`` (docs/operations.md).
"""

from __future__ import annotations

import contextvars
import ipaddress
import logging
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from node.config import Settings
from node.services import health
from node.services.metrics import CONTENT_TYPE, Metrics
from node.web.common import JSONResponse, ctx_of, error_response

access_log = logging.getLogger("kennisknoop.access")

REQUEST_ID_HEADER = "x-request-id"
_SANE_ID = re.compile(r"[A-Za-z0-9._:+/=-]{8,128}")
SEARCH_ROUTES = frozenset({"/zoeken", "/api/search"})

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "kennisknoop_request_id", default=None)


def new_request_id(incoming: str | None) -> str:
    """The incoming id when it is a plain token of sane length, else a fresh random one."""
    if incoming is not None and _SANE_ID.fullmatch(incoming):
        return incoming
    return secrets.token_hex(16)


class RequestMiddleware:
    """Request id, access log line and request metrics for every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        # The labelled series, found once each (``labels()`` is the same child every time,
        # found under a lock); a bounded set: methods × route templates × statuses.
        self._counted: dict[tuple[str, str, int], Any] = {}
        self._timed: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = new_request_id(incoming)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500  # what the client sees if the app raises before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, status, time.perf_counter() - started)
            request_id_var.reset(token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope["method"] if scope["method"] in _METHODS else "other"
        counted = self._counted.get((method, template, status))
        if counted is None:
            counted = self._counted[method, template, status] = self.metrics.requests.labels(
                method, template, str(status))
        counted.inc()
        timed = self._timed.get(template)
        if timed is None:
            timed = self._timed[template] = self.metrics.request_seconds.labels(template)
        timed.observe(seconds)
        if template in SEARCH_ROUTES:
            self.metrics.search_seconds.labels(template).observe(seconds)
        if access_log.isEnabledFor(logging.INFO):
            access_log.info("%s %s %s", scope["method"], scope["path"], status, extra={
                "request_id": request_id_var.get(), "method": scope["method"],
                "path": scope["path"], "route": template, "status": status,
                "duration_ms": round(seconds * 1000, 1)})


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# --- the log format --------------------------------------------------------------------------------

_EXTRA = ("method", "path", "route", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and request fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        # Stamped on the record by the access log; else the request the logging code runs in.
        request_id = record.__dict__.get("request_id") or request_id_var.get()
        if request_id is not None:
            line["request_id"] = request_id
        for key in _EXTRA:
            if key in record.__dict__:
                line[key] = record.__dict__[key]
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """The readable format, with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s:     %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = request_id_var.get()
        return f"{text} [{request_id}]" if request_id is not None else text


def configure_logging(settings: Settings) -> None:
    """Send the node's logs to stderr in the configured format (``serve``, ``worker``)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if settings.logging.format == "json"
                         else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error"):  # through the root handler, in the same format
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # noise at startup


# --- the endpoints ---------------------------------------------------------------------------------


def _may_read_metrics(request: Request, settings: Settings) -> bool:
    token = settings.metrics.token
    if token:
        given = request.headers.get("authorization", "")
        if secrets.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return True
    client = request.client.host if request.client is not None else ""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(n, strict=False) for n in settings.metrics.allow)


async def metrics(request: Request) -> Response:
    ctx = ctx_of(request)
    if not _may_read_metrics(request, ctx.settings):
        return error_response(403, "forbidden", "/metrics is open only to the addresses in "
                              "metrics.allow or with the metrics.token bearer token")
    return Response(await health.scrape(ctx), media_type=CONTENT_TYPE)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    result = await health.readiness(ctx_of(request))
    body = {"status": "ok" if result.ok else "unavailable",
            "checks": {name: {"ok": c.ok, "detail": c.detail}
                       for name, c in result.checks.items()}}
    return JSONResponse(body, status_code=200 if result.ok else 503,
                        headers={"Cache-Control": "no-store"})


routes: list[BaseRoute] = [
    Route("/metrics", metrics, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
]
