"""Request header limits: too many header fields, or too many bytes of them, answer 431.

The ASGI server reads the whole header block before the app sees the request, and some (uvicorn
with httptools) set no limit of their own: an 8 MB header or 5,000 of them reached every route.
Each service app refuses those before any routing, authentication or body reading happens, with
problem JSON (RFC 6585 status 431 "Request Header Fields Too Large").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sds_common.http.problems import problem_json
from sds_common.settings import Settings

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass(frozen=True, slots=True)
class HeaderLimits:
    """The most header bytes (names and values) and header fields one request may carry."""

    max_bytes: int
    max_count: int

    @classmethod
    def of(cls, settings: Settings | None = None) -> HeaderLimits:
        """The limits ``settings`` set (``SDS_HTTP_MAX_HEADER_BYTES``, ``SDS_HTTP_MAX_HEADERS``);
        their defaults without settings."""
        values = settings if settings is not None else Settings.model_construct()
        return cls(max_bytes=values.http_max_header_bytes, max_count=values.http_max_headers)


class HeaderLimitsMiddleware:
    """Answers 431 problem JSON to a request beyond ``limits``; passes every other one on.

    Pure ASGI: the check is one pass over the raw header list, before anything else reads it.
    """

    def __init__(self, app: ASGIApp, *, limits: HeaderLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check an HTTP request's headers, then hand it on (or answer 431)."""
        if scope["type"] == "http":
            headers = scope["headers"]
            limits = self.limits
            too_many = len(headers) > limits.max_count
            if too_many or sum(len(n) + len(v) for n, v in headers) > limits.max_bytes:
                what = (
                    f"more than {limits.max_count} header fields"
                    if too_many
                    else f"more than {limits.max_bytes} bytes of headers"
                )
                response = problem_json(
                    path=str(scope.get("path", ""))[:1000],
                    status=431,
                    code="request_header_fields_too_large",
                    detail=f"the request carries {what}; send fewer or smaller headers",
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
