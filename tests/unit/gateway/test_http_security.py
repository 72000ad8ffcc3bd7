"""CORS and security headers, added through ``ServiceSpec.configure_app``."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from sds_gateway.config import GatewaySettings
from sds_gateway.entrypoints.evaluations import REPORT_HEADERS
from sds_gateway.entrypoints.http_security import (
    DEFAULT_CSP,
    SecurityHeadersMiddleware,
    configure_http_security,
)
from tests.unit.gateway.harness import running_gateway

ORIGIN = "https://studio.example.com"
BASELINE = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def _assert_baseline(response: httpx.Response) -> None:
    for name, value in BASELINE.items():
        assert response.headers.get(name) == value, name


async def test_api_answers_carry_the_security_headers(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        ok = await gw.call("GET", "/api/v1/projects")
        refused = await gw.client.get("/api/v1/projects")  # 401 problem+json
        missing = await gw.call("GET", "/api/v1/projects/nope")  # 404
        for response in (ok, refused, missing):
            _assert_baseline(response)
            assert response.headers["content-security-policy"] == DEFAULT_CSP
            assert response.headers["cache-control"] == "no-store"
            assert "strict-transport-security" not in response.headers
        assert (ok.status_code, refused.status_code, missing.status_code) == (200, 401, 404)
        health = await gw.client.get("/health")
        _assert_baseline(health)
        assert "cache-control" not in health.headers  # operational endpoints stay cacheable


async def test_hsts_only_over_https(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        forwarded = await gw.call(
            "GET", "/api/v1/projects", headers={"X-Forwarded-Proto": "https, http"}
        )
        assert forwarded.headers["strict-transport-security"].startswith("max-age=")
        plain = await gw.call("GET", "/api/v1/projects", headers={"X-Forwarded-Proto": "http"})
        assert "strict-transport-security" not in plain.headers
        direct = await gw.client.get("https://gateway/health")
        assert "strict-transport-security" in direct.headers


async def test_a_routes_own_csp_is_kept() -> None:
    app = FastAPI()

    @app.get("/api/v1/report")
    async def report() -> HTMLResponse:
        return HTMLResponse("<h1>r</h1>", headers=REPORT_HEADERS)

    @app.get("/page")
    async def page() -> HTMLResponse:
        return HTMLResponse("<h1>p</h1>")

    app.add_middleware(SecurityHeadersMiddleware)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/api/v1/report")
        page_response = await client.get("/page")
    assert response.headers["content-security-policy"] == REPORT_HEADERS["Content-Security-Policy"]
    assert response.headers["cache-control"] == "no-store"
    _assert_baseline(response)
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]  # not doubled
    # HTML without its own policy (the API docs) is left to set one: a blanket 'none' breaks it.
    assert "content-security-policy" not in page_response.headers


async def test_cors_allows_configured_origins_only(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, cors_origins=ORIGIN) as gw:
        preflight = await gw.client.options(
            "/api/v1/projects",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-proxy-signature,content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        assert preflight.headers["access-control-allow-credentials"] == "true"
        _assert_baseline(preflight)
        evil = await gw.client.options(
            "/api/v1/projects",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert evil.status_code == 400
        assert "access-control-allow-origin" not in evil.headers
        simple = await gw.call("GET", "/api/v1/projects", headers={"Origin": ORIGIN})
        assert simple.headers["access-control-allow-origin"] == ORIGIN
        other = await gw.call("GET", "/api/v1/projects", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


async def test_no_cors_headers_without_configured_origins(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        response = await gw.call("GET", "/api/v1/projects", headers={"Origin": ORIGIN})
        assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("origins", ["*", f"{ORIGIN},*"])
async def test_a_wildcard_origin_never_allows_credentials(tmp_path: Path, origins: str) -> None:
    app = FastAPI()

    @app.get("/x")
    async def x() -> dict[str, str]:
        return {}

    configure_http_security(app, GatewaySettings(data_dir=tmp_path, cors_origins=origins))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/x", headers={"Origin": "https://any.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
