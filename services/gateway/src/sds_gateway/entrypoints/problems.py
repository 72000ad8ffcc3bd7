"""Every error answer is RFC 9457 problem JSON with a stable ``code`` and a clear ``detail``."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from sds_gateway.domain.errors import (
    Conflict,
    Forbidden,
    GatewayError,
    Invalid,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from sds_gateway.schemas.common import Problem

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://synthetic-data-studio.dev/problems/"

STATUS: dict[type[GatewayError], int] = {
    NotAuthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    Invalid: 422,
}


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    detail: str,
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
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE)


def _validation_detail(errors: list[dict[str, Any]]) -> str:
    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query"))
        parts.append(f"{where or 'request'}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


class ProblemRoute(APIRoute):
    """A route whose domain and validation errors become problem JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await handle(request)
            except GatewayError as exc:
                return problem_response(
                    request, status=STATUS.get(type(exc), 400), code=exc.code, detail=exc.detail
                )
            except RequestValidationError as exc:
                errors = jsonable_encoder(
                    [{k: v for k, v in e.items() if k != "input"} for e in exc.errors()]
                )
                return problem_response(
                    request,
                    status=422,
                    code="validation_error",
                    detail=_validation_detail(errors),
                    errors=errors,
                )

        return handler


async def _gateway_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, GatewayError):  # pragma: no cover - registered for GatewayError only
        raise exc
    return problem_response(
        request, status=STATUS.get(type(exc), 400), code=exc.code, detail=exc.detail
    )


def install_problem_handler(app: FastAPI) -> None:
    """Answer a domain error raised outside a ``ProblemRoute`` with problem JSON too.

    A route added without ``route_class=ProblemRoute`` would otherwise turn a refused identity
    (``NotAuthenticated`` from the shared dependency) into a 500.
    """
    app.add_exception_handler(GatewayError, _gateway_error)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting problem answers."""
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {}},
        }
        for status in statuses
    }
