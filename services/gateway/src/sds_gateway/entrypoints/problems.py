"""Every error answer is RFC 9457 problem JSON with a stable ``code`` and a clear ``detail``."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from sds_gateway.domain.errors import (
    Conflict,
    Forbidden,
    GatewayError,
    Invalid,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unavailable,
    UnsupportedMediaType,
)
from sds_gateway.schemas.common import Problem

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://synthetic-data-studio.dev/problems/"
_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})

STATUS: dict[type[GatewayError], int] = {
    NotAuthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    Invalid: 422,
    RateLimited: 429,
    Unavailable: 503,
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


def error_response(request: Request, exc: GatewayError) -> JSONResponse:
    """The problem answer of a domain error (``429`` answers carry ``Retry-After``)."""
    response = problem_response(
        request, status=STATUS.get(type(exc), 400), code=exc.code, detail=exc.detail
    )
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after_s)
    return response


class ProblemRoute(APIRoute):
    """A route whose domain and validation errors become problem JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await handle(request)
            except GatewayError as exc:
                return error_response(request, exc)
            except HTTPException as exc:
                if exc.status_code != 400 or exc.__cause__ is None:
                    raise
                # FastAPI could not decode the body at all (e.g. bytes that are not UTF-8): as
                # unreadable as malformed JSON, which it answers with 422, so answer alike.
                return problem_response(
                    request,
                    status=422,
                    code="invalid_body",
                    detail="the request body could not be read: send UTF-8 JSON",
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
    return error_response(request, exc)


def allowed_methods(app: FastAPI, path: str) -> set[str]:
    """The methods the OpenAPI document lists for the paths that ``path`` matches."""
    templates: list[tuple[re.Pattern[str], frozenset[str]]] | None = getattr(
        app.state, "problem_allowed_methods", None
    )
    if templates is None:
        templates = [
            (compile_path(template)[0], frozenset(m.upper() for m in item if m in _HTTP_METHODS))
            for template, item in app.openapi().get("paths", {}).items()
        ]
        app.state.problem_allowed_methods = templates
    return {method for pattern, methods in templates if pattern.match(path) for method in methods}


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    # Starlette's own answer names only the methods of the first route on the path (the API
    # declares one route per method), and RFC 9110 wants every method the resource supports.
    given = exc.headers.get("Allow", "") if isinstance(exc, HTTPException) and exc.headers else ""
    allowed = allowed_methods(request.app, request.url.path)
    allowed.update(method.strip() for method in given.split(",") if method.strip())
    listed = ", ".join(sorted(allowed))
    response = problem_response(
        request,
        status=405,
        code="method_not_allowed",
        detail=f"{request.method} is not allowed on {request.url.path} (allowed: {listed})",
    )
    response.headers["Allow"] = listed
    return response


def install_problem_handler(app: FastAPI) -> None:
    """Answer a domain error raised outside a ``ProblemRoute`` with problem JSON too.

    A route added without ``route_class=ProblemRoute`` would otherwise turn a refused identity
    (``NotAuthenticated`` from the shared dependency) into a 500. A method the path does not
    support answers 405 problem JSON whose ``Allow`` lists every method the path has.
    """
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(405, _method_not_allowed)


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
