"""ASGI middleware: Prometheus metrics and an access log line per HTTP request.

The request's SERVER span comes from FastAPI's native OpenTelemetry support (it follows the
tracer provider installed by :func:`sds_common.telemetry.configure_tracing`, continues an
incoming ``traceparent`` and names the span after the route template). This middleware runs
inside that span, so its log line carries the trace id.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from sds_common.telemetry.metrics import Metrics

logger = logging.getLogger("sds_common.http")

UNMATCHED_ROUTE = "unmatched"
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_QUIET_ROUTES = frozenset({"/health", "/ready", "/metrics"})


def route_template(scope: Scope, *, root_path: str = "") -> str:
    """Return the route template that served ``scope`` (``/items/{item_id}``), never a raw path.

    Args:
        scope: The ASGI scope after the app handled it (routing records the route there).
        root_path: The ``root_path`` the request entered with; what mounts added to it becomes
            the template's prefix.

    Returns:
        The template, or ``"unmatched"`` when no route matched (keeps label cardinality bounded).
    """
    # FastAPI nests included routers instead of copying their routes, so scope["route"] holds
    # the path without the routers' prefixes; the effective route context has the full one.
    fastapi_scope: Any = scope.get("fastapi")
    effective = (
        fastapi_scope.get("effective_route_context") if isinstance(fastapi_scope, dict) else None
    )
    route = scope.get("route")
    template = (
        getattr(effective, "path_format", None)
        or getattr(route, "path_format", None)
        or getattr(route, "path", None)
    )
    if not isinstance(template, str) or route is None:
        return UNMATCHED_ROUTE
    mount_prefix = str(scope.get("root_path", ""))[len(root_path) :]
    return f"{mount_prefix}{template}" or "/"


class HttpMetricsMiddleware:
    """Records ``http_requests_total`` and ``http_request_seconds`` and logs each request.

    Labels use the route template and a bounded set of methods (others count as ``OTHER``).
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        """Wrap ``app``.

        Args:
            app: The ASGI app.
            metrics: Where the HTTP metrics are recorded.
        """
        self._app = app
        self._metrics = metrics
        # Looking a labelled child up costs more than recording into it; label sets are
        # bounded (route templates, known methods, statuses), so each is looked up once.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        method = scope["method"] if scope["method"] in _KNOWN_METHODS else "OTHER"
        root_path = str(scope.get("root_path", ""))
        status = 500  # what the client gets when the app raises before answering
        started = time.perf_counter()

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, send_recording_status)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope, root_path=root_path)
            children = self._children.get((method, route, status))
            if children is None:
                children = self._children[(method, route, status)] = (
                    self._metrics.http_requests_total.labels(method, route, str(status)),
                    self._metrics.http_request_seconds.labels(method, route),
                )
            children[0].inc()
            children[1].observe(elapsed)
            logger.log(
                logging.DEBUG if route in _QUIET_ROUTES else logging.INFO,
                "%s %s %d",
                method,
                route,
                status,
                extra={
                    "http_method": method,
                    "http_route": route,
                    "http_status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
