"""Every error answer of every entry point is RFC 9457 problem JSON with a stable ``code``.

``install_problem_handlers`` (run for every service app by ``create_service_app``) shapes what
FastAPI and Starlette would otherwise answer in their own forms: validation errors
(``{"detail": [...]}``), bodies that cannot be decoded (a plain 400), unknown paths and methods,
a database outage (``500 text/plain``) and any unexpected error. Services raise
:class:`ProblemError` (or their own errors, converted by their own handler) for the rest.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Final

from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from sds_common.http.outages import RETRY_AFTER_S, database_outage

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
PROBLEM_BASE: Final = "https://synthetic-data-studio.dev/problems/"
_HTTP_METHODS: Final = frozenset({"get", "put", "post", "delete", "options", "head", "patch"})
_ALLOWED_CACHE: Final = "problem_allowed_methods"


class Problem(BaseModel):
    """RFC 9457 problem details: every error answer has this body."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "https://synthetic-data-studio.dev/problems/conflict",
                    "title": "Conflict",
                    "status": 409,
                    "detail": "dataset 3f2b... is processing; generators need a ready dataset",
                    "code": "dataset_not_ready",
                    "instance": "/api/v1/generators",
                }
            ]
        }
    )

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    errors: list[dict[str, object]] | None = None


class ProblemError(Exception):
    """An error answered as problem JSON.

    Attributes:
        status: the HTTP status.
        code: a stable machine-readable code (also the last segment of ``type``).
        detail: what went wrong, for a person; never a secret or a header value.
        headers: extra response headers (``Retry-After``).
    """

    def __init__(
        self, status: int, code: str, detail: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})


class ServiceUnavailable(ProblemError):  # noqa: N818 — reads as the answer it becomes
    """A store the request needs cannot be reached: refused (503), never let through unchecked."""

    def __init__(self, detail: str, *, code: str = "unavailable") -> None:
        super().__init__(503, code, detail, headers={"Retry-After": str(RETRY_AFTER_S)})


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A problem-JSON response.

    Args:
        request: the request answered (its path is the problem's ``instance``).
        status: the HTTP status.
        code: the stable code.
        detail: the explanation.
        errors: itemised errors (validation), if any.
        headers: extra response headers.

    Returns:
        The response, ``application/problem+json``.
    """
    return problem_json(
        path=request.url.path,
        status=status,
        code=code,
        detail=detail,
        errors=errors,
        headers=headers,
    )


def problem_json(
    *,
    path: str,
    status: int,
    code: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """``problem_response`` for a path, where no ``Request`` exists yet (ASGI middleware)."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": path,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(
        body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=dict(headers or {})
    )


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


def validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
    """The 422 answer of a request its models refuse; the input itself is never echoed."""
    errors = jsonable_encoder([{k: v for k, v in e.items() if k != "input"} for e in exc.errors()])
    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query"))
        parts.append(f"{where or 'request'}: {error.get('msg', 'invalid')}")
    return problem_response(
        request,
        status=422,
        code="validation_error",
        detail="; ".join(parts) or "invalid request",
        errors=errors,
    )


def unreadable_body_problem(request: Request) -> JSONResponse:
    """FastAPI could not decode the body at all (e.g. bytes that are not UTF-8): as unreadable as
    malformed JSON, which it answers with 422, so answer alike."""
    return problem_response(
        request,
        status=422,
        code="invalid_body",
        detail="the request body could not be read: send UTF-8 JSON",
    )


def allowed_methods(app: FastAPI, path: str) -> set[str]:
    """The methods the OpenAPI document lists for the paths that ``path`` matches."""
    templates: list[tuple[re.Pattern[str], frozenset[str]]] | None = getattr(
        app.state, _ALLOWED_CACHE, None
    )
    if templates is None:
        templates = [
            (compile_path(template)[0], frozenset(m.upper() for m in item if m in _HTTP_METHODS))
            for template, item in app.openapi().get("paths", {}).items()
        ]
        setattr(app.state, _ALLOWED_CACHE, templates)
    return {method for pattern, methods in templates if pattern.match(path) for method in methods}


def _code(status: int) -> str:
    return re.sub(r"[^a-z0-9]+", "_", HTTPStatus(status).phrase.lower()).strip("_")


async def _problem_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, ProblemError):  # pragma: no cover - registered for ProblemError only
        raise exc
    return problem_response(
        request, status=exc.status, code=exc.code, detail=exc.detail, headers=exc.headers
    )


async def _validation(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, RequestValidationError):  # pragma: no cover - registered for it only
        raise exc
    return validation_problem(request, exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # pragma: no cover - registered for it only
        raise exc
    if exc.status_code == 400 and exc.__cause__ is not None:
        return unreadable_body_problem(request)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette names only the methods of the first route on the path (routes are declared
        # one per method), and RFC 9110 wants every method the resource supports.
        allowed = allowed_methods(request.app, request.url.path)
        allowed.update(m.strip() for m in headers.get("Allow", "").split(",") if m.strip())
        listed = ", ".join(sorted(allowed))
        headers["Allow"] = listed
        detail = f"{request.method} is not allowed on {request.url.path} (allowed: {listed})"
    elif exc.status_code == 404:
        detail = f"nothing is at {request.url.path}"
    else:
        detail = str(exc.detail)
    return problem_response(
        request, status=exc.status_code, code=_code(exc.status_code), detail=detail, headers=headers
    )


async def _maybe_outage(request: Request, exc: Exception) -> Response:
    if not database_outage(exc):
        raise exc  # not an outage: the 500 handler answers it (and the server logs it)
    # The exception's text may quote a DSN or an address: the log gets its type only.
    log.warning(
        "%s %s: the database is unreachable (%s)",
        request.method,
        request.url.path[:200],
        type(exc).__name__,
    )
    return problem_response(
        request,
        status=503,
        code="database_unavailable",
        detail=f"the database is unreachable; try again in {RETRY_AFTER_S} s",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


async def _internal(request: Request, _exc: Exception) -> Response:
    return problem_response(
        request,
        status=500,
        code="internal_error",
        detail="the server failed to answer this request; it has been logged",
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` with problem JSON.

    Handles :class:`ProblemError`, validation errors (422 ``validation_error``), undecodable
    bodies (422 ``invalid_body``), Starlette's HTTP errors (404, 405 with an ``Allow`` that lists
    every method of the path, ...), database outages (503 ``database_unavailable`` with
    ``Retry-After``) and, last, anything unexpected (500 ``internal_error``; the server still
    logs the exception). A service's own error types get their own handler on top.
    """
    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http_error)
    for outage in _outage_types():
        app.add_exception_handler(outage, _maybe_outage)
    app.add_exception_handler(Exception, _internal)


def _outage_types() -> tuple[type[Exception], ...]:
    """What a database outage is raised as: SQLAlchemy's errors, the driver's own (raised raw
    while a connection is opened), and the socket errors under both."""
    types: list[type[Exception]] = [SQLAlchemyError, OSError]
    try:
        import asyncpg  # noqa: PLC0415 — only where PostgreSQL is used

        types += [asyncpg.PostgresError, asyncpg.InterfaceError]
    except ImportError:  # pragma: no cover - asyncpg is a dependency of sds-common
        pass
    return tuple(types)
