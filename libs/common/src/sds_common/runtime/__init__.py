"""Service runtime kit: the base FastAPI app (/health, /ready, /metrics) and the HTTP server."""

from sds_common.runtime.app import DEFAULT_READY_TIMEOUT_S, ReadyCheck, create_service_app
from sds_common.runtime.middleware import HttpMetricsMiddleware, route_template
from sds_common.runtime.server import DEFAULT_GRACE_PERIOD_S, run, run_loop, serve

__all__ = [
    "DEFAULT_GRACE_PERIOD_S",
    "DEFAULT_READY_TIMEOUT_S",
    "HttpMetricsMiddleware",
    "ReadyCheck",
    "create_service_app",
    "route_template",
    "run",
    "run_loop",
    "serve",
]
