"""The distributed gateway forwards the audit and llm routes to their services.

The upstream is a real HTTP server on loopback (a small app standing in for the audit and llm
services, recording what reaches it); the gateway runs with the distributed runtime's settings
through its real bootstrap.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from asgi_lifespan import LifespanManager
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from sds_common.auth import (
    REQUIRED_HEADERS,
    Identity,
    KeyAccess,
    KeyIdentity,
    KeyScope,
    signed_headers,
    verify,
)
from sds_gateway.config import GatewaySettings
from sds_gateway.entrypoints import proxy
from tests.support.asgi import AsgiStream
from tests.unit.gateway.harness import ALICE, SECRETS, Harness, running_gateway


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Upstream:
    """A stand-in audit/llm service on loopback."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.seen: list[dict[str, Any]] = []
        self.gate = asyncio.Event()
        self.released = asyncio.Event()
        app = FastAPI()

        @app.get("/api/v1/audit/verify")
        async def verify(request: Request) -> JSONResponse:
            self.seen.append({"headers": dict(request.headers), "query": request.url.query})
            return JSONResponse(
                {"ok": True, "records": 3}, headers={"X-Internal": "secret", "ETag": '"v1"'}
            )

        @app.post("/api/v1/privacy/advice")
        async def advice(request: Request) -> JSONResponse:
            self.seen.append({"headers": dict(request.headers), "body": await request.json()})
            return JSONResponse(
                {"type": "x", "code": "llm_token_budget_exhausted", "detail": "spent"},
                status_code=429,
                media_type="application/problem+json",
                headers={"Retry-After": "42"},
            )

        @app.post("/api/v1/chat")
        async def chat() -> StreamingResponse:
            async def events() -> AsyncIterator[str]:
                yield 'event: meta\ndata: {"provider": "offline"}\n\n'
                await self.gate.wait()  # the model is still thinking
                yield 'data: {"text": "done"}\n\n'

            return StreamingResponse(events(), media_type="text/event-stream")

        @app.get("/api/v1/audit/slow")
        async def slow() -> JSONResponse:
            await self.released.wait()
            return JSONResponse({})

        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Upstream:
        self._task = asyncio.create_task(self.server.serve())
        async with asyncio.timeout(10):
            while not self.server.started:
                await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.gate.set()
        self.released.set()
        self.server.should_exit = True
        await self._task


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    async with Upstream() as server:
        yield server


def _distributed(url: str, **more: Any) -> dict[str, Any]:
    return {
        "runtime": "distributed",
        "bus": "kafka",  # the in-memory broker is injected; nothing connects to Kafka
        "upstream_audit_url": url,
        "upstream_llm_url": url,
        "upstream_timeout_s": 1.0,
        **more,
    }


async def test_forwards_identity_unchanged_and_nothing_else(
    tmp_path: Path, upstream: Upstream
) -> None:
    async with running_gateway(tmp_path, **_distributed(upstream.url)) as gw:
        response = await gw.call(
            "GET",
            "/api/v1/audit/verify?full=1",
            user=("root", "root@example.com", "admin"),
            headers={
                "Cookie": "session=abc",
                "X-Api-Key": "k",
                "X-Forwarded-For": "10.0.0.9",
                "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            },
        )
    assert response.status_code == 200, response.text
    assert response.json() == {"ok": True, "records": 3}
    assert response.headers["etag"] == '"v1"'
    assert "x-internal" not in response.headers  # only an allow-list of headers comes back
    [seen] = upstream.seen
    sent = seen["headers"]
    signed = response.request.headers
    for name in REQUIRED_HEADERS:
        assert sent[name.lower()] == signed[name], name
    assert sent["x-proxy-nonce"] == signed["x-proxy-nonce"]
    assert sent["traceparent"].startswith("00-0af7651916cd43dd")
    assert seen["query"] == "full=1"
    for name in ("cookie", "x-api-key", "x-forwarded-for", "authorization", "user-agent"):
        assert name not in sent, name


async def test_upstream_answers_pass_through_with_their_status(
    tmp_path: Path, upstream: Upstream
) -> None:
    async with running_gateway(tmp_path, **_distributed(upstream.url)) as gw:
        response = await gw.call("POST", "/api/v1/privacy/advice", json={"n_rows": 9})
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "42"
    assert response.json()["code"] == "llm_token_budget_exhausted"
    assert upstream.seen[0]["body"] == {"n_rows": 9}


async def test_unsigned_requests_never_leave_the_gateway(
    tmp_path: Path, upstream: Upstream
) -> None:
    async with running_gateway(tmp_path, **_distributed(upstream.url)) as gw:
        response = await gw.client.get("/api/v1/audit/verify")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert upstream.seen == []


async def test_chat_streams_through_the_gateway_unbuffered(
    tmp_path: Path, upstream: Upstream
) -> None:
    path = "/api/v1/chat"
    async with running_gateway(tmp_path, **_distributed(upstream.url)) as gw:
        headers = signed_headers(
            SECRETS[0], method="POST", path=path, user_id=ALICE[0], email=ALICE[1], role=ALICE[2]
        )
        stream = AsgiStream(
            gw.app,
            method="POST",
            path=path,
            headers={**headers, "content-type": "application/json"},
            body=b'{"evaluation_id": "e", "question": "q"}',
        )
        try:
            await stream.start()
            assert stream.status == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            # The first event arrives while the upstream is still waiting on its model.
            first = await stream.chunk(timeout_s=5)
            assert first.startswith(b"event: meta")
            assert not upstream.gate.is_set()
            upstream.gate.set()
            assert await stream.rest() == b'data: {"text": "done"}\n\n'
        finally:
            await stream.close()


async def _problem(gw: Harness, path: str) -> tuple[int, dict[str, Any]]:
    response = await gw.call("GET", path, user=("root", "root@example.com", "admin"))
    assert response.headers["content-type"] == "application/problem+json"
    return response.status_code, response.json()


async def test_down_upstream_is_502_and_slow_upstream_504(
    tmp_path: Path, upstream: Upstream
) -> None:
    closed = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    async with running_gateway(
        tmp_path / "down", **_distributed(closed, upstream_llm_url=upstream.url)
    ) as gw:
        status, body = await _problem(gw, "/api/v1/audit/verify")
    assert (status, body["code"]) == (502, "upstream_unavailable")
    assert body["detail"] == "the audit service is unavailable; try again shortly"
    slow = _distributed(upstream.url, upstream_timeout_s=0.3)
    async with running_gateway(tmp_path / "slow", **slow) as gw:
        status, body = await _problem(gw, "/api/v1/audit/slow")
    assert (status, body["code"]) == (504, "upstream_timeout")
    assert body["detail"] == "the audit service did not answer within 0.3 s"


async def test_requests_without_a_signed_identity_are_not_forwarded(
    tmp_path: Path, upstream: Upstream
) -> None:
    # As for an API key: the gateway accepted the caller, but nothing signed reaches upstream.
    async def key_user(_request: Request) -> Identity:
        return Identity(user_id="alice", email="alice@example.com", role="user")

    settings = GatewaySettings(data_dir=tmp_path, auth_secrets="s", **_distributed(upstream.url))
    forwarding = proxy.router(settings, key_user)
    assert forwarding is not None
    app = FastAPI()
    app.include_router(forwarding, prefix="/api/v1")
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            response = await client.get(
                "/api/v1/audit/verify", headers={"Authorization": "Bearer sds_abc"}
            )
    assert response.status_code == 403
    assert response.json()["code"] == "api_key_not_accepted"
    assert upstream.seen == []


async def test_an_api_key_travels_as_a_signed_identity_with_the_keys_scope(
    tmp_path: Path, upstream: Upstream
) -> None:
    """The gateway alone verifies keys (it owns them); the upstream gets a signed identity it can
    check itself, narrowed to the key's project and access, and never the token."""
    async with running_gateway(tmp_path, **_distributed(upstream.url)) as gw:
        project_id = await gw.create_project()
        key_id, token = await gw.api_key(project_id, access="read")
        response = await gw.call("POST", "/api/v1/privacy/advice", api_key=token, json={"n": 1})
        assert response.status_code == 429  # the stand-in's answer, relayed
        replayed_at_gateway = await gw.client.post(
            "/api/v1/privacy/advice",
            headers=upstream.seen[0]["headers"] | {"host": "gateway"},
            json={"n": 1},
        )
    [seen] = upstream.seen
    sent = seen["headers"]
    assert "authorization" not in sent
    assert token not in str(sent)
    user = verify(sent, secrets=SECRETS, method="POST", path="/api/v1/privacy/advice")
    assert isinstance(user, KeyIdentity)
    assert (user.user_id, user.role) == (ALICE[0], ALICE[2])
    assert user.scope == KeyScope(key_id=key_id, project_id=project_id, access=KeyAccess.READ)
    # What reached the upstream cannot be sent again: its nonce is spent at the gateway too.
    assert replayed_at_gateway.status_code == 401


def test_embedded_runtime_mounts_no_proxy(tmp_path: Path) -> None:
    settings = GatewaySettings(
        data_dir=tmp_path, upstream_audit_url="http://audit:8005", upstream_llm_url=None
    )
    assert proxy.upstreams(settings) == {}
    distributed = GatewaySettings(
        data_dir=tmp_path, auth_secrets="s", **_distributed("http://llm:8004/")
    )
    assert {n: u.base_url for n, u in proxy.upstreams(distributed).items()} == {
        "audit": "http://llm:8004",
        "llm": "http://llm:8004",
    }
    with pytest.raises(ValueError, match="is not an http"):
        GatewaySettings(data_dir=tmp_path, upstream_llm_url="llm:8004")


def test_proxied_routes_are_the_services_routes(tmp_path: Path) -> None:
    from sds_audit.bootstrap import SPEC as AUDIT  # noqa: PLC0415
    from sds_common.runtime.service import bootstrap  # noqa: PLC0415
    from sds_common.settings import Settings  # noqa: PLC0415
    from sds_llm.bootstrap import SPEC as LLM  # noqa: PLC0415

    def routes(spec: Any) -> set[tuple[str, str]]:
        service = bootstrap(spec, Settings(data_dir=tmp_path))
        return {
            (method, route.path)
            for router in spec.routers(service)
            for route in router.routes
            for method in getattr(route, "methods", ())
        }

    llm = {(m, p) for p, methods in proxy.LLM_ROUTES for m in methods}
    assert routes(LLM) == llm
    audit = routes(AUDIT)
    assert audit, "the audit service has routes"
    assert {path.split("/")[1] for _, path in audit} == {"audit"}
    assert {m for m, _ in audit} <= {m for _, methods in proxy.AUDIT_ROUTES for m in methods}
