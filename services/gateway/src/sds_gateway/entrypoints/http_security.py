"""Browser-facing protections of the gateway: CORS and security headers on every response."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from starlette.middleware.cors import CORSMiddleware

from sds_common.auth import HEADER_NONCE, REQUIRED_HEADERS

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from sds_gateway.config import GatewaySettings

API_PREFIX: Final = "/api/v1"
#: JSON (and every other non-HTML answer) never needs to load or embed anything.
DEFAULT_CSP: Final = (
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
HSTS: Final = "max-age=63072000; includeSubDomains"
_ALWAYS: Final = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)
CORS_METHODS: Final = ("GET", "POST", "PATCH", "DELETE")
CORS_HEADERS: Final = (
    *REQUIRED_HEADERS,
    HEADER_NONCE,
    "Authorization",
    "Content-Type",
    "Last-Event-ID",
)
#: Readable by browser code: when to retry after a ``429``.
CORS_EXPOSED: Final = ("Retry-After",)


def _forwarded_https(scope: Scope) -> bool:
    if scope.get("scheme") == "https":
        return True
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-proto":
            # A chain of proxies appends; the first hop is the client's.
            first: bytes = value.split(b",")[0]
            return first.strip().lower() == b"https"
    return False


_ALWAYS_RAW: Final = tuple((name.lower().encode(), value.encode()) for name, value in _ALWAYS)
_CSP_RAW: Final = (b"content-security-policy", DEFAULT_CSP.encode())
_NO_STORE_RAW: Final = (b"cache-control", b"no-store")
_HSTS_RAW: Final = (b"strict-transport-security", HSTS.encode())


def _secured(
    headers: Iterable[tuple[bytes, bytes]], private: bool, https: bool
) -> list[tuple[bytes, bytes]]:
    """``headers`` (raw ASGI pairs) with the security headers added; what a route set wins,
    except ``Cache-Control`` on a private answer. On raw pairs: this runs on every answer."""
    raw = [
        (name, value)
        for name, value in headers
        if not (private and name.lower() == b"cache-control")
    ]
    names = {name.lower() for name, _ in raw}
    raw += [pair for pair in _ALWAYS_RAW if pair[0] not in names]
    if b"content-security-policy" not in names:
        content_type = next((v for n, v in raw if n.lower() == b"content-type"), b"")
        if not content_type.startswith(b"text/html"):
            raw.append(_CSP_RAW)
    if private:
        raw.append(_NO_STORE_RAW)
    if https and b"strict-transport-security" not in names:
        raw.append(_HSTS_RAW)
    return raw


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response; a header a route set itself wins.

    Pure ASGI (not ``BaseHTTPMiddleware``) so streamed answers (SSE, downloads) pass through
    unbuffered. ``Cache-Control: no-store`` replaces whatever an ``/api/v1`` route set: every
    answer there is private to one user.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = _forwarded_https(scope)
        path = str(scope.get("path", ""))
        private = path == API_PREFIX or path.startswith(f"{API_PREFIX}/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _secured(message.get("headers", ()), private, https)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def configure_http_security(app: FastAPI, settings: GatewaySettings) -> None:
    """Add CORS (only when ``cors_origins`` is set) and the security headers to ``app``.

    A wildcard origin never comes with credentials: browsers would refuse it, and allowing any
    site to send the user's cookies is what CORS exists to prevent.
    """
    origins = list(settings.cors_origins)
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_credentials="*" not in origins,
            allow_methods=list(CORS_METHODS),
            allow_headers=list(CORS_HEADERS),
            expose_headers=list(CORS_EXPOSED),
            max_age=600,
        )
    # Added last, so outermost: CORS preflight answers get the headers too.
    app.add_middleware(SecurityHeadersMiddleware)
