"""Every error answer is RFC 9457 problem JSON with a stable ``code`` and a clear ``detail``.

The shapes and the app-wide handlers are shared by every entry point (``sds_common.http.problems``,
installed on every service app); here the gateway's own domain errors get their statuses.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from sds_common.http.problems import (
    PROBLEM_BASE,
    PROBLEM_MEDIA_TYPE,
    problem_response,
    problem_responses,
)
from sds_gateway.domain.errors import (
    Conflict,
    Forbidden,
    GatewayError,
    Invalid,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)

STATUS: dict[type[GatewayError], int] = {
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    Invalid: 422,
}


def error_response(request: Request, exc: GatewayError) -> JSONResponse:
    """The problem answer of a domain error (400 for one without a status of its own)."""
    return problem_response(
        request, status=STATUS.get(type(exc), 400), code=exc.code, detail=exc.detail
    )


class ProblemRoute(APIRoute):
    """A route whose domain errors become problem JSON (the shared handlers do the rest)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await handle(request)
            except GatewayError as exc:
                return error_response(request, exc)

        return handler


async def _gateway_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, GatewayError):  # pragma: no cover - registered for GatewayError only
        raise exc
    return error_response(request, exc)


def install_problem_handler(app: FastAPI) -> None:
    """Answer a domain error raised outside a ``ProblemRoute`` with problem JSON too.

    A route added without ``route_class=ProblemRoute`` would otherwise turn a domain error into
    a 500. Everything else (identity refusals, validation errors, 404, 405, outages) is answered
    by the handlers every service app has (``sds_common.http.problems``).
    """
    app.add_exception_handler(GatewayError, _gateway_error)


__all__ = [
    "PROBLEM_BASE",
    "PROBLEM_MEDIA_TYPE",
    "STATUS",
    "ProblemRoute",
    "error_response",
    "install_problem_handler",
    "problem_response",
    "problem_responses",
]
