"""What the audit routes depend on: the log's parts and a verified admin identity."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from sds_audit.handlers import AuditLog
from sds_common.auth import AuthError, Identity, verify

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://synthetic-data-studio.dev/problems/"


@dataclass(frozen=True)
class AuditApi:
    """The audit routes' parts: the log and the proxy secrets identities are verified with."""

    audit: AuditLog
    secrets: tuple[str, ...]


class AuditHTTPError(Exception):
    """An error answered as RFC 9457 problem JSON with a stable ``code``."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail

    def response(self, request: Request) -> JSONResponse:
        """The problem-JSON answer."""
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.code,
            "title": HTTPStatus(self.status).phrase,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            "instance": request.url.path,
        }
        return JSONResponse(body, status_code=self.status, media_type=PROBLEM_MEDIA_TYPE)


def admin_dependency(secrets: tuple[str, ...]) -> Callable[[Request], Awaitable[Identity]]:
    """Build the dependency that admits only a validly signed identity with role ``admin``."""

    async def current_admin(request: Request) -> Identity:
        try:
            user = verify(
                request.headers, secrets=secrets, method=request.method, path=request.url.path
            )
        except AuthError as exc:
            # The reason only: header values and secrets never reach the log.
            log.warning("request refused: %s %s: %s", request.method, request.url.path, exc.reason)
            raise AuditHTTPError(
                401, "not_authenticated", f"authentication failed: {exc.reason}"
            ) from None
        if not user.is_admin:
            raise AuditHTTPError(403, "forbidden", "the audit log is for admins only")
        return user

    return current_admin
