"""The FastAPI app every service starts from: /health, /ready, /metrics and request telemetry."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from sds_common.http.header_limits import HeaderLimits, HeaderLimitsMiddleware
from sds_common.http.problems import install_problem_handlers
from sds_common.runtime.middleware import HttpMetricsMiddleware
from sds_common.telemetry.metrics import render

if TYPE_CHECKING:
    from starlette.types import Lifespan

    from sds_common.telemetry.metrics import Metrics

logger = logging.getLogger(__name__)

ReadyCheck = Callable[[], Awaitable[None]]
"""A readiness check: returns when the dependency answers, raises otherwise."""

DEFAULT_READY_TIMEOUT_S = 2.0


async def _run_check(name: str, check: ReadyCheck, *, timeout_s: float) -> dict[str, str]:
    try:
        await asyncio.wait_for(check(), timeout=timeout_s)
    except TimeoutError:
        logger.warning("readiness check %s timed out after %ss", name, timeout_s)
        return {"status": "error", "error": f"timed out after {timeout_s:g}s"}
    except Exception as exc:  # any failure means "not ready"
        # The detail goes to the log only: /ready is unauthenticated and exception messages
        # may quote DSNs or credentials.
        logger.warning("readiness check %s failed", name, exc_info=True)
        return {"status": "error", "error": type(exc).__name__}
    return {"status": "ok"}


def create_service_app(
    *,
    name: str,
    metrics: Metrics,
    ready_checks: Mapping[str, ReadyCheck],
    lifespan: Lifespan[FastAPI] | None = None,
    ready_timeout_s: float = DEFAULT_READY_TIMEOUT_S,
    version: str = "0.1.0",
    header_limits: HeaderLimits | None = None,
    **fastapi_kwargs: Any,
) -> FastAPI:
    """Build a service's FastAPI app with its operational endpoints and request telemetry.

    Endpoints (outside the OpenAPI schema):

    - ``GET /health``: the process is alive: ``200 {"status": "ok", "service": name}``.
    - ``GET /ready``: runs every readiness check concurrently, each within ``ready_timeout_s``;
      ``200`` with each check's status when all pass, ``503`` naming the failing checks with the
      exception type only (details are logged, never returned).
    - ``GET /metrics``: ``metrics.registry`` in the Prometheus text format.

    Callers add their own routes (``app.include_router(router, prefix="/api/v1")``). Each request
    gets ``http_requests_total`` / ``http_request_seconds`` samples labelled by route template and
    an access log line; its SERVER span (continuing an incoming ``traceparent``) comes from
    FastAPI's native OpenTelemetry support once :func:`~sds_common.telemetry.configure_tracing`
    has run. The checks live in ``app.state.ready_checks`` (a dict), so a lifespan that builds
    its clients can add checks for them.

    Every error is answered as RFC 9457 problem JSON (``sds_common.http.problems``: validation
    errors, unknown paths, database outages as 503 with ``Retry-After``, anything unexpected),
    and a request with too many or too large headers as 431 before any routing.

    Args:
        name: Service name, reported by ``/health`` and ``/ready`` and used as the title.
        metrics: The process metrics (the HTTP ones are recorded here, ``/metrics`` renders them).
        ready_checks: Readiness checks by name (database, bus, storage ...).
        lifespan: The app lifespan: build dependencies on entry, stop consumers on exit.
        ready_timeout_s: Time limit of each readiness check.
        version: Version shown in the OpenAPI document.
        header_limits: Request header limits (default: those of ``Settings``' defaults).
        **fastapi_kwargs: Passed to :class:`fastapi.FastAPI` (``description``, ``docs_url`` ...).

    Returns:
        The app.
    """
    fastapi_kwargs.setdefault("title", name)
    app = FastAPI(version=version, lifespan=lifespan, **fastapi_kwargs)
    app.state.service_name = name
    app.state.metrics = metrics
    app.state.ready_checks = dict(ready_checks)
    # Inside the metrics middleware, so that 431 answers are counted like any other.
    app.add_middleware(HeaderLimitsMiddleware, limits=header_limits or HeaderLimits.of())
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics)
    install_problem_handlers(app)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": name}

    @app.get("/ready", include_in_schema=False)
    async def ready(request: Request) -> JSONResponse:
        checks: dict[str, ReadyCheck] = dict(request.app.state.ready_checks)
        results = await asyncio.gather(
            *(_run_check(key, check, timeout_s=ready_timeout_s) for key, check in checks.items())
        )
        by_name = dict(zip(checks, results, strict=True))
        failing = sorted(key for key, result in by_name.items() if result["status"] != "ok")
        body: dict[str, Any] = {
            "status": "unavailable" if failing else "ok",
            "service": name,
            "checks": by_name,
        }
        if failing:
            body["failing"] = failing
        return JSONResponse(body, status_code=503 if failing else 200)

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint() -> Response:
        body, content_type = render(metrics.registry)
        return Response(content=body, media_type=content_type)

    return app
