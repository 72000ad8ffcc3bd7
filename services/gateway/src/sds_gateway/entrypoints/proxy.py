"""The distributed gateway's reverse proxy to the audit and llm services.

In the embedded runtime every service's routers live in one app, so ``/api/v1/audit/*`` and the
llm routes answer in-process. In the distributed runtime they belong to other processes; the
gateway forwards them there so clients keep one base URL. Settings name the upstreams
(``SDS_UPSTREAM_AUDIT_URL``, ``SDS_UPSTREAM_LLM_URL``); an unset one is not proxied.

What crosses: the method, the path (the same ``/api/v1/...``: the identity signature covers it),
the query, the body, and an allow-list of headers: the signed identity headers unchanged,
content negotiation, ``Last-Event-ID`` and the trace context. The upstream runs the same identity
check as the gateway (``sds_common.http.identity``): it verifies the signature again and claims
the nonce in its own store, so a copy of what was forwarded is a replay there too. A request made
with an API key arrives here already exchanged by the gateway's key door for a signed identity
with the key's scope (``entrypoints.identity``), which is forwarded the same way; the token never
leaves the gateway. Cookies, ``Authorization`` and anything else stay at the gateway. Answers
stream back unbuffered (the llm chat is Server-Sent Events) with an allow-list of headers. An
upstream that cannot be reached answers ``502``, one that is too slow ``504``, as problem JSON.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Final

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from sds_common.auth import HEADER_SIGNATURE, IDENTITY_HEADERS, Identity
from sds_common.settings import Runtime
from sds_gateway.config import GatewaySettings
from sds_gateway.entrypoints.problems import problem_response

log = logging.getLogger(__name__)

#: Routes of the audit service (all under ``/audit``).
AUDIT_ROUTES: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("/audit/{path:path}", ("GET", "POST")),
)
#: Routes of the llm service.
LLM_ROUTES: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("/evaluations/{evaluation_id}/explanation", ("POST",)),
    ("/datasets/{dataset_id}/data-dictionary", ("POST",)),
    ("/datasets/{dataset_id}/pii-hints", ("POST",)),
    ("/privacy/advice", ("POST",)),
    ("/chat", ("POST",)),
)
REQUEST_HEADERS: Final = frozenset(
    {
        *(name.lower() for name in IDENTITY_HEADERS),
        "accept",
        "accept-language",
        "content-type",
        "last-event-id",
        "traceparent",
        "tracestate",
    }
)
RESPONSE_HEADERS: Final = frozenset(
    {
        "cache-control",
        "content-disposition",
        "content-type",
        "etag",
        "last-modified",
        "location",
        "retry-after",
        "x-accel-buffering",
    }
)
#: Bodies of the proxied routes are small JSON documents (a chat history at most).
MAX_BODY_BYTES: Final = 1024 * 1024
CONNECT_TIMEOUT_S: Final = 5.0


@dataclass(frozen=True)
class Upstream:
    """A service the gateway forwards to.

    Attributes:
        name: the service (in logs and problem details).
        base_url: scheme, host and port, e.g. ``http://llm:8004``.
    """

    name: str
    base_url: str


class ReverseProxy:
    """Forwards requests with one pooled HTTP client.

    Args:
        timeout_s: the longest wait for the upstream to accept, answer, or send the next chunk.
        transport: an httpx transport instead of the network (tests).
    """

    def __init__(
        self, *, timeout_s: float, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.timeout_s = timeout_s
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s)),
            transport=transport,
            follow_redirects=False,
            trust_env=False,  # no proxy variables, no .netrc credentials
        )
        # httpx adds its own User-Agent; the upstream needs none.
        self._client.headers.pop("user-agent", None)

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._client.aclose()

    async def forward(self, request: Request, upstream: Upstream) -> Response:
        """Send ``request`` to ``upstream`` and stream its answer back."""
        if HEADER_SIGNATURE not in request.headers:
            # Only when the key door is not in front (a key is exchanged before routing).
            return problem_response(
                request,
                status=403,
                code="api_key_not_accepted",
                detail=f"the {upstream.name} routes need a signed identity",
            )
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return problem_response(
                request,
                status=413,
                code="payload_too_large",
                detail=f"a request to the {upstream.name} service may carry {MAX_BODY_BYTES} bytes",
            )
        headers = [(k, v) for k, v in request.headers.items() if k.lower() in REQUEST_HEADERS]
        # Plain bytes: the answer is relayed as it comes, never decoded and re-encoded.
        headers.append(("accept-encoding", "identity"))
        url = httpx.URL(upstream.base_url.rstrip("/") + request.url.path).copy_with(
            query=request.url.query.encode() or None
        )
        outgoing = self._client.build_request(request.method, url, headers=headers, content=body)
        try:
            answer = await self._client.send(outgoing, stream=True)
        except httpx.TimeoutException:
            log.warning("%s %s: the %s service timed out", request.method, url.path, upstream.name)
            return problem_response(
                request,
                status=504,
                code="upstream_timeout",
                detail=f"the {upstream.name} service did not answer within {self.timeout_s:g} s",
            )
        except httpx.TransportError as exc:
            log.warning(
                "%s %s: the %s service is unreachable: %s",
                request.method,
                url.path,
                upstream.name,
                type(exc).__name__,
            )
            return problem_response(
                request,
                status=502,
                code="upstream_unavailable",
                detail=f"the {upstream.name} service is unavailable; try again shortly",
            )
        relayed = {k: v for k, v in answer.headers.items() if k.lower() in RESPONSE_HEADERS}
        return StreamingResponse(
            _relay(answer, upstream=upstream),
            status_code=answer.status_code,
            headers=relayed,
            background=BackgroundTask(answer.aclose),
        )


async def _relay(answer: httpx.Response, *, upstream: Upstream) -> AsyncIterator[bytes]:
    try:
        async for chunk in answer.aiter_raw():
            yield chunk
    except httpx.HTTPError as exc:
        # The status line is sent: the client sees the stream end early, the log says why.
        log.warning("the %s service broke off its answer: %s", upstream.name, type(exc).__name__)


def upstreams(settings: GatewaySettings) -> dict[str, Upstream]:
    """The configured upstreams; none in the embedded runtime (its routes are in-process)."""
    configured = {
        "audit": settings.upstream_audit_url,
        "llm": settings.upstream_llm_url,
    }
    if settings.runtime is Runtime.EMBEDDED:
        if any(configured.values()):
            log.warning("SDS_UPSTREAM_* ignored: the embedded runtime serves those routes itself")
        return {}
    return {name: Upstream(name, url) for name, url in configured.items() if url}


def router(
    settings: GatewaySettings,
    current_user: Callable[[Request], Awaitable[Identity]],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> APIRouter | None:
    """The proxy routes of the configured upstreams, or None when there are none.

    Each route first verifies the caller like every gateway route (an unsigned request never
    leaves the gateway); the upstream verifies the same headers again.
    """
    targets = upstreams(settings)
    if not targets:
        return None
    proxy = ReverseProxy(timeout_s=settings.upstream_timeout_s, transport=transport)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await proxy.aclose()

    api = APIRouter(lifespan=lifespan, dependencies=[Depends(current_user)])
    table: Sequence[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]]] = (
        ("audit", AUDIT_ROUTES),
        ("llm", LLM_ROUTES),
    )
    for name, routes in table:
        upstream = targets.get(name)
        if upstream is None:
            continue
        for path, methods in routes:
            api.add_api_route(
                path,
                _endpoint(proxy, upstream),
                methods=list(methods),
                include_in_schema=False,  # documented by the upstream service's own OpenAPI
                name=f"proxy.{name}.{path}",
            )
    return api


def _endpoint(proxy: ReverseProxy, upstream: Upstream) -> Callable[[Request], Awaitable[Response]]:
    async def forward(request: Request) -> Response:
        return await proxy.forward(request, upstream)

    return forward
