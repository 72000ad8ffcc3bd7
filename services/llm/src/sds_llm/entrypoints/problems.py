"""Errors of the llm routes as RFC 9457 problem JSON with a stable ``code``, as the gateway's.

The conversion is a route class, not an app-wide exception handler: in the embedded runtime the
llm routes share one app with every other service, whose errors are theirs to shape.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://synthetic-data-studio.dev/problems/"


class LlmHTTPError(Exception):
    """An error answered as problem JSON.

    Attributes:
        status: the HTTP status.
        code: a stable machine-readable code.
        detail: what went wrong, for a person.
        headers: extra response headers (``Retry-After`` on a spent budget).
    """

    def __init__(
        self, status: int, code: str, detail: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})


def problem(
    request: Request,
    *,
    status: int,
    code: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    """A problem-JSON response."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.url.path,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(
        body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=dict(headers or {})
    )


def seconds_to_utc_midnight(now: datetime | None = None) -> int:
    """Seconds until the daily token budget resets (at least 1)."""
    current = now or datetime.now(UTC)
    midnight = datetime.combine(current.date() + timedelta(days=1), datetime.min.time(), UTC)
    return max(1, int((midnight - current).total_seconds()))


class ProblemRoute(APIRoute):
    """A route whose ``LlmHTTPError`` and validation errors become problem JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler (dependencies included) to convert the errors."""
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await handle(request)
            except LlmHTTPError as exc:
                return problem(
                    request,
                    status=exc.status,
                    code=exc.code,
                    detail=exc.detail,
                    headers=exc.headers,
                )
            except RequestValidationError as exc:
                errors = jsonable_encoder(
                    [{k: v for k, v in e.items() if k != "input"} for e in exc.errors()]
                )
                where = "; ".join(
                    f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'request'}: "
                    f"{e.get('msg', 'invalid')}"
                    for e in errors[:5]
                )
                return problem(
                    request,
                    status=422,
                    code="validation_error",
                    detail=where or "invalid request",
                    errors=errors,
                )

        return handler
