"""Request ids, access logs and Prometheus request metrics, as one pure ASGI middleware."""

from __future__ import annotations

import logging
import re
import time
import uuid

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.logs import request_id

log = logging.getLogger("corroborate.http")
_VALID_ID = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")


class RequestMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "corroborate_http_requests",
            "HTTP requests served, by route and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "corroborate_http_request_duration_seconds",
            "Time to serve an HTTP request, by route.",
            ["route"],
            registry=registry,
        )


def route_label(path: str) -> str:
    """A low-cardinality label for a path (tiles collapse into one label)."""
    if path.startswith("/tile/entries/"):
        return "/tile/entries"
    if path.startswith("/tile/"):
        return "/tile"
    if path.startswith("/documents/"):
        return "/documents/original"
    return (
        path if path in {"/graphql", "/healthz", "/readyz", "/metrics", "/checkpoint"} else "other"
    )


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = route_label(scope["path"])
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(route).observe(elapsed)
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],  # never the query string: it may carry secrets
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
            request_id.reset(token)
